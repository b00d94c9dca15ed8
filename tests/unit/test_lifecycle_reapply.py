"""Status, reapply and the debt line over a fake engine: recreate a Compose replica, find it
lost, carry the fix over (or refuse with the hunk), and the cost of the debt check."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hotfix.core.errors import Conflict, UsageError
from hotfix.lifecycle import debt
from hotfix.lifecycle.reapply import ReapplyRequest, reapply
from hotfix.lifecycle.status import lacking, stage_by_container, statuses, survey
from hotfix.service.files import HotfixService
from hotfix.store.state import StateStore
from tests.unit.fakes import FakeContainer, FakeEngine

APP = "/srv/app.py"
ORIGINAL = b"one\ntwo\nthree\nfour\nfive\nsix\nseven\n"
FIXED = ORIGINAL.replace(b"two", b"TWO")


def replica(engine: FakeEngine, number: int, content: bytes = ORIGINAL) -> FakeContainer:
    c = engine.add_container(f"shop-web-{number}")
    c.labels.update(
        {
            "com.docker.compose.project": "shop",
            "com.docker.compose.service": "web",
            "com.docker.compose.container-number": str(number),
        }
    )
    c.add_file(APP, content)
    return c


@pytest.fixture
def world(tmp_path: Path) -> tuple[FakeEngine, HotfixService]:
    engine = FakeEngine()
    return engine, HotfixService(engine, StateStore(tmp_path / "state"), user="ann")  # type: ignore[arg-type]


def recreate(engine: FakeEngine, old: FakeContainer, content: bytes = ORIGINAL) -> FakeContainer:
    engine.remove_container(old.id)
    return replica(engine, int(old.name.rsplit("-", 1)[1]), content)


def stages(svc: HotfixService) -> list[tuple[list[str], str, bool]]:
    return [(s.containers, s.stage, s.present) for s in statuses(survey(svc.store, lambda _: svc))]


def test_recreated_replica_is_lost_then_reapplied_then_live(world):
    engine, svc = world
    old = replica(engine, 2)
    svc.write(old.name, APP, FIXED)
    assert stages(svc) == [(["shop-web-2"], "live", True)]

    new = recreate(engine, old)
    assert stages(svc) == [(["shop-web-2"], "lost", False)]
    assert stage_by_container(survey(svc.store, lambda _: svc)) == {new.id: "lost"}
    assert lacking(survey(svc.store, lambda _: svc)) == [("shop-web-2", APP, "shop-web-2")]
    assert "lost" in (debt.debt_line(svc) or "")

    result = reapply(svc.store, lambda _: svc, ReapplyRequest("shop-web-2"))
    assert result.container.id == new.id and result.how == {APP: "written as fixed"}
    assert new.node(APP).data == FIXED
    assert svc.store.get_checkpoint(new.id, APP) is not None  # the ordinary save path
    assert stages(svc) == [(["shop-web-2"], "live", True)]
    [row] = [e for e in svc.store.journal() if e.action == "reapply"]
    assert (row.container_id, row.detail["from"], row.outcome) == (new.id, old.id, "ok")
    assert debt.debt_line(svc) is None


def test_a_successor_changed_elsewhere_gets_a_three_way_merge(world):
    engine, svc = world
    old = replica(engine, 1)
    svc.write(old.name, APP, FIXED)
    new = recreate(engine, old, ORIGINAL.replace(b"six", b"SIX"))
    result = reapply(svc.store, lambda _: svc, ReapplyRequest("shop-web-1"))
    assert result.how == {APP: "patched (three-way)"}
    assert new.node(APP).data == FIXED.replace(b"six", b"SIX")


def test_a_conflicting_successor_is_refused_with_the_hunk_and_nothing_written(world):
    engine, svc = world
    old = replica(engine, 1)
    svc.write(old.name, APP, FIXED)
    conflicting = ORIGINAL.replace(b"two", b"deux")
    new = recreate(engine, old, conflicting)
    with pytest.raises(Conflict, match=r"hunk @@ -1,5 @@"):
        reapply(svc.store, lambda _: svc, ReapplyRequest("shop-web-1"))
    assert new.node(APP).data == conflicting
    assert svc.store.get_checkpoint(new.id, APP) is None
    assert not [e for e in svc.store.journal() if e.action == "reapply"]


def test_reapply_wants_a_successor_or_a_named_target(world):
    engine, svc = world
    old = replica(engine, 1)
    svc.write(old.name, APP, FIXED)
    with pytest.raises(UsageError, match="still exists"):
        reapply(svc.store, lambda _: svc, ReapplyRequest("shop-web-1"))
    engine.remove_container(old.id)
    with pytest.raises(UsageError, match="0 successors"):
        reapply(svc.store, lambda _: svc, ReapplyRequest("shop-web-1"))
    other = engine.add_container("elsewhere")
    other.add_file(APP, ORIGINAL)
    result = reapply(svc.store, lambda _: svc, ReapplyRequest("shop-web-1", to="elsewhere"))
    assert result.container.id == other.id and other.node(APP).data == FIXED
    with pytest.raises(UsageError, match="no hotfix"):
        reapply(svc.store, lambda _: svc, ReapplyRequest("nobody"))


def test_the_debt_line_warns_of_an_old_unharvested_hotfix(world, monkeypatch):
    engine, svc = world
    c = replica(engine, 1)
    svc.write(c.name, APP, FIXED)
    assert debt.debt_line(svc) is None
    later = time.time() + 5 * 3600
    assert "live and not harvested — shop-web-1's for 5.0 h" in (debt.debt_line(svc, later) or "")
    monkeypatch.setenv(debt.UNHARVESTED_AFTER_ENV, "6h")
    assert debt.debt_line(svc, later) is None
    monkeypatch.setenv(debt.UNHARVESTED_AFTER_ENV, "off")
    assert debt.unharvested_after() is None
    monkeypatch.setenv(debt.UNHARVESTED_AFTER_ENV, "soon")
    with pytest.raises(UsageError, match="HOTFIX_UNHARVESTED_AFTER"):
        debt.unharvested_after()


def test_the_debt_check_asks_no_engine_without_hotfixes(world):
    engine, svc = world
    replica(engine, 1)
    engine.calls.clear()
    assert debt.debt_line(svc) is None
    assert engine.called("list_containers") == []
