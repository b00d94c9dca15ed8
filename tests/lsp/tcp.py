"""``hotfix lsp --tcp`` as a test process: started on a free loopback port, with the token it
wrote to its private file (the path read from the line it prints on stderr)."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.lsp.helpers import SERVER_COMMAND

ANNOUNCED = re.compile(r"^hotfix lsp: listening on (\S+):(\d+); token in (\S+)$", re.MULTILINE)
START_TIMEOUT = 30.0


@dataclass
class TcpServer:
    proc: subprocess.Popen[bytes]
    port: int
    token_path: Path
    token: str
    stderr_path: Path

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def tcp_server(directory: Path, host: str = "127.0.0.1", **env: str) -> Iterator[TcpServer]:
    """A server on ``host`` and a free port, state in ``directory``; stopped with SIGTERM
    (which removes its token file) afterwards."""
    port = free_port()
    stderr_path = directory / f"lsp-tcp-{port}.stderr"
    full_env = {**os.environ, "HOTFIX_STATE_DIR": str(directory / "state"), **env}
    with stderr_path.open("wb") as stderr:
        proc = subprocess.Popen(
            [*SERVER_COMMAND, "--tcp", f"{host}:{port}"],
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        token_path = _announced_token_path(proc, stderr_path)
        yield TcpServer(proc, port, token_path, token_path.read_text(), stderr_path)
    finally:
        proc.terminate()
        proc.wait(10)


def _announced_token_path(proc: subprocess.Popen[bytes], stderr_path: Path) -> Path:
    deadline = time.monotonic() + START_TIMEOUT
    while not (found := ANNOUNCED.search(stderr_path.read_text(errors="replace"))):
        alive = proc.poll() is None
        assert alive and time.monotonic() < deadline, stderr_path.read_text(errors="replace")
        time.sleep(0.05)
    return Path(found.group(3))
