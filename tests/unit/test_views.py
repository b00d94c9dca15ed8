"""The JSON shapes of results (``--json`` and the language server), pinned byte for byte.

tests/unit/golden/views.json holds what every view gave for these values before the views
were declared as shapes: key names, key order, octal modes, rounded seconds, nested results.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hotfix import views
from hotfix.core.model import ContainerInfo, FileStat
from hotfix.core.probes import ProbeResult
from hotfix.fleet import ApplyResult, RolloutResult, Target, TargetOutcome, TaskReport
from hotfix.git import repo
from hotfix.release.harvest import HarvestedFile, HarvestResult
from hotfix.release.imaging import CommitResult, ImageFile, VerifyResult
from hotfix.service.results import Change, CheckResult, RestartResult, WriteResult
from hotfix.store.state import Checkpoint, JournalEntry

GOLDEN = Path(__file__).parent / "golden" / "views.json"
VERSION = "sha256:" + "a" * 64

WEB = ContainerInfo(
    id="c0ffee" * 10 + "abcd",
    name="web",
    image="shop/web:1.4",
    image_id="sha256:" + "1" * 64,
    state="running",
    health="healthy",
    labels={"com.docker.compose.project": "shop", "com.docker.compose.service": "web"},
    ports=["127.0.0.1:8001->8001/tcp"],
    pid=4242,
    engine="edge",
)
BARE = ContainerInfo(
    id="d" * 64, name="job", image="busybox", image_id="sha256:" + "2" * 64, state="exited"
)
STAT = FileStat(
    path="/srv/app/main.py",
    kind="file",
    size=1234,
    mode=0o4755,
    mtime=1700000000.123456,
    uid=1000,
    gid=1001,
)
LINK = FileStat(
    path="/srv/current",
    kind="symlink",
    size=7,
    mode=0o777,
    mtime=1700000001.0,
    link_target="app-1.4",
)
WRITE = WriteResult(
    container=WEB,
    path="/srv/app/main.py",
    version=VERSION,
    previous_version=None,
    checkpointed=True,
    warnings=["python: not checked"],
)
CHECKPOINT = Checkpoint(
    container_id=WEB.id,
    path="/srv/app/main.py",
    container_name="web",
    image="shop/web:1.4",
    image_id=WEB.image_id,
    present=True,
    blob="b" * 64,
    size=10,
    mode=0o644,
    uid=0,
    gid=0,
    mtime=1699999999.5,
    created_at=1700000002.25,
)
ABSENT = dataclasses.replace(
    CHECKPOINT,
    path="/srv/new.txt",
    present=False,
    blob=None,
    size=None,
    mode=None,
    uid=None,
    gid=None,
    mtime=None,
    created_at=1700000003.0,
)
CHANGE = Change(
    container_id=WEB.id,
    container_name="web",
    path="/srv/app/main.py",
    status="modified",
    checkpoint=CHECKPOINT,
    container_exists=False,
)
PROBE_OK = ProbeResult(ok=True, detail="HTTP 200 OK", status=200, body="ok", elapsed=0.01)
PROBE_BAD = ProbeResult(ok=False, detail="HTTP 500 Internal Server Error", status=500, body="x")
RESTARTED = RestartResult(
    container=WEB,
    action="restart",
    probe="http://127.0.0.1:8001/health",
    healthy=True,
    seconds=1.23456,
    result=PROBE_OK,
    attempts=3,
)
REVERTED = RestartResult(
    container=WEB,
    action="signal HUP",
    probe="tcp:127.0.0.1:8001",
    healthy=False,
    seconds=30.0004,
    result=PROBE_BAD,
    attempts=12,
    reverted=["/srv/app/main.py"],
    after_revert=RESTARTED,
)
NOT_APPLIED = RestartResult(
    container=WEB,
    action="signal HUP",
    probe="http://127.0.0.1:8080/ + tcp:127.0.0.1:8001",
    healthy=False,
    seconds=3.0104,
    result=ProbeResult(False, "not applied: nginx's workers did not restart"),
    attempts=0,
    why="--signal given",
    check=CheckResult("nginx -t", "nginx's config test", 0, "syntax is ok", True),
    applied=False,
    reason="not applied: nginx's workers did not restart",
    notes=["a note"],
    probes=["http://127.0.0.1:8080/", "tcp:127.0.0.1:8001"],
)
JOURNAL = JournalEntry(
    id=7,
    time=1700000004.5,
    user="root",
    action="write",
    container_id=WEB.id,
    container_name="web",
    image="shop/web:1.4",
    path="/srv/app/main.py",
    version_before=None,
    version_after=VERSION,
    outcome="ok",
    detail={"checkpointed": True, "size": 10},
)
HARVEST = HarvestResult(
    container=WEB,
    image="shop/web:1.4",
    image_id=WEB.image_id,
    repo="/src/shop",
    branch="hotfix/web-1",
    new_branch=True,
    commit="c" * 40,
    parent="e" * 40,
    base="e" * 40,
    base_source="label org.opencontainers.image.revision",
    files=[
        HarvestedFile(
            path="/srv/app/main.py",
            repo_path="app/main.py",
            status="modified",
            action="merged",
            mapped_by="--map /srv=.",
            executable=False,
            version=VERSION,
            blob="a" * 64,
        ),
        HarvestedFile(
            path="/srv/app/logo.png",
            repo_path="app/logo.png",
            status="deleted",
            action="deleted",
            mapped_by="workdir",
            executable=True,
            version=None,
            binary=True,
        ),
    ],
    test=repo.TestRun(command="pytest -q", exit_code=0, output="1 passed", seconds=2.00049),
    diff="--- a/app/main.py\n+++ b/app/main.py\n",
    seconds=4.5678,
    notes=["based on the image's revision label"],
)
HARVEST_NOTHING = HarvestResult(
    container=BARE,
    image="busybox",
    image_id=BARE.image_id,
    repo="/src/x",
    branch=None,
    new_branch=False,
    commit=None,
    parent="f" * 40,
    base="f" * 40,
    base_source="HEAD",
    files=[],
    test=None,
    diff="",
    seconds=0.1,
)
COMMITTED = CommitResult(
    container=WEB,
    mode="files",
    tag="shop/web:1.4-hotfix.1",
    image_id="sha256:" + "3" * 64,
    base_image="shop/web:1.4",
    base_image_id=WEB.image_id,
    files=[
        ImageFile(
            path="/srv/app/main.py",
            status="modified",
            mode=0o2755,
            uid=1000,
            gid=1001,
            version=VERSION,
        )
    ],
    labels={"org.opencontainers.image.revision": "c" * 40},
    revision="c" * 40,
    harvest_branch="hotfix/web-1",
    replaced="sha256:" + "4" * 64,
    extra_paths=[],
    runtime_env=[],
    verify=VerifyResult(
        container="hotfix-verify-1",
        probe="http://127.0.0.1:8001/",
        healthy=True,
        seconds=3.33333,
        result=PROBE_OK,
        attempts=2,
    ),
    seconds=9.87654,
    commit_seconds=1.11111,
    notes=["tagged"],
)
COMMITTED_LAYER = CommitResult(
    container=BARE,
    mode="layer",
    tag="job:hotfix",
    image_id="sha256:" + "5" * 64,
    base_image="busybox",
    base_image_id=BARE.image_id,
    files=[],
    labels={},
    revision=None,
    harvest_branch=None,
    replaced=None,
    extra_paths=["/tmp/cache"],
    runtime_env=["TOKEN"],
    verify=None,
    seconds=2.0,
    commit_seconds=0.5,
)
APPLIED = ApplyResult(
    source=Target("default", "web"),
    files=["/srv/app/main.py"],
    rolling=True,
    seconds=6.54321,
    outcomes=[
        TargetOutcome(
            target=Target("edge", "web-2"),
            status="fixed",
            files=["/srv/app/main.py"],
            health=RESTARTED,
        ),
        TargetOutcome(
            target=Target("default", "web-3"), status="conflict", detail="changed in the container"
        ),
    ],
)
ROLLED = RolloutResult(
    service="shop_web",
    image="shop/web:1.4-hotfix.1",
    previous_image="shop/web:1.4",
    state="completed",
    message="update completed",
    seconds=42.00049,
    tasks=[
        TaskReport(
            slot=1,
            state="running",
            image="shop/web:1.4-hotfix.1",
            container_id="9" * 64,
            message="started",
        ),
        TaskReport(
            slot=None, state="shutdown", image="shop/web:1.4", container_id=None, message=""
        ),
    ],
)

CASES: dict[str, tuple[Callable[[Any], dict[str, Any]], list[Any]]] = {
    "container": (views.container_view, [WEB, BARE]),
    "stat": (views.stat_view, [STAT, LINK]),
    "write": (views.write_view, [WRITE]),
    "checkpoint": (views.checkpoint_view, [CHECKPOINT, ABSENT]),
    "change": (views.change_view, [CHANGE]),
    "restart": (views.restart_view, [RESTARTED, REVERTED, NOT_APPLIED]),
    "journal": (views.journal_view, [JOURNAL]),
    "harvest": (views.harvest_view, [HARVEST, HARVEST_NOTHING]),
    "commit_image": (views.commit_image_view, [COMMITTED, COMMITTED_LAYER]),
    "apply": (views.apply_view, [APPLIED]),
    "rollout": (views.rollout_view, [ROLLED]),
}


@pytest.mark.parametrize("name", CASES)
def test_views_give_the_pinned_json_text(name: str) -> None:
    """Compared as JSON text: key order is part of what ``--json`` prints."""
    view, values = CASES[name]
    expected = json.loads(GOLDEN.read_text())[name]
    assert json.dumps([view(v) for v in values], indent=1) == json.dumps(expected, indent=1)


def test_the_golden_file_covers_every_view() -> None:
    assert set(json.loads(GOLDEN.read_text())) == set(CASES)
