"""Fixtures for replicas, several engines and Swarm (all real; root + a Docker engine).

- ``second_engine`` (session): a second dockerd on this machine, a second "host" (unix
  socket + mutual-TLS TCP on 127.0.0.1, docker contexts). Has the busybox test image.
- ``second_engine_prod_image`` (session): also load my_prod_service:v1.0.0 into it.
- ``second_engine_contexts`` (function): ``DOCKER_CONFIG`` set to the engine's config
  dir, so ``docker.context.ContextAPI`` (and the ``docker`` CLI) see its two contexts.
- ``swarm_node`` (session): the main engine as a one-node swarm manager.
- ``swarm`` (function): create replicated services; this test's services are removed after it.
- ``compose_replicas`` (function): N containers with Compose labels (no compose binary).

Start-up times are printed at the end of the run ("fleet fixture timings").
"""

from __future__ import annotations

import atexit
import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NoReturn

import docker
import docker.errors
import pytest

from tests.conftest import TEST_LABEL, Running, wait_for_http
from tests.fleet import engines
from tests.fleet.engines import SecondEngine, Swarm, SwarmService

TIMINGS: dict[str, float] = {}
_LOG: list[str] = []


def _log(msg: str) -> None:
    _LOG.append(msg)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TIMINGS or _LOG:
        terminalreporter.section("fleet fixture timings")
        for key, seconds in TIMINGS.items():
            terminalreporter.write_line(f"{key:<40} {seconds:6.2f} s")
        for line in _LOG:
            terminalreporter.write_line(line)


def _fail(what: str, exc: Exception) -> NoReturn:
    pytest.fail(f"{what}: {exc}", pytrace=False)


# --------------------------------------------------------------------------- second engine


@pytest.fixture(scope="session")
def second_engine(
    docker_client: docker.DockerClient, images: dict[str, str]
) -> Iterator[SecondEngine]:
    """A second engine ("engine2") with the busybox test image; stopped and deleted at the end.

    Usage::

        def test_x(second_engine):
            c2 = second_engine.client_unix()          # or .client_tls()
            c2.containers.run("hotfix-test/busybox:1", detach=True, ...)
            env = second_engine.env_tls()             # DOCKER_HOST/TLS_VERIFY/CERT_PATH
    """
    try:
        engine = engines.start(log=_log)
    except engines.EngineError as exc:
        _fail("second engine", exc)
    stop = atexit.register(engines.stop, engine.dir)  # in case pytest dies before teardown
    try:
        TIMINGS.update({f"engine2 {key}": value for key, value in engine.timings.items()})
        TIMINGS["engine2 start (total)"] = sum(engine.timings.values())
        engine.load_image(images["busybox"], docker_client, log=_log)
        TIMINGS["engine2 load busybox"] = engine.timings[f"load {images['busybox']}"]
        yield engine
    finally:
        t0 = time.monotonic()
        engine.close_clients()
        engines.stop(engine.dir, log=_log)
        atexit.unregister(stop)
        TIMINGS["engine2 stop"] = time.monotonic() - t0


@pytest.fixture(scope="session")
def second_engine_prod_image(
    second_engine: SecondEngine, docker_client: docker.DockerClient, images: dict[str, str]
) -> str:
    """Load my_prod_service:v1.0.0 into the second engine (about 10-15 s); returns its ref."""
    ref = images["prod"]
    second_engine.load_image(ref, docker_client, log=_log)
    TIMINGS["engine2 load prod"] = second_engine.timings.get(f"load {ref}", 0.0)
    return ref


@pytest.fixture
def second_engine_contexts(
    second_engine: SecondEngine, monkeypatch: pytest.MonkeyPatch
) -> SecondEngine:
    """``DOCKER_CONFIG`` -> the engine's config dir (contexts ``hotfix-engine2`` and
    ``hotfix-engine2-tls``; current context: default). Restored after the test."""
    monkeypatch.setenv("DOCKER_CONFIG", str(second_engine.docker_config))
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    return second_engine


# --------------------------------------------------------------------------- swarm


