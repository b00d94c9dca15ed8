"""SIGKILL at precise points of save, revert, harvest and image commit; then the next run.

Each test kills a real ``hotfix`` process (CLI or language server) with SIGKILL exactly
where a crash would hurt most, then checks what the next run finds: the checkpoint on
disk, the journal entry ``incomplete``, the container's file either old or new (never
half-written), no temporary file, worktree or throwaway container left behind, and the
user's git working tree untouched.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from hotfix.service.files import HotfixService
from hotfix.store.state import JournalEntry, StateStore, version_of
from tests.conftest import CliResult, Running
from tests.images.build import BUSYBOX_INDEX
from tests.reliability.conftest import (
    Killed,
    in_container,
    patched_argv,
    server_argv_killed_at,
    uri,
)
from tests.reliability.rpc import Rpc, ServerGone, b64

pytestmark = pytest.mark.engine

FILE = "/srv/precious.txt"
ORIGINAL = b"original\n"
NEW = b"replacement\n"
KILLED = -9

Hotfix = Callable[..., CliResult]
Kill = Callable[..., Killed]


@pytest.fixture
def archive_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTFIX_LOCAL_FS", "0")


@pytest.fixture
def precious(box: Running) -> Running:
    box.sh(f"mkdir -p /srv && printf 'original\\n' > {FILE}")
    return box


def temp_files(box: Running, directory: str = "/srv") -> list[str]:
    """Temporary files of interrupted local writes (``.NAME.hotfix-PID.tmp``)."""
    return [n for n in box.sh(f"ls -a {directory}").split() if ".hotfix-" in n]


def journal(state_dir: Path) -> list[tuple[str, str | None, str]]:
    store = StateStore(state_dir)
    try:
        return [(e.action, e.path, e.outcome) for e in store.journal()]
    finally:
        store.close()


def journal_rows(state_dir: Path) -> list[JournalEntry]:
    store = StateStore(state_dir)
    try:
        return store.journal()
    finally:
        store.close()


def checkpoint_of(state_dir: Path, path: str = FILE) -> bytes | None:
    store = StateStore(state_dir)
    try:
        cps = [cp for cp in store.checkpoints() if cp.path == path]
        if not cps:
            return None
        return store.get_blob(cps[0].blob) if cps[0].blob else b""
    finally:
        store.close()


# --- save -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "when", "local_fs", "container_after"),
    [
        (
            "hotfix.store.state:StateStore.put_blob",
            "after",
            "1",
            ORIGINAL,
        ),  # blob stored, no row yet
        (
            "hotfix.store.state:StateStore.journal_start",
            "before",
            "1",
            ORIGINAL,
        ),  # checkpoint committed
        (
            "hotfix.docker.engine:Engine.write",
            "before",
            "1",
            ORIGINAL,
        ),  # journal 'started', no write
        ("hotfix.docker.engine:Engine.write", "after", "1", NEW),  # written, journal not finished
        (
            "hotfix.docker.engine:Engine.write",
            "after",
            "0",
            NEW,
        ),  # the same, through the archive API
    ],
    ids=["after-blob", "after-checkpoint", "before-write", "after-write", "after-write-archive"],
)
def test_kill_mid_save_then_the_next_run(
    precious: Running,
    killed: Kill,
    hotfix: Hotfix,
    service: HotfixService,
    state_dir: Path,
    at: str,
    when: str,
    local_fs: str,
    container_after: bytes,
) -> None:
    run = killed(
        ["write", f"{precious.name}:{FILE}", "-"],
        at=at,
        when=when,
        input=NEW,
        env={"HOTFIX_LOCAL_FS": local_fs},
    )
    assert run.code == KILLED, run.stderr
    assert in_container(precious, FILE) == container_after
    assert temp_files(precious) == []

    # The next run: the journal says what was left midway, the checkpoint is the original.
    log = hotfix("log", precious.name, "--json")
    assert log.code == 0, log.stderr
    outcomes = [(e["action"], e["outcome"]) for e in log.json()["entries"]]
    if at.endswith(("put_blob", "journal_start")):
        assert outcomes == []  # the kill came before the journal: nothing was done
    else:
        assert outcomes == [("write", "incomplete")]
    expected_checkpoint = None if at.endswith("put_blob") else ORIGINAL
    assert checkpoint_of(state_dir) == expected_checkpoint

    # ... and the edit can be finished, then reverted to the true original.
    service.write(precious.name, FILE, NEW)
    assert in_container(precious, FILE) == NEW
    assert service.revert(precious.name) == [FILE]
    assert in_container(precious, FILE) == ORIGINAL
    assert temp_files(precious) == []


def test_kill_mid_local_write_leaves_no_temp_file_after_the_next_write(
    precious: Running, killed: Kill, service: HotfixService, state_dir: Path
) -> None:
    """Killed between the temp file and its rename (the local path writes atomically):
    the file is intact; the temp file the dead process left is removed by the next write."""
    run = killed(
        ["write", f"{precious.name}:{FILE}", "-"], at="hotfix.docker.localfs:os.rename", input=NEW
    )
    assert run.code == KILLED, run.stderr
    assert in_container(precious, FILE) == ORIGINAL  # never half-written
    assert len(temp_files(precious)) == 1  # what the dead process left

    service.write(precious.name, FILE, b"second try\n")
    assert in_container(precious, FILE) == b"second try\n"
    assert temp_files(precious) == []
    assert checkpoint_of(state_dir) == ORIGINAL


def killed_mid_upload(killed: Kill, box: Running, data: bytes) -> None:
    """``hotfix write`` of ``data`` to FILE, SIGKILLed with half of the archive upload sent."""
    run = killed(
        ["write", f"{box.name}:{FILE}", "-"],
        at="hotfix.docker.engine:Engine.write",
        when="never",
        prelude=HALF_UPLOAD,
        input=data,
    )
    assert run.code == KILLED, run.stderr


# Kills the CLI in the middle of the archive upload: half of the tar body sent, then SIGKILL.
HALF_UPLOAD = """
import os, signal
import docker.api.container as api

