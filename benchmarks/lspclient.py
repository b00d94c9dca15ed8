"""A minimal JSON-RPC client of ``hotfix lsp`` over stdio (Content-Length framing).

Enough for timing round trips: initialize, requests answered in order, server requests
(progress, registrations) answered with null, notifications dropped. File contents go as
the editor's extension sends them: with ``bodyTransfer: "file"`` (the default here), a
content at or above the server's threshold travels as a spool file (:meth:`read_file`,
:meth:`write_file`), smaller ones as base64 in the message.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any


class LspError(RuntimeError):
    pass


@dataclass(frozen=True)
class BodyTransfer:
    """What the server agreed to (``capabilities.experimental.hotfix.bodyTransfer``)."""

    directory: str
    threshold: int


class LspClient:
    def __init__(
        self,
        env: Mapping[str, str],
        stderr_path: str,
        timeout: float = 120,
        python_args: Sequence[str] = (),
        body_transfer: str | None = "file",
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
        self.asked_transfer = body_transfer
        self.transfer: BodyTransfer | None = None

    def initialize(self) -> dict[str, Any]:
        options: dict[str, Any] = {"pollInterval": 0}
        if self.asked_transfer:
            options["bodyTransfer"] = self.asked_transfer
        result = self.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": None,
                "capabilities": {},
                "initializationOptions": options,
            },
        )
        experimental = (result or {}).get("capabilities", {}).get("experimental") or {}
        agreed = (experimental.get("hotfix") or {}).get("bodyTransfer")
        if agreed and agreed.get("kind") == "file":
            self.transfer = BodyTransfer(agreed["directory"], int(agreed["threshold"]))
        self.notify("initialized", {})
        return dict(result or {})

    # --- file contents, as the extension moves them --------------------------------------

    def read_file(self, uri: str) -> tuple[bytes, str]:
        """``hotfix/readFile``: the content (from ``data``, or the spool file named by
        ``dataPath``, read and removed) and its version."""
        result = self.request("hotfix/readFile", {"uri": uri})
        path = result.get("dataPath")
        if path is None:
            return base64.b64decode(result["data"]), result["version"]
        assert self.transfer and os.path.dirname(path) == self.transfer.directory, path
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            with open(fd, "rb", buffering=0) as src:
                data = src.readall()
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        return data, result["version"]

    def write_file(self, uri: str, data: bytes, **params: Any) -> dict[str, Any]:
        """``hotfix/writeFile`` with ``data`` (base64), or a spool file the client writes
        (``O_EXCL``, 0600) when the content is big; removed again if the server did not."""
        if self.transfer is None or len(data) < self.transfer.threshold:
            encoded = base64.b64encode(data).decode("ascii")
            return dict(self.request("hotfix/writeFile", {"uri": uri, "data": encoded, **params}))
        path = os.path.join(self.transfer.directory, f"w-{uuid.uuid4().hex}")
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            with open(os.open(path, flags, 0o600), "wb", buffering=0) as out:
                out.write(data)
            return dict(self.request("hotfix/writeFile", {"uri": uri, "dataPath": path, **params}))
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    # --- JSON-RPC ---------------------------------------------------------------------------

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
