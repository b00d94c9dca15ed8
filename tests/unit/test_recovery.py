"""Writes cut short where the engine extracts in place (hotfix.store.recovery), on a fake engine."""

from __future__ import annotations

import pytest

from hotfix.core.errors import Unavailable
from hotfix.core.model import ContainerInfo
from hotfix.service.files import HotfixService
from hotfix.store import recovery, state
from hotfix.store.state import StateStore, version_of
from tests.unit.fakes import FakeContainer, FakeEngine, Node

APP = "/srv/app/app.py"
ORIGINAL = b"print('hello')\n"
NEW = b"print('fixed, and a longer line')\n"


@pytest.mark.parametrize(
    ("live", "new", "old", "expected"),
    [
        (b"new", b"new", b"old", recovery.COMPLETED),
        (b"old", b"new", b"old", recovery.UNTOUCHED),
        (None, b"new", None, recovery.UNTOUCHED),  # it did not exist, and still does not
        (None, b"new", b"old", recovery.CUT_SHORT),  # removed, then the new one never came
        (b"", b"new", b"old", recovery.CUT_SHORT),
        (b"ne", b"new", b"old", recovery.CUT_SHORT),
        (b"ol", b"new", b"old", recovery.CUT_SHORT),  # putting the old one back was cut short
        (b"other", b"new", b"old", recovery.CHANGED),
        (b"newer", b"new", b"old", recovery.CHANGED),
    ],
)
def test_verdict(live: bytes | None, new: bytes, old: bytes | None, expected: str) -> None:
    assert recovery.verdict(live, new, old) == expected


class Killed(BaseException):
    """Stands for SIGKILL: no handler runs."""


def die_writing(
    service: HotfixService, engine: FakeEngine, web: FakeContainer, keep: int | None
) -> None:
    """A save of NEW whose process dies in the write, having written its first ``keep``
    bytes (None: before touching the file)."""

    def die(container: ContainerInfo, path: str, data: bytes) -> None:
        if keep is not None:
            web.fs[path] = Node("file", data=data[:keep])
        raise Killed

    engine.before_write = die
    try:
        with pytest.raises(Killed):
            service.write("web", APP, NEW)
    finally:
        engine.before_write = None


@pytest.fixture
def in_place(engine: FakeEngine) -> FakeEngine:
    engine.atomic_writes = False
    return engine


def test_an_in_place_write_keeps_its_intent_only_while_it_runs(
    service: HotfixService, in_place: FakeEngine, store: StateStore, web: FakeContainer
) -> None:
    kept: list[tuple[bytes | None, bytes | None, list[str]]] = []

    def before_write(container: ContainerInfo, path: str, data: bytes) -> None:
        entry = store.journal()[-1]
        files = sorted(p.name for p in store.intent_dir.iterdir())
        kept.append((*store.get_intent(entry.id, entry.version_before), files))
        assert entry.detail["intent"]["new_version"] == version_of(data)
        assert (entry.detail["intent"]["old_uid"], entry.detail["intent"]["old_mode"]) == (
            1000,
            0o640,
        )

    in_place.before_write = before_write
    first = service.write("web", APP, NEW)
    service.write("web", APP, b"second\n", base_version=first.version)
    [write1, write2] = store.journal()
    assert kept == [
        # the content before a first save is its checkpoint's blob: not kept twice
        (NEW, ORIGINAL, [f"{write1.id}.new"]),
        # nor is a later save's: every save keeps what it wrote as a blob (hotfix.lifecycle)
        (b"second\n", NEW, [f"{write2.id}.new"]),
    ]
    assert store.get_intent(write2.id) == (None, None)
    assert not any(store.intent_dir.iterdir())
    assert "settled" not in write2.detail


def test_an_atomic_write_keeps_no_intent(
    service: HotfixService, engine: FakeEngine, store: StateStore, web: FakeContainer
) -> None:
    service.write("web", APP, NEW)
    [entry] = store.journal()
    assert "intent" not in entry.detail
    assert not store.intent_dir.exists() or not any(store.intent_dir.iterdir())


def test_a_write_cut_short_is_put_back_at_once(
    service: HotfixService, in_place: FakeEngine, store: StateStore, web: FakeContainer
) -> None:
    in_place.write_error = Unavailable("web:/srv/app/app.py: no space left on the device")
    in_place.cut_short = 5
    with pytest.raises(Unavailable) as raised:
        service.write("web", APP, NEW)
    assert str(raised.value) == (
        "web:/srv/app/app.py: no space left on the device; a save cut short had left it "
        "half-written; the previous content was put back"
    )
    node = web.node(APP)
    assert (node.data, node.uid, node.gid, node.mode) == (ORIGINAL, 1000, 1001, 0o640)
    write, recover = store.journal()
    assert (write.action, write.outcome, recover.action, recover.outcome) == (
        "write",
        "failed",
        "recover",
        "ok",
    )
    assert "put back" in write.detail["settled"]
    assert recover.detail["of"] == write.id
    assert store.get_intent(write.id) == (None, None)


def test_a_write_that_failed_before_touching_the_file_says_nothing_more(
    service: HotfixService, in_place: FakeEngine, store: StateStore, web: FakeContainer
) -> None:
    in_place.write_error = Unavailable("web: the engine went away")
    with pytest.raises(Unavailable) as raised:
        service.write("web", APP, NEW)
    assert str(raised.value) == "web: the engine went away"
    assert [e.action for e in store.journal()] == ["write"]
    assert web.node(APP).data == ORIGINAL


