"""The whole incident: save → healthy → branch → clean image, vs the manual flow as a script.

Each repetition gets a fresh service container (answering 500), a fresh copy of the source
repository and a fresh state store; only the flow itself is timed.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.case import Case, Group, Target, Variant, fmt_breakdown
from benchmarks.cases.restart import APP, APP_SOURCE, PORT, fixed_app
from benchmarks.context import Context, use_mode
from benchmarks.dockercli import DOCKER, bash, curl_loop, hotfix_cli
from benchmarks.fleet import free_port, wait_http
from benchmarks.timing import Breakdown
from hotfix.release.harvest import harvest
from hotfix.release.imaging import commit_image
from hotfix.service.files import HotfixService
from hotfix.store.state import version_of

RATIO = 1.2
SED = "sed -i 's/cause_a_problem = True/cause_a_problem = False/'"
EDIT = shlex.quote(f"cp {APP} {APP}.orig && {SED} {APP}")  # backup (the manual checkpoint) + fix


def has_release() -> bool:
    """Whether hotfix has harvest + commit_image yet (another developer is adding them)."""
    return hasattr(HotfixService, "harvest") and hasattr(HotfixService, "commit_image")


EDIT_SECONDS = 2.0  # the engineer's edit, between opening app.py and saving it


@dataclass
class Scene:
    """One repetition's world: a container, its URL, a repository, an image tag."""

    container: Any = None
    url: str = ""
    repo: Path = Path()
    tag: str = ""
    service: HotfixService | None = None
    opened: str = ""  # the version of app.py the editor opened
    images: list[str] = field(default_factory=list)


