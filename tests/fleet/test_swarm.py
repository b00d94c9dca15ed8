"""Swarm, for real (a one-node swarm on the main engine): the live fix on every task,
a clean image committed from one, rolled out by Swarm's own rolling update; a broken
image rolls back."""

from __future__ import annotations

import contextlib
import uuid

import docker.errors
import pytest

from tests.conftest import http_get, wait_for_http

pytestmark = pytest.mark.engine

APP = "/usr/src/app/app.py"
# Swarm's own health signal: uWSGI accepts connections (the bug answers 500, so not HTTP).
ACCEPTS = ["python3", "-c", "import socket; socket.create_connection(('127.0.0.1', 8001), 1)"]
# Our probe: the service answers 2xx (urlopen raises on the 500).
ANSWERS_OK = (
    "exec:python3 -c \"import urllib.request; urllib.request.urlopen('http://127.0.0.1:8001/')\""
)


@pytest.fixture
def image_tags(docker_client):
    made: list[str] = []
    yield made
    for tag in made:
        with contextlib.suppress(docker.errors.APIError):
            docker_client.images.remove(tag, force=True)


def test_live_fix_clean_image_and_rollout(
    swarm, images, hotfix, image_tags, docker_client, tmp_path
):
    service = swarm.service(images["prod"], 3, healthcheck=ACCEPTS, publish=8001)
    tasks = sorted(c.name for c in service.containers())
    assert len(tasks) == 3
    assert all(http_get(url)[0] == 500 for url in service.urls())

    source = tasks[0]
    fixed = hotfix("cat", f"{source}:{APP}").stdout.replace("= True", "= False")
    write = hotfix("write", f"{source}:{APP}", input=fixed.encode())
    assert write.code == 0
    assert "Swarm may replace it at any time" in write.stderr  # the fix is temporary

    # The live fix on every task, one at a time, reloaded with HUP (a stopped task
    # container would be replaced by Swarm) and probed.
    applied = hotfix(
        "apply",
        source,
        "--to-replicas",
        "--rolling",
        "--signal",
        "HUP",
        "--probe",
        ANSWERS_OK,
        "--json",
    )
    assert applied.code == 0, applied.stdout + applied.stderr
    data = applied.json()
    assert sorted(t["container"] for t in data["targets"]) == tasks[1:]
    assert {t["status"] for t in data["targets"]} == {"fixed"}
    assert hotfix("restart", source, "--signal", "HUP", "--probe", ANSWERS_OK).code == 0
    assert [http_get(url) for url in service.urls()] == [(200, "Hello World")] * 3

    # Promote it: a clean image from one task, rolled out through Swarm.
    tag = f"my_prod_service:v1.0.0-hotfix-swarm-{uuid.uuid4().hex[:6]}"
    image_tags.append(tag)
    committed = hotfix("commit", source, "--tag", tag)
    assert committed.code == 0, committed.stderr
    rolled = hotfix("rollout", service.name, "--image", tag, "--monitor", "2", "--json")
    assert rolled.code == 0, rolled.stdout + rolled.stderr
    result = rolled.json()
    assert result["state"] == "completed" and result["converged"] is True
    assert len(result["tasks"]) == 3
    assert all(t["state"] == "running" and t["image"].startswith(tag) for t in result["tasks"])
    for url in service.urls():
        assert wait_for_http(url) == (200, "Hello World")  # new containers, fixed by the image

    # A broken image: the first updated task fails, Swarm rolls back.
    context = tmp_path / "broken"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f'FROM {tag}\nCMD ["python3", "-c", "import sys; sys.exit(3)"]\n'
    )
    broken = f"my_prod_service:broken-{uuid.uuid4().hex[:6]}"
    image_tags.append(broken)
    docker_client.images.build(path=str(context), tag=broken, rm=True)
    failed = hotfix("rollout", service.name, "--image", broken, "--monitor", "2", "--json")
    assert failed.code == 4, failed.stdout + failed.stderr
    outcome = failed.json()
    assert outcome["state"] in ("rolled back", "paused")
    assert outcome["converged"] is False
    assert outcome["previousImage"].startswith(tag)
    service.wait_converged()
    running = [t for t in outcome["tasks"] if t["state"] == "running"]
    assert running and all(t["image"].startswith(tag) for t in running)


def test_rollout_of_an_unknown_service_is_a_clear_error(swarm_node, hotfix):
    result = hotfix("rollout", "no-such-service-xyz", "--image", "x:1")
    assert result.code == 1
    assert "no such Swarm service: 'no-such-service-xyz'" in result.stderr
