"""probes: parsing --probe text, checking once, and polling until healthy."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from hotfix.core import probes
from hotfix.core.errors import Cancelled, UsageError
from hotfix.core.probes import Probe, ProbeResult, parse_probe, wait_until_healthy
from tests.unit.helpers import LocalServer, Responder, free_port, sequence

# --- parse_probe -------------------------------------------------------------------------------


def test_parse_http() -> None:
    probe = parse_probe("  http://127.0.0.1:8001/healthz?deep=1 ", [200, 204])
    assert probe == Probe("http", "http://127.0.0.1:8001/healthz?deep=1", expect_status=(200, 204))
    assert str(probe) == "http://127.0.0.1:8001/healthz?deep=1"


def test_parse_https_without_expectations() -> None:
    probe = parse_probe("https://example.internal/")
    assert (probe.kind, probe.expect_status) == ("http", ())


def test_parse_tcp() -> None:
    assert parse_probe("tcp:db:5432") == Probe("tcp", "db:5432")
    assert str(parse_probe("tcp:127.0.0.1:6379")) == "tcp:127.0.0.1:6379"


def test_parse_tcp_ipv6_brackets_are_dropped() -> None:
    assert parse_probe("tcp:[::1]:8080").target == "::1:8080"


def test_parse_healthcheck() -> None:
    probe = parse_probe("healthcheck")
    assert (probe.kind, str(probe)) == ("healthcheck", "healthcheck")


def test_parse_exec_keeps_shell_metacharacters_literal() -> None:
    probe = parse_probe("exec:curl -fsS 'http://x/?a=1&b=2' ; rm -rf / | cat $HOME > /tmp/out")
    assert probe.kind == "exec"
    assert probe.argv == (
        "curl",
        "-fsS",
        "http://x/?a=1&b=2",
        ";",
        "rm",
        "-rf",
        "/",
        "|",
        "cat",
        "$HOME",
        ">",
        "/tmp/out",
    )
    assert str(probe) == "exec:curl -fsS 'http://x/?a=1&b=2' ; rm -rf / | cat $HOME > /tmp/out"


def test_parse_exec_quoting() -> None:
    probe = parse_probe('exec:python -c "import sys; sys.exit(0)"')
    assert probe.argv == ("python", "-c", "import sys; sys.exit(0)")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "ftp://host/",
        "HEALTHCHECK",
        "localhost:8080",
        "http://",
        "http:///path",
        "tcp:",
        "tcp:5432",
        "tcp::5432",
        "tcp:db:",
        "tcp:db:port",
        "tcp:db:-1",
        "exec:",
        "exec:   ",
        "exec:echo 'unterminated",
    ],
)
def test_parse_refuses(text: str) -> None:
    with pytest.raises(UsageError):
        parse_probe(text)


@pytest.mark.parametrize("text", ["http://127.0.0.1:notaport/", "http://127.0.0.1:99999/"])
def test_parse_refuses_bad_url_port(text: str) -> None:
    try:
        probe = parse_probe(text)
    except UsageError:
        return
    probe.check()  # raises ValueError (not a HotfixError) out of every probe loop


# --- checks ------------------------------------------------------------------------------------


def test_http_200_is_healthy(http_server: Callable[[Responder], LocalServer]) -> None:
    server = http_server(sequence(200))
    result = probes._check_http(server.url + "/health?x=1", (), 2.0)
    assert result.ok
    assert (result.status, result.detail) == (200, "HTTP 200 OK")
    assert result.body == "status 200\n"
    assert server.requests == ["/health?x=1"]


def test_http_500_is_not_healthy(http_server: Callable[[Responder], LocalServer]) -> None:
    server = http_server(sequence(500))
    result = probes._check_http(server.url, (), 2.0)
    assert not result.ok
    assert result.status == 500
    assert result.detail == "HTTP 500 Internal Server Error"
    assert server.requests == ["/"]


def test_http_redirect_is_an_answer_and_not_followed(
    http_server: Callable[[Responder], LocalServer],
) -> None:
    def respond(path: str) -> tuple[int, dict[str, str]]:
        if path == "/":
            return 302, {"Location": "/elsewhere"}
        return 500, {}

    server = http_server(respond)
    result = probes._check_http(server.url + "/", (), 2.0)
    assert result.ok and result.status == 302
    assert server.requests == ["/"]


def test_http_expect_status(http_server: Callable[[Responder], LocalServer]) -> None:
    server = http_server(lambda path: (503 if path == "/down" else 200, {}))
    assert probes._check_http(server.url + "/down", (503,), 2.0).ok
    assert not probes._check_http(server.url + "/up", (503,), 2.0).ok
    assert probes._check_http(server.url + "/up", (200, 503), 2.0).ok


def test_http_refused() -> None:
    result = probes._check_http(f"http://127.0.0.1:{free_port()}/", (), 2.0)
    assert result == ProbeResult(False, "connection refused")


def test_probe_check_measures_elapsed(http_server: Callable[[Responder], LocalServer]) -> None:
    server = http_server(sequence(204))
    result = parse_probe(server.url + "/").check()
    assert result.ok and result.status == 204
    assert 0.0 < result.elapsed < 2.0


def test_tcp_accepted_and_refused(http_server: Callable[[Responder], LocalServer]) -> None:
    server = http_server(sequence(200))
    ok = parse_probe(f"tcp:127.0.0.1:{server.port}").check()
    assert ok.ok and ok.detail == f"tcp 127.0.0.1:{server.port} accepted"
    port = free_port()
    refused = parse_probe(f"tcp:127.0.0.1:{port}").check()
    assert not refused.ok
    assert refused.detail == f"tcp 127.0.0.1:{port}: connection refused"


class Hooks:
    def __init__(self, health: list[str | None] | None = None, code: int = 0, out: bytes = b""):
        self.healths = health or [None]
        self.code, self.out = code, out
        self.argvs: list[list[str]] = []

    def health(self) -> str | None:
        return self.healths.pop(0) if len(self.healths) > 1 else self.healths[0]

    def exec(self, argv: list[str]) -> tuple[int, bytes]:
        self.argvs.append(argv)
        return self.code, self.out


def test_container_probes_need_hooks() -> None:
    with pytest.raises(UsageError, match="needs a container"):
        parse_probe("healthcheck").check()
    with pytest.raises(UsageError, match="needs a container"):
        parse_probe("exec:true").check()


def test_healthcheck_probe() -> None:
    assert parse_probe("healthcheck").check(Hooks(["healthy"])).ok
    result = parse_probe("healthcheck").check(Hooks(["starting"]))
    assert (result.ok, result.detail) == (False, "health: starting")
    assert parse_probe("healthcheck").check(Hooks([None])).detail == "health: none"


def test_exec_probe_runs_argv_and_reports_exit() -> None:
    hooks = Hooks(code=7, out=b"  not ready\n")
    result = parse_probe("exec:check --db 'a b'").check(hooks)
    assert hooks.argvs == [["check", "--db", "a b"]]
    assert (result.ok, result.detail) == (False, "exit 7: not ready")
    assert parse_probe("exec:true").check(Hooks(code=0)).detail == "exit 0"


# --- wait_until_healthy ------------------------------------------------------------------------


def test_wait_until_healthy_polls_until_ok() -> None:
    hooks = Hooks(["starting", "starting", "healthy"])
    seen: list[str] = []
    healthy, last, waited, attempts = wait_until_healthy(
        parse_probe("healthcheck"), 5.0, hooks, on_attempt=lambda r, w: seen.append(r.detail)
    )
    assert healthy and attempts == 3
    assert last.detail == "health: healthy"
    assert seen == ["health: starting", "health: starting", "health: healthy"]
    assert waited < 2.0


def test_wait_until_healthy_gives_up_after_timeout() -> None:
    started = time.monotonic()
    healthy, last, waited, attempts = wait_until_healthy(
        parse_probe("healthcheck"), 0.2, Hooks(["starting"])
    )
    assert not healthy and last.detail == "health: starting"
    assert attempts >= 2
    assert 0.2 <= waited < 1.0
    assert time.monotonic() - started < 1.0


def test_wait_until_healthy_stops_when_still_running_gives_a_reason() -> None:
    reasons = [None, "container exited with code 1"]
    started = time.monotonic()
    healthy, last, _, attempts = wait_until_healthy(
        parse_probe("healthcheck"),
        30.0,
        Hooks(["starting"]),
        still_running=lambda: reasons.pop(0),
    )
    assert not healthy and attempts == 2
    assert last.detail == "health: starting; container exited with code 1"
    assert time.monotonic() - started < 2.0


def test_wait_until_healthy_cancelled() -> None:
    attempts: list[ProbeResult] = []
    calls = iter([False, False, True])
    started = time.monotonic()
    with pytest.raises(Cancelled, match="healthcheck"):
        wait_until_healthy(
            parse_probe("healthcheck"),
            30.0,
            Hooks(["starting"]),
            on_attempt=lambda r, w: attempts.append(r),
            is_cancelled=lambda: next(calls),
        )
    assert len(attempts) == 2
    assert time.monotonic() - started < 2.0


def test_wait_until_healthy_cancelled_before_first_attempt() -> None:
    attempts: list[ProbeResult] = []
    with pytest.raises(Cancelled):
        wait_until_healthy(
            parse_probe("healthcheck"),
            30.0,
            Hooks(["healthy"]),
            on_attempt=lambda r, w: attempts.append(r),
            is_cancelled=lambda: True,
        )
    assert attempts == []