def test_when_putting_back_fails_the_next_run_does_it(
    service: HotfixService,
    in_place: FakeEngine,
    store: StateStore,
    web: FakeContainer,
) -> None:
    def engine_gone(container: ContainerInfo, path: str, data: bytes) -> None:
        if data == ORIGINAL:
            raise Unavailable("web: connection refused")

    in_place.write_error = Unavailable("web: connection reset")
    in_place.cut_short = 3
    in_place.before_write = engine_gone
    with pytest.raises(Unavailable) as raised:
        service.write("web", APP, NEW)
    assert str(raised.value) == (
        "web: connection reset; a save cut short left it half-written, and putting the "
        "previous content back failed (web: connection refused); the next hotfix run tries again"
    )
    assert web.node(APP).data == NEW[:3]
    assert len(store.unsettled_writes()) == 1

    in_place.before_write = None  # the engine is back
    after = HotfixService(in_place, store, user="tester")  # type: ignore[arg-type]
    assert after.settled == [
        "web:/srv/app/app.py: a save cut short had left it half-written; the previous content "
        "was put back"
    ]
    assert web.node(APP).data == ORIGINAL
    assert store.unsettled_writes() == []


def test_the_next_run_settles_the_write_of_a_process_that_died(
    service: HotfixService,
    in_place: FakeEngine,
    store: StateStore,
    web: FakeContainer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    die_writing(service, in_place, web, keep=7)
    assert web.node(APP).data == NEW[:7]
    assert HotfixService(in_place, store).settled == []  # its process (this one) is alive

    monkeypatch.setattr(state, "alive", lambda pid: False)
    nxt = HotfixService(in_place, store, user="tester")  # type: ignore[arg-type]
    assert nxt.settled == [
        "web:/srv/app/app.py: a save cut short had left it half-written; the previous content "
        "was put back"
    ]
    assert web.node(APP).data == ORIGINAL
    assert [(e.action, e.outcome) for e in store.journal()] == [
        ("write", "incomplete"),
        ("recover", "ok"),
    ]
    assert HotfixService(in_place, store).settled == []  # settled once


def test_the_next_run_leaves_a_file_changed_since_alone(
    service: HotfixService,
    in_place: FakeEngine,
    store: StateStore,
    web: FakeContainer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    die_writing(service, in_place, web, keep=None)
    web.add_file(APP, b"fixed by hand\n")
    monkeypatch.setattr(state, "alive", lambda pid: False)
    nxt = HotfixService(in_place, store, user="tester")  # type: ignore[arg-type]
    assert nxt.settled == [
        "web:/srv/app/app.py: an interrupted save; the file changed since, so it was left alone"
    ]
    assert web.node(APP).data == b"fixed by hand\n"


def test_writes_of_another_engine_are_left_to_its_service(
    service: HotfixService,
    in_place: FakeEngine,
    store: StateStore,
    web: FakeContainer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    die_writing(service, in_place, web, keep=0)
    monkeypatch.setattr(state, "alive", lambda pid: False)
    other = FakeEngine("staging")
    assert HotfixService(other, store).settled == []  # type: ignore[arg-type]
    assert len(store.unsettled_writes()) == 1


def test_the_next_run_removes_an_intent_temp_its_dead_writer_left(
    in_place: FakeEngine, store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.intent_dir.mkdir(exist_ok=True)
    temp = store.intent_dir / ".3.new.4242.140001.tmp"  # killed while it wrote its intent
    temp.write_bytes(NEW[:5])
    monkeypatch.setattr(state, "alive", lambda pid: pid != 4242)
    HotfixService(in_place, store, user="tester")  # type: ignore[arg-type]
    assert not temp.exists()


def test_settling_does_not_read_a_file_larger_than_both_contents(
    service: HotfixService,
    in_place: FakeEngine,
    store: StateStore,
    web: FakeContainer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Neither content nor a part of one: it changed since, which its size alone shows."""
    die_writing(service, in_place, web, keep=None)
    web.add_file(APP, b"#" * (len(NEW) + 1))
    monkeypatch.setattr(state, "alive", lambda pid: False)
    nxt = HotfixService(in_place, store, user="tester")  # type: ignore[arg-type]
    assert nxt.settled == [
        "web:/srv/app/app.py: an interrupted save; the file changed since (it is larger than "
        "the content before or after that save), so it was left alone"
    ]
    assert web.node(APP).data == b"#" * (len(NEW) + 1)
    assert store.unsettled_writes() == []


def test_a_running_service_settles_a_save_cut_short_since_before_it_writes(
    service: HotfixService,
    in_place: FakeEngine,
    store: StateStore,
    web: FakeContainer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A language server runs on while a CLI save of the same file dies half-written: the
    server's next save puts the file back first, so the half is never its "before"."""
    cli = HotfixService(in_place, store, user="tester")  # type: ignore[arg-type]
    cli.write("web", APP, b"print(1)\n")
    die_writing(cli, in_place, web, keep=7)
    monkeypatch.setattr(state, "alive", lambda pid: False)  # the CLI's process died

    result = service.write("web", APP, b"print(3)\n")
    assert result.previous_version == version_of(b"print(1)\n")
    assert result.warnings == [
        "web:/srv/app/app.py: a save cut short had left it half-written; the previous content "
        "was put back"
    ]
    assert [(e.action, e.outcome) for e in store.journal()] == [
        ("write", "ok"),
        ("write", "incomplete"),
        ("recover", "ok"),
        ("write", "ok"),
    ]
    assert store.unsettled_writes() == [] and not any(store.intent_dir.iterdir())
