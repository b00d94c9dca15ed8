"""HotfixService: choosing a probe, restart + probe, revert on failure, cancellation."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from hotfix.core.errors import Cancelled, UsageError
from hotfix.core.probes import Probe
from hotfix.service.files import HotfixService
from hotfix.store.state import StateStore
from tests.unit.fakes import FakeContainer, FakeEngine
from tests.unit.helpers import LocalServer, Responder, free_port, sequence

APP = "/srv/app/app.py"
ORIGINAL = b"print('hello')\n"

StartServer = Callable[[Responder], LocalServer]


class Progress:
    def __init__(self, cancel_after: int | None = None) -> None:
        self.messages: list[str] = []
        self.cancel_after = cancel_after

    def report(self, message: str, percentage: int | None = None) -> None:
        self.messages.append(message)

    def cancelled(self) -> bool:
        probes = [m for m in self.messages if m.startswith(("http", "healthcheck", "tcp"))]
        return self.cancel_after is not None and len(probes) >= self.cancel_after


# --- plan_probe ---------------------------------------------------------------------------------


def test_plan_probe_prefers_the_given_text(service: HotfixService, web: FakeContainer) -> None:
    web.healthcheck = ["CMD", "true"]
    web.published = [("0.0.0.0", 8080, "80/tcp")]
    assert service.plan_probe(web.details(), "tcp:db:5432") == Probe("tcp", "db:5432")
    probe = service.plan_probe(web.details(), "http://10.0.0.1/", [418])
    assert probe.expect_status == (418,)


def test_plan_probe_defaults_to_the_healthcheck(service: HotfixService, web: FakeContainer) -> None:
    web.healthcheck = ["CMD-SHELL", "curl -f localhost"]
    web.published = [("0.0.0.0", 8080, "80/tcp")]
    assert service.plan_probe(web.details(), None).kind == "healthcheck"


@pytest.mark.parametrize(
    ("published", "url"),
    [
        ([("0.0.0.0", 8080, "80/tcp")], "http://198.51.100.7:8080/"),
        ([("", 8080, "80/tcp")], "http://198.51.100.7:8080/"),
        ([("::", 8080, "80/tcp")], "http://198.51.100.7:8080/"),
        ([("127.0.0.1", 32768, "8001/tcp")], "http://127.0.0.1:32768/"),
        ([("::1", 8443, "443/tcp")], "http://[::1]:8443/"),
        ([("0.0.0.0", 53, "53/udp"), ("10.0.0.2", 9000, "9000/tcp")], "http://10.0.0.2:9000/"),
        (
            [("127.0.0.1", 8001, "8001/tcp"), ("127.0.0.1", 8002, "8002/tcp")],
            "http://127.0.0.1:8001/",
        ),
    ],
)
def test_plan_probe_http_on_the_first_published_tcp_port(
    service: HotfixService,
    web: FakeContainer,
    published: list[tuple[str, int, str]],
    url: str,
) -> None:
    web.published = published
    probe = service.plan_probe(web.details(), None, [200])
    assert (probe.kind, probe.target, probe.expect_status) == ("http", url, (200,))


def test_plan_probe_without_port_or_healthcheck(service: HotfixService, web: FakeContainer) -> None:
    with pytest.raises(UsageError, match="web publishes no port and has no HEALTHCHECK"):
        service.plan_probe(web.details(), None)
    web.published = [("0.0.0.0", 53, "53/udp")]
    with pytest.raises(UsageError):
        service.plan_probe(web.details(), None)


# --- restart --------------------------------------------------------------------------------------


def test_restart_waits_for_an_http_probe(
    service: HotfixService,
    engine: FakeEngine,
    store: StateStore,
    web: FakeContainer,
    http_server: StartServer,
) -> None:
    server = http_server(sequence(500, 200))
    progress = Progress()
    result = service.restart("web", server.url + "/health", progress=progress, timeout=10)
    assert engine.called("restart") == [("restart", web.id)]
    assert engine.called("signal") == []
    assert (result.action, result.probe, result.healthy) == (
        "restart",
        server.url + "/health",
        True,
    )
    assert result.attempts == 2 and server.requests == ["/health", "/health"]
    assert (result.result.status, result.result.detail) == (200, "HTTP 200 OK")
    assert 0 < result.seconds < 5
    assert (result.reverted, result.after_revert) == ([], None)
    assert result.container.name == "web"
    assert progress.messages[0] == "restart web (no known server: restart)"
    assert any("HTTP 500" in m for m in progress.messages)
    [entry] = store.journal()
    assert (entry.action, entry.outcome) == ("restart", "ok")
    assert entry.detail["healthy"] is True and entry.detail["status"] == 200
    assert entry.detail["probe"] == server.url + "/health"


def test_restart_unhealthy_without_revert(
    service: HotfixService, store: StateStore, web: FakeContainer, http_server: StartServer
) -> None:
    server = http_server(sequence(503))
    service.write("web", APP, b"print('broken')\n")
    result = service.restart("web", server.url, timeout=0.3)
    assert not result.healthy and result.result.status == 503
    assert result.after_revert is None and result.reverted == []
    assert web.node(APP).data == b"print('broken')\n"
    assert store.journal()[-1].outcome == "failed"


def test_restart_reverts_on_failure_and_restarts_again(
    service: HotfixService,
    engine: FakeEngine,
    store: StateStore,
    web: FakeContainer,
    http_server: StartServer,
) -> None:
    # The service answers 200 only while the container runs the original code.
    server = http_server(lambda path: (200 if web.node(APP).data == ORIGINAL else 500, {}))
    service.write("web", APP, b"print('broken')\n")
    service.write("web", "/srv/app/extra.py", b"x = 1\n")
    result = service.restart("web", server.url + "/", timeout=0.3, revert_on_failure=True)

    assert (result.action, result.healthy, result.result.status) == ("restart", False, 500)
    assert result.attempts >= 1
    assert sorted(result.reverted) == [APP, "/srv/app/extra.py"]
    again = result.after_revert
    assert again is not None
    assert (again.action, again.healthy, again.result.status, again.attempts) == (
        "restart",
        True,
        200,
        1,
    )
    assert (again.reverted, again.after_revert) == ([], None)
    assert len(engine.called("restart")) == 2
    assert web.node(APP).data == ORIGINAL and "/srv/app/extra.py" not in web.fs
    actions = [(e.action, e.outcome) for e in store.journal()]
    assert actions[-4:] == [
        ("restart", "failed"),
        ("revert", "ok"),
        ("revert", "ok"),
        ("restart", "ok"),
    ]


def test_restart_with_a_signal(
    service: HotfixService, engine: FakeEngine, web: FakeContainer, http_server: StartServer
) -> None:
    server = http_server(sequence(200))
    result = service.restart("web", f"tcp:127.0.0.1:{server.port}", signal="HUP")
    assert engine.called("signal") == [("signal", web.id, "HUP")]
    assert engine.called("restart") == []
    assert (result.action, result.healthy, result.probe) == (
        "signal HUP",
        True,
        f"tcp:127.0.0.1:{server.port}",
    )


def test_restart_replans_the_default_probe_after_restart(
    service: HotfixService, web: FakeContainer, http_server: StartServer
) -> None:
    server = http_server(sequence(200))
    web.published = [("127.0.0.1", free_port(), "8001/tcp")]  # the port before the restart

    def new_port(c: FakeContainer) -> None:
        c.published = [("127.0.0.1", server.port, "8001/tcp")]

    web.on_restart = new_port
    result = service.restart("web", timeout=5)
    assert result.healthy and result.probe == f"http://127.0.0.1:{server.port}/"


def test_restart_uses_the_healthcheck(service: HotfixService, web: FakeContainer) -> None:
    web.healthcheck = ["CMD", "check"]
    web.health = "starting"

    def healthy_on_restart(c: FakeContainer) -> None:
        c.health = "healthy"

    web.on_restart = healthy_on_restart
    result = service.restart("web", timeout=5)
    assert (result.probe, result.healthy, result.result.detail) == (
        "healthcheck",
        True,
        "health: healthy",
    )


def test_restart_stops_early_when_the_container_exits(
    service: HotfixService, store: StateStore, web: FakeContainer
) -> None:
    web.healthcheck = ["CMD", "check"]
    web.health = "starting"

    def crash(c: FakeContainer) -> None:
        c.state, c.exit_code, c.logs = "exited", 1, "Traceback\nNameError: name 'x'\n"

    web.on_restart = crash
    started = time.monotonic()
    result = service.restart("web", timeout=30)
    assert time.monotonic() - started < 3
    assert not result.healthy and result.attempts == 1
    assert result.result.detail == (
        "health: starting; container exited with code 1; last log: Traceback | NameError: name 'x'"
    )


def test_restart_cancelled(
    service: HotfixService, store: StateStore, web: FakeContainer, http_server: StartServer
) -> None:
    server = http_server(sequence(500))
    with pytest.raises(Cancelled):
        service.restart("web", server.url, timeout=30, progress=Progress(cancel_after=2))
    assert len(server.requests) == 2
    [entry] = store.journal()
    assert (entry.action, entry.outcome) == ("restart", "failed")
    assert "cancelled" in entry.detail["error"]


def test_restart_with_an_exec_probe(
    service: HotfixService, engine: FakeEngine, web: FakeContainer
) -> None:
    engine.exec_result = (0, b"ok\n")
    result = service.restart("web", "exec:pg_isready -h 'local host'")
    assert result.healthy and result.result.detail == "exit 0: ok"
    assert engine.called("exec") == [("exec", web.id, ["pg_isready", "-h", "local host"])]


# --- probe without restart -----------------------------------------------------------------------


def test_probe_does_not_restart(
    service: HotfixService,
    engine: FakeEngine,
    store: StateStore,
    web: FakeContainer,
    http_server: StartServer,
) -> None:
    server = http_server(sequence(404, 200))
    result = service.probe("web", server.url + "/ready", timeout=5, expect_status=[200])
    assert engine.called("restart") == [] and engine.called("signal") == []
    assert (result.action, result.healthy, result.attempts) == ("probe", True, 2)
    [entry] = store.journal()
    assert (entry.action, entry.outcome, entry.detail["status"]) == ("probe", "ok", 200)


def test_probe_unhealthy_is_journalled(
    service: HotfixService, store: StateStore, web: FakeContainer
) -> None:
    port = free_port()
    result = service.probe("web", f"tcp:127.0.0.1:{port}", timeout=0.1)
    assert not result.healthy and "connection refused" in result.result.detail
    [entry] = store.journal()
    assert (entry.action, entry.outcome, entry.detail["healthy"]) == ("probe", "failed", False)
