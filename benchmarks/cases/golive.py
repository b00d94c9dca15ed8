"""Failed requests during going live: a fix saved and put live on a real server under load.

For each server (uWSGI, gunicorn + Flask, nginx) three ways of going live are compared while
a bounded load loop (tests/live/load.py: 4 threads, a new connection per GET, 127.0.0.1 only)
runs: the seed's manual flow (``docker cp`` + ``docker restart``), ``hotfix restart`` (its
default: the detected reload, checked and proven) and ``hotfix restart --signal HUP``. The time
measured is save → the first answer of the new version seen by the load; the failed requests
(non-200 answers and connection errors) of each go-live are counted beside it, and for hotfix
the time until it returned the new version proven live.

For nginx two more ways: its own reload (the save, then ``docker kill -s HUP`` through the
Engine API, in-process like hotfix, until its old workers have exited), the yardstick of the
target "save → proven live ≤ the server's own reload + 100 ms"; and ``--no-check`` (the proof
without the pre-flight ``nginx -t``, to show what that exec costs).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from tests.images.build import PROD_DIR, SERVICES_DIR, ensure_service_images
from tests.live.load import LoadLoop

from benchmarks.case import Case, Group, Target, Variant, fmt_seconds
from benchmarks.context import Context, use_mode
from benchmarks.dockercli import DOCKER, bash, cp_in
from benchmarks.fleet import free_port, wait_http
from benchmarks.timing import percentile
from hotfix.service.files import HotfixService
from hotfix.service.processes import host_processes

THREADS = 4
PAUSE = 0.01  # seconds between one thread's requests: ≤ 400 requests/s in all, modest CPU
LOAD_LIMIT = 120.0  # seconds: the loop stops by itself even if a go-live hangs
NEW_BODY_TIMEOUT = 30.0
SETTLE = 0.5  # seconds of load after the new version answered: late failures count too
FULL_REPS = 5
PROOF_OVERHEAD = 0.1  # seconds: save → proven live ≤ the server's own reload + this


def _marker(n: int) -> str:
    return f"[golive {n}]"  # bracketed: "golive 1" must not match "golive 12"


def _python_source(text: str, n: int) -> bytes:
    """Each version a size of its own: Python reuses a module's bytecode while its source
    keeps its whole-second mtime and size, and the seed's ``docker cp`` flow keeps the local
    file's mtime (hotfix's own saves wait out that second: tests/live/test_going_live.py)."""
    return (text + f"# version {n}{'.' * n}\n").encode()


def _uwsgi_app(n: int) -> bytes:
    text = (PROD_DIR / "app.py").read_text().replace("= True", "= False")
    return _python_source(text.replace('b"Hello World"', f'b"Hello World {_marker(n)}"'), n)


def _gunicorn_app(n: int) -> bytes:
    text = (SERVICES_DIR / "gunicorn" / "app.py").read_text()
    return _python_source(text.replace("gunicorn v1", f"gunicorn {_marker(n)}"), n)


def _nginx_site(n: int) -> bytes:
    text = (SERVICES_DIR / "nginx" / "site.conf").read_text()
    page = f'\tlocation = / {{\n\t\treturn 200 "hotfix-test nginx {_marker(n)}\\n";\n\t}}\n\n'
    return text.replace("\tlocation / {", page + "\tlocation / {").encode()


@dataclass(frozen=True)
class Server:
    key: str
    label: str
    image: str  # logical name (ensure_images / ensure_service_images)
    port: int
    path: str  # the file a fix changes
    content: Callable[[int], bytes]  # the file whose service answers _marker(n)
    extra: tuple[str, ...] = ()  # flows measured for this server only


SERVERS = (
    Server("uwsgi", "uWSGI", "prod", 8001, "/usr/src/app/app.py", _uwsgi_app),
    Server("gunicorn", "gunicorn + Flask", "gunicorn", 8000, "/srv/app/app.py", _gunicorn_app),
    Server(
        "nginx",
        "nginx",
        "nginx",
        80,
        "/etc/nginx/sites-available/default",
        _nginx_site,
        ("reload", "nocheck"),
    ),
)

FLOWS = {  # key → label
    "docker": "docker cp + docker restart",
    "restart": "hotfix write + hotfix restart (default)",
    "hup": "hotfix write + hotfix restart --signal HUP",
    "reload": "hotfix write + docker kill -s HUP until its old workers exit (its own reload)",
    "nocheck": "hotfix write + hotfix restart --no-check",
}
PROVEN_FLOWS = ("restart", "hup", "nocheck", "reload")


@dataclass
class Live:
    """One server's container under test and the version its file is at."""

    server: Server
    container: Any
    url: str
    workdir: Path
    version: int = 0
    load: LoadLoop | None = None

    def next_content(self) -> tuple[int, Path]:
        self.version += 1
        local = self.workdir / f"{self.server.key}-{self.version}"
        local.write_bytes(self.server.content(self.version))
        return self.version, local


