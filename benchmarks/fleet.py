"""Containers and images the benchmarks start: labelled, tracked, always removed.

Every container carries ``hotfix.bench=1`` and ``hotfix.bench.run=<run id>``; images made
by a run are tracked by reference. :meth:`Fleet.clean` removes all of them (and anything
else carrying this run's label) — the runner calls it in ``finally`` and from signal handlers.
"""

from __future__ import annotations

import contextlib
import socket
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

import docker
import docker.errors

LABEL = "hotfix.bench"
RUN_LABEL = "hotfix.bench.run"


class Fleet:
    def __init__(self, client: docker.DockerClient, run_id: str | None = None) -> None:
        self.client = client
        self.run_id = run_id or uuid.uuid4().hex[:8]
        self._containers: list[Any] = []
        self._images: list[str] = []

    @property
    def labels(self) -> dict[str, str]:
        return {LABEL: "1", RUN_LABEL: self.run_id}

    def name(self, hint: str) -> str:
        return f"hotfix-bench-{self.run_id}-{hint}-{uuid.uuid4().hex[:4]}"

    def run(
        self, image: str, hint: str, *, port: int | None = None, host_port: int | None = None
    ) -> Any:
        """Start a container; ``port`` is published on 127.0.0.1 (``host_port`` or a free one)."""
        ports = None
        if port:
            ports = {f"{port}/tcp": ("127.0.0.1", host_port or free_port())}
        container = self.client.containers.run(
            image, name=self.name(hint), detach=True, labels=self.labels, ports=ports
        )
        self._containers.append(container)
        container.reload()
        return container

    def remove(self, container: Any) -> None:
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            container.remove(force=True, v=True)
        with contextlib.suppress(ValueError):
            self._containers.remove(container)

    def track_image(self, ref: str) -> None:
        self._images.append(ref)

    def remove_image(self, ref: str) -> None:
        with contextlib.suppress(docker.errors.ImageNotFound, docker.errors.APIError):
            self.client.images.remove(ref, force=True)
        with contextlib.suppress(ValueError):
            self._images.remove(ref)

    def clean(self) -> None:
        for container in list(self._containers):
            self.remove(container)
        with contextlib.suppress(docker.errors.APIError):
            leftovers = self.client.containers.list(
                all=True, filters={"label": f"{RUN_LABEL}={self.run_id}"}
            )
            for container in leftovers:
                self.remove(container)
        for ref in list(self._images):
            self.remove_image(ref)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def host_port(container: Any, port: int) -> int:
    container.reload()
    return int(container.ports[f"{port}/tcp"][0]["HostPort"])


def http_status(url: str, timeout: float = 2.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def wait_http(url: str, timeout: float = 30.0, want: int | None = None) -> int:
    """Poll ``url`` until it answers (with ``want`` when given); returns the status."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            status = http_status(url)
            if want is None or status == want:
                return status
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer{f' {want}' if want else ''} in {timeout} s")
        time.sleep(0.05)
