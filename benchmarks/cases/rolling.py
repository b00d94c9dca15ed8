"""Failed requests during a rolling apply over 3 Swarm replicas of gunicorn + Flask.

A one-node Swarm runs a service of 3 replicas. Swarm's routing mesh does not answer on
127.0.0.1 on these machines (the ingress port refuses connections there), so every task
publishes its port in host mode and a bounded load loop per task (tests/live/load.py) GETs it
on 127.0.0.1 — all three replicas are under load the whole time.

One go-live is the user's flow: the fix saved in one task, ``hotfix restart`` there (the
default: gunicorn's master detected → HUP, proven), then ``hotfix apply --rolling`` to the
other two. Measured: failed requests (all three loads), save → the new version answering on
every replica, each replica's going-live time (signal → proven and probed), and the same
apply run again (every replica ``already fixed``: nothing written, nothing restarted).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.fleet.engines import Swarm, SwarmService
from tests.images.build import ensure_service_images
from tests.live.load import LoadLoop

from benchmarks.case import Case, Group, Variant, fmt_seconds
from benchmarks.cases.golive import _gunicorn_app, _marker, _pair
from benchmarks.context import Context, use_mode
from benchmarks.fleet import wait_http
from hotfix.docker.engines import Engines
from hotfix.fleet import ALREADY_FIXED, Fleet, Target
from hotfix.store.state import StateStore

REPLICAS = 3
APP = "/srv/app/app.py"
PORT = 8000
THREADS_PER_REPLICA = 2  # 6 threads in all, each a GET every PAUSE: ≤ 600 requests/s
PAUSE = 0.01
LOAD_LIMIT = 120.0  # seconds: the loops stop by themselves even if a go-live hangs
NEW_BODY_TIMEOUT = 30.0
SETTLE = 0.5  # seconds of load after the last replica answered the new version
FULL_REPS = 5
OLD_BODY = "gunicorn v1"


@dataclass
class Rolling:
    """The service under test, its tasks and what was measured of each go-live."""

    service: SwarmService
    tasks: list[Any]  # the task containers, the source first
    urls: list[str]
    fleet: Fleet
    warmup: int  # the first go-lives, left out of the table as the timing table leaves them
    version: int = 0
    loads: list[LoadLoop] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)  # per go-live, all replicas
    replica_seconds: list[float] = field(default_factory=list)  # each replica's going live
    apply_seconds: list[float] = field(default_factory=list)  # save → the apply returned
    again_seconds: list[float] = field(default_factory=list)  # the second, idle apply
    again_restarts: list[int] = field(default_factory=list)  # replicas it restarted
    steps: list[str] = field(default_factory=list)  # per go-live: each replica's going live


class RollingApply(Case):
    name = "rolling"
    title = "Failed requests during a rolling apply (3 Swarm replicas)"
    baseline = "none: 0 failed requests is the target"

    def __init__(self) -> None:
        self.state: Rolling | None = None

    def groups(self, ctx: Context) -> Iterator[Group]:
        image = ensure_service_images(ctx.client, log=lambda *a: None)["gunicorn"]
        swarm = Swarm(ctx.client, log=ctx.log)
        swarm.join()
        try:
            service = swarm.service(image, REPLICAS, publish=PORT, publish_mode="host")
            self.state = _rolling(ctx, service, ctx.config.warmup)
            yield self._group(ctx, self.state)
            ctx.log("rolling apply under load, the row of docs/performance.md:\n" + self.table())
        finally:
            if self.state is not None:
                _stop_loads(self.state)
            with contextlib.suppress(Exception):  # a task gone before it was listed
                swarm.leave()

    def notes(self, ctx: Context) -> list[str]:
        return [
            f"{REPLICAS} replicas of gunicorn + Flask (2 sync workers) as a Swarm service; "
            f"{THREADS_PER_REPLICA} load threads per replica on its host-mode port on "
            f"127.0.0.1, a new connection each, {PAUSE * 1e3:g} ms apart (the routing mesh "
            "does not answer on 127.0.0.1 here). A non-200 answer or a connection error is a "
            f"failed request, counted from before the save until {SETTLE:g} s after the last "
            "replica answered the new version.",
            "Timed: save in one task → the new version answering on all three (hotfix restart "
            "there, then apply --rolling to the other two; the default strategy, HUP, proven).",
        ]

    def table(self) -> str:
        s = self.state
        if s is None or len(s.failed) <= s.warmup:
            return "not measured"
        w, per_replica = s.warmup, REPLICAS * s.warmup
        failed, seconds, again = s.failed[w:], s.apply_seconds[w:], s.again_seconds[w:]
        return "\n".join(
            [
                "| going live by | failed requests p50 / p95 | per replica p50 / p95 "
                "| all 3 proven p50 / p95 | again (already fixed) p50 / p95, restarts |",
                "| --- | ---: | ---: | ---: | ---: |",
                f"| hotfix restart + apply --rolling (default: HUP) | {_pair(failed, str)} "
                f"| {_pair(s.replica_seconds[per_replica:], fmt_seconds)} "
                f"| {_pair(seconds, fmt_seconds)} "
                f"| {_pair(again, fmt_seconds)}, {sum(s.again_restarts[w:])} |",
            ]
        )

    def _group(self, ctx: Context, state: Rolling) -> Group:
        def after() -> None:
            _finish(state)
            variant.note = (
                f"failed requests {state.failed}; each replica's going live: "
                f"{' | '.join(state.steps)}; {_again(state)}"
            )

        variant = Variant(
            "rolling.swarm3.gunicorn",
            "hotfix write + restart + apply --rolling (3 Swarm replicas)",
            lambda: _go_live(state),
            setup=lambda: _prepare(state),
            after=after,
        )
        reps = 1 if ctx.config.quick else FULL_REPS
        title = f"rolling apply under load: {REPLICAS} Swarm replicas of gunicorn"
        return Group(title, [variant], variant.key, reps, ctx.config.warmup)


def _rolling(ctx: Context, service: SwarmService, warmup: int) -> Rolling:
    use_mode("fast")
    fleet = Fleet(Engines(watch=True), StateStore(ctx.workdir / "state" / "rolling"), "bench")
    tasks = sorted(service.containers(), key=lambda c: c.name)
    urls = []
    for task in tasks:
        task.reload()
        urls.append(f"http://127.0.0.1:{task.ports[f'{PORT}/tcp'][0]['HostPort']}/")
    for url in urls:
        wait_http(url, 60)
    return Rolling(service, tasks, urls, fleet, warmup)


def _prepare(state: Rolling) -> None:
    """Untimed: every replica back at the original (reverted and reloaded), under load."""
    _stop_loads(state)
    svc = state.fleet.service("default")
    for task in state.tasks:
        if svc.revert(task.id):
            result = svc.restart(task.id)
            if not result.healthy:
                raise RuntimeError(f"{task.name} unhealthy after its revert: {result.result}")
    state.loads = [
        LoadLoop(url, THREADS_PER_REPLICA, LOAD_LIMIT, pause=PAUSE) for url in state.urls
    ]
    for load in state.loads:
        load.start()
    for load in state.loads:
        if load.wait_for_body(OLD_BODY, 10) is None:
            raise RuntimeError(f"a replica does not answer the original\n{load.describe()}")


def _go_live(state: Rolling) -> None:
    """Timed: save in the first task, go live there, roll the fix to the other two."""
    state.version += 1
    marker = _marker(state.version)
    source, *targets = state.tasks
    svc = state.fleet.service("default")
    started = time.monotonic()
    svc.write(source.id, APP, _gunicorn_app(state.version))
    first = svc.restart(source.id)
    if not first.healthy:
        raise RuntimeError(f"{source.name} unhealthy: {first.result.detail}")
    result = state.fleet.apply(
        Target("default", source.name), [Target("default", t.name) for t in targets], rolling=True
    )
    state.apply_seconds.append(time.monotonic() - started)
    if not result.ok or result.warnings:
        raise RuntimeError(
            f"apply: {[(str(o.target), o.status, o.detail) for o in result.outcomes]}"
        )
    steps = [first] + [o.health for o in result.outcomes if o.health]
    state.replica_seconds += [step.seconds for step in steps]
    state.steps.append(
        ", ".join(f"{step.seconds:.2f} s ({step.attempts} probes)" for step in steps)
    )
    for load in state.loads:
        if load.wait_for_body(marker, NEW_BODY_TIMEOUT) is None:
            raise RuntimeError(f"version {state.version} never answered\n{load.describe()}")


def _finish(state: Rolling) -> None:
    """Untimed: the failed requests of this go-live, then the same apply again (idle)."""
    time.sleep(SETTLE)
    _stop_loads(state)
    state.failed.append(sum(load.failed for load in state.loads))
    source, *targets = state.tasks
    started = time.monotonic()
    again = state.fleet.apply(
        Target("default", source.name), [Target("default", t.name) for t in targets], rolling=True
    )
    state.again_seconds.append(time.monotonic() - started)
    state.again_restarts.append(sum(o.status != ALREADY_FIXED for o in again.outcomes))


def _again(state: Rolling) -> str:
    if not state.again_seconds:
        return ""
    return (
        f"the same apply again: {fmt_seconds(state.again_seconds[-1])}, "
        f"{state.again_restarts[-1]} replica(s) not already fixed"
    )


def _stop_loads(state: Rolling) -> None:
    for load in state.loads:
        load.stop()


__all__ = ["RollingApply"]
