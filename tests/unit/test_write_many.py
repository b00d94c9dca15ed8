"""HotfixService.write_many over the fake engine: each write keeps write()'s outcome.

Containers given a ``local_roots`` directory go through the local group
(:func:`hotfix.localfs.replace_many` writes the file there; reads still come from the
fake's in-memory filesystem); the others through write().
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hotfix import localfs
from hotfix.errors import Conflict, ContainerNotFound, FileNotFound, ValidationFailed
from hotfix.service import HotfixService, WriteRequest, WriteResult
from hotfix.state import StateStore, version_of
from tests.unit.fakes import FakeContainer, FakeEngine

PATH = "/srv/app.conf"
OLD = b"level = info\n"
NEW = b"level = warn\n"


def replicas(engine: FakeEngine, n: int, roots: Path | None = None) -> list[FakeContainer]:
    found = []
    for i in range(n):
        c = engine.add_container(f"web-{i}")
        c.add_dir("/srv", uid=1000, gid=1000)
        c.add_file(PATH, OLD, mode=0o640, uid=1000, gid=1000)
        if roots is not None:
            root = roots / c.name
            (root / "srv").mkdir(parents=True)
            (root / "srv" / "app.conf").write_bytes(OLD)
            engine.local_roots[c.id] = str(root)
        found.append(c)
    return found


@pytest.fixture
def svc(engine: FakeEngine, store: StateStore) -> HotfixService:
    return HotfixService(engine, store, user="tester")


def requests(containers: list[FakeContainer], data: bytes = NEW) -> list[WriteRequest]:
    return [WriteRequest(c.name, PATH, data, base_version=version_of(OLD)) for c in containers]


def test_archive_path_writes_each_like_write(
    svc: HotfixService, engine: FakeEngine, store: StateStore
) -> None:
    group = replicas(engine, 3)
    results = svc.write_many(requests(group))
    assert all(isinstance(r, WriteResult) and r.checkpointed for r in results)
    for c in group:
        node = c.node(PATH)
        assert (node.data, node.mode, node.uid, node.gid) == (NEW, 0o640, 1000, 1000)
        assert store.get_checkpoint(c.id, PATH) is not None
    assert [e.outcome for e in store.journal() if e.action == "write"] == ["ok"] * 3


def test_local_group_writes_files_checkpoints_and_journals_each(
    svc: HotfixService, engine: FakeEngine, store: StateStore, tmp_path: Path
) -> None:
    group = replicas(engine, 4, tmp_path / "roots")
    results = svc.write_many(requests(group))
    assert [type(r) for r in results] == [WriteResult] * 4
    for c, r in zip(group, results, strict=True):
        assert isinstance(r, WriteResult)
        assert (r.version, r.previous_version, r.checkpointed) == (
            version_of(NEW),
            version_of(OLD),
            True,
        )
        written = Path(engine.local_roots[c.id]) / "srv" / "app.conf"
        assert written.read_bytes() == NEW
        assert written.stat().st_mode & 0o7777 == 0o640
        assert sorted(os.listdir(written.parent)) == ["app.conf"]  # no temp file left
        cp = store.get_checkpoint(c.id, PATH)
        assert cp is not None and cp.version == version_of(OLD)
    rows = [e for e in store.journal() if e.action == "write"]
    assert sorted(e.container_id for e in rows) == sorted(c.id for c in group)
    assert all(e.outcome == "ok" and e.version_after == version_of(NEW) for e in rows)
    assert not engine.called("write")  # none needed the ordinary path


def test_a_conflict_among_many_leaves_that_one_untouched(
    svc: HotfixService, engine: FakeEngine, store: StateStore, tmp_path: Path
) -> None:
    group = replicas(engine, 4, tmp_path / "roots")
    group[2].add_file(PATH, b"level = debug\n", mode=0o640, uid=1000, gid=1000)
    results = svc.write_many(requests(group))
    assert isinstance(results[2], Conflict)
    assert all(isinstance(r, WriteResult) for i, r in enumerate(results) if i != 2)
    untouched = Path(engine.local_roots[group[2].id]) / "srv" / "app.conf"
    assert untouched.read_bytes() == OLD
    assert store.get_checkpoint(group[2].id, PATH) is None  # not even checkpointed
    assert group[2].id not in {e.container_id for e in store.journal()}


def test_a_failure_mid_batch_fails_only_that_one_and_leaves_no_temp(
    svc: HotfixService, engine: FakeEngine, store: StateStore, tmp_path: Path
) -> None:
    group = replicas(engine, 5, tmp_path / "roots")
    broken = Path(engine.local_roots[group[2].id]) / "srv"
    (broken / "app.conf").unlink()
    broken.rmdir()  # the group's open of /srv fails there; write() is then tried once more
    engine.before_write = lambda container, path, data: (
        (_ for _ in ()).throw(FileNotFound("parent directory /srv does not exist"))
        if container.id == group[2].id
        else None
    )
    results = svc.write_many(requests(group))
    assert isinstance(results[2], FileNotFound)
    assert all(isinstance(r, WriteResult) for i, r in enumerate(results) if i != 2)
    for i, c in enumerate(group):
        if i != 2:
            directory = Path(engine.local_roots[c.id]) / "srv"
            assert sorted(os.listdir(directory)) == ["app.conf"]
            assert (directory / "app.conf").read_bytes() == NEW
    outcomes = {e.container_id: e.outcome for e in store.journal() if e.action == "write"}
    assert outcomes.pop(group[2].id) == "failed"
    assert set(outcomes.values()) == {"ok"}
    # The failed one still got its checkpoint first, as write() takes it before writing.
    assert store.get_checkpoint(group[2].id, PATH) is not None


def test_group_failure_is_retried_the_ordinary_way(
    svc: HotfixService, engine: FakeEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    group = replicas(engine, 3, tmp_path / "roots")

    def fail(files: list[localfs.Replacement]) -> None:
        for f in files:
            f.error = OSError(5, "Input/output error")

    monkeypatch.setattr(localfs, "replace_many", fail)
    results = svc.write_many(requests(group))
    assert all(isinstance(r, WriteResult) for r in results)
    assert [c[1] for c in engine.called("write")] == [c.id for c in group]
    assert all(c.node(PATH).data == NEW for c in group)


def test_validation_and_unknown_containers_are_per_request(
    svc: HotfixService, engine: FakeEngine, tmp_path: Path
) -> None:
    group = replicas(engine, 2, tmp_path / "roots")
    results = svc.write_many(
        [
            WriteRequest(group[0].name, "/srv/bad.json", b"{nope"),
            WriteRequest("no-such-container", PATH, NEW),
            WriteRequest(group[1].name, PATH, NEW, base_version=version_of(OLD)),
        ]
    )
    assert isinstance(results[0], ValidationFailed)
    assert isinstance(results[1], ContainerNotFound)
    assert isinstance(results[2], WriteResult)


def test_the_same_file_twice_is_written_once_the_other_a_conflict(
    svc: HotfixService, engine: FakeEngine
) -> None:
    [c] = replicas(engine, 1)
    results = svc.write_many(requests([c, c]))
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "WriteResult"]


def test_replace_many_groups_files_of_one_filesystem(tmp_path: Path) -> None:
    roots = []
    for i in range(3):
        (tmp_path / f"r{i}" / "etc").mkdir(parents=True)
        (tmp_path / f"r{i}" / "etc" / "f").write_bytes(b"old")
        roots.append(str(tmp_path / f"r{i}"))
    files = [
        localfs.Replacement(r, "/etc/f", b"new", os.getuid(), os.getgid(), 0o600, key=r)
        for r in roots
    ]
    files.append(localfs.Replacement(roots[0], "/missing/f", b"x", 0, 0, 0o644))
    localfs.replace_many(files)
    assert [f.error is None for f in files] == [True, True, True, False]
    assert isinstance(files[3].error, FileNotFoundError)
    if localfs.group_flush_available():
        assert [f.grouped for f in files[:3]] == [True, True, True]
    for r in roots:
        assert os.listdir(Path(r) / "etc") == ["f"]
        assert (Path(r) / "etc" / "f").read_bytes() == b"new"
        assert (Path(r) / "etc" / "f").stat().st_mode & 0o7777 == 0o600


def test_replace_many_alone_on_its_filesystem_is_fsynced(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    [f] = files = [localfs.Replacement(str(tmp_path), "/etc/f", b"new", 0, 0, 0o644)]
    localfs.replace_many(files)
    assert f.error is None and not f.grouped
    assert (tmp_path / "etc" / "f").read_bytes() == b"new"


def test_replace_many_failed_flush_renames_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not localfs.group_flush_available():
        pytest.skip("no syncfs here")
    for i in range(2):
        (tmp_path / f"r{i}").mkdir()
        (tmp_path / f"r{i}" / "f").write_bytes(b"old")

    def broken(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(localfs, "syncfs", broken)
    files = [
        localfs.Replacement(str(tmp_path / f"r{i}"), "/f", b"new", 0, 0, 0o644, key=str(i))
        for i in range(2)
    ]
    localfs.replace_many(files)
    assert all(isinstance(f.error, OSError) for f in files)
    for i in range(2):
        assert os.listdir(tmp_path / f"r{i}") == ["f"]
        assert (tmp_path / f"r{i}" / "f").read_bytes() == b"old"
