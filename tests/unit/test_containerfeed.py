"""lsp.containerfeed: the Containers view hears of changes to the engine's list."""

from __future__ import annotations

import asyncio
from typing import Any

from hotfix.core.errors import Unavailable
from hotfix.lsp.containerfeed import ContainerFeed, ListingDue

WEB = {"id": "a1", "name": "web", "state": "running", "health": "healthy", "ports": []}


class Engine:
    """The list the feed takes; ``down`` makes the listing fail like an unreachable engine."""

    def __init__(self) -> None:
        self.views: list[dict[str, Any]] = [dict(WEB)]
        self.down = False

    async def list_views(self) -> list[dict[str, Any]]:
        if self.down:
            raise Unavailable("Cannot connect to the Docker daemon")
        return [dict(view) for view in self.views]


async def test_notifies_only_when_what_the_view_shows_changed() -> None:
    engine, sent = Engine(), []
    feed = ContainerFeed(engine.list_views, sent.append, interval=0)
    feed.saw(await engine.list_views())
    await feed.poll_once()
    assert sent == []  # nothing changed since the client listed

    engine.views[0]["health"] = "unhealthy"
    await feed.poll_once()
    engine.views.append({"id": "b2", "name": "db", "state": "created", "health": None, "ports": []})
    await feed.poll_once()
    await feed.poll_once()
    assert [[(v["name"], v["health"]) for v in views] for views in sent] == [
        [("web", "unhealthy")],
        [("web", "unhealthy"), ("db", None)],
    ]


async def test_an_engine_going_away_and_back_is_a_change_each_time() -> None:
    engine, sent = Engine(), []
    feed = ContainerFeed(engine.list_views, sent.append, interval=0)
    feed.saw(await engine.list_views())
    engine.down = True
    await feed.poll_once()
    await feed.poll_once()
    engine.down = False
    await feed.poll_once()
    assert [len(views) for views in sent] == [0, 1]


async def test_polls_by_itself_after_the_first_listing_until_stopped() -> None:
    engine, sent = Engine(), []
    feed = ContainerFeed(engine.list_views, sent.append, interval=0.01)
    feed.saw(await engine.list_views())
    engine.views[0]["state"] = "exited"
    for _ in range(100):
        if sent:
            break
        await asyncio.sleep(0.01)
    feed.stop()
    assert sent and sent[-1][0]["state"] == "exited"


def test_a_listing_is_due_after_an_event_or_without_events_after_a_while() -> None:
    now = [100.0]
    due = ListingDue(fallback=1.0, clock=lambda: now[0])
    assert due(7)  # never listed
    due.listing(7)
    assert not due(7)  # no event since: nothing asked of the engine
    assert due(8)  # an event the list shows
    due.listing(None)  # the stream went away: list once a second
    assert not due(None)
    now[0] += 1.0
    assert due(None)


async def test_nothing_to_list_is_no_notification() -> None:
    sent: list[Any] = []

    async def unchanged() -> None:
        return None

    feed = ContainerFeed(unchanged, sent.append, interval=0)
    feed.saw([dict(WEB)])
    await feed.poll_once()
    assert sent == []
