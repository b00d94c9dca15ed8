"""hotfix/didChangeContainers against a real engine: a container started after the client
listed the containers reaches the client within 2 s, without asking again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from pytest_lsp import LanguageClient

from tests.conftest import Running
from tests.lsp.helpers import call

pytestmark = pytest.mark.engine


async def _next_listing_with(client: LanguageClient, name: str, deadline: float) -> dict[str, Any]:
    while True:
        params = await asyncio.wait_for(
            client.wait_for_notification("hotfix/didChangeContainers"),
            max(0.01, deadline - time.monotonic()),
        )
        found = [c for c in params["containers"] if c["name"] == name]
        if found:
            return dict(found[0])


async def test_a_new_and_a_stopped_container_reach_the_client_within_2_s(
    client: LanguageClient, images: dict[str, str], run_container: Callable[..., Running]
) -> None:
    await call(client, "hotfix/containers")  # the Containers view is showing

    started = time.monotonic()
    running = run_container(images["busybox"], wait_http=False)
    seen = await _next_listing_with(client, running.name, started + 2.0 + 1.0)
    while seen["state"] != "running":  # a poll may catch it just created
        seen = await _next_listing_with(client, running.name, started + 2.0 + 1.0)
    assert time.monotonic() - started < 3.0  # docker run itself takes up to ~1 s here

    running.container.stop(timeout=0)
    stopped = time.monotonic()
    while seen["state"] == "running":
        seen = await _next_listing_with(client, running.name, stopped + 2.0)
    assert seen["state"] == "exited"
    assert time.monotonic() - stopped < 2.0


async def test_a_health_change_reaches_the_client_from_the_event_stream(
    client: LanguageClient, images: dict[str, str], run_container: Callable[..., Running]
) -> None:
    """Health is no file event (the engine's watch ignores it for file work), but a list
    shows it: the view hears of it without a Refresh."""
    running = run_container(
        images["busybox"],
        wait_http=False,
        # Healthy while /tmp/ok exists (every 0.2 s); exec form: no shell needed.
        healthcheck={
            "test": ["CMD", "test", "-e", "/tmp/ok"],
            "interval": 200_000_000,
            "retries": 1,
        },
        command=["sh", "-c", "touch /tmp/ok; sleep 600"],
    )
    await call(client, "hotfix/containers")  # the Containers view is showing
    started = time.monotonic()
    seen = await _next_listing_with(client, running.name, started + 5.0)
    while seen.get("health") != "healthy":
        seen = await _next_listing_with(client, running.name, started + 5.0)

    running.container.exec_run(["rm", "/tmp/ok"])
    changed = time.monotonic()
    while seen.get("health") != "unhealthy":
        seen = await _next_listing_with(client, running.name, changed + 3.0)
    assert time.monotonic() - changed < 3.0  # the check's own interval + retries, and ≤ 2 s
