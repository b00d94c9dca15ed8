"""Fixtures of the going-live tests: the real servers' images and services on a fixed port.

The servers' images are built only when a test asks for ``service_images`` (the first build
debootstraps for about a minute; later runs find them cached).
"""

from __future__ import annotations

import contextlib
import socket
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import docker
import docker.errors
import pytest

from tests.conftest import TEST_LABEL, Running, wait_for_http
from tests.images.build import ensure_service_images


@pytest.fixture(scope="session")
def service_images(docker_client: docker.DockerClient) -> dict[str, str]:
    """``nginx``, ``gunicorn``, ``node`` → image ref (tests/images/README.md)."""
    return ensure_service_images(docker_client, log=lambda *a: None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveService(Running):
    """A container whose port is published on a fixed 127.0.0.1 port, so the URL stays the
    same across restarts and a load loop can keep running through them."""

    def __init__(self, container: Any, name: str, port: int, host_port: int) -> None:
        super().__init__(container, name, port)
        self.host_port = host_port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.host_port}/"


@pytest.fixture
def live_service(docker_client: docker.DockerClient) -> Iterator[Callable[..., LiveService]]:
    """Start a container serving PORT on a fixed 127.0.0.1 port; removed afterwards."""
    started: list[Any] = []

    def start(image: str, port: int, **kwargs: Any) -> LiveService:
        name = f"hotfix-test-live-{uuid.uuid4().hex[:8]}"
        host_port = free_port()
        container = docker_client.containers.run(
            image,
            name=name,
            detach=True,
            ports={f"{port}/tcp": ("127.0.0.1", host_port)},
            labels={TEST_LABEL: "1"},
            **kwargs,
        )
        started.append(container)
        service = LiveService(container, name, port, host_port)
        wait_for_http(service.url, timeout=30)
        return service

    yield start
    for container in started:
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)
