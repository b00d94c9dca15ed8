"""``workspace/executeCommand`` commands: one JSON object argument mirroring the CLI's options,
one JSON object result (the CLI's ``--json`` shapes from :mod:`hotfix.views`). Every command
takes an optional ``engine`` (a docker context name; ``default`` when absent), as ``--engine``."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from hotfix.core.errors import UsageError
from hotfix.lsp import uris
from hotfix.lsp.lifecyclewatch import report_lines
from hotfix.lsp.params import Params
from hotfix.lsp.progress import WorkDone
from hotfix.lsp.registry import Result, command
from hotfix.lsp.server import HotfixLanguageServer
from hotfix.release.harvest import harvest
from hotfix.release.imaging import commit_image
from hotfix.release.report import build_report
from hotfix.service.results import REVERT_TARGETS
from hotfix.service.twin import TryFile, TryOptions, TwinTrial
from hotfix.views import (
    checkpoint_view,
    commit_image_view,
    harvest_view,
    restart_view,
    revert_view,
    try_view,
)

if TYPE_CHECKING:
    from hotfix.service.results import RevertTarget


@command("hotfix.checkpoint")
async def checkpoint(ls: HotfixLanguageServer, p: Params, progress: WorkDone) -> Result:
    container, paths, engine = p.text("container"), p.texts("paths"), p.opt_text("engine")
    taken = await ls.run(lambda svc: svc.checkpoint(container, paths), engine)
    return {
        "checkpoints": [
            {
                **checkpoint_view(cp),
                "uri": uris.file_uri(container, cp.path, engine),
                "checkpointUri": uris.checkpoint_uri(container, cp.path, engine),
            }
            for cp in taken
        ]
    }


@command("hotfix.diff")
async def diff(ls: HotfixLanguageServer, p: Params, progress: WorkDone) -> Result:
    container, path = p.text("container"), p.opt_text("path")
    return {"diff": await ls.run(lambda svc: svc.diff(container, path), p.opt_text("engine"))}


@command("hotfix.revert", progress="Reverting")
async def revert(ls: HotfixLanguageServer, p: Params, progress: WorkDone) -> Result:
    """``to``: "checkpoint" (default) or "last-good"; ``restart``: then go live and probe, in
    the same call (the editor's Revert and Restart), the result ending with the final state."""
    container, path, force = p.text("container"), p.opt_text("path"), p.flag("force", False)
    to = cast("RevertTarget", p.choice("to", REVERT_TARGETS))
    if not p.flag("restart", False):
        result = await ls.run(
            lambda svc: svc.revert_files(container, path, to=to, force=force), p.opt_text("engine")
        )
        return revert_view(result)
    probe, signal, timeout = _probes(p), p.opt_text("signal"), p.opt_number("timeout") or 60.0
    expect = p.opt_ints("expectStatus")
    result = await ls.run(
        lambda svc: svc.revert_and_restart(
            container,
            path,
            to=to,
            probe=probe,
            signal=signal,
            timeout=timeout,
            expect_status=expect,
            force=force,
            progress=progress,
        ),
        p.opt_text("engine"),
    )
    return revert_view(result)


@command("hotfix.restart", progress="Restarting")
async def restart(ls: HotfixLanguageServer, p: Params, progress: WorkDone) -> Result:
    container, probe, signal = p.text("container"), _probes(p), p.opt_text("signal")
    timeout, expect = p.opt_number("timeout") or 60.0, p.opt_ints("expectStatus")
    revert_on_failure, force = p.flag("revertOnFailure", False), p.flag("force", False)
    restart_always, check, no_check = (
        p.flag("restart", False),
        p.opt_text("check"),
        p.flag("noCheck", False),
    )
    body, body_regex = p.opt_text("expectBody"), p.opt_text("expectBodyRegex")
    result = await ls.run(
        lambda svc: svc.restart(
            container,
            probe,
            signal=signal,
            restart=restart_always,
            check=check,
            no_check=no_check,
            expect_body=body,
            expect_body_regex=body_regex,
            timeout=timeout,
            revert_on_failure=revert_on_failure,
            expect_status=expect,
            force=force,
            progress=progress,
        ),
        p.opt_text("engine"),
    )
    return restart_view(result)


@command("hotfix.probe", progress="Probing")
async def probe(ls: HotfixLanguageServer, p: Params, progress: WorkDone) -> Result:
    container, probe = p.text("container"), _probes(p)
    timeout, expect = p.opt_number("timeout") or 10.0, p.opt_ints("expectStatus")
    body, body_regex = p.opt_text("expectBody"), p.opt_text("expectBodyRegex")
    result = await ls.run(
        lambda svc: svc.probe(
            container,
            probe,
            timeout=timeout,
            expect_status=expect,
            expect_body=body,
            expect_body_regex=body_regex,
            progress=progress,
        ),
        p.opt_text("engine"),
    )
    return restart_view(result)


def _probes(p: Params) -> str | list[str] | None:
    """``probe``: one probe text, or a list of them (all must pass)."""
    if isinstance(p.values.get("probe"), list):
        return p.opt_texts("probe")
    return p.opt_text("probe")


@command("hotfix.harvest", progress="Harvesting")
async def harvest_command(ls: HotfixLanguageServer, p: Params, progress: WorkDone) -> Result:
    container, repo = p.text("container"), p.text("repo")
    maps = [f"{src}={dst}" for src, dst in (p.opt_text_map("map") or {}).items()]
    branch, message, test = p.opt_text("branch"), p.opt_text("message"), p.opt_text("test")
    result = await ls.run(
        lambda svc: harvest(
            svc,
            container,
            repo,
            maps=maps,
            branch=branch,
            message=message,
            test=test,
            progress=progress,
        ),
        p.opt_text("engine"),
    )
    for note in result.notes:
        ls.note(note)
    return harvest_view(result)


@command("hotfix.commitImage", progress="Committing an image of")
async def commit_image_command(ls: HotfixLanguageServer, p: Params, progress: WorkDone) -> Result:
    container, tag, probe = p.text("container"), p.opt_text("tag"), p.opt_text("probe")
    whole_layer, verify = p.flag("wholeLayer", False), p.flag("verify", False)
    timeout, expect = p.opt_number("timeout") or 60.0, p.opt_ints("expectStatus")
    if (probe or expect) and not verify:
        raise UsageError("probe and expectStatus go with verify: true")
    result = await ls.run(
        lambda svc: commit_image(
            svc,
            container,
            tag=tag,
            whole_layer=whole_layer,
            verify=verify,
            probe=probe,
            expect_status=expect,
            timeout=timeout,
            progress=progress,
            notify=ls.note_from_thread,
        ),
        p.opt_text("engine"),
    )
    for note in result.notes:
        ls.note(note)
    return {**commit_image_view(result), "image": result.image_id}  # `image`: the contract's name


@command("hotfix.report", progress="Writing the report")
async def report_command(ls: HotfixLanguageServer, p: Params, progress: WorkDone) -> Result:
    container = p.opt_text("container")
    return {
        "markdown": await ls.run(
            lambda svc: build_report(svc, container, report_lines(svc, container)),
            p.opt_text("engine"),
        )
    }


@command("hotfix.try", progress="Trying in a twin")
async def try_command(ls: HotfixLanguageServer, p: Params, progress: WorkDone) -> Result:
    """The editor's (unsaved) content of a ``hotfix:`` document, tried in a twin."""
    loc, data = p.uri(), p.data()
    if loc.is_checkpoint:
        raise UsageError("a checkpoint cannot be tried: open the container's file")
    options = TryOptions(
        probes=_probes_list(p),
        expect_status=p.opt_ints("expectStatus"),
        expect_body=p.opt_text("expectBody"),
        expect_body_regex=p.opt_text("expectBodyRegex"),
        check=p.opt_text("check"),
        network=p.opt_text("network") or "none",
        with_volumes=p.flag("withVolumes", False),
        keep=p.flag("keep", False),
        timeout=p.opt_number("timeout") or 60.0,
        force=p.flag("force", False),
        then_apply=p.flag("thenApply", False),
        restart=p.flag("restart", False),
        signal=p.opt_text("signal"),
    )
    result = await ls.run(
        lambda svc: TwinTrial(svc).run(
            loc.container, [TryFile(loc.path, data)], options, progress=progress
        ),
        loc.engine,
    )
    return try_view(result)


def _probes_list(p: Params) -> list[str]:
    probes = _probes(p)
    return [probes] if isinstance(probes, str) else list(probes or [])
