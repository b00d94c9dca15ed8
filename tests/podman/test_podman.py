"""Against a real Podman service: what differs from dockerd, and the commands the imported
Docker tests do not cover — the engine recognised and named, a first write without
Podman's own files as someone else's, owners kept where Podman's archive GET says root,
harvest + a clean commit + --verify + report, a rolling apply over Podman replicas, the
event watch."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import docker
import pytest

from hotfix.docker.engine import Engine
from tests.conftest import CliResult, Running, http_get
from tests.fleet.conftest import compose_replicas  # noqa: F401 (a fixture of the test below)
from tests.fleet.test_apply import test_rolling_apply_fixes_every_compose_replica  # noqa: F401
from tests.integration.test_container_watch import (  # noqa: F401 (the tests and their fixture)
    engine,
    test_a_stopped_or_restarted_container_is_inspected_again,
    test_our_own_file_work_and_execs_keep_the_answer,
)
from tests.podman.conftest import PodmanService

pytestmark = pytest.mark.engine

APP = "/usr/src/app/app.py"
Hotfix = Callable[..., CliResult]


@pytest.fixture
def prod(images: dict[str, str], run_container: Callable[..., Running]) -> Running:
    return run_container(images["prod"], port=8001)


@pytest.fixture
def box(images: dict[str, str], run_container: Callable[..., Running]) -> Running:
    return run_container(images["busybox"], command=["sleep", "3600"], stop_signal="KILL")


def fix(hotfix: Hotfix, name: str) -> None:
    source = hotfix("cat", f"{name}:{APP}").stdout
    fixed = source.replace("cause_a_problem = True", "cause_a_problem = False")
    assert fixed != source
    written = hotfix("write", f"{name}:{APP}", input=fixed.encode())
    assert written.code == 0, written.stderr


def test_the_engine_is_recognised_as_podman(docker_client: docker.DockerClient) -> None:
    assert Engine(docker_client).is_podman is True


def test_podman_is_an_engine_by_name(podman: PodmanService, prod: Running, hotfix: Hotfix) -> None:
    """``--engine podman`` reaches CONTAINER_HOST, with DOCKER_HOST pointing elsewhere."""
    elsewhere = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    listed = hotfix(
        "ps", "--engine", "podman", "--json", env=elsewhere | {"CONTAINER_HOST": podman.url}
    )
    assert listed.code == 0, listed.stderr
    assert prod.name in [c["name"] for c in listed.json()["containers"]]
    default = hotfix("ps", env=elsewhere)
    assert default.code == 1 and "not reachable" in default.stderr


@pytest.mark.parametrize("local_fs", ["1", "0"])
def test_a_first_write_does_not_take_podmans_files_for_someone_elses(
    images: dict[str, str], run_container: Callable[..., Running], hotfix: Hotfix, local_fs: str
) -> None:
    env = {"HOTFIX_LOCAL_FS": local_fs}
    fresh = run_container(images["busybox"], command=["sleep", "3600"], stop_signal="KILL")
    written = hotfix("write", f"{fresh.name}:/www/index.html", input=b"hi\n", env=env)
    assert written.code == 0, written.stderr
    assert "warning" not in written.stderr  # /etc/hosts, /etc, /run/.containerenv: Podman's

    tampered = run_container(images["busybox"], command=["sleep", "3600"], stop_signal="KILL")
    tampered.sh("echo tampered >> /etc/passwd")
    other = hotfix("write", f"{tampered.name}:/www/index.html", input=b"hi\n", env=env)
    assert other.code == 0, other.stderr
    assert "1 image file(s)" in other.stderr and "/etc/passwd" in other.stderr  # only it


def test_owner_and_mode_are_kept_through_the_archive_api_of_a_stopped_container(
    box: Running, hotfix: Hotfix
) -> None:
    """Podman's archive GET says every owner is root: the owner comes from the layers."""
    box.sh("printf '#!/bin/sh\\necho v1\\n' > /home/app/run.sh")
    box.sh("chown 1000:1000 /home/app/run.sh && chmod 0750 /home/app/run.sh")
    box.container.stop(timeout=0)
    listed = hotfix("ls", f"{box.name}:/home/app", "--json", env={"HOTFIX_LOCAL_FS": "0"})
    [entry] = [e for e in listed.json()["entries"] if e["name"] == "run.sh"]
    assert (entry["uid"], entry["gid"]) == (1000, 1000), entry
    written = hotfix("write", f"{box.name}:/home/app/run.sh", input=b"#!/bin/sh\necho v2\n")
    assert written.code == 0, written.stderr
    box.container.start()
    assert box.sh("stat -c '%u %g %a' /home/app/run.sh").strip() == "1000 1000 750"
    assert box.exec("/home/app/run.sh") == (0, "v2\n")


