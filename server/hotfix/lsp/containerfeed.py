"""The editor's Containers view kept current without a Refresh.

Once the client has listed the containers (``hotfix/containers``: its view is showing), the
feed looks every ``interval`` seconds whether the engine's event stream reported anything a
list shows (:class:`ListingDue`) and only then lists again — one list call, no inspect;
without the stream, it lists every ``FALLBACK_INTERVAL``. ``hotfix/didChangeContainers``
goes to the client when anything it shows changed: a container created, removed, started,
stopped, renamed, its health or its ports.

Everything but the listing runs on the event loop, so no locks.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from hotfix.core.errors import HotfixError

logger = logging.getLogger(__name__)

DEFAULT_INTERVAL = 0.25  # seconds between looks at the event count: nothing asked of the engine
FALLBACK_INTERVAL = 1.0  # seconds between listings when the engine's events are not watched

Views = list[dict[str, Any]]


class ContainerFeed:
    def __init__(
        self,
        list_views: Callable[[], Awaitable[Views | None]],
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
            listed = await self._list_views()
        except HotfixError as exc:  # the engine is away for now: the view shows it on refresh
            fingerprint, views = f"unreachable: {exc}", []
        else:
            if listed is None:  # no event since the last listing: nothing to tell
                return
            fingerprint, views = _fingerprint(listed), listed
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


class ListingDue:
    """Whether the container list is worth taking again: the engine's event stream counted
    an event a list shows since the last listing, or — not watching — a while has passed."""

    def __init__(
        self,
        fallback: float = FALLBACK_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fallback = fallback
        self._clock = clock
        self._generation: int | None = None
        self._listed_at = -fallback

    def __call__(self, generation: int | None) -> bool:
        if generation is None:
            return self._clock() - self._listed_at >= self._fallback
        return generation != self._generation

    def listing(self, generation: int | None) -> None:
        """Taken before the listing: an event that comes during it is seen next time."""
        self._generation, self._listed_at = generation, self._clock()


def _fingerprint(views: Views) -> str:
    return json.dumps(sorted(views, key=lambda view: str(view.get("id"))), sort_keys=True)
