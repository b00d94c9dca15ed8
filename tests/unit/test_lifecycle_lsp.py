"""The language server's lifecycle watch, without a server: told once per lost hotfix, and
judged again only after a container event."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from hotfix.lsp.lifecyclewatch import EngineLines, LifecycleWatch
from hotfix.service.files import HotfixService
from hotfix.store.state import StateStore
from tests.unit.fakes import FakeEngine


def line(cid: str, stage: str) -> dict[str, Any]:
    return {"containers": [f"name-{cid}"], "containerIds": [cid], "stage": stage}


def test_a_lost_hotfix_is_told_once_until_it_is_no_longer_lost():
    answers: list[list[dict[str, Any]] | None] = [
        [line("a", "live")],
        [line("a", "lost")],
        [line("a", "lost")],
        None,  # no container event since
        [line("a", "live")],
        [line("a", "lost"), line("b", "lost")],
    ]
    told: list[dict[str, Any]] = []
    alerts: list[str] = []

    async def lines() -> list[dict[str, Any]] | None:
        return answers.pop(0)

    watch = LifecycleWatch(lines, told.append, alerts.append)

    async def run() -> list[list[str]]:
        return [[x["containerIds"][0] for x in await watch.check_once()] for _ in range(6)]

    assert asyncio.run(run()) == [[], ["a"], [], [], [], ["a", "b"]]
    assert [[x["stage"] for x in t["lost"]] for t in told] == [["lost"], ["lost", "lost"]]
    assert alerts[0] == (
        "hotfix: the hotfix of name-a is lost — its container was removed or recreated "
        "without the change; Reapply carries it over"
    )


class CountingEngine(FakeEngine):
    def __init__(self) -> None:
        super().__init__()
        self.generation: int | None = 1

    def events_generation(self) -> int | None:
        return self.generation


def test_engine_lines_are_judged_again_only_after_a_container_event(tmp_path: Path):
    engine = CountingEngine()
    engine.add_container("web").add_file("/a", b"1\n")
    svc = HotfixService(engine, StateStore(tmp_path), user="ann")  # type: ignore[arg-type]
    svc.write("web", "/a", b"2\n")
    lines = EngineLines()
    assert [x["stage"] for x in lines(svc) or []] == ["live"]
    assert lines(svc) is None
    engine.generation = 2
    assert lines(svc) is not None
    engine.generation = None  # not watching: judged every time
    assert lines(svc) is not None and lines(svc) is not None
