"""The incident through to the end: fix → restart → harvest → clean image (verified) →
whole-layer image → report, through the CLI against a real engine."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import docker
import pytest

from hotfix.release.imaging import CONFIG_KEYS
from hotfix.service.files import HotfixService
from tests.conftest import http_get, wait_for_http
from tests.release.conftest import APP, SECRET_NAME, SECRET_VALUE, fix

pytestmark = pytest.mark.engine

LOG = "/usr/src/app/uwsgi-requests.log"
PID = "/tmp/service.pid"


def top_layer(client: docker.DockerClient, ref: str) -> set[str] | None:
    """Every path in the image's top layer (overlay2 on this host), or None if not reachable."""
    data = client.api.inspect_image(ref).get("GraphDriver", {}).get("Data") or {}
    upper = data.get("UpperDir")
    if not upper or not os.path.isdir(upper):
        return None
    found = set()
    for root, dirs, files in os.walk(upper):
        for name in dirs + files:
            found.add("/" + os.path.relpath(os.path.join(root, name), upper))
    return found


def run_image(client: docker.DockerClient, ref: str, started: list[Any]) -> tuple[Any, str]:
    container = client.containers.run(
        ref, detach=True, ports={"8001/tcp": ("127.0.0.1", None)}, labels={"hotfix.test": "1"}
    )
    started.append(container)
    container.reload()
    port = container.ports["8001/tcp"][0]["HostPort"]
    return container, f"http://127.0.0.1:{port}/"


def test_incident_to_the_end(
    incident: Any,
    service: HotfixService,
    hotfix: Any,
    repo: Path,
    docker_client: docker.DockerClient,
    release_image: str,
    image_cleanup: list[str],
    tmp_path: Path,
) -> None:
    name = incident.name
    assert http_get(incident.url)[0] == 500
    fix(service, name)
    restart = service.restart(name)
    assert restart.healthy
    harvest = hotfix(
        "harvest", name, "--repo", str(repo), "--message", "Cause a problem flag", "--json"
    )
    assert harvest.code == 0, harvest.stderr
    commit = harvest.json()["commit"]
    # The running service writes things the hotfix did not: a log, a pid file.
    incident.sh(f"echo 'GET / 200' > {LOG}; echo 1 > {PID}")

    # --- the clean image, verified
    t0 = time.monotonic()
    res = hotfix("commit", name, "--verify", "--json")
    wall = time.monotonic() - t0
    assert res.code == 0, res.stderr
    clean = res.json()
    image_cleanup.append(clean["imageId"])
    repository, tag = release_image.rsplit(":", 1)
    assert clean["tag"] == f"{repository}:{tag}-hotfix-cause-a-problem-flag"
    assert clean["mode"] == "clean"
    print(
        f"[timing] clean commit: {clean['commitSeconds']:.2f} s build, verify "
        f"{clean['verify']['seconds']:.2f} s, CLI process {wall:.2f} s"
    )
    assert clean["verify"]["healthy"] is True
    assert clean["verify"]["status"] == 200

    new = docker_client.api.inspect_image(clean["tag"])
    original = docker_client.api.inspect_image(release_image)
    labels = new["Config"]["Labels"]
    assert labels["org.opencontainers.image.revision"] == commit
    assert labels["org.opencontainers.image.base.name"] == release_image
    assert labels["org.opencontainers.image.base.digest"] == original["Id"]
    assert labels["hotfix.files"] == APP
    assert labels["hotfix.container"] == name
    assert labels["hotfix.container.id"] == incident.container.id
    assert labels["hotfix.mode"] == "clean"
    assert labels["hotfix.branch"] == "hotfix-cause-a-problem-flag"
    # The original image's config, exactly (labels aside): no runtime -e value.
    for key in CONFIG_KEYS:
        assert new["Config"].get(key) == original["Config"].get(key), key
    assert not any(e.startswith(SECRET_NAME + "=") for e in new["Config"]["Env"])
    # One layer on top of the original, holding only the hotfixed file (and its folders).
    assert new["RootFS"]["Layers"][:-1] == original["RootFS"]["Layers"]
    layer = top_layer(docker_client, clean["tag"])
    if layer is not None:
        assert layer == {"/usr", "/usr/src", "/usr/src/app", APP}

    started: list[Any] = []
    try:
        from_clean, url = run_image(docker_client, clean["tag"], started)
        assert wait_for_http(url) == (200, "Hello World")
        code, _ = from_clean.exec_run(["test", "-e", LOG])
        assert code != 0
        code, _ = from_clean.exec_run(["test", "-e", PID])
        assert code != 0
        code, out = from_clean.exec_run(["stat", "-c", "%a %u:%g", APP])
        live = incident.exec("stat", "-c", "%a %u:%g", APP)[1]
        assert out.decode() == live
        assert SECRET_NAME not in from_clean.exec_run(["env"])[1].decode()

        # --- the whole layer: says what else it takes, then takes it
        whole_tag = f"{repository}:whole-{tag}"
        t0 = time.monotonic()
        res = hotfix("commit", name, "--whole-layer", "--tag", whole_tag, "--json")
        wall = time.monotonic() - t0
        assert res.code == 0, res.stderr
        whole = res.json()
        image_cleanup.append(whole["imageId"])
        print(f"[timing] whole-layer commit: {whole['commitSeconds']:.2f} s, CLI {wall:.2f} s")
        assert LOG in res.stderr and PID in res.stderr
        assert SECRET_NAME in res.stderr and SECRET_VALUE not in res.stderr
        assert LOG in whole["extraPaths"] and APP not in whole["extraPaths"]
        assert whole["runtimeEnv"] == [SECRET_NAME]
        image = docker_client.api.inspect_image(whole_tag)
        assert f"{SECRET_NAME}={SECRET_VALUE}" in image["Config"]["Env"]
        assert image["Config"]["Labels"]["hotfix.mode"] == "whole-layer"
        from_whole, url = run_image(docker_client, whole_tag, started)
        assert from_whole.exec_run(["cat", LOG])[1].decode() == "GET / 200\n"
        assert wait_for_http(url) == (200, "Hello World")
    finally:
        for c in started:
            c.remove(force=True)

    # --- the incident record
    report = hotfix("report", name)
    assert report.code == 0, report.stderr
    text = report.stdout
    assert text.startswith(f"# Incident record: {name}")
    assert "| When (UTC) | Who | What | Outcome |" in text
    assert "write `/usr/src/app/app.py`" in text
    assert "-    cause_a_problem = True" in text and "+    cause_a_problem = False" in text
    assert "HTTP 200 OK" in text  # the restart's probe and the verify
    assert f"verify {clean['tag']}" in text
    assert "hotfix-cause-a-problem-flag" in text and commit in text
    assert clean["tag"] in text and whole_tag in text
    assert SECRET_NAME in text  # the name of what the whole layer captured…
    assert SECRET_VALUE not in text  # …never its value
    out = tmp_path / "incident.md"
    written = hotfix("report", name, "--output", str(out))
    assert written.code == 0 and written.stdout.strip() == f"wrote {out}"
    assert out.read_text().split("\n", 3)[3] == text.split("\n", 3)[3]  # all but the time


