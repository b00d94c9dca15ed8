"""Swarm, for real: `docker service update --force` replaces every task — their hotfixes are
lost (the old task containers stay, stopped) — and `reapply` carries each onto the task that
took its slot."""

from __future__ import annotations

import contextlib
import uuid

import docker.errors
import pytest

from tests.conftest import wait_for_http
from tests.lifecycle.test_compose import fix

pytestmark = pytest.mark.engine

# Swarm's own health signal: uWSGI accepts connections (the bug answers 500, so not HTTP).
ACCEPTS = ["python3", "-c", "import socket; socket.create_connection(('127.0.0.1', 8001), 1)"]
ANSWERS_OK = (
    "exec:python3 -c \"import urllib.request; urllib.request.urlopen('http://127.0.0.1:8001/')\""
)


def test_forced_update_loses_the_tasks_hotfixes_and_reapply_restores_them(swarm, images, hotfix):
    service = swarm.service(images["prod"], 2, healthcheck=ACCEPTS, publish=8001)
    first, second = sorted(c.name for c in service.containers())
    fix(hotfix, first)
    applied = hotfix(
        "apply", first, "--to", second, "--rolling", "--signal", "HUP", "--probe", ANSWERS_OK
    )
    assert applied.code == 0, applied.stdout + applied.stderr
    assert hotfix("restart", first, "--signal", "HUP", "--probe", ANSWERS_OK).code == 0
    assert [wait_for_http(u)[0] for u in service.urls()] == [200, 200]
    assert hotfix("status").code == 0

    old = {c.name: c.id for c in service.containers()}
    service.model().force_update()
    service.wait_converged()
    new = {c.name: c.id for c in service.containers()}
    assert not set(new.values()) & set(old.values())
    assert sorted(wait_for_http(u)[0] for u in service.urls()) == [500, 500]

    result = hotfix("status", "--json")
    assert result.code == 5, result.stdout + result.stderr
    lost = [line for line in result.json()["hotfixes"] if line["stage"] == "lost"]
    assert sorted(cid for line in lost for cid in line["containerIds"]) == sorted(old.values())
    assert sorted(s for line in lost for s in line["successors"]) == sorted(new)

    for name in sorted(old):
        done = hotfix(
            "reapply", name, "--restart", "--signal", "HUP", "--probe", ANSWERS_OK, "--json"
        )
        assert done.code == 0, done.stdout + done.stderr
        data = done.json()
        assert data["container"]["id"] in new.values() and data["health"]["healthy"] is True
        # the successor holds the same task slot
        assert data["container"]["name"].split(".")[1] == name.split(".")[1]
    assert [wait_for_http(u) for u in service.urls()] == [(200, "Hello World")] * 2
    after = hotfix("status", "--json")
    assert after.code == 0
    assert {line["stage"] for line in after.json()["hotfixes"]} == {"live"}


def test_commit_then_swarm_rollout_is_rolled_out(swarm, images, hotfix, docker_client):
    service = swarm.service(images["prod"], 1, healthcheck=ACCEPTS, publish=8001)
    [task] = [c.name for c in service.containers()]
    fix(hotfix, task)
    tag = f"my_prod_service:v1.0.0-hotfix-life-{uuid.uuid4().hex[:6]}"
    try:
        committed = hotfix("commit", task, "--tag", tag)
        assert committed.code == 0, committed.stderr
        [line] = hotfix("status", "--json").json()["hotfixes"]
        assert (line["stage"], line["image"], line["nextStep"]) == ("imaged", tag, "rollout")
        rolled = hotfix("rollout", service.name, "--image", tag, "--monitor", "2")
        assert rolled.code == 0, rolled.stdout + rolled.stderr
        assert [wait_for_http(u) for u in service.urls()] == [(200, "Hello World")]
        result = hotfix("status", "--json")
        assert result.code == 0, result.stdout + result.stderr
        [line] = result.json()["hotfixes"]
        assert (line["stage"], line["present"], line["nextStep"]) == ("rolled-out", False, "")
        [new] = [c.name for c in service.containers()]
        assert line["successors"] == [new] and new != task
    finally:  # the swarm fixture removes the service; the tag is untagged here
        with contextlib.suppress(docker.errors.APIError):
            docker_client.images.remove(tag, force=True)
