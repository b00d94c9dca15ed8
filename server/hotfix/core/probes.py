"""Health probes: is the service answering after a restart?

A probe is parsed from the CLI's ``--probe`` text (also used by the language
server), checked once with :meth:`Probe.check`, and polled by :func:`wait_until_healthy`.

- ``http://…`` / ``https://…``: a GET; healthy on the expected status (default 2xx/3xx;
  redirects are not followed, a 3xx is an answer).
- ``tcp:HOST:PORT``: a TCP connection is accepted.
- ``healthcheck``: the container's own HEALTHCHECK reports ``healthy``.
- ``exec:CMD``: CMD, split like a shell would but never run by one, exits 0 in the container.

Several probes go together as :class:`AllProbes` (healthy only when every one passes); an HTTP
probe may also require its body to hold a text or match a regex (proof that the fix answers).
"""

from __future__ import annotations

import http.client
import re
import shlex
import socket
import ssl
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from hotfix.core.errors import Cancelled, UsageError


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    detail: str  # "HTTP 200 OK", "connection refused", "health: starting", "exit 1: …"
    status: int | None = None
    body: str | None = None
    elapsed: float = 0.0  # seconds this check took


class Checkable(Protocol):
    """One probe or several: what :func:`wait_until_healthy` polls."""

    def check(self, hooks: ContainerHooks | None = None) -> ProbeResult: ...


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
    expect_body: str | None = None  # http: a text the body must hold
    expect_body_regex: str | None = None  # http: a regex the body must match (re.search)

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
            result = _check_body(self, _check_http(self.target, self.expect_status, self.timeout))
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


@dataclass(frozen=True)
class AllProbes:
    """Probes that must all pass: a result is the first failure, else the first HTTP
    answer (its status and body are what a caller shows), else the last one."""

    probes: tuple[Probe, ...]

    def __str__(self) -> str:
        return " + ".join(str(p) for p in self.probes)

    def check(self, hooks: ContainerHooks | None = None) -> ProbeResult:
        started = time.monotonic()
        results = []
        for probe in self.probes:
            result = probe.check(hooks)
            if not result.ok:
                prefix = f"{probe}: " if len(self.probes) > 1 else ""
                return replace(result, detail=prefix + result.detail)
            results.append(result)
        answered = [r for r in results if r.status is not None] or results[-1:]
        return replace(answered[0], elapsed=time.monotonic() - started)


def with_expected_body(
    probes: list[Probe], text: str | None = None, regex: str | None = None
) -> list[Probe]:
    """``probes`` with ``--expect-body``/``--expect-body-regex`` set on their HTTP ones."""
    if text is None and regex is None:
        return probes
    if not any(p.kind == "http" for p in probes):
        raise UsageError("--expect-body and --expect-body-regex need an http(s) probe")
    if regex is not None:
        try:
            re.compile(regex)
        except re.error as exc:
            raise UsageError(f"--expect-body-regex {regex!r}: {exc}") from None
    return [
        replace(p, expect_body=text, expect_body_regex=regex) if p.kind == "http" else p
        for p in probes
    ]


def _check_body(probe: Probe, result: ProbeResult) -> ProbeResult:
    """An HTTP answer that passed on its status fails when its body lacks the expected text."""
    if not result.ok or (probe.expect_body is None and probe.expect_body_regex is None):
        return result
    body = result.body or ""
    if probe.expect_body is not None and probe.expect_body not in body:
        return replace(
            result, ok=False, detail=f"{result.detail}; body lacks {probe.expect_body!r}"
        )
    if probe.expect_body_regex is not None and not re.search(probe.expect_body_regex, body):
        detail = f"{result.detail}; body does not match {probe.expect_body_regex!r}"
        return replace(result, ok=False, detail=detail)
    return result


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
    probe: Checkable,
    timeout: float,
    hooks: ContainerHooks | None = None,
    on_attempt: Callable[[ProbeResult, float], None] | None = None,
    is_cancelled: Callable[[], bool] | None = None,
    still_running: Callable[[], str | None] | None = None,
    fail_after_5xx: int = 0,
) -> tuple[bool, ProbeResult, float, int]:
    """Poll until healthy or ``timeout`` seconds pass.

    Returns (healthy, last result, seconds waited, attempts). ``still_running`` returns a
    reason to stop early (the container exited) or None; ``fail_after_5xx`` (when > 0) stops
    after that many HTTP 5xx answers in a row — the server answers, and it says it is broken.
    """
    started = time.monotonic()
    interval = 0.05
    attempts = 0
    server_errors = 0
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
        server_errors = server_errors + 1 if (result.status or 0) >= 500 else 0
        if fail_after_5xx and server_errors >= fail_after_5xx:
            detail = f"{result.detail} {server_errors} times in a row: a definite failure"
            return False, replace(result, detail=detail), waited, attempts
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