def put_archive(self, container, path, data):
    url = self._url("/containers/{0}/archive", container)
    data = bytes(data)  # hotfix sends its tar in parts
    def body():
        yield data[: len(data) // 2]
        os.kill(os.getpid(), signal.SIGKILL)
    return self._put(url, params={"path": path}, data=body())

api.ContainerApiMixin.put_archive = put_archive
"""


def test_kill_mid_archive_upload_leaves_old_or_new_content(
    precious: Running, killed: Kill, hotfix: Hotfix, archive_path: None, state_dir: Path
) -> None:
    """The archive API extracts in place, so half the upload is a half-written file in the
    container; the next run recognises it from the write's intent and puts the original back."""
    big = b"".join(b"line %06d of the new content\n" % i for i in range(60_000))  # ~1.8 MB
    killed_mid_upload(killed, precious, big)
    half = in_container(precious, FILE)
    assert half not in (ORIGINAL, big) and big.startswith(half)  # what Docker left

    nxt = hotfix("log", precious.name)  # the next run, whatever it is
    assert nxt.code == 0, nxt.stderr
    assert "half-written; the previous content was put back" in nxt.stderr
    assert in_container(precious, FILE) == ORIGINAL
    assert precious.sh(f"stat -c %u:%g:%a {FILE}").strip() == "0:0:644"
    rows = journal_rows(state_dir)
    assert [(r.action, r.outcome) for r in rows] == [("write", "incomplete"), ("recover", "ok")]
    assert "put back" in rows[0].detail["settled"]
    assert rows[1].version_after == version_of(ORIGINAL)
    assert not any((state_dir / "intents").iterdir())  # the intent is dropped once settled

    again = hotfix("log", precious.name)  # settled once, not again
    assert again.code == 0 and "put back" not in again.stderr


# As HALF_UPLOAD, for uploads of 1 MB or more only: a smaller save of the same process goes through.
HALF_UPLOAD_OF_BIG = """
import os, signal
import docker.api.container as api

_whole_upload = api.ContainerApiMixin.put_archive

def put_archive(self, container, path, data):
    data = bytes(data)
    if len(data) < 1_000_000:
        return _whole_upload(self, container, path, data)
    url = self._url("/containers/{0}/archive", container)
    def body():
        yield data[: len(data) // 2]
        os.kill(os.getpid(), signal.SIGKILL)
    return self._put(url, params={"path": path}, data=body())

api.ContainerApiMixin.put_archive = put_archive
"""


def test_two_saves_cut_short_in_a_row_settle_to_a_whole_file(
    precious: Running,
    lsp: Callable[..., Rpc],
    killed: Kill,
    hotfix: Hotfix,
    archive_path: None,
) -> None:
    """A language server already running when a CLI save is cut short: its own next save
    settles that save first, so that save's half-written file is never its "before"."""
    server = lsp(
        argv=patched_argv(["lsp"], "hotfix.docker.engine:Engine.write", "never", HALF_UPLOAD_OF_BIG)
    )
    small = b"small save by the server\n"
    big_x = b"".join(b"X line %06d\n" % i for i in range(150_000))
    big_y = b"".join(b"Y line %06d\n" % i for i in range(150_000))
    save = {"uri": uri(precious, FILE), "create": True, "overwrite": True}
    server.result("hotfix/writeFile", {**save, "data": b64(small)})

    cli = killed(
        ["write", f"{precious.name}:{FILE}", "-"],
        at="hotfix.docker.engine:Engine.write",
        when="never",
        prelude=HALF_UPLOAD_OF_BIG,
        input=big_x,
    )
    assert cli.code == KILLED, cli.stderr
    half_x = in_container(precious, FILE)
    assert half_x and half_x != big_x and big_x.startswith(half_x)

    rid = server.start_request("hotfix/writeFile", {**save, "data": b64(big_y)})
    with pytest.raises(ServerGone):
        server.response(rid)
    assert server.proc.wait(10) == KILLED

    nxt = hotfix("log", precious.name)
    assert nxt.code == 0, nxt.stderr
    assert in_container(precious, FILE) == small


def test_kill_mid_archive_revert_puts_the_hotfix_back(
    precious: Running,
    killed: Kill,
    hotfix: Hotfix,
    service: HotfixService,
    archive_path: None,
) -> None:
    precious.sh(f"seq 1 200000 > {FILE}")  # an original big enough to cut its upload short
    original = in_container(precious, FILE)
    hotfixed = b"hotfixed\n"
    service.write(precious.name, FILE, hotfixed)
    run = killed(
        ["revert", precious.name],
        at="hotfix.docker.engine:Engine.write",
        when="never",
        prelude=HALF_UPLOAD,
    )
    assert run.code == KILLED, run.stderr
    half = in_container(precious, FILE)
    assert half != original and original.startswith(half)  # the revert, cut short

    nxt = hotfix("diff", precious.name)
    assert nxt.code == 0, nxt.stderr
    assert "the previous content was put back" in nxt.stderr
    assert in_container(precious, FILE) == hotfixed  # as before the revert that died
    assert hotfix("revert", precious.name).code == 0  # and the revert can be done again
    assert in_container(precious, FILE) == original


def test_kill_mid_archive_upload_then_an_outside_edit_is_left_alone(
    precious: Running, killed: Kill, hotfix: Hotfix, archive_path: None, state_dir: Path
) -> None:
    big = b"x" * 1_000_000
    killed_mid_upload(killed, precious, big)
    precious.sh(f"printf 'fixed by hand\\n' > {FILE}")  # someone repaired it meanwhile

    nxt = hotfix("log", precious.name)
    assert nxt.code == 0, nxt.stderr
    assert "changed since, so it was left alone" in nxt.stderr
    assert in_container(precious, FILE) == b"fixed by hand\n"
    assert [(r.action, r.outcome) for r in journal_rows(state_dir)] == [("write", "incomplete")]


# --- revert ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "local_fs"),
    [("hotfix.docker.engine:Engine.write", "0"), ("hotfix.docker.localfs:os.rename", "1")],
    ids=["archive-write", "local-rename"],
)
def test_kill_mid_revert_then_revert_again(
    precious: Running,
    killed: Kill,
    hotfix: Hotfix,
    service: HotfixService,
    state_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    at: str,
    local_fs: str,
) -> None:
    monkeypatch.setenv("HOTFIX_LOCAL_FS", local_fs)
    service.write(precious.name, FILE, NEW)
    run = killed(["revert", precious.name], at=at)
    assert run.code == KILLED, run.stderr
    assert in_container(precious, FILE) == NEW  # still the hotfix: not half reverted

    again = hotfix("revert", precious.name)
    assert again.code == 0, again.stderr
    assert in_container(precious, FILE) == ORIGINAL
    assert temp_files(precious) == []
    assert journal(state_dir) == [
        ("write", FILE, "ok"),
        ("revert", FILE, "incomplete"),
        ("revert", FILE, "ok"),
    ]
    assert service.diff(precious.name) == ""


