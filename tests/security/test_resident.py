"""Attackers against root's resident ``hotfix`` process and its launcher (docs/cli.md,
"The resident process").

The prize: a request the resident process runs as root on the host — here, ``write`` of a
host-only 0600 file into a container the attacker can read — or, the other way round, a
fake server that root's launcher hands its arguments, environment and stdio to. Attackers:
root inside a container that sees the runtime directory through a bind mount, another local
user, and another user renaming the directory under the launcher (``renameat2`` exchange).
Each client is stdlib-only (the container's python3, or ``/usr/bin/python3`` for the other
user, who cannot read the project's venv).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hotfix.startup.daemon import running_pid
from tests.conftest import Running
from tests.security.conftest import LocalUser

HOTFIX = [sys.executable, "-m", "hotfix"]
SYSTEM_PYTHON = "/usr/bin/python3"
REFUSED = "running the command in this process, not the resident one"
RACE_RUNS = 150  # launcher runs against the rename race, within RACE_SECONDS
RACE_SECONDS = 60.0

# Sends one request as the launcher would (marshal body, three descriptors: /dev/null) and
# reads whatever the server answers until it closes: empty when refused.
CLIENT = r"""
import json, marshal, os, socket, struct, sys

path, request = sys.argv[1], json.loads(sys.argv[2])
null = os.open("/dev/null", os.O_RDWR)
report = {"error": None, "answer": ""}
conn = socket.socket(socket.AF_UNIX)
conn.settimeout(60)
try:
    conn.connect(path)
    body = marshal.dumps(request)
    fds = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("3i", null, null, null))]
    conn.sendmsg([struct.pack("!I", len(body))], fds)
    conn.sendall(body)
    while chunk := conn.recv(64):
        report["answer"] += chunk.hex()
except OSError as exc:
    report["error"] = exc.strerror or type(exc).__name__
print(json.dumps(report))
"""

# In a container: takes the resident process's socket path over with a server of its own,
# and reports what the one connection it waits for (up to 30 s) brought.
FAKE_SERVER = r"""
import json, os, socket, sys

path = sys.argv[1]
os.unlink(path)
server = socket.socket(socket.AF_UNIX)
server.bind(path)
server.listen(1)
server.settimeout(30)
print("ready", flush=True)
report = {"connections": 0, "bytes": 0, "fds": 0}
try:
    conn, _ = server.accept()
    report["connections"] = 1
    conn.settimeout(5)
    while True:
        data, ancillary, _, _ = conn.recvmsg(65536, socket.CMSG_SPACE(3 * 4))
        report["bytes"] += len(data)
        report["fds"] += sum(len(cdata) // 4 for _, _, cdata in ancillary)
        if not data:
            break
except OSError:
    pass
print(json.dumps(report), flush=True)
"""

# As another user: exchanges the launcher's directory with a decoy of its own (holding a
# fake server at the socket's name) as fast as it can until told to stop; reports how many
# exchanges it made and how many connections the fake server got.
RENAME_RACE = r"""
import ctypes, json, os, socket, sys, threading, time

real, name, stop, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
decoy = os.path.join(os.path.dirname(real), "decoy")
os.mkdir(decoy, 0o700)
server = socket.socket(socket.AF_UNIX)
server.bind(os.path.join(decoy, name))
server.listen(64)
server.settimeout(0.1)
connections = []
done = threading.Event()

def serve():
    while not done.is_set():
        try:
            conn, _ = server.accept()
        except OSError:
            continue
        connections.append(conn.recv(65536))
        conn.close()

threading.Thread(target=serve, daemon=True).start()
renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
AT_FDCWD, RENAME_EXCHANGE = -100, 2
swaps, deadline = 0, time.monotonic() + seconds
while time.monotonic() < deadline and not os.path.exists(stop):
    for _ in range(100):
        swaps += renameat2(AT_FDCWD, real.encode(), AT_FDCWD, decoy.encode(), RENAME_EXCHANGE) == 0
done.set()
time.sleep(0.3)
print(json.dumps({"swaps": swaps, "connections": len(connections)}))
"""


@dataclass
class Resident:
    """A resident process of this test's own, and the environment its commands run in."""

    env: dict[str, str]
    socket: str
    pid: int


def hotfix(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HOTFIX, *args], env=env, capture_output=True, text=True, timeout=60)


