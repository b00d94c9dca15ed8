"""The service's :class:`~hotfix.core.progress.Progress` on top of LSP work-done progress.

Long commands run in a worker thread; their progress reports hop to the event loop
(``call_soon_threadsafe``), the only thread that writes to the client. ``cancelled()``
becomes true when the client cancels the request (``$/cancelRequest``) or the progress
(``window/workDoneProgress/cancel``), or when the server shuts down.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import TYPE_CHECKING

from lsprotocol import types

if TYPE_CHECKING:
    from pygls.progress import Progress as PyglsProgress

logger = logging.getLogger(__name__)

MsgId = int | str


class Cancellations:
    """Cancellation flags of the requests in flight, by JSON-RPC message id."""

    def __init__(self) -> None:
        self._events: dict[MsgId, threading.Event] = {}
        self._lock = threading.Lock()

    def register(self, msg_id: MsgId | None) -> threading.Event:
        event = threading.Event()
        if msg_id is not None:
            with self._lock:
                self._events[msg_id] = event
        return event

    def release(self, msg_id: MsgId | None) -> None:
        if msg_id is not None:
            with self._lock:
                self._events.pop(msg_id, None)

    def cancel(self, msg_id: MsgId) -> bool:
        with self._lock:
            event = self._events.get(msg_id)
        if event is None:
            return False
        event.set()
        return True

    def cancel_all(self) -> None:
        with self._lock:
            events = list(self._events.values())
        for event in events:
            event.set()


class WorkDone:
    """One long operation's progress (``token`` None: no progress shown, cancellation still works)."""

    def __init__(
        self,
        progress: PyglsProgress,
        loop: asyncio.AbstractEventLoop,
        token: types.ProgressToken | None,
        cancel: threading.Event,
    ) -> None:
        self._progress = progress
        self._loop = loop
        self.token = token
        self._cancel = cancel

    # Progress protocol (hotfix.core.progress.Progress), callable from any thread ---------------

    def report(self, message: str, percentage: int | None = None) -> None:
        logger.debug("progress %s: %s", self.token, message)
        if self.token is None:
            return
        value = types.WorkDoneProgressReport(
            message=message, percentage=percentage, cancellable=True
        )
        self._loop.call_soon_threadsafe(self._progress.report, self.token, value)

    def cancelled(self) -> bool:
        if self._cancel.is_set():
            return True
        future = self._progress.tokens.get(self.token) if self.token is not None else None
        return future is not None and future.cancelled()

    # Called on the event loop -------------------------------------------------------------

    def begin(self, title: str) -> None:
        if self.token is not None:
            self._progress.begin(
                self.token, types.WorkDoneProgressBegin(title=title, cancellable=True)
            )

    def end(self, message: str | None = None) -> None:
        if self.token is not None:
            self._progress.end(self.token, types.WorkDoneProgressEnd(message=message))
            self._progress.tokens.pop(self.token, None)