def test_verify_probes_the_new_image_not_the_live_one(
    incident: Any, service: HotfixService, hotfix: Any, image_cleanup: list[str]
) -> None:
    name = incident.name
    # A hotfix that does not fix: the clean image builds, and verify says it is unhealthy.
    original = service.read(name, APP).data
    service.write(name, APP, original + b"# still broken\n")
    res = hotfix("commit", name, "--verify", "--probe", incident.url, "--timeout", "3", "--json")
    assert res.code == 4, res.stderr
    data = res.json()
    image_cleanup.append(data["imageId"])
    assert data["verify"]["healthy"] is False
    assert data["verify"]["status"] == 500
    assert data["verify"]["probe"] != incident.url  # pointed at the verify container's port
    assert data["verify"]["probe"].startswith("http://127.0.0.1:")

    fix(service, name)
    res = hotfix(
        "commit", name, "--tag", "hotfix-release-test/fixed:1", "--verify", "--probe", incident.url
    )
    image_cleanup.append("hotfix-release-test/fixed:1")
    assert res.code == 0, res.stderr
    assert "verify: healthy" in res.stdout
    # The live container was never restarted: it still serves the old code.
    assert http_get(incident.url)[0] == 500


def test_commit_refusals(
    incident: Any, service: HotfixService, hotfix: Any, release_image: str
) -> None:
    name = incident.name
    res = hotfix("commit", name)
    assert res.code == 1 and "no hotfixed file" in res.stderr
    fix(service, name)
    res = hotfix("commit", name, "--tag", release_image)
    assert res.code == 2 and "original image's own name" in res.stderr
    res = hotfix("commit", name, "--probe", "healthcheck")
    assert res.code == 2 and "--verify" in res.stderr
    service.delete(name, "/usr/src/app/settings.py")
    res = hotfix("commit", name)
    assert res.code == 2 and "--whole-layer" in res.stderr
    failed = [e for e in service.journal(name) if e.action == "commit-image"]
    assert failed == []  # refused before anything was started


# --- files on mounts: docker commit skips them (issue 16, item 7) -------------------------------


@pytest.fixture
def mounted_incident(
    release_image: str, run_container: Any, docker_client: docker.DockerClient, tmp_path: Path
) -> Any:
    """The service with its app.py bind-mounted from a host file (a copy of the image's)."""
    app = tmp_path / "app.py"
    app.write_bytes(docker_client.containers.run(release_image, ["cat", APP], remove=True))
    # --mount, as `docker run -v` makes it: docker-py's volumes= would also declare the
    # path a volume in the container's config, which a whole-layer image then takes along.
    bind = docker.types.Mount(target=APP, source=str(app), type="bind")
    return run_container(release_image, port=8001, mounts=[bind]), app


def test_a_clean_commit_refuses_a_file_on_a_bind_mount(
    mounted_incident: Any, service: HotfixService, hotfix: Any
) -> None:
    incident, host_app = mounted_incident
    fix(service, incident.name)
    assert b"cause_a_problem = False" in host_app.read_bytes()  # the host's file changed
    res = hotfix("commit", incident.name)
    assert res.code == 2, res.stderr
    assert f"{APP} is on a bind mount of the host's {host_app}" in res.stderr
    assert "docker commit skips mounts" in res.stderr
    assert [e for e in service.journal(incident.name) if e.action == "commit-image"] == []


def test_whole_layer_lists_the_mounted_file_and_a_failed_verify_says_why(
    mounted_incident: Any, service: HotfixService, hotfix: Any, image_cleanup: list[str]
) -> None:
    """The fix lives on the host's file: the image keeps the broken original, so its verify
    fails — and says the fix sat on a mount."""
    incident, host_app = mounted_incident
    fix(service, incident.name)
    assert service.restart(incident.name).healthy
    res = hotfix("commit", incident.name, "--whole-layer", "--verify", "--timeout", "3", "--json")
    assert res.code == 4, res.stdout + res.stderr
    data = res.json()
    image_cleanup.append(data["imageId"])
    assert f"not in the image: {APP} is on a bind mount of the host's {host_app}" in res.stderr
    assert "verify failed, and hotfixed files sat on mounts the image lacks" in res.stderr
    assert data["verify"]["status"] == 500
    assert data["labels"]["hotfix.files"] == ""
    assert data["files"] == []
