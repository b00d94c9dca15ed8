"""HotfixService.write (and read/delete/mkdir) against a fake engine and a real state store."""

from __future__ import annotations

import os
import re

import pytest

from hotfix.core.errors import (
    Conflict,
    FileExists,
    FileIsADirectory,
    FileNotFound,
    FileTooLarge,
    NoPermissions,
    ValidationFailed,
)
from hotfix.core.model import ContainerInfo, FileStat
from hotfix.service import files as files_module
from hotfix.service import firstwrite as service_module
from hotfix.service.files import HotfixService, wait_for_a_new_mtime_second
from hotfix.store.state import StateStore, version_of
from tests.unit.fakes import FakeContainer, FakeEngine

APP = "/srv/app/app.py"
ORIGINAL = b"print('hello')\n"


def test_read_returns_content_and_version(service: HotfixService, web: FakeContainer) -> None:
    result = service.read("web", "//srv/app/../app/app.py")
    assert (result.path, result.data, result.version) == (APP, ORIGINAL, version_of(ORIGINAL))
    assert (result.stat.uid, result.stat.mode) == (1000, 0o640)
    with pytest.raises(FileNotFound):
        service.read("web", "/srv/app/missing.py")


def test_checkpoint_is_stored_before_the_engine_writes(
    service: HotfixService, engine: FakeEngine, store: StateStore, web: FakeContainer
) -> None:
    seen: list[str] = []

    def before_write(container: ContainerInfo, path: str, data: bytes) -> None:
        cp = store.get_checkpoint(web.id, APP)
        assert cp is not None, "engine.write called before the checkpoint was stored"
        assert cp.present and store.get_blob(cp.blob or "") == ORIGINAL
        assert (cp.uid, cp.gid, cp.mode) == (1000, 1001, 0o640)
        assert (cp.container_name, cp.image) == ("web", web.image)
        [entry] = store.journal()
        assert (entry.action, entry.outcome) == ("write", "started")
        seen.append(path)

    engine.before_write = before_write
    result = service.write("web", APP, b"print('fixed')\n", base_version=version_of(ORIGINAL))
    assert seen == [APP]
    assert result.checkpointed
    assert (result.version, result.previous_version) == (
        version_of(b"print('fixed')\n"),
        version_of(ORIGINAL),
    )
    assert web.node(APP).data == b"print('fixed')\n"


def test_second_write_keeps_the_original_checkpoint(
    service: HotfixService, store: StateStore, web: FakeContainer
) -> None:
    first = service.write("web", APP, b"print(1)\n")
    cp1 = store.get_checkpoint(web.id, APP)
    second = service.write("web", APP, b"print(2)\n", base_version=first.version)
    cp2 = store.get_checkpoint(web.id, APP)
    assert first.checkpointed and not second.checkpointed
    assert second.previous_version == first.version
    assert cp1 == cp2 and cp2 is not None
    assert store.get_blob(cp2.blob or "") == ORIGINAL
    assert len(store.checkpoints(web.id)) == 1


def test_stale_base_version_is_a_conflict_and_nothing_is_written(
    service: HotfixService, engine: FakeEngine, store: StateStore, web: FakeContainer
) -> None:
    with pytest.raises(Conflict, match=r"web:/srv/app/app.py changed in the container"):
        service.write("web", APP, b"print(2)\n", base_version=version_of(b"something else"))
    assert engine.called("write") == []
    assert web.node(APP).data == ORIGINAL
    assert store.checkpoints() == [] and store.journal() == []


def test_base_version_of_a_deleted_file_is_a_conflict(
    service: HotfixService, engine: FakeEngine, web: FakeContainer
) -> None:
    version = service.read("web", APP).version
    del web.fs[APP]
    with pytest.raises(Conflict, match="deleted"):
        service.write("web", APP, b"x = 1\n", base_version=version)
    assert engine.called("write") == []


def test_create_false_on_missing_file(
    service: HotfixService, engine: FakeEngine, web: FakeContainer
) -> None:
    with pytest.raises(FileNotFound, match=r"web:/srv/app/new\.py"):
        service.write("web", "/srv/app/new.py", b"x = 1\n", create=False)
    assert engine.called("write") == []
    service.write("web", APP, b"x = 1\n", create=False)  # an existing file is fine
    assert web.node(APP).data == b"x = 1\n"


def test_overwrite_false_on_existing_file(
    service: HotfixService, engine: FakeEngine, web: FakeContainer
) -> None:
    with pytest.raises(FileExists, match=r"web:/srv/app/app\.py already exists"):
        service.write("web", APP, b"x = 1\n", overwrite=False)
    assert engine.called("write") == []
    service.write("web", "/srv/app/new.py", b"x = 1\n", overwrite=False)
    assert web.node("/srv/app/new.py").data == b"x = 1\n"


