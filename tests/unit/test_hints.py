"""Hints where the Engine's behaviour costs time (issue 16, item 9): a restart that waited
out its stop timeout because PID 1 ignored the stop signal."""

from __future__ import annotations

import pytest

from hotfix.service import hints
from hotfix.service.hints import restart_with_hints, slow_stop_hints
from tests.unit.fakes import FakeContainer, FakeEngine


def test_a_restart_that_took_the_whole_timeout_gets_a_hint() -> None:
    assert slow_stop_hints(10.4) == [
        "waited 10 s for SIGTERM: the container's PID 1 ignored it and was killed; consider "
        "--signal (a reload), or a STOPSIGNAL the server handles, or --init"
    ]


def test_a_quick_restart_gets_none() -> None:
    assert slow_stop_hints(1.3) == []
    assert slow_stop_hints(9.0) == []


def test_the_containers_own_timeout_and_signal_are_named() -> None:
    [hint] = slow_stop_hints(3.1, stop_timeout=3, stop_signal="QUIT")
    assert hint.startswith("waited 3 s for SIGQUIT:")
    assert slow_stop_hints(2.0, stop_timeout=3) == []


def test_a_zero_timeout_kills_at_once_and_needs_no_hint() -> None:
    assert slow_stop_hints(0.5, stop_timeout=0) == []


def _clock(monkeypatch: pytest.MonkeyPatch, restart_takes: float) -> None:
    moments = iter([100.0, 100.0 + restart_takes])
    monkeypatch.setattr(hints.time, "monotonic", lambda: next(moments))


def test_restart_with_hints_counts_the_timeout_the_restart_was_given(
    engine: FakeEngine, web: FakeContainer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docker-py's restart sends the Engine's default (10 s) unless told another."""
    web.stop_signal = "SIGTERM"
    _clock(monkeypatch, 10.05)
    [hint] = restart_with_hints(engine, web.id)  # type: ignore[arg-type]
    assert hint.startswith("waited 10 s for SIGTERM")
    _clock(monkeypatch, 2.05)
    [hint] = restart_with_hints(engine, web.id, stop_timeout=2)  # type: ignore[arg-type]
    assert hint.startswith("waited 2 s for SIGTERM")
    _clock(monkeypatch, 2.05)
    assert restart_with_hints(engine, web.id) == []  # type: ignore[arg-type]


def test_restart_with_hints_does_not_inspect_after_a_quick_restart(
    engine: FakeEngine, web: FakeContainer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _clock(monkeypatch, 0.4)
    assert restart_with_hints(engine, web.id) == []  # type: ignore[arg-type]
    assert engine.called("inspect") == []