def test_a_write_into_a_missing_folder_is_refused(box: Running, hotfix: Hotfix) -> None:
    """Podman's PUT would make the folder; dockerd answers 404, and so do we."""
    refused = hotfix(
        "write", f"{box.name}:/nowhere/x.conf", input=b"x\n", env={"HOTFIX_LOCAL_FS": "0"}
    )
    assert refused.code == 1
    assert refused.stderr.strip() == (
        f"hotfix: error: {box.name}:/nowhere/x.conf: parent directory /nowhere does not exist"
    )
    assert box.exec("test", "-e", "/nowhere")[0] == 1


def test_harvest_clean_commit_verify_and_report(
    prod: Running, hotfix: Hotfix, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    repo = git_repo(tmp_path / "repo", hotfix("cat", f"{prod.name}:{APP}").stdout)
    fix(hotfix, prod.name)
    assert hotfix("restart", prod.name).code == 0
    assert http_get(prod.url) == (200, "Hello World")
    harvest = hotfix("harvest", prod.name, "--repo", str(repo), "--json")
    assert harvest.code == 0, harvest.stderr

    commit = hotfix("commit", prod.name, "--verify", "--json")
    assert commit.code == 0, commit.stdout + commit.stderr
    result = commit.json()
    assert result["verify"]["healthy"] is True
    image = docker_client.images.get(result["imageId"])
    try:
        original = docker_client.images.get(prod.container.attrs["Image"]).attrs["Config"]
        config = image.attrs["Config"]
        assert config["Labels"]["hotfix.mode"] == "clean"  # Podman took the labels as changes
        assert config["Labels"]["org.opencontainers.image.revision"] == harvest.json()["commit"]
        assert (config["Cmd"], config["WorkingDir"]) == (original["Cmd"], original["WorkingDir"])
        report = hotfix("report", prod.name)
        assert report.code == 0 and "clean" in report.stdout
        assert prod.container.id in report.stdout  # Podman's HOSTNAME (a short ID) is no secret
    finally:
        docker_client.images.remove(image.id, force=True)


def git_repo(path: Path, app_source: str) -> Path:
    (path / "src").mkdir(parents=True)
    (path / "src" / "app.py").write_text(app_source)
    ident = ["-c", "user.name=Tester", "-c", "user.email=t@example.com"]
    for argv in (["init", "-q"], ["add", "."], [*ident, "commit", "-qm", "the service"]):
        subprocess.run(["git", *argv], cwd=path, check=True)
    return path


def test_whole_layer_lists_only_the_run_time_variables_podman_did_not_set(
    images: dict[str, str], run_container: Callable[..., Running], hotfix: Hotfix
) -> None:
    """Podman sets HOME, HOSTNAME, TERM and container in every container: no one's run-time
    variable, unlike one given with -e (also a TERM of another value)."""
    given = run_container(images["prod"], port=8001, environment=["API_TOKEN=s3cret", "TERM=dumb"])
    fix(hotfix, given.name)
    committed = hotfix("commit", given.name, "--whole-layer", "--json")
    assert committed.code == 0, committed.stdout + committed.stderr
    result = committed.json()
    try:
        assert result["runtimeEnv"] == ["API_TOKEN", "TERM"]
        assert "environment variables set at run time: API_TOKEN, TERM" in committed.stderr
    finally:
        given.container.client.images.remove(result["imageId"], force=True)
