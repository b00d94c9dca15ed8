"""Telling the editor when a hotfix becomes lost: ``hotfix/lifecycle`` notifications.

While the server runs, the hotfixes of its default engine are judged every ``interval``
seconds once a container event (create, start, destroy, …) came since the last time
(:mod:`hotfix.lifecycle.status`; nothing but a state-store query while no hotfix exists);
a hotfix that was not lost at the last check and is now is sent once, with a
``window/showMessage`` warning naming it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from hotfix.core.errors import HotfixError
from hotfix.lifecycle.stages import HotfixStatus
from hotfix.lifecycle.status import select, statuses, survey
from hotfix.service.files import HotfixService
from hotfix.views import view

logger = logging.getLogger(__name__)

LIFECYCLE = "hotfix/lifecycle"
DEFAULT_INTERVAL = 5.0

Shape = dict[str, Any]


def status_lines(svc: HotfixService, container: str | None = None) -> list[HotfixStatus]:
    """`hotfix status`'s lines on ``svc``'s engine (of one container, or all)."""
    if not svc.store.has_checkpoints():
        return []
    return select(statuses(survey(svc.store, lambda _: svc, [svc.engine.name])), container)


def report_lines(svc: HotfixService, container: str | None) -> list[HotfixStatus]:
    """:func:`status_lines` for the report's Lifecycle section: none when they cannot be
    judged (the report stands without them)."""
    try:
        return status_lines(svc, container)
    except HotfixError as exc:
        logger.info("the report has no Lifecycle section: %s", exc)
        return []


def hotfix_lines(svc: HotfixService) -> list[Shape]:
    """`hotfix status --json`'s lines for one engine (a worker thread's work)."""
    return [view(line) for line in status_lines(svc)]


class EngineLines:
    """:func:`hotfix_lines`, judged again only after a container event: no hotfix becomes
    lost unless a container is removed or created (an engine that does not watch its events
    is judged every time)."""

    def __init__(self) -> None:
        self._generation: int | None = None

    def __call__(self, svc: HotfixService) -> list[Shape] | None:
        """The lines, or None when no container event came since the last call."""
        generation = svc.engine.events_generation()
        if generation is not None and generation == self._generation:
            return None
        lines = hotfix_lines(svc)
        self._generation = generation  # taken before the survey: an event during it counts
        return lines


class LifecycleWatch:
    def __init__(
        self,
        lines: Callable[[], Awaitable[list[Shape] | None]],
        notify: Callable[[Shape], None],
        alert: Callable[[str], None],
        interval: float = DEFAULT_INTERVAL,
    ) -> None:
        self._lines = lines
        self._notify = notify
        self._alert = alert
        self.interval = interval
        self._known_lost: set[tuple[str, ...]] = set()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """From the event loop, once a service exists: a check every ``interval`` s."""
        if self._task is None and self.interval > 0:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="hotfix-life")

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def check_once(self) -> list[Shape]:
        """The hotfixes lost since the last check (notified), none when it cannot tell."""
        try:
            lines = await self._lines()
        except HotfixError as exc:
            logger.info("lifecycle check skipped: %s", exc)
            return []
        if lines is None:  # nothing changed
            return []
        lost = [line for line in lines if line["stage"] == "lost"]
        keys = {tuple(line["containerIds"]) for line in lost}
        new = [line for line in lost if tuple(line["containerIds"]) not in self._known_lost]
        self._known_lost = keys
        if new:
            self._notify({"lost": new, "hotfixes": lines})
            names = ", ".join(name for line in new for name in line["containers"])
            self._alert(
                f"hotfix: the hotfix of {names} is lost — its container was removed or "
                "recreated without the change; Reapply carries it over"
            )
        return new

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.check_once()
            except Exception:  # the next round tries again; the server keeps serving
                logger.exception("lifecycle check failed")