def start_resident(env: dict[str, str], timeout: float = 30.0) -> Resident:
    """Start (through a first command) and await the resident process for ``env``."""
    deadline = time.monotonic() + timeout
    while True:
        status = hotfix(env, "daemon", "status", "--json")
        assert status.returncode == 0, status.stderr
        ready = [p for p in json.loads(status.stdout)["processes"] if p["listening"]]
        if ready and ready[0]["current"]:
            return Resident(env, ready[0]["socket"], int(ready[0]["pid"]))
        assert time.monotonic() < deadline, "no resident process came up"
        hotfix(env, "--version")
        time.sleep(0.1)


def stop_residents(directory: str) -> None:
    """SIGTERM every resident process of ``directory`` (one per code fingerprint: a module
    edited during the test makes another) and wait until each is gone."""
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        locks = [n for n in os.listdir(dir_fd) if n.endswith(".lock")]
        pids = [running_pid(dir_fd, n.removesuffix(".lock") + ".sock") for n in locks]
    finally:
        os.close(dir_fd)
    for pid in filter(None, pids):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    while any(Path(f"/proc/{pid}").exists() for pid in pids if pid):
        assert time.monotonic() < deadline, "a resident process did not stop"
        time.sleep(0.05)


@pytest.fixture
def resident(state_dir: Path) -> Iterator[Resident]:
    runtime = tempfile.mkdtemp(prefix="hfx-sec-")  # short: the socket path is bind-mounted
    env = {**os.environ, "XDG_RUNTIME_DIR": runtime, "HOTFIX_STATE_DIR": str(state_dir)}
    env.pop("HOTFIX_DAEMON", None)
    started = start_resident(env)
    yield started
    stop_residents(os.path.dirname(started.socket))
    shutil.rmtree(runtime, ignore_errors=True)


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A host file only root may read: what an attacker wants copied into its container."""
    path = tmp_path / "host-only"
    path.write_text("host secret\n")
    path.chmod(0o600)
    return path


def write_request(state_dir: Path, target: str, source: Path) -> dict[str, Any]:
    """A well-formed launcher request: ``hotfix write TARGET SOURCE`` as root on the host."""
    env = {"PATH": os.defpath, "HOME": "/root", "HOTFIX_STATE_DIR": str(state_dir)}
    if "DOCKER_HOST" in os.environ:
        env["DOCKER_HOST"] = os.environ["DOCKER_HOST"]
    return {
        "argv": ["write", target, str(source)],
        "argv0": "hotfix",
        "cwd": "/",
        "env": env,
        "umask": 0o022,
        "stdio": [["utf-8", "strict"]] * 3,
    }


def send(socket_path: str, request: dict[str, Any], user: LocalUser | None = None) -> Any:
    """Run :data:`CLIENT` on the host, as root or as ``user``; its report."""
    as_user = {"preexec_fn": user.demote, "env": user.env(), "cwd": user.home} if user else {}
    proc = subprocess.run(
        [SYSTEM_PYTHON, "-c", CLIENT, socket_path, json.dumps(request)],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
        **as_user,  # type: ignore[arg-type]
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def in_box(box: Running, path: str) -> str | None:
    code, out = box.exec("cat", path)
    return out if code == 0 else None


def written_paths(env: dict[str, str], box: Running) -> list[str]:
    log = hotfix(env, "log", box.name, "--json")
    assert log.returncode == 0, log.stderr
    return [e["path"] for e in json.loads(log.stdout)["entries"]]


def attacker_container(
    run_container: Callable[..., Running], images: dict[str, str], runtime: str, argv: list[str]
) -> Running:
    """Root in a container (python3) with the runtime directory bind-mounted at its path."""
    return run_container(
        images["prod"],
        entrypoint=argv,
        user="0",
        network_mode="none",
        volumes={runtime: {"bind": runtime, "mode": "rw"}},
    )


def logs_of(running: Running, timeout: float = 60) -> list[str]:
    running.container.wait(timeout=timeout)
    return running.container.logs(stdout=True, stderr=True).decode().splitlines()


def test_root_in_a_container_that_sees_the_socket_is_refused(
    resident: Resident,
    box: Running,
    secret: Path,
    state_dir: Path,
    images: dict[str, str],
    run_container: Callable[..., Running],
) -> None:
    # The same request from root on the host is served: the request itself is sound.
    control = send(resident.socket, write_request(state_dir, f"{box.name}:/tmp/control", secret))
    assert control["error"] is None and control["answer"].startswith("50"), control  # b"P"
    assert in_box(box, "/tmp/control") == "host secret\n"

    request = write_request(state_dir, f"{box.name}:/tmp/stolen", secret)
    argv = ["python3", "-c", CLIENT, resident.socket, json.dumps(request)]
    attacker = attacker_container(run_container, images, resident.env["XDG_RUNTIME_DIR"], argv)
    report = json.loads(logs_of(attacker)[-1])
    assert report["answer"] == "", report  # no pid, no exit status: closed unanswered
    assert in_box(box, "/tmp/stolen") is None
    assert written_paths(resident.env, box) == ["/tmp/control"]


def test_root_in_a_container_serving_the_socket_gets_nothing_from_the_launcher(
    resident: Resident,
    images: dict[str, str],
    run_container: Callable[..., Running],
) -> None:
    argv = ["python3", "-c", FAKE_SERVER, resident.socket]
    attacker = attacker_container(run_container, images, resident.env["XDG_RUNTIME_DIR"], argv)
    deadline = time.monotonic() + 30
    while "ready" not in attacker.container.logs().decode():
        assert time.monotonic() < deadline, attacker.container.logs().decode()
        time.sleep(0.05)

    version = hotfix(resident.env, "--version")
    assert version.returncode == 0 and version.stdout.startswith("hotfix ")
    [line] = version.stderr.splitlines()  # one line saying why, then the command ran here
    assert line.startswith(f"hotfix: {REFUSED}:") and "in another mnt namespace" in line
    report = json.loads(logs_of(attacker)[-1])
    assert report == {"connections": 1, "bytes": 0, "fds": 0}  # connected, then closed: no data


def test_another_user_is_refused(
    resident: Resident, box: Running, secret: Path, state_dir: Path, other_user: LocalUser
) -> None:
    request = write_request(state_dir, f"{box.name}:/tmp/stolen", secret)
    assert send(resident.socket, request, other_user)["error"] == "Permission denied"  # 0700

    # Even with the directory and socket opened to everyone, the process refuses the uid.
    directory = os.path.dirname(resident.socket)
    os.chmod(directory, 0o711)
    os.chmod(resident.socket, 0o777)
    report = send(resident.socket, request, other_user)
    assert report["answer"] == "", report
    assert in_box(box, "/tmp/stolen") is None
    assert written_paths(resident.env, box) == []


@pytest.fixture
def race_dir() -> Iterator[Path]:
    """A directory anyone can rename in: 0777, not sticky (a careless shared TMPDIR)."""
    directory = Path(tempfile.mkdtemp(prefix="hfx-race-"))
    directory.chmod(0o777)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def test_renaming_the_directory_under_the_launcher_never_reaches_a_fake_server(
    race_dir: Path, state_dir: Path, other_user: LocalUser
) -> None:
    env = {**os.environ, "TMPDIR": str(race_dir), "HOTFIX_STATE_DIR": str(state_dir)}
    for name in ("XDG_RUNTIME_DIR", "HOTFIX_DAEMON"):
        env.pop(name, None)
    resident = start_resident(env)
    real = race_dir / f"hotfix-{os.geteuid()}"
    try:
        assert os.path.dirname(resident.socket) == str(real)  # the /tmp fallback under test
        race = subprocess.Popen(
            [SYSTEM_PYTHON, "-c", RENAME_RACE, str(real), os.path.basename(resident.socket),
             str(race_dir / "stop"), str(RACE_SECONDS + 10)],
            stdout=subprocess.PIPE, text=True, preexec_fn=other_user.demote,
            env=other_user.env(), cwd=other_user.home,
        )  # fmt: skip
        try:
            runs = _launch_during_race(env, race_dir)
        finally:
            (race_dir / "stop").touch()
            report = json.loads(race.communicate(timeout=30)[0])
    finally:  # the real directory is under either name once the exchanges stopped
        [home] = [p for p in race_dir.iterdir() if p.is_dir() and p.stat().st_uid == 0]
        stop_residents(str(home))
    assert report["connections"] == 0, report
    assert report["swaps"] > 1000, report
    assert runs["refused"] >= 1, runs  # the race did land under the launcher; it said so
    assert runs["total"] >= 30, runs


def _launch_during_race(env: dict[str, str], race_dir: Path) -> dict[str, int]:
    """Up to RACE_RUNS ``hotfix --version`` while the exchange loop runs; each must work."""
    deadline = time.monotonic() + RACE_SECONDS
    while not (race_dir / "decoy").exists():
        assert time.monotonic() < deadline, "the attacker never started"
        time.sleep(0.01)
    runs = {"total": 0, "refused": 0}
    while runs["total"] < RACE_RUNS and time.monotonic() < deadline:
        done = hotfix(env, "--version")
        assert done.returncode == 0 and done.stdout.startswith("hotfix "), done
        said = done.stderr.splitlines()
        assert said == [] or (len(said) == 1 and said[0].startswith(f"hotfix: {REFUSED}:")), said
        runs["total"] += 1
        runs["refused"] += REFUSED in done.stderr
    return runs