def test_new_file_takes_the_parent_owner_and_mode_644(
    service: HotfixService, store: StateStore, web: FakeContainer
) -> None:
    result = service.write("web", "/srv/app/new.txt", b"new\n")
    node = web.node("/srv/app/new.txt")
    assert (node.kind, node.data, node.uid, node.gid, node.mode) == (
        "file",
        b"new\n",
        1000,
        1001,
        0o644,
    )
    assert result.checkpointed and result.previous_version is None
    cp = store.get_checkpoint(web.id, "/srv/app/new.txt")
    assert cp is not None and not cp.present and cp.blob is None


def test_new_file_in_root_owned_dir(service: HotfixService, web: FakeContainer) -> None:
    web.add_dir("/opt/tool", mode=0o700, uid=0, gid=50)
    service.write("web", "/opt/tool/run.sh", b"#!/bin/sh\n")
    node = web.node("/opt/tool/run.sh")
    assert (node.uid, node.gid, node.mode) == (0, 50, 0o644)


def test_new_file_without_parent(
    service: HotfixService, engine: FakeEngine, web: FakeContainer
) -> None:
    with pytest.raises(FileNotFound, match="parent directory /srv/nope does not exist"):
        service.write("web", "/srv/nope/x.txt", b"x")
    assert engine.called("write") == []


def test_existing_file_keeps_owner_and_mode(service: HotfixService, web: FakeContainer) -> None:
    web.add_file("/usr/local/bin/run", b"#!/bin/sh\necho 1\n", mode=0o4755, uid=33, gid=34)
    service.write("web", "/usr/local/bin/run", b"#!/bin/sh\necho 2\n")
    node = web.node("/usr/local/bin/run")
    assert (node.data, node.uid, node.gid, node.mode) == (b"#!/bin/sh\necho 2\n", 33, 34, 0o4755)


def test_writing_a_symlink_writes_its_target(
    service: HotfixService, store: StateStore, web: FakeContainer
) -> None:
    web.add_symlink("/srv/current", APP)
    web.add_symlink("/srv/alias", "/srv/current")  # a chain
    result = service.write("web", "/srv/alias", b"print('via link')\n")
    assert result.path == APP
    assert web.node("/srv/alias").kind == "symlink"
    assert web.node("/srv/current").kind == "symlink"
    assert web.node(APP).data == b"print('via link')\n"
    assert web.node(APP).uid == 1000
    assert [c.path for c in store.checkpoints(web.id)] == [APP]


def test_dangling_symlink_creates_its_target(service: HotfixService, web: FakeContainer) -> None:
    web.add_symlink("/srv/app/settings.py", "/srv/app/settings_prod.py")
    result = service.write("web", "/srv/app/settings.py", b"DEBUG = False\n")
    assert result.path == "/srv/app/settings_prod.py"
    assert web.node("/srv/app/settings_prod.py").data == b"DEBUG = False\n"
    assert web.node("/srv/app/settings.py").kind == "symlink"


def test_python_syntax_error_refused_unless_forced(
    service: HotfixService, engine: FakeEngine, store: StateStore, web: FakeContainer
) -> None:
    broken = b"def handler(:\n    return 1\n"
    with pytest.raises(ValidationFailed, match=r"web:/srv/app/app.py not written: line 1, column"):
        service.write("web", APP, broken)
    assert engine.called("write") == [] and store.checkpoints() == []
    assert web.node(APP).data == ORIGINAL
    service.write("web", APP, broken, force=True)
    assert web.node(APP).data == broken


def test_json_error_refused(service: HotfixService, web: FakeContainer) -> None:
    with pytest.raises(ValidationFailed, match="Expecting"):
        service.write("web", "/srv/app/config.json", b'{"debug": tru}\n')
    service.write("web", "/srv/app/config.json", b'{"debug": true}\n')
    assert web.node("/srv/app/config.json").mode == 0o600


def test_directory_is_refused(
    service: HotfixService, engine: FakeEngine, web: FakeContainer
) -> None:
    with pytest.raises(FileIsADirectory, match="web:/srv/app is a directory"):
        service.write("web", "/srv/app", b"x")
    assert engine.called("write") == []


def test_special_file_is_refused(service: HotfixService, web: FakeContainer) -> None:
    web.fs["/run/app.fifo"] = type(web.node("/srv/app"))("fifo")
    with pytest.raises(NoPermissions, match="fifo"):
        service.write("web", "/run/app.fifo", b"x")


