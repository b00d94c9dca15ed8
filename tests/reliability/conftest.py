"""Fixtures of the fault and bad-input suite (docs/reliability.md).

The shared ones (``docker_client``, ``images``, ``state_dir``, ``service``,
``run_container``, ``hotfix``) come from ``tests/conftest.py``. Here:

- ``box``: a running busybox container (root, with a shell so the tests can look inside);
- ``lsp``: start ``hotfix lsp`` processes (raw JSON-RPC clients, :mod:`.rpc`) on this test's
  state directory; all closed (or killed) afterwards;
- ``killed``: run the CLI in a process that SIGKILLs itself at a precise point;
- ``tmp_env``: a private ``TMPDIR`` for the processes a test runs, to look for leftovers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hotfix.service.files import HotfixService
from tests.conftest import Running
from tests.reliability.rpc import Rpc

KILL_SCRIPT = textwrap.dedent(
    """
    import importlib, json, os, signal, sys

    cfg = json.loads(sys.argv[1])

    def die():
        sys.stdout.flush()
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)

    owner = importlib.import_module(cfg["module"])
    for part in cfg["owner"]:
        owner = getattr(owner, part)
    real = getattr(owner, cfg["name"])

    def patched(*args, **kwargs):
        if cfg["when"] == "before":
            die()
        result = real(*args, **kwargs)
        if cfg["when"] == "after":
            die()
        return result

    setattr(owner, cfg["name"], patched)
    exec(cfg["prelude"])
    from hotfix.cli.main import main
    sys.exit(main(cfg["argv"]))
    """
)


@dataclass
class Killed:
    code: int
    stdout: str
    stderr: str


def _spec(at: str) -> tuple[str, list[str], str]:
    """``hotfix.docker.engine:Engine.write`` → (module, owner attribute path, name)."""
    module, _, attr = at.partition(":")
    *owner, name = attr.split(".")
    return module, owner, name


def run_killed(
    state_dir: Path,
    argv: list[str],
    *,
    at: str,
    when: str = "before",
    prelude: str = "",
    input: bytes | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> Killed:
    """``hotfix ARGV`` in a process that SIGKILLs itself right before (or after) ``at``.

    ``at`` is ``module:Attr.path`` (``hotfix.docker.engine:Engine.write``); ``when`` is ``before``,
    ``after`` or ``never`` (only ``prelude`` runs: code that kills on its own terms).
    """
    proc = subprocess.run(
        patched_argv(argv, at, when, prelude),
        input=input,
        capture_output=True,
        env={**os.environ, "HOTFIX_STATE_DIR": str(state_dir), **(env or {})},
        timeout=timeout,
        check=False,
    )
    return Killed(
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
    )


def patched_argv(argv: list[str], at: str, when: str = "before", prelude: str = "") -> list[str]:
    """The argv of a ``hotfix ARGV`` process patched as :func:`run_killed` describes."""
    module, owner, name = _spec(at)
    cfg = {
        "module": module,
        "owner": owner,
        "name": name,
        "when": when,
        "prelude": prelude,
        "argv": argv,
    }
    return [sys.executable, "-c", KILL_SCRIPT, json.dumps(cfg)]


def server_argv_killed_at(at: str, when: str = "before") -> list[str]:
    """The argv of ``hotfix lsp`` in a process that SIGKILLs itself at ``at``."""
    return patched_argv(["lsp"], at, when)


@pytest.fixture
def killed(state_dir: Path, tmp_env: dict[str, str]) -> Callable[..., Killed]:
    def run(argv: list[str], **kwargs: Any) -> Killed:
        kwargs["env"] = {**tmp_env, **(kwargs.get("env") or {})}
        return run_killed(state_dir, argv, **kwargs)

    return run


@pytest.fixture
def tmp_env(tmp_path: Path) -> dict[str, str]:
    """A private TMPDIR for the processes of this test (``tmp_env["TMPDIR"]``)."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    return {"TMPDIR": str(directory)}


@pytest.fixture
def box(images: dict[str, str], run_container: Callable[..., Running]) -> Running:
    """A running busybox container (root, with a shell)."""
    return run_container(images["busybox"], command=["sleep", "3600"], stop_signal="KILL")


@pytest.fixture
def lsp(state_dir: Path) -> Iterator[Callable[..., Rpc]]:
    """``lsp(env=None, argv=SERVER, init=True)``: a ``hotfix lsp`` process on this test's
    state directory, initialised (no polling); every one is closed after the test."""
    started: list[Rpc] = []

    def start(env: dict[str, str] | None = None, init: bool = True, **kwargs: Any) -> Rpc:
        server = Rpc(state_dir, env=env, **kwargs)
        started.append(server)
        if init:
            server.initialize()
        return server

    yield start
    for server in started:
        server.close()


def uri(container: Running | str, path: str, scheme: str = "hotfix") -> str:
    from hotfix.lsp.uris import format_uri

    name = container if isinstance(container, str) else container.name
    return format_uri(scheme, name, path)


def in_container(box: Running, path: str) -> bytes | None:
    """The bytes of a file in the container, or None when it does not exist (read with
    ``docker cp``'s API, not through hotfix)."""
    import io
    import tarfile

    import docker.errors

    try:
        stream, _ = box.container.get_archive(path)
    except docker.errors.NotFound:
        return None
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        member = tar.next()
        assert member is not None
        extracted = tar.extractfile(member)
        return extracted.read() if extracted else None


@pytest.fixture(params=["local", "archive"])
def file_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways to a container's files: /proc/<pid>/root (local engine, root, running
    container) and the Engine's archive API (remote engines, stopped containers)."""
    monkeypatch.setenv("HOTFIX_LOCAL_FS", "1" if request.param == "local" else "0")
    return str(request.param)


@pytest.fixture
def svc(service: HotfixService, file_path: str) -> HotfixService:
    """The in-process service (no CLI start-up per call) on ``file_path``'s way."""
    service.engine.local_fs = file_path == "local"
    return service