@pytest.fixture(scope="session")
def swarm_node(docker_client: docker.DockerClient) -> Iterator[Swarm]:
    """The main engine as a swarm manager for the session (initialised if it was in none)."""
    node = Swarm(docker_client, log=_log)
    try:
        node.join()
    except (engines.EngineError, docker.errors.APIError) as exc:
        _fail("swarm", exc)
    TIMINGS.update(node.timings)
    try:
        yield node
    finally:
        node.leave()
        TIMINGS.update(node.timings)


@pytest.fixture
def swarm(swarm_node: Swarm, images: dict[str, str]) -> Iterator[Swarm]:
    """Create services with ``swarm.service(image, replicas, ...)``; removed after the test.

    Usage::

        def test_x(swarm, images):
            svc = swarm.service(images["busybox"], 3, publish=8080)   # waits: 3 running
            svc.containers()      # main engine, label com.docker.swarm.service.name=svc.name
            svc.urls()            # http://127.0.0.1:PORT/ per task
    """
    before = list(swarm_node.services)
    try:
        yield swarm_node
    finally:
        for svc in list(swarm_node.services):
            if svc not in before:
                swarm_node.remove(svc)
        TIMINGS.update(swarm_node.timings)


# --------------------------------------------------------------------------- compose


@dataclass
class ComposeReplicas:
    """Containers ``<project>-<service>-<i>`` labelled as Compose would label them."""

    project: str
    service: str
    replicas: list[Running]

    def __len__(self) -> int:
        return len(self.replicas)

    def __iter__(self) -> Iterator[Running]:
        return iter(self.replicas)

    def __getitem__(self, index: int) -> Running:
        return self.replicas[index]

    @property
    def urls(self) -> list[str]:
        return [r.url for r in self.replicas]

    @property
    def label_filter(self) -> list[str]:
        """For ``containers.list(filters={"label": ...})``."""
        return [
            f"com.docker.compose.project={self.project}",
            f"com.docker.compose.service={self.service}",
        ]


@pytest.fixture
def compose_replicas(
    docker_client: docker.DockerClient, images: dict[str, str]
) -> Iterator[Callable[..., ComposeReplicas]]:
    """``compose_replicas(image="busybox", n=3, project=None, service="web", ...)``.

    ``image``: a key of ``images`` ("busybox", "noshell", "prod") or a ref. Each container
    publishes ``port`` (default 8001 for prod, else 8080) on 127.0.0.1 (random host port).
    ``client``: another engine's client (e.g. ``second_engine.client_unix()``; the image
    must be there). ``wait_http``: wait until every replica answers HTTP (any status).
    Other keyword arguments go to ``containers.run``. All removed after the test.
    """
    created: list[Any] = []

    def make(
        image: str = "busybox",
        n: int = 3,
        *,
        project: str | None = None,
        service: str = "web",
        port: int | None = None,
        client: docker.DockerClient | None = None,
        labels: dict[str, str] | None = None,
        wait_http: bool = True,
        **run_kwargs: Any,
    ) -> ComposeReplicas:
        ref = images.get(image, image)
        port = port or (8001 if ref == images["prod"] else 8080)
        project = project or f"hfx{uuid.uuid4().hex[:8]}"
        engine = client or docker_client
        replicas = []
        for i in range(1, n + 1):
            name = f"{project}-{service}-{i}"
            container_labels = {
                TEST_LABEL: "1",
                "com.docker.compose.project": project,
                "com.docker.compose.service": service,
                "com.docker.compose.container-number": str(i),
                "com.docker.compose.oneoff": "False",
                **(labels or {}),
            }
            container = engine.containers.run(
                ref,
                name=name,
                detach=True,
                ports={f"{port}/tcp": ("127.0.0.1", None)},
                labels=container_labels,
                **run_kwargs,
            )
            created.append(container)
            replicas.append(Running(container, name, port))
        if wait_http:
            for replica in replicas:
                wait_for_http(replica.url)
        return ComposeReplicas(project, service, replicas)

    yield make
    for container in created:
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            container.remove(force=True, v=True)


__all__ = ["ComposeReplicas", "SecondEngine", "Swarm", "SwarmService"]
