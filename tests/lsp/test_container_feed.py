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
