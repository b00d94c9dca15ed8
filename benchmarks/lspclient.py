"""A minimal JSON-RPC client of ``hotfix lsp`` over stdio (Content-Length framing).

Enough for timing round trips: initialize, requests answered in order, server requests
(progress, registrations) answered with null, notifications dropped.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import IO, Any


class LspError(RuntimeError):
    pass


class LspClient:
    def __init__(
        self,
        env: Mapping[str, str],
        stderr_path: str,
        timeout: float = 120,
        python_args: Sequence[str] = (),
    ) -> None:
        self._stderr = open(stderr_path, "wb")  # noqa: SIM115 (closed in close())
        self.proc = subprocess.Popen(
            [sys.executable, *python_args, "-m", "hotfix", "lsp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=dict(env),
        )
        assert self.proc.stdin and self.proc.stdout
        self._out: IO[bytes] = self.proc.stdin
        self._messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()
        self._next_id = 0
        self.timeout = timeout

    def initialize(self) -> dict[str, Any]:
        result = self.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": None,
                "capabilities": {},
                "initializationOptions": {"pollInterval": 0},
            },
        )
        self.notify("initialized", {})
        return dict(result or {})

    def request(self, method: str, params: Any) -> Any:
        self._next_id += 1
        msg_id = self._next_id
        self._send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        while True:
            try:
                msg = self._messages.get(timeout=self.timeout)
            except queue.Empty:
                raise LspError(f"{method}: no answer in {self.timeout} s") from None
            if msg is None:
                raise LspError(f"{method}: the server exited ({self.proc.poll()})")
            if "method" in msg:
                if "id" in msg:  # a request from the server: accept it
                    self._send({"jsonrpc": "2.0", "id": msg["id"], "result": None})
                continue
            if msg.get("id") != msg_id:
                continue
            if "error" in msg:
                raise LspError(f"{method}: {msg['error'].get('message')}")
            return msg.get("result")

    def notify(self, method: str, params: Any) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def close(self) -> None:
        with contextlib.suppress(LspError, OSError, ValueError):
            self.timeout = 10
            self.request("shutdown", None)
            self.notify("exit", None)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._stderr.close()

    def _send(self, msg: dict[str, Any]) -> None:
        body = json.dumps(msg).encode("utf-8")
        self._out.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self._out.flush()

    def _read_loop(self) -> None:
        stream = self.proc.stdout
        assert stream is not None
        try:
            while True:
                length = None
                while True:
                    line = stream.readline()
                    if not line:
                        return
                    line = line.strip()
                    if not line:
                        break
                    name, _, value = line.decode("ascii").partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                if length is None:
                    continue
                self._messages.put(json.loads(stream.read(length)))
        finally:
            self._messages.put(None)
