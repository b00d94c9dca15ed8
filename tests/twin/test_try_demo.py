"""`hotfix try` on the demo uWSGI service (my_prod_service), against the real engine: the fix
runs in a throwaway twin first; production is only read, unless --then-apply."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.conftest import CliResult, Running, http_get
from tests.twin.conftest import twins_of

APP = "/usr/src/app/app.py"
ORIGINAL = (Path(__file__).parents[1] / "images" / "my_prod_service" / "app.py").read_bytes()
FIXED = ORIGINAL.replace(b"cause_a_problem = True", b"cause_a_problem = False")
BROKEN = b"def application(env, start_response:\n    return []\n"

pytestmark = pytest.mark.usefixtures("no_daemon")


@pytest.fixture
def prod(run_container: Callable[..., Running], images: dict[str, str]) -> Running:
    return run_container(images["prod"], port=8001)


def _untouched(client: docker.DockerClient, prod: Running, started_at: str) -> None:
    """Content, start time, and no twin left."""
    code, content = prod.exec("cat", APP)
    assert code == 0 and content.encode() == ORIGINAL
    prod.container.reload()
    assert prod.container.attrs["State"]["StartedAt"] == started_at
    assert twins_of(client, prod.container.id) == []
    assert http_get(prod.url)[0] == 500  # still the old code


def _try(
    hotfix: Callable[..., CliResult], tmp_path: Path, data: bytes, target: str, *args: str
) -> CliResult:
    src = tmp_path / "app.py"
    src.write_bytes(data)
    return hotfix("--json", "try", target, str(src), *args)


def test_good_fix_is_healthy_in_the_twin_and_production_is_untouched(
    prod: Running, hotfix: Callable[..., CliResult], tmp_path: Path, docker_client: Any
) -> None:
    started_at = prod.container.attrs["State"]["StartedAt"]
    res = _try(hotfix, tmp_path, FIXED, f"{prod.name}:{APP}", "--expect-body", "Hello World")
    assert res.code == 0, res.stderr
    shown = res.json()
    assert shown["verdict"] == "healthy" and shown["healthy"] is True
    assert shown["network"] == "none" and shown["result"]["status"] == 200
    assert shown["versions"][APP].startswith("sha256:")
    _untouched(docker_client, prod, started_at)
    assert hotfix("--json", "changes", prod.name).json()["changes"] == []  # no checkpoint taken
    journal = hotfix("--json", "log", prod.name).json()["entries"]
    tries = [e for e in journal if e["action"] == "try"]
    assert [e["outcome"] for e in tries] == ["ok"]
    assert tries[0]["detail"]["verdict"] == "healthy"
    report = hotfix("report", prod.name).stdout
    assert "### Tries" in report and "| none | http://127.0.0.1:8001/ | healthy |" in report


def test_syntax_error_forced_is_unhealthy_with_the_twins_log(
    prod: Running, hotfix: Callable[..., CliResult], tmp_path: Path, docker_client: Any
) -> None:
    started_at = prod.container.attrs["State"]["StartedAt"]
    refused = _try(hotfix, tmp_path, BROKEN, f"{prod.name}:{APP}")
    assert refused.code == 1 and "not tried" in refused.stderr  # validation first
    res = _try(hotfix, tmp_path, BROKEN, f"{prod.name}:{APP}", "--force", "--timeout", "20")
    assert res.code == 4, res.stderr
    shown = res.json()
    assert shown["verdict"] == "unhealthy"
    assert "SyntaxError" in shown["log"]
    _untouched(docker_client, prod, started_at)
    src = tmp_path / "app.py"
    text = hotfix("try", f"{prod.name}:{APP}", str(src), "--force", "--timeout", "20")
    assert text.code == 4
    assert "UNHEALTHY in its twin" in text.stdout and "SyntaxError" in text.stdout
    report = hotfix("report", prod.name).stdout
    assert report.count("| unhealthy |") == 2 and "Files changed: none" in report


def test_failing_check_refuses(
    prod: Running, hotfix: Callable[..., CliResult], tmp_path: Path, docker_client: Any
) -> None:
    started_at = prod.container.attrs["State"]["StartedAt"]
    check = f"python3 -m py_compile {APP}"  # a config test of the twin's content
    res = _try(hotfix, tmp_path, BROKEN, f"{prod.name}:{APP}", "--force", "--check", check)
    assert res.code == 4, res.stderr
    shown = res.json()
    assert shown["verdict"] == "refused"
    assert shown["check"]["exitCode"] != 0 and "SyntaxError" in shown["check"]["output"]
    _untouched(docker_client, prod, started_at)
    good = _try(hotfix, tmp_path, FIXED, f"{prod.name}:{APP}", "--check", check)
    assert good.code == 0 and good.json()["check"]["passed"] is True


def test_then_apply_goes_live_with_checkpoint_and_journal(
    prod: Running, hotfix: Callable[..., CliResult], tmp_path: Path, docker_client: Any
) -> None:
    res = _try(hotfix, tmp_path, FIXED, f"{prod.name}:{APP}", "--then-apply", "--restart")
    assert res.code == 0, res.stderr
    shown = res.json()
    assert shown["live"]["healthy"] is True and shown["live"]["action"] == "restart"
    assert http_get(prod.url) == (200, "Hello World")
    assert prod.exec("cat", APP)[1].encode() == FIXED
    changes = hotfix("--json", "changes", prod.name).json()["changes"]
    assert [(c["path"], c["status"]) for c in changes] == [(APP, "modified")]
    actions = [
        (e["action"], e["outcome"]) for e in hotfix("--json", "log", prod.name).json()["entries"]
    ]
    assert actions == [("try", "ok"), ("write", "ok"), ("restart", "ok")]
    assert twins_of(docker_client, prod.container.id) == []


def test_then_apply_conflicts_when_production_changed_during_the_try(
    prod: Running, hotfix: Callable[..., CliResult], tmp_path: Path
) -> None:
    # The check runs in the twin while production's file changes under the try.
    other = f"{ORIGINAL.decode()}# changed by someone else\n"
    src = tmp_path / "app.py"
    src.write_bytes(FIXED)
    proc = subprocess.Popen(
        [sys.executable, "-m", "hotfix", "try", f"{prod.name}:{APP}", str(src), "--then-apply",
         "--check", "sleep 3"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy(),
    )  # fmt: skip
    time.sleep(1.5)
    assert prod.exec("python3", "-c", f"open({APP!r}, 'w').write({other!r})")[0] == 0
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, err
    assert b"changed since the try started" in err
    assert prod.exec("cat", APP)[1] == other  # nothing saved over it
    assert hotfix("--json", "changes", prod.name).json()["changes"] == []


def test_isolation_network_none_no_mounts_yet_probed(
    run_container: Callable[..., Running],
    images: dict[str, str],
    hotfix: Callable[..., CliResult],
    tmp_path: Path,
    docker_client: Any,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "secret.txt").write_text("production data\n")
    volume = f"hotfix-test-twin-{os.getpid()}-{time.monotonic_ns()}"
    prod = run_container(
        images["prod"],
        port=8001,
        volumes={str(data): {"bind": "/data", "mode": "rw"}, volume: {"bind": "/var/lib/app"}},
    )
    try:
        res = _try(hotfix, tmp_path, FIXED, f"{prod.name}:{APP}", "--keep")
        assert res.code == 0, res.stderr
        shown = res.json()
        assert len(shown["droppedMounts"]) == 2
        twin = docker_client.containers.get(shown["twin"])
        try:
            assert twin.attrs["HostConfig"]["NetworkMode"] == "none"
            assert twin.attrs["HostConfig"]["PortBindings"] in (None, {})
            assert twin.attrs["Mounts"] == []
            assert not any(k.startswith("com.docker.compose") for k in twin.labels)
            assert twin.labels["hotfix.twin.of"] == prod.container.id
            assert set(twin.attrs["NetworkSettings"]["Networks"]) == {"none"}
        finally:
            twin.remove(force=True, v=True)
        same = _try(hotfix, tmp_path, FIXED, f"{prod.name}:{APP}", "--keep", "--network", "same")
        assert same.code == 0, same.stderr
        twin = docker_client.containers.get(same.json()["twin"])
        try:
            assert twin.name.endswith("-kept")  # no later try's sweep takes it
            mode = prod.container.attrs["HostConfig"]["NetworkMode"]
            assert twin.attrs["HostConfig"]["NetworkMode"] == mode != "none"
            again = _try(hotfix, tmp_path, FIXED, f"{prod.name}:{APP}")
            assert again.code == 0 and again.json()["notes"] == []
            twin.reload()  # still there
        finally:
            twin.remove(force=True, v=True)
        copied = _try(hotfix, tmp_path, FIXED, f"{prod.name}:{APP}", "--keep", "--with-volumes")
        twin = docker_client.containers.get(copied.json()["twin"])
        try:
            assert {m["Destination"] for m in twin.attrs["Mounts"]} == {"/data", "/var/lib/app"}
            assert all(m["Type"] == "volume" for m in twin.attrs["Mounts"])
            assert all(m["Name"] != volume for m in twin.attrs["Mounts"])
            code, out = twin.exec_run(["cat", "/data/secret.txt"])
            assert (code, out) == (0, b"production data\n")
        finally:
            twin.remove(force=True, v=True)
    finally:
        prod.container.remove(force=True)
        docker_client.volumes.get(volume).remove()


def test_sigkill_during_a_try_the_next_run_removes_the_twin(
    prod: Running, hotfix: Callable[..., CliResult], tmp_path: Path, docker_client: Any
) -> None:
    src = tmp_path / "app.py"
    src.write_bytes(FIXED)
    never = "http://127.0.0.1:8001/never"  # 404: never healthy
    proc = subprocess.Popen(
        [sys.executable, "-m", "hotfix", "try", f"{prod.name}:{APP}", str(src), "--probe", never],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy(),
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not [t for t in twins_of(docker_client, prod.container.id) if t.status == "running"]:
        assert time.monotonic() < deadline, "no twin started"
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    left = twins_of(docker_client, prod.container.id)
    assert len(left) == 1 and f"-p{proc.pid}-" in left[0].name
    res = _try(hotfix, tmp_path, FIXED, f"{prod.name}:{APP}")
    assert res.code == 0, res.stderr
    assert any(left[0].name in note for note in res.json()["notes"])
    assert twins_of(docker_client, prod.container.id) == []
    outcomes = [e["outcome"] for e in hotfix("--json", "log", prod.name).json()["entries"]]
    assert outcomes == ["incomplete", "ok"]
