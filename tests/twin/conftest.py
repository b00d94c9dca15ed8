"""Fixtures of the twin tests: the going-live tests' real servers, and a look at twins."""

from __future__ import annotations

from typing import Any

import docker
import pytest

from tests.live.conftest import live_service, service_images  # noqa: F401 - fixtures
from tests.lsp.conftest import client  # noqa: F401 - the language server's fixture

TWIN_LABEL = "hotfix.twin.of"


def twins_of(docker_client: docker.DockerClient, container_id: str) -> list[Any]:
    """The twin containers of one container, running or not."""
    return list(
        docker_client.containers.list(all=True, filters={"label": f"{TWIN_LABEL}={container_id}"})
    )


@pytest.fixture
def no_daemon(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands run in their own process: a resident process of another tree never answers."""
    monkeypatch.setenv("HOTFIX_DAEMON", "off")
