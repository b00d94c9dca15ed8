"""Fixtures of the lifecycle tests: Compose-labelled replicas and Swarm (from tests/fleet), the
release image and repository (from tests/release), and ``recreate``: what `compose up` does
to a replica — remove it, run a new one of the same name and labels from an image."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import docker
import docker.errors
import pytest

from tests.conftest import TEST_LABEL, Running, wait_for_http
from tests.fleet.conftest import compose_replicas, swarm, swarm_node  # noqa: F401
from tests.release.conftest import (  # noqa: F401
    image_cleanup,
    release_image,
    repo,
    template_repo,
)

PORT = 8001


@pytest.fixture
def recreate(docker_client: docker.DockerClient) -> Iterator[Callable[..., Running]]:
    """``recreate(replica, image=None, labels=None)``: rm -f, then run the same name with the
    same labels (or ``labels``) from its image (or ``image``); waits until it answers HTTP."""
    made: list[Any] = []

    def run(
        old: Running, image: str | None = None, labels: dict[str, str] | None = None
    ) -> Running:
        old.container.reload()
        kept = dict(old.container.labels)
        ref = image or old.container.attrs["Config"]["Image"]
        old.container.remove(force=True)
        new = docker_client.containers.run(
            ref,
            name=old.name,
            detach=True,
            ports={f"{PORT}/tcp": ("127.0.0.1", None)},
            labels={**kept, TEST_LABEL: "1", **(labels or {})},
        )
        made.append(new)
        running = Running(new, old.name, PORT)
        wait_for_http(running.url)
        return running

    yield run
    for container in made:
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            container.remove(force=True, v=True)
