"""A hotfix's life on Compose-labelled replicas of the real service (uWSGI, HTTP on
127.0.0.1): recreate one → lost (exit 5) → reapply → live; a conflicting successor; name
reuse that is no successor; the stages harvest → imaged → rolled-out, and in-image."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import http_get, wait_for_http

pytestmark = pytest.mark.engine

APP = "/usr/src/app/app.py"


def fix(hotfix, name: str) -> None:
    source = hotfix("cat", f"{name}:{APP}").stdout
    fixed = source.replace("cause_a_problem = True", "cause_a_problem = False")
    assert fixed != source
    assert hotfix("write", f"{name}:{APP}", input=fixed.encode()).code == 0


def status(hotfix, *args: str) -> tuple[int, list[dict]]:
    result = hotfix("status", *args, "--json")
    assert result.code in (0, 5), result.stderr
    return result.code, result.json()["hotfixes"]


def test_recreated_replica_is_lost_then_reapplied(compose_replicas, hotfix, recreate):
    group = compose_replicas("prod", 3)
    first, second, _ = group
    fix(hotfix, first.name)
    applied = hotfix("apply", first.name, "--to-replicas", "--rolling")
    assert applied.code == 0, applied.stdout + applied.stderr
    assert hotfix("restart", first.name).code == 0
    assert [http_get(r.url)[0] for r in group] == [200, 200, 200]
    code, lines = status(hotfix)
    assert code == 0
    assert [(sorted(x["containers"]), x["stage"]) for x in lines] == [
        (sorted(r.name for r in group), "live")
    ]

    old_id = second.container.id
    new = recreate(second)  # what `docker compose up` does to web-2
    assert http_get(new.url)[0] == 500  # the incident is back
    code, lines = status(hotfix)
    assert code == 5
    [lost] = [x for x in lines if x["stage"] == "lost"]
    assert (lost["containerIds"], lost["present"], lost["nextStep"]) == ([old_id], False, "reapply")
    text = hotfix("status")
    assert text.code == 5 and "lost" in text.stdout and f"hotfix reapply {new.name}" in text.stdout
    assert "lost" in hotfix("ls", f"{first.name}:/").stderr  # the debt line, on any command
    ps = hotfix("ps", "--json").json()["containers"]
    assert {c["name"]: c["hotfixStage"] for c in ps if c["name"] in (first.name, new.name)} == {
        first.name: "live",
        new.name: "lost",
    }
    replicas = hotfix("diff", first.name, "--replicas").stdout
    assert f"# {new.name}\n(lacks the fix: " in replicas and "(no changes)" not in replicas
    changes = hotfix("changes").stdout
    assert f"{new.name}:{APP} (removed: {old_id[:12]})" in changes
    assert f"lacks     {new.name}:{APP}" in changes

    reapplied = hotfix("reapply", new.name, "--restart", "--json")
    assert reapplied.code == 0, reapplied.stdout + reapplied.stderr
    data = reapplied.json()
    assert data["oldContainerId"] == old_id and data["how"] == {APP: "written as fixed"}
    assert data["health"]["healthy"] is True
    assert http_get(new.url) == (200, "Hello World")
    code, lines = status(hotfix)
    assert code == 0 and {x["stage"] for x in lines} == {"live"}
    assert "lost" not in hotfix("ls", f"{first.name}:/").stderr
    log = hotfix("log", new.name, "--json").json()["entries"]
    assert {e["containerId"] for e in log} >= {old_id, new.container.id}  # predecessors too
    assert "reapply" in [e["action"] for e in log if e["containerId"] == new.container.id]


def test_a_conflicting_successor_is_refused_with_the_hunk(compose_replicas, hotfix, recreate):
    [replica] = compose_replicas("prod", 1)
    fix(hotfix, replica.name)
    new = recreate(replica)
    new.sh(f"sed -i 's/cause_a_problem = True/cause_a_problem = \"maybe\"/' {APP}")
    before = new.sh(f"cat {APP}")
    refused = hotfix("reapply", replica.name)
    assert refused.code == 3, refused.stdout + refused.stderr
    assert "does not apply (hunk @@" in refused.stderr
    assert new.sh(f"cat {APP}") == before  # nothing written
    changes = hotfix("changes", new.name).stdout  # no checkpoint taken: it lacks the fix
    assert "modified" not in changes and f"lacks     {new.name}:{APP}" in changes
    assert status(hotfix)[0] == 5
    report = hotfix("report").stdout
    section = report[report.index("## Lifecycle") :]
    assert f"| {replica.name} (removed) | {APP} | lost: {new.name} runs without it" in section


def test_name_reuse_with_another_service_or_image_is_no_successor(
    compose_replicas, hotfix, recreate, images
):
    [replica] = compose_replicas("prod", 1)
    fix(hotfix, replica.name)
    other = recreate(replica, labels={"com.docker.compose.service": "db"})
    code, [line] = status(hotfix)
    assert (code, line["stage"], line["successors"]) == (5, "lost", [])
    ps = {c["name"]: c["hotfixStage"] for c in hotfix("ps", "--json").json()["containers"]}
    assert ps[other.name] is None
    refused = hotfix("reapply", replica.name)
    assert refused.code == 2 and "0 successors" in refused.stderr


def test_name_reuse_of_a_plain_container_from_another_image(
    run_container, hotfix, images, docker_client
):
    name = f"hfx-plain-{uuid.uuid4().hex[:6]}"
    plain = run_container(images["prod"], port=8001, name=name)
    fix(hotfix, name)
    plain.container.remove(force=True)
    run_container(images["busybox"], wait_http=False, name=name, command=["sleep", "600"])
    code, [line] = status(hotfix)
    assert (code, line["stage"], line["successors"]) == (5, "lost", [])


def test_stages_harvest_commit_rollout_and_in_image(
    compose_replicas, hotfix, recreate, repo, release_image, image_cleanup, docker_client
):
    replica, other = compose_replicas(release_image, 2, port=8001)
    fix(hotfix, replica.name)
    assert status(hotfix, replica.name)[1][0]["stage"] == "live"

    harvested = hotfix("harvest", replica.name, "--repo", str(repo), "--json")
    assert harvested.code == 0, harvested.stderr
    branch = harvested.json()["branch"]
    [line] = status(hotfix, replica.name)[1]
    assert (line["stage"], line["branch"], line["nextStep"]) == ("harvested", branch, "commit")
    assert f"harvested ({branch})" in hotfix("status").stdout

    tag = f"hotfix-lifecycle-test/svc:{uuid.uuid4().hex[:8]}"
    image_cleanup.append(tag)
    committed = hotfix("commit", replica.name, "--tag", tag)
    assert committed.code == 0, committed.stderr
    [line] = status(hotfix, replica.name)[1]
    assert (line["stage"], line["image"], line["nextStep"]) == ("imaged", tag, "rollout")

    # The service moves to the clean image: the replica is recreated from it.
    rolled = recreate(replica, image=tag)
    assert wait_for_http(rolled.url) == (200, "Hello World")
    code, [line] = status(hotfix, replica.name)
    assert (code, line["stage"], line["present"]) == (0, "rolled-out", False)

    # Another replica, fixed and then recreated from an image that ships the fix already
    # (built elsewhere): in-image, retired.
    fix(hotfix, other.name)
    shipped = f"hotfix-lifecycle-test/shipped:{uuid.uuid4().hex[:8]}"
    image_cleanup.append(shipped)
    other.container.commit(repository=shipped.split(":")[0], tag=shipped.split(":")[1])
    recreate(other, image=shipped)
    stages = {x["containers"][0]: x["stage"] for x in status(hotfix)[1]}
    assert stages == {replica.name: "rolled-out", other.name: "in-image"}
