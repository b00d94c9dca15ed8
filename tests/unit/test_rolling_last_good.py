"""A rolling apply's revert goes to the target's last good version (issue 16): the incident's
scenario, a bad fix from a re-baselined source, must not put the original bug back."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hotfix.fleet import Fleet, Target
from hotfix.store.state import StateStore, version_of
from tests.unit.fakes import FakeContainer, FakeEngine

APP = "/srv/app.py"
ORIGINAL = b"flag = True  # the bug\n"
FIX1 = b"flag = False  # fix 1\n"
BAD = b"flag = None  # fix 2, bad\n"


class OneEngine:
    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine

    def get(self, name: str | None = None) -> FakeEngine:
        return self.engine

    def all(self) -> list[FakeEngine]:
        return [self.engine]


def replica(engine: FakeEngine, name: str) -> FakeContainer:
    c = engine.add_container(name)
    c.labels.update({"com.docker.compose.project": "shop", "com.docker.compose.service": "web"})
    c.add_dir("/srv")
    c.add_file(APP, ORIGINAL, mode=0o644, uid=1000, gid=1000)
    return c


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def fleet(engine: FakeEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Fleet:
    monkeypatch.setattr(os, "fsync", lambda fd: None)
    return Fleet(OneEngine(engine), StateStore(tmp_path / "state"), user="tester")  # type: ignore[arg-type]


def test_the_rolling_revert_lands_on_the_last_good_fix(fleet: Fleet, engine: FakeEngine) -> None:
    source, target = replica(engine, "a"), replica(engine, "b")
    # Healthy unless the container holds the bad fix or the bug.
    engine.exec_handler = lambda cid, argv: (
        (0, b"") if engine._find(cid).node(APP).data == FIX1 else (1, b"")
    )
    svc = fleet.service("default")
    for name in ("a", "b"):  # fix 1 went live healthy on both
        svc.write(name, APP, FIX1)
        assert svc.restart(name, "exec:check", timeout=1).healthy
    svc.checkpoint("a", [APP])  # the source re-baselined on fix 1
    svc.write("a", APP, BAD)

    result = fleet.apply(Target("default", "a"), [Target("default", "b")], rolling=True,
                         probe="exec:check", timeout=0.3)  # fmt: skip

    [outcome] = result.outcomes
    assert outcome.status == "reverted"
    assert "reverted to last good (went live " in outcome.detail
    assert "final state: running, healthy" in outcome.detail
    assert target.node(APP).data == FIX1  # not the bug the checkpoint holds
    assert fleet.store.get_checkpoint(target.id, APP).version == version_of(ORIGINAL)  # type: ignore[union-attr]
    assert source.node(APP).data == BAD
