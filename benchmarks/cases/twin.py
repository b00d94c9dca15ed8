"""Try → verdict for the incident's uWSGI service: `hotfix try` (a twin created, filled,
started and probed on its own loopback, then removed) against that service's own
`docker restart` → healthy (the issue's bar: at most 0.5 s more)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

from benchmarks.case import Case, Group, Target, Variant
from benchmarks.cases.restart import APP, PORT, AppFile, fixed_app
from benchmarks.context import Context, use_mode
from benchmarks.dockercli import cp_in, hotfix_cli, restart_and_curl
from benchmarks.fleet import free_port, wait_http
from hotfix.service.files import HotfixService
from hotfix.service.twin import TryFile, TryOptions, TwinTrial
from hotfix.store.state import version_of

OVERHEAD = 0.500  # seconds over the service's own docker restart → healthy


class TryInTwin(Case):
    name = "try"
    title = "Try → verdict in a twin (uWSGI service)"
    baseline = "`docker restart` of the service + a curl loop until healthy, one bash script"

    def groups(self, ctx: Context) -> Iterator[Group]:
        port = free_port()
        container = ctx.fleet.run(ctx.images["prod"], "try", port=PORT, host_port=port)
        url = f"http://127.0.0.1:{port}/"
        try:
            wait_http(url, 60)
            app = AppFile(ctx.workdir, version_of(fixed_app()))
            _, local = app.next()
            cp_in(str(local), container.name, APP)  # fixed: the restart baseline gets healthy
            restart_and_curl(container.name, url, ctx.config.curl_interval)
            yield self._group(ctx, container, url, app)
        finally:
            ctx.fleet.remove(container)

    def notes(self, ctx: Context) -> list[str]:
        return [
            "Each try makes a twin of my_prod_service (its image + its container diff + a "
            "fixed app.py; network none, no mounts), starts it, probes HTTP GET / on the "
            "twin's own 127.0.0.1:8001 from a thread in its network namespace (50 ms "
            "growing ×1.5), and removes it; every row times all of it, the removal too (the "
            "verdict itself comes before the removal), the CLI row also the CLI's start-up.",
            "The baseline restarts the same service and curls its published port every "
            f"{ctx.config.curl_interval:g} s until it answers.",
        ]

    def _group(self, ctx: Context, container: Any, url: str, app: AppFile) -> Group:
        svc = ctx.service("fast")
        env = ctx.env("fast", "cli")

        def try_cli() -> None:
            _, local = app.next()
            hotfix_cli("try", f"{container.name}:{APP}", str(local), env=env)

        variants = [
            Variant(
                "try.core",
                "hotfix try → verdict, in-process",
                partial(_try, svc, container.id, app),
                partial(use_mode, "fast"),
                profile=True,
            ),
            Variant("try.cli", "hotfix try (CLI, resident process)", try_cli),
            Variant(
                "try.docker",
                "docker restart + curl loop (the same service)",
                partial(restart_and_curl, container.name, url, ctx.config.curl_interval),
            ),
        ]
        targets = [
            Target(
                "try → verdict ≤ docker restart → healthy + 0.5 s",
                "try.core",
                "overhead",
                OVERHEAD,
                "try.docker",
            )
        ]
        reps = ctx.config.restart_reps
        return Group("try → verdict", variants, "try.docker", reps, ctx.config.warmup, targets)


def _try(svc: HotfixService, cid: str, app: AppFile) -> None:
    data, _ = app.next()
    res = TwinTrial(svc).run(cid, [TryFile(APP, data)], TryOptions())
    if not res.healthy:
        raise RuntimeError(f"the twin was not healthy: {res.reason}")


__all__ = ["TryInTwin"]