class Incident(Case):
    name = "incident"
    title = "The whole incident"
    baseline = (
        "the manual flow as one bash script: docker exec cp + sed, docker restart, curl loop, "
        "docker cp back, git branch + commit, docker commit"
    )

    def __init__(self) -> None:
        self.full = has_release()
        self.counter = 0
        self.steps = {"hotfix": Breakdown(), "manual": Breakdown()}

    def groups(self, ctx: Context) -> Iterator[Group]:
        template = self._template_repo(ctx)
        scene = Scene()
        try:
            yield self._group(ctx, template, scene)
        finally:
            self._teardown(ctx, scene)

    def notes(self, ctx: Context) -> list[str]:
        scope = (
            "save → healthy → harvest (branch + commit) → clean image: HotfixService.harvest "
            "and .commit_image were present and used."
            if self.full
            else "HotfixService.harvest/.commit_image were NOT present: measured save → healthy "
            "→ diff, against a manual script of the same scope (exec + sed, restart, curl loop, "
            "diff). The case picks harvest + commit up by itself once they exist."
        )
        return [
            scope,
            *(
                f"Steps, median ({who}): {fmt_breakdown(b.medians())}"
                for who, b in self.steps.items()
                if b.steps
            ),
            "hotfix's clean image is the original image plus the hotfixed files (a throwaway "
            "container + one archive PUT + commit); the manual `docker commit` takes the "
            "whole writable layer (backup file included).",
            "Per repetition, untimed: a fresh my_prod_service container (answering 500), a "
            "fresh copy of the git repository holding app.py, a fresh state store, and app.py "
            f"opened (read) by the in-process service {EDIT_SECONDS:g} s before the flow, as "
            "the editor opens it and the engineer edits it: the first-save warning's container "
            "diff starts at that read, as in the language server. On the fast path that diff "
            "is read from the container's overlay2 directories (milliseconds; the Engine's "
            "own takes 0.4–0.7 s on a fresh container of this image), so the head start "
            "matters little: the CLI flow, which has none (`hotfix write` waits for the diff), "
            "runs the same steps.",
        ]

    # --- the flows -------------------------------------------------------------------------

    def _group(self, ctx: Context, template: Path, scene: Scene) -> Group:
        def setup() -> None:
            self._teardown(ctx, scene)
            self._setup(ctx, template, scene)

        def after() -> None:
            self._teardown(ctx, scene)

        def hotfix_flow() -> None:
            self._hotfix_flow(scene)

        def manual_flow() -> None:
            self._manual_flow(scene, ctx.config.curl_interval)

        variants = [
            Variant("incident.core", "hotfix, in-process", hotfix_flow, setup, after, profile=True),
            Variant("incident.manual", "manual script", manual_flow, setup, after),
        ]
        cli = self._cli_flow(ctx, scene)
        if cli is not None:
            variants.insert(
                1, Variant("incident.cli", "hotfix CLI (resident process)", cli, setup, after)
            )
        scope = "save → healthy → branch → clean image" if self.full else "save → healthy → diff"
        targets = [
            Target(
                f"whole incident ({scope}) ≤ 1.2× manual script",
                "incident.core",
                "ratio",
                RATIO,
                "incident.manual",
            )
        ]
        if cli is not None:
            targets.append(
                Target(
                    f"whole incident, CLI ({scope}) ≤ 1.2× manual script",
                    "incident.cli",
                    "ratio",
                    RATIO,
                    "incident.manual",
                )
            )
        return Group(scope, variants, "incident.manual", ctx.config.incident_reps, 0, targets)

    def _hotfix_flow(self, scene: Scene) -> None:
        svc, cid, steps = scene.service, scene.container.id, self.steps["hotfix"]
        assert svc is not None
        with steps.step("save"):
            svc.write(cid, APP, fixed_app(), base_version=scene.opened)
        with steps.step("restart → healthy"):
            res = svc.restart(cid)
        if not res.healthy:
            raise RuntimeError(f"not healthy: {res.result.detail}")
        if not self.full:
            with steps.step("diff"):
                svc.diff(cid)
            return
        with steps.step("harvest (branch + commit)"):
            harvest(svc, cid, str(scene.repo), message="bench: fix cause_a_problem")
        with steps.step("clean image"):
            commit_image(svc, cid, tag=scene.tag)

    def _manual_flow(self, scene: Scene, interval: float) -> None:
        """The script, one bash per step so each step is timed (bash starts in ~2 ms)."""
        name, repo = scene.container.name, scene.repo
        steps = [
            ("exec cp + sed", f"{DOCKER} exec {name} sh -c {EDIT}"),
            ("docker restart", f"{DOCKER} restart {name} >/dev/null"),
            ("curl loop", f"{curl_loop(scene.url, interval)} 2>/dev/null"),
        ]
        if self.full:
            steps += [
                ("docker cp back", f"{DOCKER} cp {name}:{APP} {repo}/app.py"),
                (
                    "git branch + commit",
                    f"git -C {repo} checkout -q -b hotfix-manual && "
                    f"git -C {repo} commit -qam 'fix cause_a_problem'",
                ),
                ("docker commit", f"{DOCKER} commit {name} {scene.tag} >/dev/null"),
            ]
        else:
            steps.append(
                ("diff", f"{DOCKER} exec {name} diff -u {APP}.orig {APP} >/dev/null || true")
            )
        for step, script in steps:
            with self.steps["manual"].step(step):
                bash(script)

    def _cli_flow(self, ctx: Context, scene: Scene) -> Any:
        """The same flow typed as hotfix commands, when the CLI has harvest and commit."""
        if not ctx.config.cli or not self.full:
            return None
        harvest_help, commit_help = _cli_help("harvest"), _cli_help("commit")
        if harvest_help is None or commit_help is None:
            return None
        message = ["--message", "bench: fix"] if "--message" in harvest_help else []
        tag = ["--tag"] if "--tag" in commit_help else None
        env = ctx.env("fast", "cli-incident")
        fixed = ctx.workdir / "app-fixed.py"
        fixed.write_bytes(fixed_app())

        def flow() -> None:
            name = scene.container.name
            hotfix_cli("write", f"{name}:{APP}", str(fixed), env=env)
            hotfix_cli("restart", name, env=env)
            hotfix_cli("harvest", name, "--repo", str(scene.repo), *message, env=env)
            if tag:
                hotfix_cli("commit", name, *tag, scene.tag, env=env)
            else:
                out = hotfix_cli("commit", "--json", name, env=env)
                ctx.fleet.track_image(json.loads(out)["tag"])

        return flow

    # --- per repetition --------------------------------------------------------------------

    def _setup(self, ctx: Context, template: Path, scene: Scene) -> None:
        self.counter += 1
        port = free_port()
        scene.container = ctx.fleet.run(ctx.images["prod"], "incident", port=PORT, host_port=port)
        scene.url = f"http://127.0.0.1:{port}/"
        wait_http(scene.url, 60, want=500)
        scene.repo = ctx.workdir / f"repo-{self.counter}"
        shutil.copytree(template, scene.repo)
        scene.tag = f"hotfix-bench/incident:{ctx.fleet.run_id}-{self.counter}"
        ctx.fleet.track_image(scene.tag)
        scene.service = ctx.fresh_service("fast")
        use_mode("fast")
        # The engineer opens app.py and edits it; the first-save warning's container diff
        # starts at the open (as in the language server) and runs while they edit.
        scene.opened = scene.service.read(scene.container.id, APP).version
        if scene.opened != version_of(APP_SOURCE.read_bytes()):
            raise RuntimeError(f"{APP} in the container is not {APP_SOURCE}")
        time.sleep(EDIT_SECONDS)

    def _teardown(self, ctx: Context, scene: Scene) -> None:
        if scene.container is not None:
            ctx.fleet.remove(scene.container)
            scene.container = None
        if scene.tag:
            ctx.fleet.remove_image(scene.tag)
            scene.tag = ""
        if scene.service is not None:
            scene.service.store.close()
            scene.service = None
        if scene.repo != Path() and scene.repo.exists():
            shutil.rmtree(scene.repo, ignore_errors=True)

    def _template_repo(self, ctx: Context) -> Path:
        repo = ctx.workdir / "repo-template"
        repo.mkdir()
        shutil.copy(APP_SOURCE, repo / "app.py")
        for argv in (
            ["init", "-q", "-b", "main"],
            ["config", "user.name", "bench"],
            ["config", "user.email", "bench@example.invalid"],
            ["add", "app.py"],
            ["commit", "-qm", "my_prod_service v1.0.0"],
        ):
            subprocess.run(["git", "-C", str(repo), *argv], check=True, capture_output=True)
        return repo


def _cli_help(command: str) -> str | None:
    """``hotfix COMMAND --help``, or None when the CLI has no such command."""
    proc = subprocess.run(
        [sys.executable, "-m", "hotfix", command, "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout if proc.returncode == 0 else None
