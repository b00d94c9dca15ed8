"""Noticing that someone else changed an open container document.

While a ``hotfix:`` document is open, its version in the container is polled (every
``interval`` seconds); when it differs from the version the editor has — the last one this
server read or wrote for it — ``notify(uri)`` is called once per change. Writes of this
server never notify: a write bumps the file's generation, which voids a poll in flight, and
then records the written version.

Everything but the reads runs on the event loop, so no locks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from hotfix.core.errors import FileNotFound, HotfixError
from hotfix.lsp.uris import Location

logger = logging.getLogger(__name__)

MISSING = "<missing>"  # the version of a file that does not exist
DEFAULT_INTERVAL = 2.0

Key = tuple[str, str, str | None]


class Watcher:
    def __init__(
        self,
        read_version: Callable[[Location], Awaitable[str]],
        notify: Callable[[str], None],
        interval: float = DEFAULT_INTERVAL,
    ) -> None:
        self._read_version = read_version
        self._notify = notify
        self.interval = interval
        self._open: dict[str, Location] = {}  # uri as the editor spelled it → file
        self._known: dict[Key, str] = {}  # the version the editor has
        self._generation: dict[Key, int] = {}
        self._task: asyncio.Task[None] | None = None

    # --- what the editor does --------------------------------------------------------------

    def open(self, uri: str, location: Location) -> None:
        self._open[uri] = location
        if self._task is None and self.interval > 0:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="hotfix-watch")

    def close(self, uri: str) -> None:
        location = self._open.pop(uri, None)
        if location is not None and not self._is_open(location.key):
            self._known.pop(location.key, None)

    def saw(self, location: Location, version: str) -> None:
        """The editor now has ``version`` of this file (it read or wrote it through us)."""
        self._bump(location.key)
        self._known[location.key] = version

    def writing(self, location: Location) -> None:
        """A write of ours starts: a poll in flight must not report it."""
        self._bump(location.key)

    def forget(self, location: Location) -> None:
        """The next poll takes the current version as the baseline, without notifying."""
        self._bump(location.key)
        self._known.pop(location.key, None)

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    # --- polling ---------------------------------------------------------------------------

    async def poll_once(self) -> None:
        by_key: dict[Key, Location] = {}
        for location in self._open.values():
            by_key.setdefault(location.key, location)
        await asyncio.gather(*(self._check(key, loc) for key, loc in by_key.items()))

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.poll_once()
            except Exception:  # the watcher must survive anything
                logger.exception("polling open documents failed")

    async def _check(self, key: Key, location: Location) -> None:
        generation = self._generation.get(key, 0)
        try:
            version = await self._read_version(location)
        except FileNotFound:
            version = MISSING
        except HotfixError as exc:  # engine or container away for now: try again later
            logger.debug("cannot poll %s: %s", location.uri(), exc)
            return
        if self._generation.get(key, 0) != generation or not self._is_open(key):
            return  # we wrote it meanwhile, or it was closed
        known = self._known.get(key)
        self._known[key] = version
        if known is None or known == version:
            return
        logger.info("%s changed in the container (%s → %s)", location.uri(), known, version)
        for uri, loc in list(self._open.items()):
            if loc.key == key:
                self._notify(uri)

    def _bump(self, key: Key) -> None:
        self._generation[key] = self._generation.get(key, 0) + 1

    def _is_open(self, key: Key) -> bool:
        return any(loc.key == key for loc in self._open.values())