# --- the language server ----------------------------------------------------------------------


def test_language_server_killed_mid_save(
    precious: Running, lsp: Callable[..., Rpc], hotfix: Hotfix, state_dir: Path
) -> None:
    server = lsp(argv=server_argv_killed_at("hotfix.docker.engine:Engine.write"))
    read = server.result("hotfix/readFile", {"uri": uri(precious, FILE)})
    rid = server.start_request(
        "hotfix/writeFile",
        {
            "uri": uri(precious, FILE),
            "data": b64(NEW),
            "baseVersion": read["version"],
            "create": False,
            "overwrite": True,
        },
    )
    with pytest.raises(ServerGone):
        server.response(rid)
    assert server.proc.wait(10) == KILLED

    assert in_container(precious, FILE) == ORIGINAL
    assert checkpoint_of(state_dir) == ORIGINAL
    entries = hotfix("log", precious.name, "--json").json()["entries"]
    assert [(e["action"], e["outcome"]) for e in entries] == [("write", "incomplete")]

    # A new editor session saves the same edit on the same base: nothing was lost.
    fresh = lsp()
    written = fresh.result(
        "hotfix/writeFile",
        {
            "uri": uri(precious, FILE),
            "data": b64(NEW),
            "baseVersion": read["version"],
            "create": False,
            "overwrite": True,
        },
    )
    assert written["version"] == version_of(NEW)
    assert written["checkpointed"] is False  # the checkpoint taken before the kill stands
    assert in_container(precious, FILE) == NEW


