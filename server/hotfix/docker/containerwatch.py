"""Running containers' identity, kept current by the Engine's event stream.

Every file operation starts by resolving its container — name or ID to ID, state, PID,
labels, mounts. That is an inspect: half of a save on the local path, and a round trip
through dockerd for each replica of a fan-out. What a *running* container's
inspect says for file work changes only through something the Engine reports as an event:
it stops, dies, is paused, restarted, renamed, updated or removed. So a long-lived process
(the language server) watches the event stream and keeps each answer until any such event
arrives. Anything doubtful — the stream not yet connected or broken, an event arriving
while an inspect was in flight — means: inspect again.

Health and published ports are not kept current here: callers that need them inspect. What a
container *list* shows (health included) is counted apart, for the editor's Containers view.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from hotfix.core.model import ContainerInfo

logger = logging.getLogger(__name__)

# Events that change nothing a file operation relies on: execs (health checks run one
# every interval) and health changes, archive reads and writes (hotfix's own), attach,
# resize, top, commit.
HARMLESS = frozenset(
    {
        "health_status",
        "exec_create",
        "exec_start",
        "exec_die",
        "exec_detach",
        "archive-path",
        "extract-to-dir",
        "copy",
        "attach",
        "detach",
        "resize",
        "top",
        "commit",
        "export",
    }
)
# Of those, the one a container list shows (its state's "(healthy)").
LISTED = frozenset({"health_status"})
RECONNECT_DELAY = 1.0  # seconds between attempts while the stream cannot be opened

EventSource = Callable[[], Iterable[dict[str, Any]]]


class ContainerWatch:
    """Answers kept while the event stream is connected and quiet about containers."""

    def __init__(self, events: EventSource, name: str = "default") -> None:
        self._events = events
        self._name = name
        self._lock = threading.Lock()
        self._kept: dict[str, ContainerInfo] = {}  # by the reference asked for
        self._generation = 0  # bumped by every event that may change an answer
        self._listing = 0  # bumped by every event that may change a container list
        self._live = False
        self._thread: threading.Thread | None = None

    def get(self, ref: str) -> ContainerInfo | None:
        self._start()
        with self._lock:
            return self._kept.get(ref) if self._live else None

    def generation(self) -> int | None:
        """Take before an inspect and hand to :meth:`keep`; None while not watching."""
        with self._lock:
            return self._generation if self._live else None

    def watched_generation(self) -> int | None:
        """:meth:`generation`, watching from now on if not yet: it changes with every event
        that may have created, started or removed a container."""
        self._start()
        return self.generation()

    def listing_generation(self) -> int | None:
        """A number that changes with every event that may change a container list (health
        changes included), watching from now on; None while not watching."""
        self._start()
        with self._lock:
            return self._listing if self._live else None

    def keep(self, ref: str, info: ContainerInfo, generation: int | None) -> None:
        """Keep an inspect's answer, unless an event came while it was in flight."""
        with self._lock:
            if self._live and generation == self._generation and info.state == "running":
                self._kept[ref] = info

    def event(self, event: dict[str, Any]) -> None:
        action = str(event.get("Action") or event.get("status") or "").split(":", 1)[0].strip()
        if action in HARMLESS:
            if action in LISTED:
                with self._lock:
                    self._listing += 1
            return
        with self._lock:
            self._listing += 1
            self._generation += 1
            self._kept.clear()  # events are rare; forgetting everything is simplest and safe

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._run, name=f"hotfix-events-{self._name}", daemon=True
            )
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                stream = iter(self._events())  # connected once this returns
                self._set_live(True)
                for event in stream:
                    self.event(event)
                reason = "the event stream ended"
            except Exception as exc:  # any failure: stop trusting, try again later
                reason = f"no event stream ({exc})"
            if self._set_live(False):  # said once per outage, not once per attempt
                logger.info("engine %s: %s; inspecting until it is back", self._name, reason)
            time.sleep(RECONNECT_DELAY)

    def _set_live(self, live: bool) -> bool:
        """Returns whether this changed it."""
        with self._lock:
            changed, self._live = self._live != live, live
            self._generation += 1
            self._listing += 1
            self._kept.clear()
            return changed
