"""Smoke tests: the fleet fixtures work for real (second engine, contexts, swarm, compose)."""

from __future__ import annotations

import ipaddress
import os
import subprocess
from collections.abc import Callable

import docker
import docker.errors
import pytest
from docker.context import ContextAPI

from tests.conftest import http_get, wait_for_http
from tests.fleet.conftest import ComposeReplicas
from tests.fleet.engines import CONTEXT_TLS, CONTEXT_UNIX, SecondEngine, Swarm
from tests.images.build import BUSYBOX_INDEX

pytestmark = pytest.mark.engine


def test_second_engine_answers_on_unix_and_tls(
    second_engine: SecondEngine, docker_client: docker.DockerClient
) -> None:
    unix_info = second_engine.client_unix().info()
    tls_info = second_engine.client_tls().info()
    assert unix_info["ID"] == tls_info["ID"] != docker_client.info()["ID"]
    assert unix_info["DockerRootDir"].startswith(str(second_engine.dir))
    assert second_engine.tcp_url.startswith("tcp://127.0.0.1:")
    assert {p.name for p in second_engine.cert_dir.iterdir()} >= {"ca.pem", "cert.pem", "key.pem"}
    # the docker CLI with env_tls() reaches the same engine
    env = {**os.environ, **second_engine.env_tls()}
    out = subprocess.run(
        ["docker", "info", "--format", "{{.ID}}"], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == unix_info["ID"]


def test_second_engine_refuses_a_client_without_cert(second_engine: SecondEngine) -> None:
    client = second_engine.client_tls(client_cert=False)
    with pytest.raises((docker.errors.DockerException, OSError)):
        client.ping()
    env = {**os.environ, "DOCKER_HOST": second_engine.tcp_url}  # no TLS at all
    for key in ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONTEXT"):
        env.pop(key, None)
    out = subprocess.run(["docker", "version"], env=env, capture_output=True, text=True)
    assert out.returncode != 0


def test_contexts_are_listed_by_docker_py(second_engine_contexts: SecondEngine) -> None:
    engine = second_engine_contexts
    names = {c.Name for c in ContextAPI.contexts()}
    assert {CONTEXT_UNIX, CONTEXT_TLS} <= names
    assert ContextAPI.get_current_context().Name == "default"
    unix = ContextAPI.get_context(CONTEXT_UNIX)
    assert unix.Host == engine.unix_url
    tls = ContextAPI.get_context(CONTEXT_TLS)
    assert tls.Host == engine.tcp_url
    assert tls.TLSConfig is not None
    # a client made from the context alone reaches engine2
    # (trust_env off: REQUESTS_CA_BUNDLE would override the context's CA; see engines.py)
    client = docker.DockerClient(base_url=tls.Host, tls=tls.TLSConfig, version=engine.api_version())
    client.api.trust_env = False
    try:
        assert client.info()["ID"] == engine.client_unix().info()["ID"]
    finally:
        client.close()


def test_engine2_container_publishes_on_loopback(second_engine: SecondEngine) -> None:
    client = second_engine.client_unix()
    container = client.containers.run(
        "hotfix-test/busybox:1", detach=True, ports={"8080/tcp": ("127.0.0.1", None)}
    )
    try:
        container.reload()
        port = container.ports["8080/tcp"][0]["HostPort"]
        ip = container.attrs["NetworkSettings"]["IPAddress"]
        assert ipaddress.ip_address(ip) in ipaddress.ip_network(second_engine.subnet)
        status, body = wait_for_http(f"http://127.0.0.1:{port}/")
        assert (status, body.encode()) == (200, BUSYBOX_INDEX)
    finally:
        container.remove(force=True)


def test_engine2_runs_the_prod_image(
    second_engine: SecondEngine, second_engine_prod_image: str
) -> None:
    container = second_engine.client_unix().containers.run(
        second_engine_prod_image, detach=True, ports={"8001/tcp": ("127.0.0.1", None)}
    )
    try:
        container.reload()
        port = container.ports["8001/tcp"][0]["HostPort"]
        assert wait_for_http(f"http://127.0.0.1:{port}/") == (500, "Something is wrong")
    finally:
        container.remove(force=True)


def test_swarm_service_reaches_three_running_tasks(
    swarm: Swarm, images: dict[str, str], docker_client: docker.DockerClient
) -> None:
    svc = swarm.service(images["busybox"], 3, publish=8080, labels={"tier": "web"})
    tasks = svc.tasks()
    assert [t["Status"]["State"] for t in tasks] == ["running"] * 3
    containers = docker_client.containers.list(
        filters={"label": f"com.docker.swarm.service.name={svc.name}"}
    )
    assert len(containers) == 3
    assert {c.labels["tier"] for c in containers} == {"web"}
    assert len(svc.urls()) == 3
    for url in svc.urls():
        assert http_get(url)[0] == 200


def test_swarm_service_with_healthcheck(swarm: Swarm, images: dict[str, str]) -> None:
    check = ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]
    svc = swarm.service(images["busybox"], 2, healthcheck=check)
    states = {c.attrs["State"]["Health"]["Status"] for c in svc.containers()}
    assert states == {"healthy"}


def test_compose_replicas(
    compose_replicas: Callable[..., ComposeReplicas], docker_client: docker.DockerClient
) -> None:
    group = compose_replicas("busybox", 3, service="api")
    listed = docker_client.containers.list(filters={"label": group.label_filter})
    assert sorted(c.name for c in listed) == [f"{group.project}-api-{i}" for i in (1, 2, 3)]
    assert sorted(c.labels["com.docker.compose.container-number"] for c in listed) == [
        "1",
        "2",
        "3",
    ]
    for replica in group:
        assert replica.container.status == "running"
        assert http_get(replica.url)[0] == 200


def test_compose_replicas_on_engine2(
    compose_replicas: Callable[..., ComposeReplicas], second_engine: SecondEngine
) -> None:
    client = second_engine.client_unix()
    group = compose_replicas("busybox", 2, client=client)
    assert len(client.containers.list(filters={"label": group.label_filter})) == 2
    assert [http_get(url)[0] for url in group.urls] == [200, 200]
