"""The baselines a person would type: ``docker cp``, ``docker exec``, ``docker restart``, curl.

Each is a whole process, as in a terminal or a script.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence

DOCKER = shutil.which("docker") or "docker"
CURL_INTERVAL = 0.1  # seconds between curl attempts in the baseline loops ("sleep 0.1")


def run(argv: Sequence[str], *, env: Mapping[str, str] | None = None, timeout: float = 300) -> str:
    """Run a process; its stdout (text) or a RuntimeError naming the command and its stderr."""
    proc = subprocess.run(
        list(argv),
        capture_output=True,
        env=dict(env) if env is not None else None,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise _failed(argv, proc.returncode, proc.stderr or proc.stdout)
    return proc.stdout.decode("utf-8", "replace")


def run_quiet(argv: Sequence[str], timeout: float = 300) -> None:
    """Run a process with stdout thrown away (the data still crosses the pipe)."""
    proc = subprocess.run(
        list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout
    )
    if proc.returncode != 0:
        raise _failed(argv, proc.returncode, proc.stderr)


def _failed(argv: Sequence[str], code: int, output: bytes) -> RuntimeError:
    tail = " ".join(output.decode("utf-8", "replace").strip().splitlines()[-2:])
    name = " ".join(a.rsplit("/", 1)[-1] for a in argv[:2])
    return RuntimeError(f"{name} … exit {code}: {tail}")


def cp_out(container: str, path: str) -> None:
    """``docker cp C:/path -``: the file as a tar on stdout."""
    run_quiet([DOCKER, "cp", f"{container}:{path}", "-"])


def cp_in(local: str, container: str, path: str) -> None:
    """``docker cp FILE C:/path``."""
    run_quiet([DOCKER, "cp", local, f"{container}:{path}"])


def exec_cat(container: str, path: str) -> None:
    run_quiet([DOCKER, "exec", container, "cat", path])


def exec_ls(container: str, path: str) -> None:
    run([DOCKER, "exec", container, "ls", "-la", path])


def curl_loop(url: str, interval: float = CURL_INTERVAL) -> str:
    """The shell snippet: curl until the service answers 2xx."""
    return f"until curl -fsS -o /dev/null {url}; do sleep {interval}; done"


def bash(script: str, timeout: float = 300) -> None:
    run(["bash", "-euo", "pipefail", "-c", script], timeout=timeout)


def restart_and_curl(container: str, url: str, interval: float = CURL_INTERVAL) -> None:
    """``docker restart C`` then curl until healthy: one bash script."""
    bash(f"{DOCKER} restart {container} >/dev/null\n{curl_loop(url, interval)} 2>/dev/null")


def hotfix_cli(*args: str, env: Mapping[str, str]) -> str:
    """The ``hotfix`` CLI as a process (``python -m hotfix``), with exactly ``env``."""
    return run([sys.executable, "-m", "hotfix", *args], env=env)


def exec_write(container: str, path: str, local: str) -> None:
    """``docker exec -i C sh -c 'cat > PATH' < FILE``."""
    with open(local, "rb") as stdin:
        proc = subprocess.run(
            [DOCKER, "exec", "-i", container, "sh", "-c", f"cat > {path}"],
            stdin=stdin,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=300,
        )
    if proc.returncode != 0:
        raise _failed(["docker", "exec"], proc.returncode, proc.stderr)
