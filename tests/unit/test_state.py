"""state: durable checkpoints, content-addressed blobs, the journal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hotfix.core.errors import Unavailable
from hotfix.store.state import Checkpoint, StateStore, sha256, version_of

CID = "c0ffee" + "1" * 58
OTHER = "beef00" + "2" * 58


def checkpoint(path: str = "/srv/app/app.py", container_id: str = CID, **kw: object) -> Checkpoint:
    fields: dict[str, object] = {
        "container_id": container_id,
        "path": path,
        "container_name": "web",
        "image": "registry.example/app:1.0",
        "image_id": "sha256:" + "ab" * 32,
        "present": True,
        "blob": None,
        "size": 6,
        "mode": 0o640,
        "uid": 1000,
        "gid": 1001,
        "mtime": 1_700_000_000.5,
        "created_at": 1_700_000_100.0,
    }
    fields.update(kw)
    return Checkpoint(**fields)  # type: ignore[arg-type]


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # reaped: the PID now names no process
    return proc.pid


def test_version_of() -> None:
    assert version_of(b"abc") == "sha256:" + sha256(b"abc")
    assert sha256(b"abc").startswith("ba7816bf")


def test_checkpoint_survives_reopening(tmp_path: Path) -> None:
    first = StateStore(tmp_path / "s")
    stored = first.put_checkpoint(checkpoint(), b"hello\n")
    assert stored.blob == sha256(b"hello\n")
    assert stored.version == version_of(b"hello\n")
    first.close()

    again = StateStore(tmp_path / "s")
    got = again.get_checkpoint(CID, "/srv/app/app.py")
    assert got == stored
    assert got is not None and got.present and got.mode == 0o640 and got.uid == 1000
    assert again.get_blob(got.blob or "") == b"hello\n"
    blob_file = tmp_path / "s" / "blobs" / got.blob[:2] / got.blob  # type: ignore[index]
    assert blob_file.read_bytes() == b"hello\n"
    again.close()


def test_state_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTFIX_STATE_DIR", str(tmp_path / "env-state"))
    st = StateStore()
    assert st.directory == tmp_path / "env-state"
    assert (tmp_path / "env-state" / "state.db").exists()
    st.close()


def test_absent_file_checkpoint_has_no_blob(store: StateStore) -> None:
    stored = store.put_checkpoint(checkpoint(size=None, mode=None, uid=None, gid=None), None)
    assert not stored.present and stored.blob is None and stored.version is None
    got = store.get_checkpoint(CID, "/srv/app/app.py")
    assert got is not None and not got.present and got.blob is None


def test_put_checkpoint_replaces_and_lists(store: StateStore) -> None:
    store.put_checkpoint(checkpoint("/b"), b"one")
    store.put_checkpoint(checkpoint("/a"), b"two")
    store.put_checkpoint(checkpoint("/z", container_id=OTHER), b"three")
    store.put_checkpoint(checkpoint("/b"), b"four")
    assert [c.path for c in store.checkpoints(CID)] == ["/a", "/b"]
    assert [(c.container_id, c.path) for c in store.checkpoints()] == [
        (OTHER, "/z"),
        (CID, "/a"),
        (CID, "/b"),
    ]
    b = store.get_checkpoint(CID, "/b")
    assert b is not None and store.get_blob(b.blob or "") == b"four"
    assert store.get_checkpoint(CID, "/missing") is None
    assert store.get_checkpoint(OTHER, "/a") is None


def test_same_content_is_stored_once(store: StateStore) -> None:
    store.put_checkpoint(checkpoint("/a"), b"same")
    store.put_checkpoint(checkpoint("/b"), b"same")
    blobs = [p for p in store.blob_dir.rglob("*") if p.is_file()]
    assert [p.name for p in blobs] == [sha256(b"same")]


def test_corrupt_blob_detected(store: StateStore) -> None:
    stored = store.put_checkpoint(checkpoint(), b"original content\n")
    digest = stored.blob or ""
    blob_file = store.blob_dir / digest[:2] / digest
    data = bytearray(blob_file.read_bytes())
    data[3] ^= 0x01
    blob_file.write_bytes(bytes(data))
    with pytest.raises(Unavailable, match="corrupt"):
        store.get_blob(digest)


def test_missing_blob_is_unavailable(store: StateStore) -> None:
    with pytest.raises(Unavailable, match="missing"):
        store.get_blob(sha256(b"never stored"))


def test_unusable_state_dir_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(Unavailable, match="state store"):
        StateStore(tmp_path / "file")


def test_journal_order_filter_and_limit(store: StateStore) -> None:
    ids = [
        store.journal_add(action=f"a{i}", user="u", container_id=CID if i % 2 else OTHER)
        for i in range(6)
    ]
    assert ids == sorted(ids)
    assert [e.action for e in store.journal()] == ["a0", "a1", "a2", "a3", "a4", "a5"]
    assert [e.action for e in store.journal(limit=2)] == ["a4", "a5"]
    assert [e.action for e in store.journal(CID)] == ["a1", "a3", "a5"]
    assert [e.action for e in store.journal(CID, limit=2)] == ["a3", "a5"]
    assert [e.action for e in store.journal(limit=100)] == [f"a{i}" for i in range(6)]


def test_journal_start_and_finish(store: StateStore) -> None:
    entry = store.journal_start(
        action="write",
        user="alice",
        container_id=CID,
        container_name="web",
        image="img",
        path="/x",
        version_before="sha256:old",
        detail={"note": "n"},
    )
    [started] = store.journal()
    assert started.outcome == "started"
    assert started.detail == {"note": "n", "pid": os.getpid()}
    store.journal_finish(entry, "ok", version_after="sha256:new", seconds=1.5)
    [done] = store.journal()
    assert (done.outcome, done.version_before, done.version_after) == (
        "ok",
        "sha256:old",
        "sha256:new",
    )
    assert done.detail == {"note": "n", "pid": os.getpid(), "seconds": 1.5}
    assert (done.user, done.action, done.path, done.container_name) == (
        "alice",
        "write",
        "/x",
        "web",
    )
    store.journal_finish(entry, "failed", error="boom")  # version_after kept
    [failed] = store.journal()
    assert (failed.outcome, failed.version_after, failed.detail["error"]) == (
        "failed",
        "sha256:new",
        "boom",
    )


def test_mark_stale_incomplete(store: StateStore) -> None:
    pid = dead_pid()
    dead = store.journal_add(outcome="started", action="write", user="u", detail={"pid": pid})
    live = store.journal_start(action="write", user="u")
    no_pid = store.journal_add(outcome="started", action="restart", user="u")
    done = store.journal_add(outcome="ok", action="write", user="u", detail={"pid": pid})
    stale = store.mark_stale_incomplete()
    assert sorted(e.id for e in stale) == [dead, no_pid]
    outcomes = {e.id: e.outcome for e in store.journal()}
    assert outcomes == {dead: "incomplete", live: "started", no_pid: "incomplete", done: "ok"}
    assert store.mark_stale_incomplete() == []


def test_journalled_brackets_the_work(store: StateStore) -> None:
    with store.journalled(action="restart", user="u", container_id=CID) as record:
        assert [e.outcome for e in store.journal()] == ["started"]
        record.outcome, record.detail = "failed", {"healthy": False}  # ran, not healthy
    with (
        pytest.raises(Unavailable),
        store.journalled(
            catch=Unavailable, describe=lambda exc: f"said: {exc}", action="write", user="u"
        ),
    ):
        raise Unavailable("engine gone")
    with pytest.raises(KeyError), store.journalled(catch=Unavailable, action="write", user="u"):
        raise KeyError("not caught: as if killed")
    unhealthy, failed, killed = store.journal()
    assert (unhealthy.outcome, unhealthy.detail["healthy"]) == ("failed", False)
    assert (failed.outcome, failed.detail["error"]) == ("failed", "said: engine gone")
    assert killed.outcome == "started"


def test_unsettled_writes_of_one_file(store: StateStore) -> None:
    """Its in-place writes that did not end well, a dead process's ``started`` among them
    (then ``incomplete``); not a live process's, not another file's, not a settled one."""
    intent = {"intent": {"engine": "default", "new_version": "sha256:n", "old_present": True}}

    def row(outcome: str, path: str = "/x", pid: int | None = None, **more: object) -> int:
        detail = {**intent, "pid": pid or dead_pid(), **more}
        return store.journal_add(
            outcome=outcome, action="write", user="u", container_id=CID, path=path, detail=detail
        )

    dead, failed = row("started"), row("failed")
    row("started", pid=os.getpid())
    row("failed", path="/y")
    row("failed", settled="put back")
    store.journal_add(outcome="failed", action="write", user="u", container_id=CID, path="/x")
    found = store.unsettled_writes_of(CID, "/x")
    assert [(e.id, e.outcome) for e in found] == [(dead, "incomplete"), (failed, "failed")]
    assert {e.id: e.outcome for e in store.journal()}[dead] == "incomplete"


def test_find_containers_by_name_and_id_prefix(store: StateStore) -> None:
    store.journal_add(action="write", user="u", container_id=CID, container_name="web")
    store.journal_add(action="write", user="u", container_id=CID, container_name="web")
    store.journal_add(action="write", user="u", container_id=OTHER, container_name="db")
    store.journal_add(action="probe", user="u")  # no container
    assert store.find_containers("web") == [(CID, "web")]
    assert store.find_containers("c0ffee") == [(CID, "web")]
    assert store.find_containers(CID) == [(CID, "web")]
    assert store.find_containers("beef") == [(OTHER, "db")]
    assert store.find_containers("we") == []
    assert store.find_containers("ffff") == []


@pytest.mark.parametrize("ref", ["c_ffee", "_", "%"])
def test_find_containers_wildcards_are_literal(store: StateStore, ref: str) -> None:
    store.journal_add(action="write", user="u", container_id=CID, container_name="web")
    assert store.find_containers(ref) == []


def test_intent_temps_of_dead_writers_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    store.intent_dir.mkdir()
    dead = store.intent_dir / f".7.new.{dead_pid()}.140001.tmp"
    live = store.intent_dir / f".8.old.{os.getpid()}.140002.tmp"
    whole = store.intent_dir / "9.new"  # a finished intent: settling decides about it
    other = store.intent_dir / ".notes.tmp"  # not a name the store makes
    for path in (dead, live, whole, other):
        path.write_bytes(b"partial")
    assert store.drop_abandoned_intent_temps() == [dead.name]
    assert sorted(p.name for p in store.intent_dir.iterdir()) == sorted(
        [live.name, whole.name, other.name]
    )


def test_an_intent_temp_older_than_the_process_holding_its_pid_was_anothers(
    tmp_path: Path,
) -> None:
    store = StateStore(tmp_path)
    store.intent_dir.mkdir()
    reused = store.intent_dir / f".7.new.{os.getpid()}.140001.tmp"
    reused.write_bytes(b"partial")
    os.utime(reused, (0, 0))  # written long before this process (now at that pid) started
    assert store.drop_abandoned_intent_temps() == [reused.name]


def test_no_intent_directory_is_nothing_to_remove(tmp_path: Path) -> None:
    assert StateStore(tmp_path).drop_abandoned_intent_temps() == []
