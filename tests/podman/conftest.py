"""The Podman tests: a private, rootful ``podman system service`` started for this run
(``scripts/ensure-podman.sh``, which installs podman with apt when it is missing), stopped at
the end. It never touches the Docker engine: the fixtures every test uses —
``docker_client``, ``images`` and the CLI's ``DOCKER_HOST`` — are Podman's here, so the
Docker tests imported by these modules run unchanged against Podman.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.conftest import REPO_ROOT, Running
from tests.images.build import ensure_images, ensure_service_images
from tests.live.conftest import live_service  # noqa: F401 (the going-live tests' fixture)

ENSURE = REPO_ROOT / "scripts" / "ensure-podman.sh"


class PodmanService:
    """The private service: its socket, and the directory of its containers.conf."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        out = subprocess.run(
            ["bash", str(ENSURE), "start", str(directory)],
            capture_output=True,
            text=True,
            timeout=600,  # a first run installs podman
            check=False,
        )
        if out.returncode != 0:
            pytest.fail(f"podman service did not start: {out.stderr.strip()}", False)
        self.socket = out.stdout.split()[0]
        self.url = f"unix://{self.socket}"
        self.conf = str(directory / "containers.conf")

    def stop(self) -> None:
        subprocess.run(["bash", str(ENSURE), "stop", str(self.directory)], timeout=60, check=False)


@pytest.fixture(scope="session")
def podman() -> Iterator[PodmanService]:
    directory = Path(tempfile.mkdtemp(prefix="hfx-podman-"))  # short: a socket path is bounded
    service = PodmanService(directory)
    yield service
    service.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def docker_client(podman: PodmanService) -> Iterator[docker.DockerClient]:
    """Podman's Docker-compatible API, under the name every engine test asks for."""
    client = docker.DockerClient(base_url=podman.url)
    client.ping()
    yield client
    client.close()


@pytest.fixture(scope="session")
def images(docker_client: docker.DockerClient) -> dict[str, str]:
    """The test images in Podman's storage (the Docker side's cached rootfs tarballs
    imported), named as Podman names them: ``docker.io/…`` — what its containers report."""
    refs = ensure_images(docker_client, log=lambda *a: None)
    return {name: qualified(docker_client, ref) for name, ref in refs.items()}


def qualified(client: docker.DockerClient, ref: str) -> str:
    tags = client.images.get(ref).tags
    return next(t for t in tags if t == ref or t.endswith("/" + ref))


@pytest.fixture(autouse=True)
def podman_is_the_default(podman: PodmanService, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI and the language server these tests start talk to Podman (DOCKER_HOST), and
    podman's own CLI, where a test uses it, reads the same containers.conf."""
    monkeypatch.setenv("DOCKER_HOST", podman.url)
    monkeypatch.setenv("CONTAINERS_CONF", podman.conf)


@pytest.fixture
def run_container(run_container: Callable[..., Running]) -> Callable[..., Running]:
    """The root fixture's containers, stopped by SIGKILL unless a test says otherwise: a
    ``sleep`` or busybox ``httpd`` as PID 1 ignores SIGTERM, and every restart would wait
    out the 10 s stop timeout (the tool's hint for that is tested on Docker)."""

    def start(
        image: str, port: int | None = None, wait_http: bool = True, **kwargs: Any
    ) -> Running:
        kwargs.setdefault("stop_signal", "SIGKILL")
        return run_container(image, port, wait_http, **kwargs)

    return start


@pytest.fixture(scope="session")
def service_images(docker_client: docker.DockerClient) -> dict[str, str]:
    """gunicorn + Flask and Node.js (non-root) of tests/live in Podman's storage: the cached
    Debian root imported once (17 s), then each short Dockerfile built (2 s); not nginx, to
    keep the added time small."""
    log: list[str] = []
    refs = ensure_service_images(docker_client, log=log.append, names=("gunicorn", "node"))
    print("\n".join(log))  # the build's timings, shown with -s
    return {name: qualified(docker_client, ref) for name, ref in refs.items()}