def test_journal_of_a_successful_write(
    service: HotfixService, store: StateStore, web: FakeContainer
) -> None:
    result = service.write("web", APP, b"print(2)\n")
    [entry] = store.journal()
    assert (entry.action, entry.outcome, entry.user) == ("write", "ok", "tester")
    assert (entry.container_id, entry.container_name, entry.path) == (web.id, "web", APP)
    assert (entry.version_before, entry.version_after) == (version_of(ORIGINAL), result.version)


def test_journal_of_a_failed_write(
    service: HotfixService, engine: FakeEngine, store: StateStore, web: FakeContainer
) -> None:
    engine.write_error = NoPermissions(
        "web:/srv/app/app.py: the container's root filesystem is read-only"
    )
    with pytest.raises(NoPermissions):
        service.write("web", APP, b"print(2)\n")
    [entry] = store.journal()
    assert (entry.action, entry.outcome, entry.version_after) == ("write", "failed", None)
    assert (
        entry.detail["error"] == "web:/srv/app/app.py: the container's root filesystem is read-only"
    )
    assert web.node(APP).data == ORIGINAL


# --- the first-write warning --------------------------------------------------------------------


def warned_paths(warnings: list[str]) -> list[str]:
    [text] = warnings
    match = re.search(r"before this hotfix: (.*) — someone else", text)
    assert match, text
    return match.group(1).split(", ")


def diff(*entries: str) -> list[str]:
    """The paths of a container diff written as `docker diff` prints it ("C /etc")."""
    return [e[2:] for e in entries]


def test_first_write_warns_of_leaf_changes_except_the_written_path(
    service: HotfixService, web: FakeContainer
) -> None:
    web.diff = diff(
        "C /srv",
        "C /srv/app",
        "C /srv/app/app.py",
        "C /etc",
        "C /etc/nginx",
        "C /etc/nginx/nginx.conf",
        "C /tmp",
        "A /tmp/debug.log",
        "D /var/cache/old",
    )
    result = service.write("web", APP, b"print(2)\n")
    assert warned_paths(result.warnings) == ["/etc/nginx/nginx.conf"]
    assert "web already has 1 image file(s) modified or deleted" in result.warnings[0]
    assert result.warnings[0].endswith("; 2 runtime file(s) ignored")


def test_first_write_warning_only_once_per_container(
    service: HotfixService, engine: FakeEngine, web: FakeContainer
) -> None:
    web.diff = diff("C /etc", "C /etc/app.conf")
    assert warned_paths(service.write("web", APP, b"print(2)\n").warnings) == ["/etc/app.conf"]
    assert service.write("web", "/srv/app/other.py", b"x = 1\n").warnings == []
    assert service.write("web", APP, b"print(3)\n").warnings == []
    db = engine.add_container("db")
    db.add_file("/etc/db.conf", b"a\n")
    db.diff = diff("A /var/lib/db/dump.sql")
    assert warned_paths(service.write("db", "/etc/db.conf", b"b\n").warnings) == [
        "/var/lib/db/dump.sql"
    ]


def test_no_warning_when_only_the_written_path_changed(
    service: HotfixService, web: FakeContainer
) -> None:
    web.diff = diff("C /srv", "C /srv/app", "A /srv/app/new.py")
    assert service.write("web", "/srv/app/new.py", b"x = 1\n").warnings == []


def test_the_writes_own_temp_file_is_not_someone_elses_change(
    service: HotfixService, web: FakeContainer
) -> None:
    """The diff runs beside the write: it may catch the fast path's temp file."""
    web.diff = diff("C /srv", "C /srv/app", "A /srv/app/.app.py.hotfix-4638.tmp", "A /srv/.x.tmp")
    assert warned_paths(service.write("web", APP, b"print(2)\n").warnings) == ["/srv/.x.tmp"]


def test_many_changes_are_summarised(service: HotfixService, web: FakeContainer) -> None:
    web.diff = diff(*[f"C /srv/f{i}" for i in range(8)])
    [text] = service.write("web", APP, b"print(2)\n").warnings
    assert "8 image file(s)" in text and "/srv/f4 and 3 more" in text and "/srv/f5" not in text


def test_a_failing_container_diff_does_not_block_the_write(
    service: HotfixService, engine: FakeEngine, web: FakeContainer
) -> None:
    engine.changes_error = NoPermissions("diff refused")
    result = service.write("web", APP, b"print(2)\n")
    assert result.warnings == [] and web.node(APP).data == b"print(2)\n"


