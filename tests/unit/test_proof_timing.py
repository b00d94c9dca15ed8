"""The proof's looks (issue 16, save → proven live): every 10 ms, never more often than a look
takes, and after a signal without an inspect per look (PID 1 stays); a restart inspects."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from hotfix.service.files import HotfixService
from hotfix.service.golive import POLL_INTERVAL, wait_until_new
from hotfix.service.processes import Listing, Process
from hotfix.store.state import StateStore
from tests.unit.fakes import FakeContainer, FakeEngine

OLD = Listing(1, [Process(1, 0, 0.0, "uwsgi --master"), Process(2, 1, 0.0, "uwsgi --master")], 0.01)


def count_looks(look_seconds: float, settle: float) -> int:
    looks = 0

    def look() -> Listing:
        nonlocal looks
        looks += 1
        time.sleep(look_seconds)
        return OLD  # its workers never renew: the loop runs until settle

    proof = wait_until_new(look, 100.0, settle, lambda: False)
    assert proof.applied is False
    return looks


def test_looks_come_every_poll_interval_and_no_faster_than_a_look_takes() -> None:
    assert POLL_INTERVAL <= 0.01
    fast = count_looks(0.0, 0.3)
    slow = count_looks(0.05, 0.3)
    assert fast >= 10  # at 50 ms apart (before) it was at most 7
    assert slow <= 4  # 50 ms looks, each followed by a pause as long: not back to back


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[HotfixService, FakeEngine]:
    monkeypatch.setattr(os, "fsync", lambda fd: None)
    engine = FakeEngine()
    web = engine.add_container("web")
    web.processes = [
        (4242, 0, time.time() - 60, "gunicorn: master [app:app]"),
        (4300, 4242, time.time() - 60, "gunicorn: worker [app:app]"),
    ]
    web.reload_applies = False  # old workers stay: the proof looks until its settle time
    return HotfixService(engine, StateStore(tmp_path / "s"), "t"), engine  # type: ignore[arg-type]


def test_a_signal_proof_inspects_once_a_restart_per_look(
    service: tuple[HotfixService, FakeEngine],
) -> None:
    svc, engine = service
    signalled = svc.restart("web", "exec:true", signal="HUP", timeout=0.3)
    assert signalled.applied is False
    inspects = len(engine.called("inspect"))
    assert len(engine.called("top")) >= 5 and inspects <= 2

    engine.calls.clear()

    def old_again(container: FakeContainer) -> None:  # a restart whose processes look old
        container.processes = [(p, pp, time.time() - 60, a) for p, pp, _, a in container.processes]

    engine._find("web").on_restart = old_again
    restarted = svc.restart("web", "exec:true", restart=True, timeout=0.3)
    assert len(engine.called("inspect")) >= len(engine.called("top")) >= 2
    assert restarted.action == "restart"
