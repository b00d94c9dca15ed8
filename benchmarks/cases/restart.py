"""Save → healthy for the incident's uWSGI service: hotfix vs docker cp + restart + a curl loop."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks.case import Case, Group, Target, Variant, fmt_seconds
from benchmarks.context import MODE_LABEL, MODES, Context, Mode, use_mode
from benchmarks.dockercli import DOCKER, bash, cp_in, hotfix_cli, restart_and_curl
from benchmarks.fleet import free_port, wait_http
from benchmarks.timing import Breakdown
from hotfix.service.files import HotfixService
from hotfix.store.state import version_of

APP = "/usr/src/app/app.py"
PORT = 8001
OVERHEAD = 0.100  # seconds over the bare docker flow
REPO = Path(__file__).resolve().parents[2]
APP_SOURCE = REPO / "tests" / "images" / "my_prod_service" / "app.py"


def fixed_app(variant: int = 0) -> bytes:
    """app.py with the incident fixed; ``variant`` changes a comment so each save differs."""
    text = APP_SOURCE.read_text().replace("cause_a_problem = True", "cause_a_problem = False")
    return (text + f"# hotfix benchmark save {variant}\n").encode()


@dataclass
class AppFile:
    """The live app.py, saved in turn by several variants: its version is shared."""

    local_dir: Path
    version: str
    turn: int = 0

    def next(self) -> tuple[bytes, Path]:
        self.turn += 1
        data = fixed_app(self.turn % 2)
        path = self.local_dir / f"app-{self.turn % 2}.py"
        path.write_bytes(data)
        return data, path

    def saved(self, data: bytes) -> None:
        self.version = version_of(data)


class SaveToHealthy(Case):
    name = "restart"
    title = "Save → healthy (uWSGI service)"
    baseline = (
        "`docker cp` + `docker restart` + a curl loop (`until curl -fsS …; do sleep 0.1; done`), "
        "one bash script"
    )

    def __init__(self) -> None:
        self.restart = _Restarter()

    def groups(self, ctx: Context) -> Iterator[Group]:
        port = free_port()
        container = ctx.fleet.run(ctx.images["prod"], "restart", port=PORT, host_port=port)
        url = f"http://127.0.0.1:{port}/"
        try:
            wait_http(url, 60)
            app = AppFile(ctx.workdir, version_of(APP_SOURCE.read_bytes()))
            self._save_docker(container.name, url, app, ctx.config.curl_interval)  # fixed, healthy
            yield self._restart_group(ctx, container, url)
            yield self._save_group(ctx, container, url, app)
        finally:
            ctx.fleet.remove(container)

    def notes(self, ctx: Context) -> list[str]:
        return [
            "The service is my_prod_service:v1.0.0 (uWSGI, --die-on-term) on a fixed "
            "127.0.0.1 port; each save writes a fixed app.py (a comment differs each time).",
            "hotfix's probe is HTTP GET / on the published port, polled at 50 ms growing "
            "×1.5 up to 0.5 s; the curl loop polls every "
            f"{ctx.config.curl_interval:g} s.",
            f"In-process restarts, medians: {self.restart.summary()}.",
            "The CLI rows include starting Python: the resident process's rows the launcher "
            "(≈25 ms) and a fork; the own-process row also imports hotfix with docker-py "
            "and requests (≈0.3 s here), which the curl script does not pay.",
        ]

    def _restart_group(self, ctx: Context, container: Any, url: str) -> Group:
        svc = ctx.service("fast")
        env, own = ctx.env("fast", "cli"), ctx.own_process_env("fast", "cli")
        variants = [
            Variant(
                "restart.core",
                "hotfix restart + probe, in-process",
                partial(self.restart, svc, container.id),
                partial(use_mode, "fast"),
                profile=True,
            ),
            Variant(
                "restart.cli",
                "hotfix restart (CLI, resident process)",
                partial(hotfix_cli, "restart", container.name, env=env),
            ),
            Variant(
                "restart.cli-own",
                "hotfix restart (CLI, own process: HOTFIX_DAEMON=off)",
                partial(hotfix_cli, "restart", container.name, env=own),
            ),
            Variant(
                "restart.docker",
                "docker restart + curl loop",
                partial(restart_and_curl, container.name, url, ctx.config.curl_interval),
            ),
            Variant(
                "restart.docker-only",
                "docker restart alone (no probe)",
                partial(bash, f"{DOCKER} restart {container.name} >/dev/null"),
                after=partial(wait_http, url, 60),
            ),
        ]
        targets = [
            Target(
                f"restart → healthy{label} ≤ docker restart + curl loop + 100 ms",
                key,
                "overhead",
                OVERHEAD,
                "restart.docker",
            )
            for key, label in (("restart.core", ""), ("restart.cli", " (CLI)"))
        ]
        reps = ctx.config.restart_reps
        return Group(
            "restart → healthy", variants, "restart.docker", reps, ctx.config.warmup, targets
        )

    def _save_group(self, ctx: Context, container: Any, url: str, app: AppFile) -> Group:
        variants = [self._save_core(ctx, container.id, mode, app) for mode in MODES]
        variants += [
            self._save_cli(ctx, container.name, app),
            Variant(
                "save.docker",
                "docker cp + docker restart + curl loop",
                partial(self._save_docker, container.name, url, app, ctx.config.curl_interval),
            ),
        ]
        targets = [
            Target(
                f"save → healthy ({label}) ≤ docker cp + restart + curl loop + 100 ms",
                key,
                "overhead",
                OVERHEAD,
                "save.docker",
            )
            for key, label in (
                ("save.core.fast", "in-process, fast path"),
                ("save.core.archive", "in-process, archive API"),
                ("save.cli", "CLI"),
            )
        ]
        reps = ctx.config.restart_reps
        return Group("save → healthy", variants, "save.docker", reps, ctx.config.warmup, targets)

    def _save_core(self, ctx: Context, cid: str, mode: Mode, app: AppFile) -> Variant:
        svc = ctx.service(mode)

        def save() -> None:
            data, _ = app.next()
            svc.write(cid, APP, data, base_version=app.version)
            app.saved(data)
            self.restart(svc, cid)

        label = f"hotfix save + restart + probe, in-process ({MODE_LABEL[mode]})"
        return Variant(f"save.core.{mode}", label, save, partial(use_mode, mode), profile=True)

    def _save_cli(self, ctx: Context, name: str, app: AppFile) -> Variant:
        env = ctx.env("fast", "cli")

        def save() -> None:
            _, local = app.next()
            out = hotfix_cli(
                "write",
                "--json",
                f"{name}:{APP}",
                str(local),
                "--base-version",
                app.version,
                env=env,
            )
            app.version = json.loads(out)["version"]
            hotfix_cli("restart", name, env=env)

        return Variant("save.cli", "hotfix write + hotfix restart (CLI, resident process)", save)

    @staticmethod
    def _save_docker(name: str, url: str, app: AppFile, interval: float) -> None:
        data, local = app.next()
        cp_in(str(local), name, APP)
        app.saved(data)
        restart_and_curl(name, url, interval)


class _Restarter:
    """svc.restart, asserting healthy, with the Engine's restart call timed apart."""

    def __init__(self) -> None:
        self.breakdown = Breakdown()
        self.attempts = Breakdown()

    def __call__(self, svc: HotfixService, cid: str) -> None:
        self._instrument(svc.engine)
        with self.breakdown.step("restart + probe"):
            res = svc.restart(cid)
        if not res.healthy:
            raise RuntimeError(f"not healthy after restart: {res.result.detail}")
        self.attempts.add("probe attempts", res.attempts)

    def _instrument(self, engine: Any) -> None:
        if getattr(engine, "_bench_timed", False):
            return
        original = engine.restart

        def restart(*args: Any, **kwargs: Any) -> Any:
            with self.breakdown.step("of which Engine.restart"):
                return original(*args, **kwargs)

        engine.restart, engine._bench_timed = restart, True

    def summary(self) -> str:
        steps = self.breakdown.medians()
        attempts = self.attempts.medians().get("probe attempts", 0)
        return ", ".join(
            [
                f"{k} {fmt_seconds(steps[k])}"
                for k in ("restart + probe", "of which Engine.restart")
                if k in steps
            ]
            + [f"probe attempts {attempts:g}"]
        )


__all__ = ["SaveToHealthy"]