def test_a_prefetching_service_takes_the_diff_when_the_file_is_read(
    engine: FakeEngine, store: StateStore, web: FakeContainer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The language server's service: the diff behind the first-save warning starts at the
    read, so the save finds it done; taken once, and again only after CHANGED_PATHS_TTL."""
    monkeypatch.setattr(os, "fsync", lambda fd: None)
    svc = HotfixService(engine, store, user="tester", prefetch=True)  # type: ignore[arg-type]
    web.diff = diff("C /etc", "C /etc/app.conf")
    svc.read("web", APP)
    svc._changed[web.id][1].result(timeout=5)  # it ran in the background
    assert len(engine.called("changes")) == 1
    web.diff = diff("C /etc", "C /etc/app.conf", "A /tmp/later")  # not seen: taken at the read
    result = svc.write("web", APP, b"print(2)\n")
    assert warned_paths(result.warnings) == ["/etc/app.conf"]
    assert len(engine.called("changes")) == 1
    svc.read("web", APP)  # it has a checkpoint now: no warning is due, no diff is taken
    assert len(engine.called("changes")) == 1


def test_a_diff_taken_at_a_read_expires(
    engine: FakeEngine, store: StateStore, web: FakeContainer, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = HotfixService(engine, store, user="tester", prefetch=True)  # type: ignore[arg-type]
    web.diff = diff("C /etc", "C /etc/app.conf")
    svc.read("web", APP)
    svc._changed[web.id][1].result(timeout=5)
    monkeypatch.setattr(service_module, "CHANGED_PATHS_TTL", 0.0)
    web.diff = diff("C /srv/later")
    assert warned_paths(svc.write("web", APP, b"print(2)\n").warnings) == ["/srv/later"]


def test_a_one_shot_service_takes_no_diff_on_a_read(
    service: HotfixService, engine: FakeEngine, web: FakeContainer
) -> None:
    service.read("web", APP)  # a CLI `cat` would wait for it at exit
    assert engine.called("changes") == []


# --- mkdir and delete ---------------------------------------------------------------------------


def test_mkdir_owned_like_its_parent(service: HotfixService, web: FakeContainer) -> None:
    assert service.mkdir("web", "/srv/app/static") == "/srv/app/static"
    node = web.node("/srv/app/static")
    assert (node.kind, node.uid, node.gid, node.mode) == ("dir", 1000, 1001, 0o755)
    with pytest.raises(FileExists):
        service.mkdir("web", "/srv/app/static")


def test_delete_checkpoints_first(
    service: HotfixService, store: StateStore, web: FakeContainer
) -> None:
    service.delete("web", APP)
    assert APP not in web.fs
    cp = store.get_checkpoint(web.id, APP)
    assert cp is not None and store.get_blob(cp.blob or "") == ORIGINAL
    with pytest.raises(FileIsADirectory):
        service.delete("web", "/srv/app")


def test_delete_reads_what_it_checkpoints_within_the_size_limit(
    engine: FakeEngine, store: StateStore, web: FakeContainer
) -> None:
    """The checkpoint keeps the file whole, so deleting one above the limit is refused
    unread; forced, it goes ahead."""
    svc = HotfixService(engine, store, user="tester", max_file_size=10)  # type: ignore[arg-type]
    web.add_file("/srv/big.log", b"x" * 11)
    with pytest.raises(FileTooLarge) as raised:
        svc.delete("web", "/srv/big.log")
    assert "web:/srv/big.log is 0.0 MiB, above the 0.0 MiB limit" in str(raised.value)
    assert "/srv/big.log" in web.fs and store.checkpoints(web.id) == []
    svc.delete("web", "/srv/big.log", force=True)
    cp = store.get_checkpoint(web.id, "/srv/big.log")
    assert "/srv/big.log" not in web.fs and cp is not None
    assert store.get_blob(cp.blob or "") == b"x" * 11


def _stat(path: str, size: int, mtime: float) -> FileStat:
    return FileStat(path, "file", size, 0o644, mtime)


@pytest.mark.parametrize(
    ("path", "old_size", "old_mtime", "now", "waited"),
    [
        ("/app/app.py", 10, 100.2, 100.7, 0.3),  # same second, same size: the next second
        ("/app/app.py", 11, 100.2, 100.7, 0.0),  # another size: Python sees the change
        ("/app/app.py", 10, 99.9, 100.7, 0.0),  # an earlier second already
        ("/app/app.txt", 10, 100.2, 100.7, 0.0),  # not Python source
    ],
)
def test_a_py_file_saved_again_within_its_second_waits_for_the_next(
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    old_size: int,
    old_mtime: float,
    now: float,
    waited: float,
) -> None:
    """Python's bytecode cache is keyed by the source's whole-second mtime and its size."""
    slept: list[float] = []
    monkeypatch.setattr(files_module.time, "sleep", slept.append)
    old = _stat(path, old_size, old_mtime)
    assert wait_for_a_new_mtime_second(path, old, 10, clock=lambda: now) == pytest.approx(waited)
    assert slept == ([pytest.approx(waited)] if waited else [])
