"""A raw JSON-RPC client of ``hotfix lsp`` over the subprocess's stdio.

Raw on purpose: the fault tests send what a well-behaved client library would refuse to
(bytes that are not JSON, requests without params, wrong types, 90 MB payloads), run two
servers side by side, and kill servers mid-request. Synchronous; a reader thread collects
every message the server sends.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SERVER = [sys.executable, "-m", "hotfix", "lsp"]


class ServerGone(AssertionError):
    """The server closed its stdout (it exited or was killed)."""


class Rpc:
    """One ``hotfix lsp`` process. ``request`` returns the whole response message."""

    def __init__(
        self,
        state_dir: Path,
        env: dict[str, str] | None = None,
        argv: Sequence[str] = SERVER,
    ) -> None:
        self.proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={
                **os.environ,
                "HOTFIX_STATE_DIR": str(state_dir),
                "HOTFIX_LOG_LEVEL": "INFO",
                **(env or {}),
            },
        )
        self.messages: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._closed = False
        self._next_id = 0
        self._stderr: list[bytes] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    # --- wire ---------------------------------------------------------------------------

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        try:
            while True:
                length = None
                while True:
                    line = out.readline()
                    if not line:
                        return
                    line = line.strip()
                    if not line:
                        break
                    key, _, value = line.decode("ascii").partition(":")
                    if key.lower() == "content-length":
                        length = int(value)
                assert length is not None, "a message without Content-Length"
                body = out.read(length)
                with self._cond:
                    self.messages.append(json.loads(body))
                    self._cond.notify_all()
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()

    def _drain_stderr(self) -> None:
        err = self.proc.stderr
        assert err is not None
        for line in err:
            self._stderr.append(line)

    @property
    def stderr(self) -> str:
        return b"".join(self._stderr).decode("utf-8", "replace")

    def send_bytes(self, body: bytes) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        stdin.flush()

    def send_raw(self, data: bytes) -> None:
        """Bytes as they are: headers included, or not."""
        stdin = self.proc.stdin
        assert stdin is not None
        stdin.write(data)
        stdin.flush()

    def peak_memory(self) -> int:
        """The server process's peak resident memory so far (VmHWM), in bytes."""
        with open(f"/proc/{self.proc.pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        raise AssertionError("no VmHWM in /proc/PID/status")

    def send(self, message: dict[str, Any]) -> None:
        self.send_bytes(json.dumps(message).encode())

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    # --- requests ---------------------------------------------------------------------------

    def start_request(self, method: str, params: Any = None, *, omit_params: bool = False) -> int:
        rid = self.new_id()
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": rid, "method": method}
        if not omit_params:
            message["params"] = {} if params is None else params
        self.send(message)
        return rid

    def mark(self) -> int:
        """How many messages came so far: ``response(…, since=mark)`` looks only after it."""
        with self._cond:
            return len(self.messages)

    def response(self, rid: Any, timeout: float = 30.0, since: int = 0) -> dict[str, Any]:
        """The response to request ``rid`` (the first after message ``since``; ``rid`` None
        for errors JSON-RPC answers with a null id); ``TimeoutError`` if none comes."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for m in self.messages[since:]:
                    if "method" not in m and m.get("id") == rid and ("result" in m or "error" in m):
                        return m
                if self._closed:
                    raise ServerGone(f"the server exited before answering {rid}:\n{self.stderr}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no answer to request {rid} in {timeout} s")
                self._cond.wait(left)

    def request(self, method: str, params: Any = None, timeout: float = 30.0) -> dict[str, Any]:
        return self.response(self.start_request(method, params), timeout)

    def result(self, method: str, params: Any = None, timeout: float = 30.0) -> Any:
        answer = self.request(method, params, timeout)
        assert "result" in answer, f"{method} failed: {answer.get('error')}"
        return answer["result"]

    def error(self, method: str, params: Any = None, timeout: float = 30.0) -> dict[str, Any]:
        """The error a request answers, as ``{code, message, data}``."""
        answer = self.request(method, params, timeout)
        assert "error" in answer, f"{method} {str(params)[:200]} succeeded: {answer['result']}"
        error: dict[str, Any] = answer["error"]
        return error

    def command(self, name: str, timeout: float = 60.0, **args: Any) -> dict[str, Any]:
        return self.request(
            "workspace/executeCommand", {"command": name, "arguments": [args]}, timeout
        )

    def notifications(self, method: str) -> list[Any]:
        with self._cond:
            return [m.get("params") for m in self.messages if m.get("method") == method]

    # --- lifecycle ------------------------------------------------------------------------

    def initialize(self, poll_interval: float = 0) -> dict[str, Any]:
        result = self.result(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": None,
                "capabilities": {},
                "initializationOptions": {"pollInterval": poll_interval},
            },
        )
        self.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        return dict(result)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self, timeout: float = 10.0) -> int | None:
        """shutdown + exit when it still runs; killed if it does not go. Its exit code."""
        if self.alive():
            with contextlib.suppress(Exception):
                self.request("shutdown", None, timeout=timeout)
                self.send({"jsonrpc": "2.0", "method": "exit"})
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGKILL)
                self.proc.wait(timeout)
        for pipe in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(Exception):
                if pipe:
                    pipe.close()
        return self.proc.returncode


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


def code_of(error: dict[str, Any]) -> str:
    data = error.get("data")
    assert isinstance(data, dict), f"no data.code in {error}"
    return str(data["code"])