class GoingLiveUnderLoad(Case):
    name = "golive"
    title = "Failed requests during going live (baseline)"
    baseline = "the seed's manual flow: `docker cp` + `docker restart`, under the same load"

    def __init__(self) -> None:
        self.timed: dict[str, _GoLive] = {}

    def groups(self, ctx: Context) -> Iterator[Group]:
        images = {**ctx.images, **ensure_service_images(ctx.client, log=lambda *a: None)}
        for server in SERVERS:
            live = self._start(ctx, server, images[server.image])
            try:
                yield self._group(ctx, live)
            finally:
                _stop_load(live)
                ctx.fleet.remove(live.container)
        ctx.log("going live under load, the table of docs/performance.md:\n" + self.table())

    def notes(self, ctx: Context) -> list[str]:
        return [
            f"Load: {THREADS} threads GET / on the published 127.0.0.1 port, a new connection "
            f"each, {PAUSE * 1e3:g} ms apart per thread; a non-200 answer or a connection error "
            f"is a failed request. Counted from before the save until {SETTLE:g} s after the new "
            "version first answered.",
            "The time is save → the first answer of the new version seen by the load. hotfix "
            "rows call the service in-process (the CLI adds its launcher, see the restart case).",
            "uWSGI is my_prod_service (--master --die-on-term); gunicorn runs 2 sync workers; "
            "nginx-light re-reads its config on HUP. Images: tests/images/README.md.",
        ]

    def table(self) -> str:
        """The Markdown table of failed requests and time to the new version."""
        rows = [
            "| server | going live by | failed requests p50 / p95 | new version after p50 / p95 "
            "| proven live (own reload: done) after p50 / p95 |",
            "| --- | --- | ---: | ---: | ---: |",
        ]
        for server in SERVERS:
            for flow in _flows(server):
                timed = self.timed.get(f"golive.{server.key}.{flow}")
                failed = _pair(timed.measured(timed.failed), str) if timed else "—"
                times = _pair(timed.measured(timed.samples), fmt_seconds) if timed else "—"
                proven = _pair(timed.measured(timed.proven), fmt_seconds) if timed else "—"
                rows.append(
                    f"| {server.label} | {FLOWS[flow]} | {failed} | {times} "
                    f"| {proven if flow in PROVEN_FLOWS else '—'} |"
                )
        return "\n".join(rows)

    # ------------------------------------------------------------------ set-up

    def _start(self, ctx: Context, server: Server, image: str) -> Live:
        port = free_port()
        container = ctx.fleet.run(image, f"golive-{server.key}", port=server.port, host_port=port)
        live = Live(server, container, f"http://127.0.0.1:{port}/", ctx.workdir)
        wait_http(live.url, 60)
        # Version 1 goes live untimed, so every measured go-live starts from a 200.
        _, local = live.next_content()
        cp_in(str(local), container.name, server.path)
        bash(f"{DOCKER} restart {container.name} >/dev/null")
        _wait_for_marker(live, 1)
        return live

    def _group(self, ctx: Context, live: Live) -> Group:
        svc = ctx.service("fast")
        steps: dict[str, Callable[[int, Path], None]] = {
            "docker": partial(_docker_flow, live),
            "restart": partial(_hotfix_flow, svc, live, None),
            "hup": partial(_hotfix_flow, svc, live, "HUP"),
            "reload": partial(_reload_flow, svc, live),
            "nocheck": partial(_hotfix_flow, svc, live, None, no_check=True),
        }
        warmup = ctx.config.warmup
        variants = [self._variant(live, flow, steps[flow], warmup) for flow in _flows(live.server)]
        reps = 1 if ctx.config.quick else FULL_REPS
        title = f"going live under load: {live.server.label}"
        key = f"golive.{live.server.key}"
        targets = [
            Target(
                f"{live.server.label}: save → proven live{label} ≤ its own reload + 100 ms",
                f"{key}.{flow}",
                "overhead",
                PROOF_OVERHEAD,
                f"{key}.reload",
            )
            for flow, label in (("restart", ""), ("nocheck", " (--no-check)"))
            if "reload" in live.server.extra
        ]
        return Group(title, variants, f"{key}.docker", reps, warmup, targets)

    def _variant(
        self, live: Live, flow: str, step: Callable[[int, Path], None], warmup: int
    ) -> Variant:
        key = f"golive.{live.server.key}.{flow}"
        timed = self.timed[key] = _GoLive(live, step, warmup)

        def after() -> None:
            timed.finish()
            variant.note = timed.summary()

        variant = Variant(key, FLOWS[flow], timed, setup=timed.prepare, after=after)
        return variant


