"""Going live (issue 16): the server detected from processes, the strategy and why, the check,
the proof that the serving processes are new — pure parts, then through the service."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from hotfix.core.errors import UsageError
from hotfix.core.model import ContainerInfo
from hotfix.core.probes import (
    AllProbes,
    ProbeResult,
    parse_probe,
    wait_until_healthy,
    with_expected_body,
)
from hotfix.service.files import HotfixService
from hotfix.service.golive import (
    choose_check,
    choose_strategy,
    detect_server,
    parse_check,
    wait_until_new,
)
from hotfix.service.processes import Listing, Process, host_processes
from tests.unit.fakes import FakeContainer, FakeEngine
from tests.unit.helpers import LocalServer, Responder

OLD = time.time() - 3600


def listing(*rows: tuple[int, int, str], init: int = 1) -> Listing:
    return Listing(init, [Process(pid, ppid, OLD, args) for pid, ppid, args in rows], 0.01)


def info(**labels: str) -> ContainerInfo:
    return ContainerInfo(
        id="c" * 64, name="web", image="i", image_id="sha256:i", state="running", labels=labels
    )


UWSGI = listing(
    (1, 0, "uwsgi --plugins python3,http --http-socket :8001 --wsgi-file app.py --master"),
    (7, 1, "uwsgi --plugins python3,http --http-socket :8001 --wsgi-file app.py --master"),
)


@pytest.mark.parametrize(
    ("processes", "how", "why"),
    [
        (UWSGI, "signal HUP", "uWSGI master detected"),
        (listing((1, 0, "uwsgi --http-socket :8001 --wsgi-file app.py")), "restart",
         "uWSGI without --master can't reload: restart"),
        (listing((1, 0, "/usr/bin/python3 /usr/bin/gunicorn -b :8000 app:app"),
                 (8, 1, "/usr/bin/python3 /usr/bin/gunicorn -b :8000 app:app")),
         "signal HUP", "gunicorn master detected"),
        (listing((1, 0, "nginx: master process nginx -g daemon off;"),
                 (9, 1, "nginx: worker process")), "signal HUP", "nginx master detected"),
        (listing((1, 0, "apache2 -k start"), (5, 1, "apache2 -k start")), "signal USR1",
         "Apache master detected"),
        (listing((1, 0, "httpd -DFOREGROUND"), (7, 1, "httpd -DFOREGROUND")), "signal USR1",
         "Apache master detected"),
        (listing((1, 0, "/bin/httpd -f -p 8080 -h /www")), "restart",
         "no known server: restart"),  # busybox's httpd applet
        (listing((1, 0, "php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)"),
                 (4, 1, "php-fpm: pool www")), "signal USR2", "php-fpm master detected"),
        (listing((1, 0, "/sbin/docker-init -- nginx -g daemon off;"),
                 (6, 1, "nginx: master process nginx -g daemon off;")),
         "signal HUP", "nginx master detected"),
        (listing((1, 0, "/bin/sh -c nginx"), (6, 1, "nginx: master process nginx")),
         "restart", "the nginx master is not PID 1, so a signal would miss it: restart"),
        (listing((1, 0, "node /app/server.js")), "restart", "no known server: restart"),
    ],
)  # fmt: skip
def test_the_strategy_follows_the_detected_server(processes: Listing, how: str, why: str) -> None:
    strategy = choose_strategy(info(), detect_server(processes))
    assert (strategy.how, strategy.why) == (how, why)


def test_options_and_the_label_come_before_the_detected_server() -> None:
    detected = detect_server(UWSGI)
    assert choose_strategy(info(), detected, restart=True).why == "--restart given"
    given = choose_strategy(info(), detected, signal="TERM")
    assert (given.how, given.why) == ("signal TERM", "--signal given")
    labelled = choose_strategy(info(**{"hotfix.reload": "restart"}), detected)
    assert (labelled.how, labelled.why) == ("restart", "label hotfix.reload")
    labelled = choose_strategy(info(**{"hotfix.reload": "signal:USR1"}), None)
    assert labelled.how == "signal USR1"
    with pytest.raises(UsageError, match=r"hotfix\.reload='reload' not understood"):
        choose_strategy(info(**{"hotfix.reload": "reload"}), None)
    with pytest.raises(UsageError, match="exclude"):
        choose_strategy(info(), None, restart=True, signal="HUP")
    unknown = choose_strategy(info(), None, unknown="web is exited")
    assert (unknown.how, unknown.why) == ("restart", "web is exited: restart")


def test_the_check_comes_from_the_option_the_label_or_the_server() -> None:
    nginx = detect_server(listing((1, 0, "nginx: master process nginx")))
    server = nginx.server if nginx else None
    default = choose_check(info(), server)
    assert default and (default.command, default.why) == ("nginx -t", "nginx's config test")
    given = choose_check(info(), server, check="exec:nginx -t -c '/etc/my nginx.conf'")
    assert given and given.argv == ("nginx", "-t", "-c", "/etc/my nginx.conf")
    labelled = choose_check(info(**{"hotfix.check": "python3 -m py_compile app.py"}), None)
    assert labelled and labelled.why == "label hotfix.check"
    assert choose_check(info(), server, no_check=True) is None
    assert choose_check(info(), None) is None
    with pytest.raises(UsageError, match="no command"):
        parse_check("exec:  ", "--check given")


def test_the_proof_waits_for_new_workers_and_says_when_they_never_came() -> None:
    since = time.time()
    looks = iter([UWSGI, UWSGI, replace_started(UWSGI, 7, since + 0.5)])
    proof = wait_until_new(lambda: next(looks), since, 5.0, lambda: False)
    assert (proof.applied, proof.reason) == (True, "")

    nginx = listing((1, 0, "nginx: master process nginx"), (9, 1, "nginx: worker process"))
    started = time.monotonic()
    proof = wait_until_new(lambda: nginx, since, 0.3, lambda: False, " (its config test failed?)")
    assert proof.applied is False and time.monotonic() - started < 2
    assert proof.reason == (
        "not applied: nginx's workers did not restart (its config test failed?); "
        "old still running: 9"
    )


def replace_started(old: Listing, pid: int, started: float) -> Listing:
    processes = [
        Process(p.pid, p.ppid, started, p.args) if p.pid == pid else p for p in old.processes
    ]
    return Listing(old.init_pid, processes, old.resolution)


def test_start_times_known_to_the_second_count_from_that_second() -> None:
    process = Process(2, 1, 1000.0, "x")
    coarse = Listing(1, [process], 1.0)
    assert coarse.started_after(process, 1000.7) and not coarse.started_after(process, 1001.0)
    fine = Listing(1, [process], 0.01)
    assert not fine.started_after(process, 1000.7)


def test_host_processes_reads_a_proc_tree(tmp_path: Path) -> None:
    def add(pid: int, ppid: int, start: int, cmdline: bytes, comm: str = "x") -> None:
        entry = tmp_path / str(pid)
        entry.mkdir()
        rest = " ".join(["S", str(ppid), *["0"] * 17, str(start), "0"])
        (entry / "stat").write_text(f"{pid} ({comm}) {rest}\n")
        (entry / "cmdline").write_bytes(cmdline)

    add(10, 1, 500, b"nginx: master process nginx\0", comm="ng (x) y")
    add(11, 10, 900, b"nginx: worker process\0")
    add(12, 1, 100, b"/usr/sbin/sshd\0-D\0")  # not the container's
    add(13, 11, 950, b"")  # no command line: its name
    found = host_processes(10, tmp_path)
    ticks = os.sysconf("SC_CLK_TCK")
    assert [(p.pid, p.ppid, p.started * ticks, p.args) for p in found] == [
        (10, 1, 500, "nginx: master process nginx"),
        (11, 10, 900, "nginx: worker process"),
        (13, 11, 950, "[x]"),
    ]
    with pytest.raises(FileNotFoundError):
        host_processes(99, tmp_path)


# --- all probes, the expected body, 5xx in a row -------------------------------------------------


def test_all_probes_must_pass_and_the_body_must_hold_the_fix(
    http_server: Callable[[Responder], LocalServer],
) -> None:
    server = http_server(lambda path: (200, {}))  # its body: "status 200"
    url = f"http://127.0.0.1:{server.port}/"
    both = AllProbes((parse_probe(url), parse_probe(f"tcp:127.0.0.1:{server.port}")))
    assert both.check().ok and both.check().status == 200
    closed = AllProbes((parse_probe(url), parse_probe("tcp:127.0.0.1:1")))
    assert not closed.check().ok and closed.check().detail.startswith("tcp:127.0.0.1:1: ")
    wants = with_expected_body([parse_probe(url)], "status 201")
    assert wants[0].check().detail == "HTTP 200 OK; body lacks 'status 201'"
    assert with_expected_body([parse_probe(url)], "status 200")[0].check().ok
    assert with_expected_body([parse_probe(url)], regex=r"^status \d+$")[0].check().ok
    unmatched = with_expected_body([parse_probe(url)], regex=r"^v\d")[0].check()
    assert unmatched.detail == r"HTTP 200 OK; body does not match '^v\\d'"
    with pytest.raises(UsageError, match="need an http"):
        with_expected_body([parse_probe("tcp:127.0.0.1:1")], "x")


def test_a_5xx_repeated_ends_the_wait_early(
    http_server: Callable[[Responder], LocalServer],
) -> None:
    server = http_server(lambda path: (500, {}))
    probe = parse_probe(f"http://127.0.0.1:{server.port}/")
    started = time.monotonic()
    healthy, last, _, attempts = wait_until_healthy(probe, 30, fail_after_5xx=3)
    assert not healthy and attempts == 3 and time.monotonic() - started < 5
    assert last.detail == "HTTP 500 Internal Server Error 3 times in a row: a definite failure"
    assert isinstance(last, ProbeResult)


@pytest.fixture
def ok_url(http_server: Callable[[Responder], LocalServer]) -> str:
    return http_server(lambda path: (200, {})).url + "/"


# --- through the service -------------------------------------------------------------------------


NGINX = [
    (4242, 0, OLD, "nginx: master process nginx -g daemon off;"),
    (4300, 4242, OLD, "nginx: worker process"),
]


def test_restart_reloads_a_detected_server_after_its_check(
    service: HotfixService, engine: FakeEngine, web: FakeContainer, ok_url: str
) -> None:
    web.processes = list(NGINX)
    result = service.restart(web.name, ok_url)
    assert (result.action, result.why, result.applied, result.healthy) == (
        "signal HUP", "nginx master detected", True, True,
    )  # fmt: skip
    assert result.check and (result.check.command, result.check.passed) == ("nginx -t", True)
    assert engine.called("exec")[0][2] == ["nginx", "-t"]
    entry = next(e for e in service.journal(web.name) if e.action == "restart")
    assert entry.detail["why"] == "nginx master detected"
    assert entry.detail["check"] == {"command": "nginx -t", "exit": 0}


def test_a_failing_check_refuses_and_touches_nothing(
    service: HotfixService, engine: FakeEngine, web: FakeContainer, ok_url: str
) -> None:
    web.processes = list(NGINX)
    web.env = ["SECRET=hunter22"]
    engine.exec_result = (1, b"nginx: [emerg] unknown directive hunter22\n")
    result = service.restart(web.name, ok_url, revert_on_failure=True)
    assert (result.refused, result.healthy, result.reverted) == (True, False, [])
    assert result.reason == "check failed: nginx -t exited 1; nothing went live"
    assert result.check and "hunter22" not in result.check.output
    assert not engine.called("signal") and not engine.called("restart")


def test_a_reload_whose_workers_stay_is_not_applied(
    service: HotfixService, engine: FakeEngine, web: FakeContainer, ok_url: str
) -> None:
    web.processes = list(NGINX)
    web.reload_applies = False
    result = service.restart(web.name, ok_url, no_check=True, timeout=1.5)
    assert (result.applied, result.healthy, result.attempts) == (False, False, 0)
    assert result.reason and result.reason.startswith(
        "not applied: nginx's workers did not restart (its config test failed?)"
    )


def test_processes_unknown_restart_with_a_note(
    service: HotfixService, engine: FakeEngine, web: FakeContainer, ok_url: str
) -> None:
    web.state = "exited"
    result = service.restart(web.name, ok_url)
    assert (result.action, result.why, result.healthy) == (
        "restart",
        "web is exited: restart",
        True,
    )
