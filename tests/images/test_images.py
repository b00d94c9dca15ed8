"""Smoke tests of the locally built test images (needs a Docker engine)."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import docker
import pytest

from tests.images.build import PROD_DIR, RECIPE_LABEL, ensure_images

pytestmark = pytest.mark.engine

APP_PY = """\
def application(env, start_response):
    cause_a_problem = True
    if cause_a_problem:
        start_response('500 BIG_PROBLEM', [('Content-Type','text/html')])
        return [b"Something is wrong"]
    start_response('200 OK', [('Content-Type','text/html')])

    return [b"Hello World"]
"""


@pytest.fixture(scope="module")
def client(docker_client: docker.DockerClient) -> docker.DockerClient:
    return docker_client  # tests/conftest.py: fails, never skips, without an engine


@pytest.fixture(scope="module")
def images(client: docker.DockerClient) -> dict[str, str]:
    return ensure_images(client)


@pytest.fixture
def run(client: docker.DockerClient) -> Iterator:
    """Start a container with its port published on 127.0.0.1 (random host port)."""
    started = []

    def _run(image: str, port: int) -> tuple[object, str]:
        c = client.containers.run(
            image,
            detach=True,
            ports={f"{port}/tcp": ("127.0.0.1", None)},
            labels={"hotfix.test": "images"},
        )
        started.append(c)
        c.reload()
        host_port = c.ports[f"{port}/tcp"][0]["HostPort"]
        return c, f"http://127.0.0.1:{host_port}/"

    yield _run
    for c in started:
        c.remove(force=True)


def _get(url: str, timeout: float = 15.0) -> tuple[int, bytes]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_app_py_is_the_incident_source() -> None:
    assert (PROD_DIR / "app.py").read_text() == APP_PY


def test_images_carry_recipe_labels(client: docker.DockerClient, images: dict[str, str]) -> None:
    assert set(images) == {"busybox", "noshell", "prod_base", "prod"}
    for ref in images.values():
        assert len(client.images.get(ref).labels[RECIPE_LABEL]) == 64


def test_second_ensure_is_instant(client: docker.DockerClient, images: dict[str, str]) -> None:
    t0 = time.monotonic()
    assert ensure_images(client, log=lambda _msg: None) == images
    assert time.monotonic() - t0 < 2.0


def test_busybox_has_shell_users_and_httpd(images: dict[str, str], run) -> None:
    c, url = run(images["busybox"], 8080)
    code, out = c.exec_run(["sh", "-c", "id -u app; stat -c %a /tmp; echo ok > /tmp/x; cat /tmp/x"])
    assert code == 0, out
    assert out.decode().split() == ["1000", "1777", "ok"]
    code, out = c.exec_run("id", user="app")
    assert code == 0 and b"uid=1000(app) gid=1000(app)" in out
    status, body = _get(url)
    assert status == 200 and b"hotfix-test busybox" in body


def test_noshell_has_no_shell_but_serves(images: dict[str, str], run) -> None:
    c, url = run(images["noshell"], 8080)
    status, body = _get(url)
    assert status == 200 and b"hotfix-test noshell" in body
    code, _out = c.exec_run(["sh", "-c", "true"])
    assert code != 0
    code, _out = c.exec_run(["/bin/sh", "-c", "true"])
    assert code != 0


def test_prod_service_answers_500(images: dict[str, str], run) -> None:
    c, url = run(images["prod"], 8001)
    status, body = _get(url)
    assert (status, body) == (500, b"Something is wrong")
    code, out = c.exec_run(["cat", "/usr/src/app/app.py"])
    assert code == 0 and out.decode() == APP_PY
