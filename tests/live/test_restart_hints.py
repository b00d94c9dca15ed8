"""Hints where the Engine's behaviour costs time, on a real engine (issue 16, item 9):
busybox httpd as PID 1 ignores SIGTERM, so a restart waits out the stop timeout — the
restart says so; a server that handles SIGTERM gets no hint. Under a bounded load loop."""

from __future__ import annotations

from collections.abc import Callable

import docker
import pytest

from hotfix.docker.engine import Engine
from hotfix.service.hints import restart_with_hints
from tests.conftest import CliResult
from tests.live.conftest import LiveService
from tests.live.load import LoadLoop

pytestmark = pytest.mark.engine

STOP_TIMEOUT = 2  # seconds: short, so the test waits it out quickly
# A shell that stops on SIGTERM, with httpd beside it (not as PID 1).
HANDLES_SIGTERM = "httpd -p 8080 -h /www; trap 'exit 0' TERM; while true; do sleep 0.1; done"


def restart_under_load(
    docker_client: docker.DockerClient, service: LiveService, **restart: int
) -> list[str]:
    with LoadLoop(service.url, threads=2, duration=30) as load:
        assert load.wait_for_body("hotfix-test busybox", timeout=10) is not None, load.describe()
        hints = restart_with_hints(Engine(docker_client), service.container.id, **restart)
        assert load.wait_for_body("hotfix-test busybox", timeout=10) is not None, load.describe()
        load.stop()
    return hints


def test_a_pid_1_that_ignores_sigterm_gets_a_hint(
    images: dict[str, str],
    live_service: Callable[..., LiveService],
    docker_client: docker.DockerClient,
) -> None:
    service = live_service(images["busybox"], 8080, stop_signal="SIGTERM")
    hints = restart_under_load(docker_client, service, stop_timeout=STOP_TIMEOUT)
    assert hints == [
        f"waited {STOP_TIMEOUT} s for SIGTERM: the container's PID 1 ignored it and was "
        "killed; consider --signal (a reload), or a STOPSIGNAL the server handles, or --init"
    ]


def test_the_containers_own_stop_signal_is_named(
    images: dict[str, str],
    live_service: Callable[..., LiveService],
    docker_client: docker.DockerClient,
) -> None:
    """``--stop-signal`` given at create (PID 1 ignores SIGUSR2 too): the hint names it."""
    service = live_service(images["busybox"], 8080, stop_signal="SIGUSR2")
    hints = restart_under_load(docker_client, service, stop_timeout=STOP_TIMEOUT)
    assert hints and hints[0].startswith(f"waited {STOP_TIMEOUT} s for SIGUSR2:")


def test_a_server_that_stops_on_sigterm_gets_none(
    images: dict[str, str],
    live_service: Callable[..., LiveService],
    docker_client: docker.DockerClient,
) -> None:
    service = live_service(images["busybox"], 8080, command=["sh", "-c", HANDLES_SIGTERM])
    assert restart_under_load(docker_client, service, stop_timeout=STOP_TIMEOUT) == []


def test_hotfix_restart_says_so(
    images: dict[str, str],
    live_service: Callable[..., LiveService],
    hotfix: Callable[..., CliResult],
) -> None:
    """The hint reaches the command's output, its --json notes and the journal."""
    service = live_service(images["busybox"], 8080)
    res = hotfix("restart", service.name, "--json", "--timeout", "60")
    assert res.code == 0, res.stderr
    hint = "waited 10 s for SIGTERM: the container's PID 1 ignored it and was killed"
    assert any(note.startswith(hint) for note in res.json()["notes"]), res.stdout
    journal = hotfix("log", service.name, "--json").json()["entries"]
    restarts = [e for e in journal if e["action"] == "restart"]
    assert any(n.startswith(hint) for n in restarts[-1]["detail"]["notes"])
