"""A rolling apply over the tasks of a 3-replica Swarm service of gunicorn, under load on
every task's host-mode port on 127.0.0.1 (the routing mesh does not answer on loopback here):
no request fails, and the same apply run again reloads nothing (issue 16)."""

from __future__ import annotations

import time
from contextlib import ExitStack
from typing import Any

import pytest

from tests.conftest import http_get
from tests.fleet.test_apply_idempotent import APP, NEW_BODY, OLD_BODY
from tests.live.conftest import service_images
from tests.live.load import LoadLoop

pytestmark = pytest.mark.engine

__all__ = ["service_images"]  # the fixture, for the tests of this module


def answering_tasks(service: Any, count: int, timeout: float = 60.0) -> list[str]:
    """The tasks' URLs once ``count`` tasks answer HTTP 200: a task converged is running, not
    yet serving (gunicorn boots its workers), and Swarm may replace one that failed to start."""
    deadline = time.monotonic() + timeout
    while True:
        urls = service.urls()
        if len(urls) == count and all(answers_200(url) for url in urls):
            return list(urls)
        assert time.monotonic() < deadline, f"tasks not answering: {urls}"
        time.sleep(0.2)


def answers_200(url: str) -> bool:
    try:
        return http_get(url, timeout=1.0)[0] == 200
    except OSError:  # refused or reset while it starts
        return False


def pids(container: Any) -> list[int]:
    return sorted(int(row[1]) for row in container.top()["Processes"])


def test_rolling_apply_over_swarm_tasks_fails_no_request_and_is_idempotent(
    swarm: Any, service_images: dict[str, str], hotfix: Any
) -> None:
    service = swarm.service(service_images["gunicorn"], 3, publish=8000)
    urls = answering_tasks(service, 3)
    source, *targets = sorted(service.containers(), key=lambda c: c.name)
    fixed = hotfix("cat", f"{source.name}:{APP}").stdout.replace(OLD_BODY, NEW_BODY)
    assert hotfix("write", f"{source.name}:{APP}", input=fixed.encode()).code == 0

    with ExitStack() as stack:
        loads = [stack.enter_context(LoadLoop(url, threads=2, duration=90)) for url in urls]
        # A task just converged may still be starting its workers: what counts is from the
        # moment each replica answered, before anything is reloaded.
        answered = [load.wait_for_body(OLD_BODY, 10) for load in loads]
        assert None not in answered
        assert hotfix("restart", source.name).code == 0  # default: HUP, proven
        applied = hotfix("apply", source.name, "--to-replicas", "--rolling", "--json")
        assert applied.code == 0, applied.stdout + applied.stderr
        assert all(load.wait_for_body(NEW_BODY, 10) for load in loads)
        time.sleep(0.5)
    for load, since in zip(loads, answered, strict=True):
        assert since is not None and load.failed_since(since) == 0, load.describe()
    data = applied.json()
    assert [t["status"] for t in data["targets"]] == ["fixed", "fixed"]
    assert {t["health"]["action"] for t in data["targets"]} == {"signal HUP"}

    before = {t.name: pids(t) for t in targets}
    again = hotfix("apply", source.name, "--to-replicas", "--rolling", "--json")
    assert again.code == 0, again.stdout + again.stderr
    assert [t["status"] for t in again.json()["targets"]] == ["already fixed"] * 2
    assert {t.name: pids(t) for t in targets} == before  # no worker renewed
    assert [http_get(url)[1] for url in urls] == [NEW_BODY + "\n"] * 3
