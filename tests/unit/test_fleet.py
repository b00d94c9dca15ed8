"""Replicas and apply, over fake engines: discovery, conflicts, rolling stop-and-revert."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hotfix.core.errors import UsageError
from hotfix.fleet import Fleet, Target
from hotfix.service.files import HotfixService
from hotfix.store.state import StateStore
from tests.unit.fakes import FakeContainer, FakeEngine

APP = "/srv/app.py"
OLD = b"flag = True\n"
NEW = b"flag = False\n"


class FakeEngines:
    def __init__(self, **engines: FakeEngine) -> None:
        self.engines = engines

    def get(self, name: str | None = None) -> FakeEngine:
        return self.engines[name or "default"]

    def all(self) -> list[FakeEngine]:
        return list(self.engines.values())


def replica(engine: FakeEngine, name: str, project: str = "shop") -> FakeContainer:
    c = engine.add_container(name)
    c.labels.update({"com.docker.compose.project": project, "com.docker.compose.service": "web"})
    c.add_dir("/srv")
    c.add_file(APP, OLD, mode=0o755, uid=1000, gid=1000)
    return c


@pytest.fixture
def fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Fleet:
    monkeypatch.setattr(os, "fsync", lambda fd: None)
    engines = FakeEngines(default=FakeEngine("default"), other=FakeEngine("other"))
    return Fleet(engines, StateStore(tmp_path / "state"), user="tester")  # type: ignore[arg-type]


def engine_of(fleet: Fleet, name: str = "default") -> FakeEngine:
    return fleet.engines.get(name)  # type: ignore[return-value]


def hotfix_source(fleet: Fleet) -> HotfixService:
    svc = fleet.service("default")
    svc.write("a", APP, NEW)
    return svc


def test_target_parse() -> None:
    assert Target.parse("web-1") == Target("default", "web-1")
    assert Target.parse("engine2/web-1") == Target("engine2", "web-1")
    assert str(Target("engine2", "web-1")) == "engine2/web-1"
    assert str(Target("default", "web-1")) == "web-1"
    with pytest.raises(UsageError):
        Target.parse("engine2/")


def test_replicas_by_compose_labels_across_engines(fleet: Fleet) -> None:
    replica(engine_of(fleet), "a")
    replica(engine_of(fleet), "b")
    replica(engine_of(fleet), "other-project", project="blog")
    replica(engine_of(fleet, "other"), "c")
    assert fleet.replicas(Target("default", "a")) == [Target("default", "b")]
    assert fleet.replicas(Target("default", "a"), all_engines=True) == [
        Target("default", "b"),
        Target("other", "c"),
    ]


def test_no_service_labels_needs_same_image(fleet: Fleet) -> None:
    engine_of(fleet).add_container("lonely")
    with pytest.raises(UsageError, match="--same-image"):
        fleet.replicas(Target("default", "lonely"))


def test_apply_writes_every_target_and_checkpoints_each(fleet: Fleet) -> None:
    source = replica(engine_of(fleet), "a")
    targets = [replica(engine_of(fleet), "b"), replica(engine_of(fleet, "other"), "c")]
    hotfix_source(fleet)
    result = fleet.apply(Target("default", "a"), [Target("default", "b"), Target("other", "c")])
    assert result.ok and result.files == [APP]
    assert [o.status for o in result.outcomes] == ["written", "written"]
    for c in targets:
        node = c.node(APP)
        assert (node.data, node.mode, node.uid) == (NEW, 0o755, 1000)
        assert fleet.store.get_checkpoint(c.id, APP) is not None
    assert source.node(APP).data == NEW


def test_a_target_with_its_own_changes_is_refused_and_untouched(fleet: Fleet) -> None:
    replica(engine_of(fleet), "a")
    b = replica(engine_of(fleet), "b")
    b.node(APP).data = b"flag = True  # tuned here\n"
    hotfix_source(fleet)
    result = fleet.apply(Target("default", "a"), [Target("default", "b")])
    [outcome] = result.outcomes
    assert outcome.status == "conflict" and "--force" in outcome.detail
    assert b.node(APP).data == b"flag = True  # tuned here\n"
    assert fleet.store.checkpoints(b.id) == []


def test_force_patches_a_differing_target(fleet: Fleet) -> None:
    body = b"".join(f"x{i} = {i}\n".encode() for i in range(5))  # keeps headers out of context
    a = replica(engine_of(fleet), "a")
    a.node(APP).data = b"# header\n" + body + OLD
    b = replica(engine_of(fleet), "b")
    b.node(APP).data = b"# other header\n" + body + OLD
    fleet.service("default").write("a", APP, b"# header\n" + body + NEW)
    result = fleet.apply(Target("default", "a"), [Target("default", "b")], force=True)
    assert result.outcomes[0].status == "written"
    assert b.node(APP).data == b"# other header\n" + body + NEW


def test_a_target_that_already_has_the_change_keeps_its_checkpoint_empty(fleet: Fleet) -> None:
    replica(engine_of(fleet), "a")
    b = replica(engine_of(fleet), "b")
    b.node(APP).data = NEW
    hotfix_source(fleet)
    result = fleet.apply(Target("default", "a"), [Target("default", "b")])
    assert result.outcomes[0].status == "written"
    assert fleet.store.checkpoints(b.id) == []  # no checkpoint of the fixed content


def test_nothing_to_apply_is_a_usage_error(fleet: Fleet) -> None:
    replica(engine_of(fleet), "a")
    replica(engine_of(fleet), "b")
    with pytest.raises(UsageError, match="nothing to apply"):
        fleet.apply(Target("default", "a"), [Target("default", "b")])


def test_rolling_stops_and_reverts_at_the_first_unhealthy_target(fleet: Fleet) -> None:
    engine = engine_of(fleet)
    replica(engine, "a")
    b, c, d = (replica(engine, n) for n in "bcd")
    hotfix_source(fleet)
    healthy = {"b": True, "c": False, "d": True}
    engine.exec_handler = lambda cid, argv: (
        (0, b"") if healthy[engine._find(cid).name] else (1, b"")
    )
    result = fleet.apply(
        Target("default", "a"),
        [Target("default", n) for n in "bcd"],
        rolling=True,
        probe="exec:check",
        timeout=0.2,
    )
    assert [(str(o.target), o.status) for o in result.outcomes] == [
        ("b", "fixed"),
        ("c", "reverted"),
        ("d", "untouched"),
    ]
    assert b.node(APP).data == NEW
    assert c.node(APP).data == OLD  # reverted
    assert d.node(APP).data == OLD  # never written
    assert fleet.store.checkpoints(d.id) == []


def test_diff_groups_identical_changes(fleet: Fleet) -> None:
    engine = engine_of(fleet)
    for name in "abc":
        replica(engine, name)
    svc = fleet.service("default")
    svc.write("a", APP, NEW)
    svc.write("b", APP, NEW)
    svc.write("c", APP, b"flag = None\n")
    groups = fleet.diff_groups([Target("default", n) for n in "abc"])
    assert [[str(t) for t in g.targets] for g in groups] == [["a", "b"], ["c"]]
    assert "+flag = False" in groups[0].diff
