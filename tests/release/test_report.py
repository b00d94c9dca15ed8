"""The incident report from a journal alone: the container is gone (no engine needed)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from hotfix.core.errors import ContainerNotFound
from hotfix.release.report import build_report, summarize
from hotfix.service.files import HotfixService
from hotfix.store.state import Checkpoint, StateStore, version_of

CID = "c0ffee" + "0" * 58
APP = "/usr/src/app/app.py"
OLD = b"cause_a_problem = True\n"
NEW = b"cause_a_problem = False\n"


class GoneEngine:
    """An engine on which the container has been removed."""

    def inspect(self, ref: str) -> Any:
        raise ContainerNotFound(f"no such container: {ref}")

    def container_attrs(self, ref: str) -> Any:
        raise ContainerNotFound(f"no such container: {ref}")

    def runtime_env_values(self, container_id: str) -> set[str]:
        return set()


def journal_of_an_incident(store: StateStore) -> None:
    who = {"container_id": CID, "container_name": "inc", "image": "my_prod_service:v1.0.0"}
    store.put_checkpoint(
        Checkpoint(
            container_id=CID,
            path=APP,
            container_name="inc",
            image="my_prod_service:v1.0.0",
            image_id="sha256:i",
            present=True,
            blob=None,
            size=len(OLD),
            mode=0o644,
            uid=0,
            gid=0,
            mtime=time.time(),
            created_at=time.time(),
        ),
        OLD,
    )
    store.journal_add(
        action="write",
        user="alice",
        path=APP,
        version_before=version_of(OLD),
        version_after=version_of(NEW),
        **who,
    )
    store.journal_add(
        action="restart",
        user="alice",
        detail={
            "how": "restart",
            "probe": "http://127.0.0.1:18001/",
            "healthy": True,
            "seconds": 1.35,
            "probe_result": "HTTP 200 OK",
        },
        **who,
    )
    store.journal_add(
        action="harvest",
        user="bob",
        detail={
            "repo": "/src/my_prod_service",
            "branch": "hotfix-cause-a-problem-flag",
            "commit": "abc123" + "0" * 34,
            "parent": "def456" + "0" * 34,
            "base_source": "the image's org.opencontainers.image.revision label",
            "files": [
                {
                    "path": APP,
                    "repo_path": "app.py",
                    "status": "modified",
                    "action": "copied",
                    "blob": store.put_blob(NEW),
                }
            ],
        },
        **who,
    )
    store.journal_add(
        action="commit-image",
        user="bob",
        detail={
            "tag": "my_prod_service:v1.0.0-hotfix-cause-a-problem-flag",
            "mode": "clean",
            "image_id": "sha256:" + "e" * 64,
            "base_image": "my_prod_service:v1.0.0",
            "verify": {
                "probe": "http://127.0.0.1:32999/",
                "healthy": True,
                "seconds": 0.9,
                "probe_result": "HTTP 200 OK",
            },
        },
        **who,
    )
    store.journal_add(
        action="harvest", user="carol", outcome="failed", detail={"error": "conflict"}, **who
    )


def test_report_of_a_removed_container(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state")
    journal_of_an_incident(store)
    svc = HotfixService(GoneEngine(), store, user="dave")  # type: ignore[arg-type]
    text = build_report(svc, "inc")
    assert text.startswith("# Incident record: inc\n")
    assert "now removed" in text
    assert "people: alice, bob, carol" in text
    assert "| alice | write `/usr/src/app/app.py`" in text
    assert "| carol | harvest into `?` | failed: conflict |" in text
    assert "as harvested; the container is removed" in text
    assert "-cause_a_problem = True" in text and "+cause_a_problem = False" in text
    assert "| restart | `http://127.0.0.1:18001/` | HTTP 200 OK | yes | 1.35 s |" in text
    assert "verify my_prod_service:v1.0.0-hotfix-cause-a-problem-flag" in text
    assert "- Branch: `hotfix-cause-a-problem-flag`, commit `abc123" in text
    assert "- Image tag: `my_prod_service:v1.0.0-hotfix-cause-a-problem-flag`" in text
    store.close()


def test_summaries() -> None:
    store_less = [
        ("probe", {"probe": "tcp:127.0.0.1:5432", "healthy": False, "seconds": 10.0}),
        ("commit-image", {"tag": "x:1", "mode": "whole-layer", "image_id": "sha256:abc"}),
        ("mkdir", {}),
    ]
    from hotfix.store.state import JournalEntry

    lines = [
        summarize(JournalEntry(1, 0.0, "u", a, "c", "n", "i", "/p", None, None, "ok", d))
        for a, d in store_less
    ]
    assert lines[0].startswith("probe `tcp:127.0.0.1:5432`: UNHEALTHY after 10.00 s")
    assert lines[1] == "image `x:1` (whole-layer) sha256:abc"
    assert lines[2] == "mkdir `/p`"


def test_report_escapes_what_the_container_chose(tmp_path: Path) -> None:
    """A hostile file name and log line: no control character in the Markdown, and no line
    of the container's making (hotfix.core.terminal)."""
    store = StateStore(tmp_path / "state")
    who = {"container_id": CID, "container_name": "inc", "image": "busybox"}
    hostile = "/www/t\x1b]0;pwned\x07\n- Files changed: none\x9b"
    store.journal_add(action="write", user="alice", path=hostile, **who)
    store.journal_add(
        action="probe",
        user="alice",
        outcome="failed",
        detail={"probe": "exec:cat log", "healthy": False, "probe_result": "exit 1: \x1b[2J\ngone"},
        **who,
    )
    svc = HotfixService(GoneEngine(), store, user="dave")  # type: ignore[arg-type]
    text = build_report(svc, "inc")
    assert not any(ch in text for ch in "\x1b\x07\x9b")
    assert [line for line in text.splitlines() if line.startswith("- Files changed:")] == [
        "- Files changed: `/www/t\\x1b]0;pwned\\x07\\n- Files changed: none\\x9b`"
    ]
    assert "exit 1: \\x1b[2J\\ngone" in text
    store.close()