# --- harvest ---------------------------------------------------------------------------------


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout


def make_repo(path: Path) -> Path:
    """A repository of the busybox image's web root: index.html as the image has it."""
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Hotfix Tester")
    git(path, "config", "user.email", "tester@example.com")
    (path / "index.html").write_bytes(BUSYBOX_INDEX)
    (path / "README.md").write_text("the web root\n")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "web root")
    (path / "README.md").write_text("uncommitted work\n")  # a dirty working tree
    (path / "notes.txt").write_text("untracked\n")
    return path


def repo_state(repo: Path) -> dict[str, str]:
    return {
        "status": git(repo, "status", "--porcelain=v1", "-uall"),
        "diff": git(repo, "diff"),
        "head": git(repo, "rev-parse", "HEAD"),
        "branch": git(repo, "symbolic-ref", "HEAD"),
        "readme": (repo / "README.md").read_text(),
        "worktrees": git(repo, "worktree", "list", "--porcelain"),
    }


@pytest.mark.parametrize(
    "at",
    ["hotfix.git.repo:Worktree.commit", "hotfix.git.repo:GitRepo.create_branch"],
    ids=["mid-commit", "before-branch"],
)
def test_kill_mid_harvest_then_harvest_again(
    box: Running,
    service: HotfixService,
    killed: Kill,
    hotfix: Hotfix,
    tmp_path: Path,
    tmp_env: dict[str, str],
    at: str,
) -> None:
    repo = make_repo(tmp_path / "repo")
    before = repo_state(repo)
    service.write(box.name, "/www/index.html", b"<h1>fixed</h1>\n")

    run = killed(["harvest", box.name, "--repo", str(repo)], at=at)
    assert run.code == KILLED, run.stderr
    assert git(repo, "branch", "--list", "hotfix-*") == ""
    after_kill = repo_state(repo)
    assert {k: v for k, v in after_kill.items() if k != "worktrees"} == {
        k: v for k, v in before.items() if k != "worktrees"
    }  # the user's working tree, index, HEAD and branch: untouched

    res = hotfix("harvest", box.name, "--repo", str(repo), "--json", env=tmp_env)
    assert res.code == 0, res.stderr
    branch = res.json()["branch"]
    assert git(repo, "show", f"{branch}:index.html") == "<h1>fixed</h1>\n"
    assert repo_state(repo) == before  # no worktree left registered
    assert list(Path(tmp_env["TMPDIR"]).iterdir()) == []  # no worktree left on disk
    outcomes = [e.outcome for e in service.journal(box.name) if e.action == "harvest"]
    assert outcomes == ["incomplete", "ok"]


