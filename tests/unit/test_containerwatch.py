"""ContainerWatch: answers kept only while the event stream is connected and quiet."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from hotfix.core.model import ContainerInfo
from hotfix.docker import containerwatch
from hotfix.docker.containerwatch import ContainerWatch

RUNNING = ContainerInfo(
    id="c1" * 32, name="web", image="web:1", image_id="sha256:1", state="running", pid=42
)
END = object()


class Stream:
    """An event stream the test feeds; ``connected`` is set once it is opened."""

    def __init__(self) -> None:
        self.events: queue.Queue[Any] = queue.Queue()
        self.connected = threading.Event()
        self.opened = 0
        self.fail_next_open = False
        self.fed = self.handled = 0

    def feed(self, event: dict[str, Any]) -> None:
        self.fed += 1
        self.events.put(event)

    def __call__(self) -> Iterator[dict[str, Any]]:
        self.opened += 1
        if self.fail_next_open:
            self.fail_next_open = False
            raise ConnectionError("engine down")
        self.connected.set()
        return self._iterate()

    def _iterate(self) -> Iterator[dict[str, Any]]:
        while True:
            item = self.events.get()
            if item is END:
                self.connected.clear()
                return
            yield item
            self.handled += 1  # the watch asks for the next one: this one is handled


def settle(stream: Stream) -> None:
    """Wait until the watch has handled every event fed so far."""
    wait_for(lambda: stream.handled == stream.fed)


@pytest.fixture
def stream(monkeypatch: pytest.MonkeyPatch) -> Stream:
    monkeypatch.setattr(containerwatch, "RECONNECT_DELAY", 0.01)
    return Stream()


def live_watch(stream: Stream) -> ContainerWatch:
    watch = ContainerWatch(stream)
    assert watch.get("web") is None  # starts the watch; nothing kept yet
    assert stream.connected.wait(5)
    wait_for(lambda: watch.generation() is not None)
    return watch


def wait_for(condition: Any) -> None:
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_an_answer_is_kept_while_the_stream_is_quiet(stream: Stream) -> None:
    watch = live_watch(stream)
    watch.keep("web", RUNNING, watch.generation())
    assert watch.get("web") == RUNNING
    stream.feed({"Type": "container", "Action": "exec_start: sh -c true", "id": RUNNING.id})
    stream.feed({"Type": "container", "Action": "health_status: healthy"})
    stream.feed({"Type": "container", "Action": "extract-to-dir", "id": RUNNING.id})
    settle(stream)
    assert watch.get("web") == RUNNING


@pytest.mark.parametrize("action", ["die", "stop", "pause", "rename", "destroy", "start", "update"])
def test_any_other_container_event_forgets_every_answer(stream: Stream, action: str) -> None:
    watch = live_watch(stream)
    watch.keep("web", RUNNING, watch.generation())
    stream.feed({"Type": "container", "Action": action, "id": "another"})
    wait_for(lambda: watch.get("web") is None)


def test_an_event_during_an_inspect_keeps_nothing(stream: Stream) -> None:
    watch = live_watch(stream)
    before = watch.generation()
    stream.feed({"Type": "container", "Action": "rename", "id": RUNNING.id})
    wait_for(lambda: watch.generation() != before)
    watch.keep("web", RUNNING, before)  # the inspect started before the rename
    assert watch.get("web") is None


def test_only_running_containers_are_kept(stream: Stream) -> None:
    watch = live_watch(stream)
    for state in ("exited", "paused", "restarting", "created"):
        watch.keep("web", ContainerInfo(**{**RUNNING.__dict__, "state": state}), watch.generation())
        assert watch.get("web") is None


def test_nothing_is_kept_before_the_stream_connects_or_after_it_breaks(stream: Stream) -> None:
    stream.fail_next_open = True
    watch = ContainerWatch(stream)
    assert watch.generation() is None
    watch.keep("web", RUNNING, None)
    assert watch.get("web") is None
    assert stream.connected.wait(5)  # reconnected after the failure
    wait_for(lambda: watch.generation() is not None)
    watch.keep("web", RUNNING, watch.generation())
    assert watch.get("web") == RUNNING

    stream.events.put(END)  # the engine restarts: the stream ends
    wait_for(lambda: stream.opened >= 3)
    assert watch.get("web") is None


def test_what_a_list_shows_is_counted_apart_health_included(stream: Stream) -> None:
    watch = live_watch(stream)
    listing = watch.listing_generation()
    stream.feed({"Type": "container", "Action": "exec_start: sh -c true", "id": RUNNING.id})
    stream.feed({"Type": "container", "Action": "extract-to-dir", "id": RUNNING.id})
    settle(stream)
    assert watch.listing_generation() == listing  # no list shows an exec or a copy
    generation = watch.generation()
    stream.feed({"Type": "container", "Action": "health_status: unhealthy", "id": RUNNING.id})
    settle(stream)
    assert watch.listing_generation() != listing and watch.generation() == generation
    listing = watch.listing_generation()
    stream.feed({"Type": "container", "Action": "create", "id": "another"})
    settle(stream)
    assert watch.listing_generation() != listing and watch.generation() != generation
