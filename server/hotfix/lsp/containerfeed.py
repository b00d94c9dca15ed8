"""The editor's Containers view kept current without a Refresh.

Once the client has listed the containers (``hotfix/containers``: its view is showing), the
engine's list is taken again every ``interval`` seconds — one list call, no inspect — and
``hotfix/didChangeContainers`` goes to the client when anything it shows changed: a
container created, removed, started, stopped, renamed, its health or its ports.

Everything but the listing runs on the event loop, so no locks.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from hotfix.core.errors import HotfixError

logger = logging.getLogger(__name__)

DEFAULT_INTERVAL = 1.0  # seconds: a change shows within ~1 s, well inside the view's 2 s

Views = list[dict[str, Any]]


class ContainerFeed:
    def __init__(
        self,
        list_views: Callable[[], Awaitable[Views]],
        notify: Callable[[Views], None],
        interval: float = DEFAULT_INTERVAL,
    ) -> None:
        self._list_views = list_views
        self._notify = notify
        self.interval = interval
        self._last: str | None = None
        self._task: asyncio.Task[None] | None = None

    def saw(self, views: Views) -> None:
        """The client has just listed ``views``: from now on it hears of changes."""
        self._last = _fingerprint(views)
        if self._task is None and self.interval > 0:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="hotfix-feed")

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def poll_once(self) -> None:
        try:
            views = await self._list_views()
        except HotfixError as exc:  # the engine is away for now: the view shows it on refresh
            fingerprint = f"unreachable: {exc}"
            views = []
        else:
            fingerprint = _fingerprint(views)
        if fingerprint != self._last:
            self._last = fingerprint
            self._notify(views)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.poll_once()
            except Exception:  # the feed must survive anything
                logger.exception("listing containers for the editor failed")


def _fingerprint(views: Views) -> str:
    return json.dumps(sorted(views, key=lambda view: str(view.get("id"))), sort_keys=True)