# --- image commit ----------------------------------------------------------------------------


def throwaways(client: docker.DockerClient, container: str) -> list[str]:
    """hotfix-build-* / hotfix-verify-* containers made from ``container``."""
    names = []
    for c in client.containers.list(all=True):
        for prefix in ("hotfix-build-", "hotfix-verify-"):
            if c.name.startswith(f"{prefix}{container[:40]}-"):
                names.append(c.name)
    return names


@pytest.fixture
def image_cleanup(docker_client: docker.DockerClient, box: Running) -> Any:
    tags: list[str] = []
    yield tags
    for name in throwaways(docker_client, box.name):
        with contextlib.suppress(docker.errors.NotFound):
            docker_client.containers.get(name).remove(force=True, v=True)
    made = docker_client.images.list(filters={"label": f"hotfix.container.id={box.container.id}"})
    for ref in [*tags, *(image.id for image in made)]:
        with contextlib.suppress(docker.errors.ImageNotFound):
            docker_client.images.remove(ref, force=True)


@pytest.mark.parametrize(
    ("at", "verify"),
    [
        ("hotfix.docker.engine:Engine.put_files", False),
        ("hotfix.service.files:HotfixService.wait_healthy", True),
    ],
    ids=["build", "verify"],
)
def test_kill_mid_commit_then_commit_again(
    box: Running,
    service: HotfixService,
    killed: Kill,
    hotfix: Hotfix,
    docker_client: docker.DockerClient,
    image_cleanup: list[str],
    at: str,
    verify: bool,
) -> None:
    tag = f"hotfix-reliability/{box.name}:1"
    image_cleanup.append(tag)
    service.write(box.name, "/www/index.html", b"<h1>fixed</h1>\n")
    args = ["commit", box.name, "--tag", tag] + (
        ["--verify", "--probe", "exec:true"] if verify else []
    )
    run = killed(args, at=at)
    assert run.code == KILLED, run.stderr
    assert throwaways(docker_client, box.name)  # what the dead process left

    again = hotfix(*args)
    assert again.code == 0, again.stderr
    assert throwaways(docker_client, box.name) == []
    outcomes = [e.outcome for e in service.journal(box.name) if e.action == "commit-image"]
    assert outcomes == ["incomplete", "ok"]


def test_kill_mid_commit_leaves_no_tag(
    box: Running,
    service: HotfixService,
    killed: Kill,
    docker_client: docker.DockerClient,
    image_cleanup: list[str],
    state_dir: Path,
) -> None:
    """Killed after the image is built but before it is tagged: the tag is not half-set
    (it still names nothing), and the journal entry is incomplete."""
    tag = f"hotfix-reliability/{box.name}:2"
    image_cleanup.append(tag)
    service.write(box.name, "/www/index.html", b"<h1>fixed</h1>\n")
    run = killed(["commit", box.name, "--tag", tag], at="hotfix.docker.engine:Engine.tag_image")
    assert run.code == KILLED, run.stderr
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.images.get(tag)
    store = StateStore(state_dir)
    try:
        assert [e.outcome for e in store.journal() if e.action == "commit-image"] == ["started"]
        assert [e.outcome for e in store.mark_stale_incomplete()] == ["started"]
    finally:
        store.close()


def test_language_server_shows_a_save_it_put_back(
    precious: Running, lsp: Callable[..., Rpc], killed: Kill, archive_path: None
) -> None:
    """The next run may be the editor: it puts the file back and tells the user so."""
    big = b"y" * 2_000_000
    killed_mid_upload(killed, precious, big)
    server = lsp(env={"HOTFIX_LOCAL_FS": "0"})
    read = server.result("hotfix/readFile", {"uri": uri(precious, FILE)})
    assert read["version"] == version_of(ORIGINAL)
    shown = [n["message"] for n in server.notifications("window/showMessage")]
    assert shown == [
        f"{precious.name}:{FILE}: a save cut short had left it half-written; the previous "
        "content was put back"
    ]
