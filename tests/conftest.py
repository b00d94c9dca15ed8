"""Shared fixtures: a real Docker engine, the locally built test images, containers, the CLI.

Engine tests never skip for lack of an engine: they fail, saying how to start one
(`scripts/ensure-engine.sh`, which `make test` and `.ci/run` run first). Run
``pytest -m "not engine"`` for the tests that need no engine.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from hotfix.docker.engine import Engine
from hotfix.service.files import HotfixService
from hotfix.store.state import StateStore
from tests.images.build import ensure_images

REPO_ROOT = Path(__file__).resolve().parent.parent
TEST_LABEL = "hotfix.test"


@pytest.fixture(scope="session", autouse=True)
def runtime_dir() -> Iterator[str]:
    """This run's own $XDG_RUNTIME_DIR (short: a socket path must fit in 107 bytes). The CLI
    tests' commands run in the resident process their first command starts there; it is
    stopped at the end instead of idling on after the run."""
    directory = tempfile.mkdtemp(prefix="hfx-tests-")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_RUNTIME_DIR", directory)
        yield directory
        stop = [sys.executable, "-m", "hotfix", "daemon", "stop"]
        subprocess.run(stop, capture_output=True, timeout=60, check=False)
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:  # any failure here means: no usable engine
        pytest.fail(f"no Docker engine ({exc}); start one with scripts/ensure-engine.sh", False)
    yield client
    client.close()


@pytest.fixture(scope="session")
def images(docker_client: docker.DockerClient) -> dict[str, str]:
    return ensure_images(docker_client, log=lambda *a: None)


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "state"
    monkeypatch.setenv("HOTFIX_STATE_DIR", str(directory))
    return directory


@pytest.fixture
def service(docker_client: docker.DockerClient, state_dir: Path) -> Iterator[HotfixService]:
    store = StateStore(state_dir)
    yield HotfixService(Engine(docker_client), store, user="tester")
    store.close()


@dataclass
class Running:
    """A test container and, when it publishes one, the URL of its port on 127.0.0.1."""

    container: Any
    name: str
    port: int | None = None

    @property
    def url(self) -> str:
        """Read anew each time: a random host port changes when the container restarts."""
        assert self.port, "this container publishes no port"
        self.container.reload()
        return f"http://127.0.0.1:{self.container.ports[f'{self.port}/tcp'][0]['HostPort']}/"

    def exec(self, *argv: str) -> tuple[int, str]:
        code, out = self.container.exec_run(list(argv))
        return code, out.decode("utf-8", "replace")

    def sh(self, script: str) -> str:
        code, out = self.exec("sh", "-c", script)
        assert code == 0, f"sh -c {script!r} failed ({code}): {out}"
        return out


@pytest.fixture
def run_container(docker_client: docker.DockerClient) -> Iterator[Callable[..., Running]]:
    """Start a container (port published on 127.0.0.1, random host port); removed afterwards."""
    started: list[Any] = []

    def start(
        image: str, port: int | None = None, wait_http: bool = True, **kwargs: Any
    ) -> Running:
        name = kwargs.pop("name", f"hotfix-test-{uuid.uuid4().hex[:8]}")
        ports = {f"{port}/tcp": ("127.0.0.1", None)} if port else None
        labels = {TEST_LABEL: "1", **kwargs.pop("labels", {})}
        container = docker_client.containers.run(
            image, name=name, detach=True, ports=ports, labels=labels, **kwargs
        )
        started.append(container)
        running = Running(container, name, port)
        if port and wait_http:
            wait_for_http(running.url)
        return running

    yield start
    for container in started:
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)


def http_get(url: str, timeout: float = 2.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def wait_for_http(url: str, timeout: float = 20.0) -> tuple[int, str]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return http_get(url)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture
def hotfix(state_dir: Path) -> Callable[..., CliResult]:
    """Run the real ``hotfix`` CLI as a process, with this test's state directory."""

    def run(*args: str, input: bytes | None = None, env: dict[str, str] | None = None) -> CliResult:
        proc = subprocess.run(
            [sys.executable, "-m", "hotfix", *args],
            input=input,
            capture_output=True,
            env={**os.environ, "HOTFIX_STATE_DIR": str(state_dir), **(env or {})},
            timeout=180,
        )
        return CliResult(
            proc.returncode,
            proc.stdout.decode("utf-8", "replace"),
            proc.stderr.decode("utf-8", "replace"),
        )

    return run


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests using the engine fixtures are engine tests, marked or not."""
    for item in items:
        if {"docker_client", "images"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.engine)
