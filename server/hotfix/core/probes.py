"""Health probes: is the service answering after a restart?

A probe is parsed from the CLI's ``--probe`` text (also used by the language
server), checked once with :meth:`Probe.check`, and polled by :func:`wait_until_healthy`.

- ``http://…`` / ``https://…``: a GET; healthy on the expected status (default 2xx/3xx;
  redirects are not followed, a 3xx is an answer).
- ``tcp:HOST:PORT``: a TCP connection is accepted.
- ``healthcheck``: the container's own HEALTHCHECK reports ``healthy``.
- ``exec:CMD``: CMD, split like a shell would but never run by one, exits 0 in the container.
"""

from __future__ import annotations

import http.client
import shlex
import socket
import ssl
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from hotfix.core.errors import Cancelled, UsageError


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    detail: str  # "HTTP 200 OK", "connection refused", "health: starting", "exit 1: …"
    status: int | None = None
    body: str | None = None
    elapsed: float = 0.0  # seconds this check took


class ContainerHooks(Protocol):
    """What the container-bound probes need from the engine."""

    def health(self) -> str | None: ...

    def exec(self, argv: list[str]) -> tuple[int, bytes]: ...


@dataclass(frozen=True)
class Probe:
    kind: str  # "http", "tcp", "healthcheck", "exec"
    target: str  # URL, "host:port", "", or the command text
    argv: tuple[str, ...] = ()
    expect_status: tuple[int, ...] = field(default=())
    timeout: float = 2.0  # per attempt

    def __str__(self) -> str:
        if self.kind == "healthcheck":
            return "healthcheck"
        if self.kind == "tcp":
            return f"tcp:{self.target}"
        if self.kind == "exec":
            return f"exec:{self.target}"
        return self.target

    def check(self, hooks: ContainerHooks | None = None) -> ProbeResult:
        started = time.monotonic()
        if self.kind == "http":
            result = _check_http(self.target, self.expect_status, self.timeout)
        elif self.kind == "tcp":
            result = _check_tcp(self.target, self.timeout)
        elif hooks is None:
            raise UsageError(f"probe {self} needs a container")
        elif self.kind == "healthcheck":
            status = hooks.health()
            result = ProbeResult(status == "healthy", f"health: {status or 'none'}")
        else:
            code, output = hooks.exec(list(self.argv))
            text = output.decode("utf-8", "replace").strip()[-300:]
            result = ProbeResult(code == 0, f"exit {code}" + (f": {text}" if text else ""))
        return ProbeResult(
            result.ok, result.detail, result.status, result.body, time.monotonic() - started
        )


def parse_probe(text: str, expect_status: list[int] | None = None) -> Probe:
    text = text.strip()
    expect = tuple(expect_status or ())
    if text == "healthcheck":
        return Probe("healthcheck", "")
    if text.startswith(("http://", "https://")):
        parsed = urllib.parse.urlsplit(text)
        if not parsed.hostname:
            raise UsageError(f"probe {text!r}: the URL has no host")
        try:
            parsed.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError as exc:
            raise UsageError(f"probe {text!r}: {exc}") from None
        return Probe("http", text, expect_status=expect)
    if text.startswith("tcp:"):
        host, sep, port = text[4:].rpartition(":")
        if not sep or not host or not port.isdigit():
            raise UsageError(f"probe {text!r}: expected tcp:HOST:PORT, e.g. tcp:127.0.0.1:5432")
        return Probe("tcp", f"{host.strip('[]')}:{port}")
    if text.startswith("exec:"):
        try:
            argv = tuple(shlex.split(text[5:]))
        except ValueError as exc:
            raise UsageError(f"probe {text!r}: {exc}") from exc
        if not argv:
            raise UsageError(f"probe {text!r}: no command after exec:")
        return Probe("exec", text[5:], argv=argv)
    raise UsageError(
        f"probe {text!r} not understood: use an http(s) URL, tcp:HOST:PORT, healthcheck or exec:CMD"
    )


def wait_until_healthy(
    probe: Probe,
    timeout: float,
    hooks: ContainerHooks | None = None,
    on_attempt: Callable[[ProbeResult, float], None] | None = None,
    is_cancelled: Callable[[], bool] | None = None,
    still_running: Callable[[], str | None] | None = None,
) -> tuple[bool, ProbeResult, float, int]:
    """Poll until healthy or ``timeout`` seconds pass.

    Returns (healthy, last result, seconds waited, attempts). ``still_running`` returns a
    reason to stop early (the container exited) or None.
    """
    started = time.monotonic()
    interval = 0.05
    attempts = 0
    while True:
        if is_cancelled and is_cancelled():
            raise Cancelled(f"cancelled while waiting for {probe}")
        result = probe.check(hooks)
        attempts += 1
        waited = time.monotonic() - started
        if on_attempt:
            on_attempt(result, waited)
        if result.ok:
            return True, result, waited, attempts
        stop_reason = still_running() if still_running else None
        if stop_reason:
            return False, ProbeResult(False, f"{result.detail}; {stop_reason}"), waited, attempts
        if waited >= timeout:
            return False, result, waited, attempts
        time.sleep(min(interval, max(0.0, timeout - waited)))
        interval = min(interval * 1.5, 0.5)


def _check_http(url: str, expect: tuple[int, ...], timeout: float) -> ProbeResult:
    parts = urllib.parse.urlsplit(url)
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(
            parts.hostname or "", parts.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    try:
        conn.request("GET", target, headers={"User-Agent": "container-hotfix-probe"})
        resp = conn.getresponse()
        body = resp.read(4096).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as exc:
        return ProbeResult(False, _describe_socket_error(exc))
    finally:
        conn.close()
    ok = resp.status in expect if expect else 200 <= resp.status < 400
    return ProbeResult(ok, f"HTTP {resp.status} {resp.reason}", resp.status, body)


def _check_tcp(target: str, timeout: float) -> ProbeResult:
    host, _, port = target.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return ProbeResult(True, f"tcp {target} accepted")
    except OSError as exc:
        return ProbeResult(False, f"tcp {target}: {_describe_socket_error(exc)}")


def _describe_socket_error(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "closed without answering"
    return str(exc) or type(exc).__name__