class _GoLive:
    """One go-live under load: ``prepare`` starts the load, the call saves and waits for the
    new version, ``finish`` stops the load and returns its failed requests."""

    def __init__(self, live: Live, step: Callable[[int, Path], None], warmup: int) -> None:
        self.live, self.step, self.warmup = live, step, warmup
        self.next: tuple[int, Path] | None = None
        self.samples: list[float] = []  # save → first answer of the new version, seconds
        self.proven: list[float] = []  # save → the step returned (hotfix: proven live)
        self.failed: list[int] = []  # failed requests, one count per go-live

    def measured(self, values: list[Any]) -> list[Any]:
        """Without the warm-up rounds (as the timing table)."""
        return values[self.warmup :]

    def summary(self) -> str:
        counts = self.measured(self.failed)
        if not counts:
            return "failed requests: not measured"
        return f"failed requests p50 {_pair(counts, str).replace(' / ', ', p95 ')} {counts}"

    def prepare(self) -> None:
        use_mode("fast")
        _stop_load(self.live)  # one left by a go-live that failed
        load = LoadLoop(self.live.url, THREADS, LOAD_LIMIT, pause=PAUSE)
        self.live.load = load.start()
        if load.wait_for_body(_marker(self.live.version), 10) is None:
            raise RuntimeError(f"the service does not answer before going live\n{load.describe()}")
        self.next = self.live.next_content()

    def __call__(self) -> None:
        assert self.next is not None and self.live.load is not None
        version, local = self.next
        started = time.monotonic()
        self.step(version, local)
        self.proven.append(time.monotonic() - started)
        seen = self.live.load.wait_for_body(_marker(version), NEW_BODY_TIMEOUT)
        if seen is None:
            raise RuntimeError(f"version {version} never answered\n{self.live.load.describe()}")
        self.samples.append(seen - started)

    def finish(self) -> None:
        time.sleep(SETTLE)
        load = self.live.load
        _stop_load(self.live)
        self.failed.append(load.failed if load is not None else 0)


def _docker_flow(live: Live, version: int, local: Path) -> None:
    cp_in(str(local), live.container.name, live.server.path)
    bash(f"{DOCKER} restart {live.container.name} >/dev/null")


def _hotfix_flow(
    svc: HotfixService,
    live: Live,
    signal: str | None,
    version: int,
    local: Path,
    no_check: bool = False,
) -> None:
    svc.write(live.container.id, live.server.path, local.read_bytes())
    result = svc.restart(live.container.id, signal=signal, no_check=no_check)
    if not result.healthy:
        raise RuntimeError(f"not healthy after going live: {result.result.detail}")


def _reload_flow(svc: HotfixService, live: Live, version: int, local: Path) -> None:
    """The server's own reload, complete: the same save, the signal alone, then until its old
    workers have exited (watched in /proc every millisecond; nothing checked or probed).
    nginx's master waits 100 ms after starting the new workers before it tells the old ones
    to quit, so the old version answers for that long after the new one first did."""
    svc.write(live.container.id, live.server.path, local.read_bytes())
    master = svc.engine.inspect(live.container.id).info.pid
    old = _workers(master)
    svc.engine.signal(live.container.id, "HUP")
    deadline = time.monotonic() + NEW_BODY_TIMEOUT
    while _workers(master) & old:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{live.server.label}'s old workers never exited")
        time.sleep(0.001)


def _workers(master: int) -> set[int]:
    return {p.pid for p in host_processes(master) if p.ppid == master}


def _flows(server: Server) -> tuple[str, ...]:
    return ("docker", "restart", "hup", *server.extra)


def _wait_for_marker(live: Live, version: int) -> None:
    with LoadLoop(live.url, threads=1, duration=NEW_BODY_TIMEOUT, pause=0.05) as probe:
        if probe.wait_for_body(_marker(version), NEW_BODY_TIMEOUT) is None:
            raise RuntimeError(f"{live.server.label} never served version {version}")


def _stop_load(live: Live) -> None:
    if live.load is not None:
        live.load.stop()
        live.load = None


def _pair(values: list[Any], fmt: Callable[[Any], str]) -> str:
    if not values:
        return "—"
    return f"{fmt(percentile(values, 50))} / {fmt(percentile(values, 95))}"


__all__ = ["GoingLiveUnderLoad"]
