"""The resident process (hotfix.startup.daemon) behind the ``hotfix`` launcher, on a real engine.

Each test has a runtime directory of its own, so its resident process is its own: started by
its first command, stopped at its end. A command served by it must behave as one run in its
own process: the caller's stdio, directory, umask, environment, exit status and signals.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.engine

HOTFIX = [sys.executable, "-m", "hotfix"]


@pytest.fixture
def box(images: dict[str, str], run_container: Callable[..., Any]) -> Any:
    return run_container(images["busybox"], command=["sleep", "3600"])


@pytest.fixture
def env(state_dir: Path) -> Iterator[dict[str, str]]:
    # Short: a socket's path must fit in 107 bytes (pytest's tmp_path may not).
    runtime = tempfile.mkdtemp(prefix="hfx-run-")
    env = {**os.environ, "XDG_RUNTIME_DIR": runtime, "HOTFIX_STATE_DIR": str(state_dir)}
    env.pop("HOTFIX_DAEMON", None)
    yield env
    subprocess.run([*HOTFIX, "daemon", "stop"], env=env, capture_output=True, timeout=30)
    shutil.rmtree(runtime)


def run(env: dict[str, str], *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HOTFIX, *args], env=env, capture_output=True, text=True, timeout=60, **kwargs
    )


def start(env: dict[str, str], *args: str, **kwargs: Any) -> subprocess.Popen[bytes]:
    """A command that waits on its stdin (a pipe held open here) until told to go on."""
    return subprocess.Popen(
        [*HOTFIX, *args],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kwargs,
    )


def resident_pid(env: dict[str, str], timeout: float = 20.0) -> int:
    """The pid of the resident process for this code, once it listens."""
    deadline = time.monotonic() + timeout
    while True:
        status = run(env, "daemon", "status", "--json")
        assert status.returncode == 0, status.stderr
        processes = json.loads(status.stdout)["processes"]
        current = [p for p in processes if p["current"] and p["listening"]]
        if current:
            return int(current[0]["pid"])
        assert time.monotonic() < deadline, "no resident process came up"
        run(env, "--version")  # starts one if none is starting
        time.sleep(0.1)


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def the_child(daemon: int, timeout: float = 20.0) -> int:
    deadline = time.monotonic() + timeout
    while not (children := children_of(daemon)):
        assert time.monotonic() < deadline, "the command did not start"
        time.sleep(0.02)
    assert len(children) == 1, children
    return children[0]


def gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            return True
        time.sleep(0.02)
    return False


def test_a_command_runs_in_a_fork_that_is_the_caller(
    env: dict[str, str], box: Any, tmp_path: Path
) -> None:
    first = run(env, "cat", f"{box.name}:/etc/hostname")  # in-process; starts one
    assert first.returncode == 0 and first.stdout.strip() == box.container.id[:12]
    daemon = resident_pid(env)

    caller = start(env, "write", f"{box.name}:/tmp/note", cwd=tmp_path)
    child = the_child(daemon)
    assert os.readlink(f"/proc/{child}/cwd") == str(tmp_path)
    for fd in (0, 1, 2):  # the caller's own pipes, not copies of their data
        assert os.readlink(f"/proc/{child}/fd/{fd}") == os.readlink(f"/proc/{caller.pid}/fd/{fd}")
    _, err = caller.communicate(b"hello from stdin\n", timeout=60)
    assert caller.returncode == 0, err
    assert gone(child)
    assert run(env, "cat", f"{box.name}:/tmp/note").stdout == "hello from stdin\n"
    assert resident_pid(env) == daemon  # still the same one, serving the next command


def test_environment_directory_umask_and_exit_status_are_the_callers(
    env: dict[str, str], box: Any, tmp_path: Path
) -> None:
    resident_pid(env)
    other_state = {**env, "HOTFIX_STATE_DIR": str(tmp_path / "other-state")}
    assert run(env, "write", f"{box.name}:/tmp/a", input="a\n").returncode == 0
    mine = json.loads(run(env, "log", box.name, "--json").stdout)["entries"]
    assert [e["action"] for e in mine] == ["write"]
    assert json.loads(run(other_state, "log", box.name, "--json").stdout)["entries"] == []

    report = run(
        env, "report", box.name, "--output", "incident.md", cwd=tmp_path,
        preexec_fn=lambda: os.umask(0o077),
    )  # fmt: skip
    assert report.returncode == 0, report.stderr
    assert (tmp_path / "incident.md").stat().st_mode & 0o777 == 0o600

    missing = run(env, "cat", f"{box.name}:/no/such/file")
    assert missing.returncode == 1
    assert missing.stderr.startswith("hotfix: error:") and "/no/such/file" in missing.stderr
    usage = run(env, "cat")
    assert usage.returncode == 2 and "usage: hotfix cat" in usage.stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_to_the_caller_reaches_the_command(
    env: dict[str, str], box: Any, signum: int
) -> None:
    daemon = resident_pid(env)
    caller = start(env, "write", f"{box.name}:/tmp/never")
    child = the_child(daemon)
    time.sleep(0.2)  # the command is reading its stdin
    caller.send_signal(signum)
    _, err = caller.communicate(timeout=30)
    if signum == signal.SIGINT:  # Ctrl-C: the command's own handling, as in-process
        assert caller.returncode == 130 and b"hotfix: interrupted" in err
    else:  # the caller ends as the command did: killed by the same signal
        assert caller.returncode == -signum
    assert gone(child)
    assert run(env, "cat", f"{box.name}:/tmp/never").returncode == 1  # nothing written


def test_a_caller_killed_outright_hangs_up_its_command(env: dict[str, str], box: Any) -> None:
    daemon = resident_pid(env)
    caller = start(env, "write", f"{box.name}:/tmp/never")
    child = the_child(daemon)
    caller.kill()  # SIGKILL: nothing is passed on, the connection just closes
    caller.wait(timeout=10)
    assert gone(child), "the command outlived its caller"
    assert run(env, "cat", f"{box.name}:/tmp/never").returncode == 1


def test_a_command_killed_outright_kills_its_caller_the_same_way(
    env: dict[str, str], box: Any
) -> None:
    daemon = resident_pid(env)
    caller = start(env, "write", f"{box.name}:/tmp/never", "-")  # `sleep 30 | hotfix write`
    child = the_child(daemon)
    os.kill(child, signal.SIGKILL)  # the one signal the caller cannot take a handler for
    _, err = caller.communicate(timeout=30)
    assert caller.returncode == -signal.SIGKILL and err == b""  # no traceback, no message
    assert resident_pid(env) == daemon
    assert run(env, "cat", f"{box.name}:/tmp/never").returncode == 1


def test_a_dead_resident_process_is_replaced(env: dict[str, str], box: Any) -> None:
    daemon = resident_pid(env)
    os.kill(daemon, signal.SIGKILL)  # its socket file stays behind, nobody listening
    assert gone(daemon)
    again = run(env, "cat", f"{box.name}:/etc/hostname")
    assert again.returncode == 0 and again.stdout.strip() == box.container.id[:12]
    assert resident_pid(env) != daemon


def test_stop_lets_running_commands_finish(env: dict[str, str], box: Any) -> None:
    daemon = resident_pid(env)
    caller = start(env, "write", f"{box.name}:/tmp/late")
    child = the_child(daemon)
    stopper = subprocess.Popen([*HOTFIX, "daemon", "stop"], env=env, stdout=subprocess.PIPE)
    sockets = Path(env["XDG_RUNTIME_DIR"], "hotfix")
    deadline = time.monotonic() + 20
    while list(sockets.glob("*.sock")):  # it takes no new command at once
        assert time.monotonic() < deadline, "the socket is still there"
        time.sleep(0.02)
    time.sleep(0.2)
    assert stopper.poll() is None  # it waits for the running command
    _, err = caller.communicate(b"late\n", timeout=60)
    assert caller.returncode == 0, err
    said, _ = stopper.communicate(timeout=30)
    assert stopper.returncode == 0 and f"stopped the resident process {daemon}".encode() in said
    assert gone(daemon) and gone(child)
    assert run(env, "cat", f"{box.name}:/tmp/late").stdout == "late\n"


def test_an_idle_resident_process_leaves(env: dict[str, str], box: Any) -> None:
    env["HOTFIX_DAEMON_IDLE"] = "1"
    daemon = resident_pid(env)
    assert run(env, "cat", f"{box.name}:/etc/hostname").returncode == 0
    assert gone(daemon, timeout=10)
    assert not list((Path(env["XDG_RUNTIME_DIR"]) / "hotfix").glob("*.sock"))


def test_off_runs_every_command_in_its_own_process(env: dict[str, str], box: Any) -> None:
    env["HOTFIX_DAEMON"] = "off"
    assert run(env, "cat", f"{box.name}:/etc/hostname").returncode == 0
    time.sleep(1.0)
    status = run(env, "daemon", "status")
    assert status.stdout == (
        "no resident process runs\nHOTFIX_DAEMON is off: commands run in their own process\n"
    )
