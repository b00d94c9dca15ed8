"""Apply is idempotent (issue 16): a target at the fix, live and healthy is neither written nor
restarted; the apply warns when the source's change never went live healthy. Fake engines."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hotfix.cli.fleet import _apply_text
from hotfix.fleet import ALREADY_FIXED, Fleet, Target
from hotfix.store.state import StateStore
from hotfix.views import view
from tests.unit.fakes import FakeContainer, FakeEngine
from tests.unit.test_fleet import APP, NEW, FakeEngines, engine_of, hotfix_source, replica

PROBE = "exec:check"
SOURCE = Target("default", "a")


@pytest.fixture
def fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Fleet:
    monkeypatch.setattr(os, "fsync", lambda fd: None)
    engines = FakeEngines(default=FakeEngine("default"))
    return Fleet(engines, StateStore(tmp_path / "state"), user="tester")  # type: ignore[arg-type]


def rolling(fleet: Fleet, names: str, **kwargs: object) -> list[tuple[str, str]]:
    result = fleet.apply(
        SOURCE,
        [Target("default", n) for n in names],
        rolling=True,
        probe=PROBE,
        timeout=0.5,
        **kwargs,  # type: ignore[arg-type]
    )
    return [(str(o.target), o.status) for o in result.outcomes]


def restarts(engine: FakeEngine) -> list[str]:
    return [engine._fc(call[1]).name for call in engine.called("restart")]


def live_source(fleet: Fleet) -> None:
    hotfix_source(fleet)
    assert fleet.service("default").restart("a", PROBE, timeout=0.5).healthy


def test_rolling_apply_twice_restarts_nothing_the_second_time(fleet: Fleet) -> None:
    engine = engine_of(fleet)
    replica(engine, "a")
    b, c = replica(engine, "b"), replica(engine, "c")
    live_source(fleet)
    assert rolling(fleet, "bc") == [("b", "fixed"), ("c", "fixed")]
    before = len(engine.called("restart"))
    writes = [len(fleet.store.journal(x.id)) for x in (b, c)]

    again = fleet.apply(
        SOURCE, [Target("default", "b"), Target("default", "c")], rolling=True, probe=PROBE
    )
    assert [o.status for o in again.outcomes] == [ALREADY_FIXED, ALREADY_FIXED]
    assert again.ok and again.warnings == []
    assert len(engine.called("restart")) == before  # nothing restarted
    assert all(o.health is not None and o.health.healthy for o in again.outcomes)
    # Only the probe's row was added to each target's journal: no write, no restart.
    for x, count in zip((b, c), writes, strict=True):
        added = fleet.store.journal(x.id)[count:]
        assert [e.action for e in added] == ["probe"]
    [row] = [e for e in fleet.store.journal() if e.action == "apply"][-1:]
    assert row.detail["targets"] == {"b": ALREADY_FIXED, "c": ALREADY_FIXED}


def test_a_target_at_the_fix_but_unhealthy_is_restarted_not_skipped(fleet: Fleet) -> None:
    engine = engine_of(fleet)
    replica(engine, "a")
    b = replica(engine, "b")
    b.node(APP).data = NEW  # fixed by someone, but its service is down until restarted
    healthy = {"a": True, "b": False}

    def restarted(container: FakeContainer) -> None:
        healthy[container.name] = True

    b.on_restart = restarted
    engine.exec_handler = lambda cid, argv: (0, b"") if healthy[engine._fc(cid).name] else (1, b"")
    live_source(fleet)
    assert rolling(fleet, "b") == [("b", "fixed")]
    assert restarts(engine) == ["a", "b"]
    assert fleet.store.checkpoints(b.id) == []  # its content was not written again


def test_a_mixed_set_skips_only_the_targets_already_fixed(fleet: Fleet) -> None:
    engine = engine_of(fleet)
    replica(engine, "a")
    for name in "bcd":
        replica(engine, name)
    live_source(fleet)
    assert rolling(fleet, "c") == [("c", "fixed")]
    assert rolling(fleet, "bcd") == [("b", "fixed"), ("c", ALREADY_FIXED), ("d", "fixed")]
    assert restarts(engine) == ["a", "c", "b", "d"]


def test_a_target_written_but_never_live_is_restarted(fleet: Fleet) -> None:
    engine = engine_of(fleet)
    replica(engine, "a")
    replica(engine, "b")
    live_source(fleet)
    parallel = fleet.apply(SOURCE, [Target("default", "b")], probe=PROBE)
    assert [o.status for o in parallel.outcomes] == ["written"]
    again = fleet.apply(SOURCE, [Target("default", "b")], probe=PROBE)
    [outcome] = again.outcomes
    assert outcome.status == "written"
    assert "never went live healthy since: restart it" in outcome.detail
    assert rolling(fleet, "b") == [("b", "fixed")]  # not skipped: it goes live
    assert restarts(engine) == ["a", "b"]
    assert rolling(fleet, "b") == [("b", ALREADY_FIXED)]


def test_non_rolling_apply_reports_a_live_healthy_target_already_fixed(fleet: Fleet) -> None:
    engine = engine_of(fleet)
    replica(engine, "a")
    b = replica(engine, "b")
    b.node(APP).data = NEW  # came with its image: no write of hotfix's to prove
    live_source(fleet)
    result = fleet.apply(SOURCE, [Target("default", "b")], probe=PROBE)
    assert [o.status for o in result.outcomes] == [ALREADY_FIXED]
    assert result.ok
    assert "  b: already fixed (" in _apply_text(SOURCE, [Target("default", "b")], result)
    assert view(result)["targets"][0]["status"] == "already fixed"


def test_the_fixed_content_with_another_owner_or_mode_is_a_conflict(fleet: Fleet) -> None:
    engine = engine_of(fleet)
    replica(engine, "a")
    b = replica(engine, "b")
    b.node(APP).data = NEW
    b.node(APP).mode = 0o600
    live_source(fleet)
    [outcome] = fleet.apply(SOURCE, [Target("default", "b")], probe=PROBE).outcomes
    assert outcome.status == "conflict"
    assert "mode 0o600 (the source's 0o755)" in outcome.detail
    forced = fleet.apply(SOURCE, [Target("default", "b")], probe=PROBE, force=True)
    assert [o.status for o in forced.outcomes] == [ALREADY_FIXED]
    assert b.node(APP).mode == 0o600  # --force leaves them


def test_apply_warns_when_the_source_never_went_live_healthy(fleet: Fleet) -> None:
    engine = engine_of(fleet)
    replica(engine, "a")
    replica(engine, "b")
    hotfix_source(fleet)
    result = fleet.apply(SOURCE, [Target("default", "b")])
    [warning] = result.warnings
    assert warning.startswith("a's change never went live healthy") and APP in warning
    assert view(result)["warnings"] == [warning]
    [row] = [e for e in fleet.store.journal() if e.action == "apply"]
    assert row.detail["warnings"] == [warning]

    assert fleet.service("default").restart("a", PROBE, timeout=0.5).healthy
    assert fleet.apply(SOURCE, [Target("default", "b")]).warnings == []

    # A later save of the source is unproven again; an unhealthy going-live does not prove it.
    fleet.service("default").write("a", APP, b"flag = None\n")
    assert fleet.apply(SOURCE, [Target("default", "b")], force=True).warnings
    engine.exec_result = (1, b"")
    assert not fleet.service("default").restart("a", PROBE, timeout=0.3).healthy
    assert fleet.apply(SOURCE, [Target("default", "b")], force=True).warnings


def test_went_live_after_write_orders_rows_by_the_journal(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state")
    row = {"user": "u", "container_id": "c1"}
    assert store.went_live_after_write("c1", [APP]) is None
    store.journal_add(action="restart", **row)
    store.journal_add(action="write", path=APP, **row)
    assert store.went_live_after_write("c1", [APP]) is False
    store.journal_add(action="restart", outcome="failed", **row)
    store.journal_add(action="probe", **row)
    assert store.went_live_after_write("c1", [APP]) is False
    store.journal_add(action="restart", **row)
    assert store.went_live_after_write("c1", [APP]) is True
    assert store.went_live_after_write("c2", [APP]) is None  # another container's rows
    store.journal_add(action="revert", path="/other", **row)
    assert store.went_live_after_write("c1", [APP]) is True  # another path
    assert store.went_live_after_write("c1", [APP, "/other"]) is False
    store.journal_add(action="write", path=APP, outcome="failed", **row)
    store.journal_add(action="restart", **row)
    assert (
        store.went_live_after_write("c1", [APP, "/other"]) is True
    )  # a failed write wrote nothing
