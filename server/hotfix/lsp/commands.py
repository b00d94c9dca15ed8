"""``workspace/executeCommand`` commands: one JSON object argument mirroring the CLI's options,
one JSON object result (the CLI's ``--json`` shapes from :mod:`hotfix.views`). Every command
takes an optional ``engine`` (a docker context name; ``default`` when absent), as ``--engine``.
Each command's argument is declared below as a dataclass, field by field (camelCase on the
wire: :mod:`hotfix.lsp.params`)."""

from __future__ import annotations

from dataclasses import dataclass

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
from hotfix.service.results import RevertTarget
from hotfix.service.twin import TryFile, TryOptions, TwinTrial
from hotfix.views import (
    checkpoint_view,
    commit_image_view,
    harvest_view,
    restart_view,
    revert_view,
    try_view,
)

# --- what each command takes -----------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class OnContainer:
    container: str
    engine: str | None = None


@dataclass(frozen=True, kw_only=True)
class CheckpointArgs(OnContainer):
    paths: list[str]


@dataclass(frozen=True, kw_only=True)
class DiffArgs(OnContainer):
    path: str | None = None


@dataclass(frozen=True, kw_only=True)
class ProbeArgs(OnContainer):
    probe: str | list[str] | None = None  # all must pass
    timeout: float = 10.0
    expect_status: list[int] | None = None
    expect_body: str | None = None
    expect_body_regex: str | None = None


@dataclass(frozen=True, kw_only=True)
class RevertArgs(ProbeArgs):
    """``to``: what to go back to; ``restart``: then go live and probe, in the same call
    (the editor's Revert and Restart), the result ending with the final state."""

    path: str | None = None
    to: RevertTarget = "checkpoint"
    restart: bool = False
    timeout: float = 60.0
    signal: str | None = None
    force: bool = False


@dataclass(frozen=True, kw_only=True)
class RestartArgs(ProbeArgs):
    timeout: float = 60.0
    signal: str | None = None
    restart: bool = False
    check: str | None = None
    no_check: bool = False
    revert_on_failure: bool = False
    force: bool = False


@dataclass(frozen=True, kw_only=True)
class HarvestArgs(OnContainer):
    repo: str
    map: dict[str, str] | None = None
    branch: str | None = None
    message: str | None = None
    test: str | None = None


@dataclass(frozen=True, kw_only=True)
class CommitImageArgs(OnContainer):
    tag: str | None = None
    whole_layer: bool = False
    verify: bool = False
    probe: str | None = None
    expect_status: list[int] | None = None
    timeout: float = 60.0


@dataclass(frozen=True, kw_only=True)
class TryArgs:
    """The editor's content of a ``hotfix:`` document (saved or not), tried in a twin."""

    uri: uris.Location
    data: bytes
    probe: str | list[str] | None = None  # all must pass
    expect_status: list[int] | None = None
    expect_body: str | None = None
    expect_body_regex: str | None = None
    check: str | None = None
    network: str = "none"
    with_volumes: bool = False
    keep: bool = False
    timeout: float = 60.0
    force: bool = False
    then_apply: bool = False
    restart: bool = False
    signal: str | None = None


@dataclass(frozen=True, kw_only=True)
class ReportArgs:
    container: str | None = None
    engine: str | None = None


# --- the commands ----------------------------------------------------------------------------


@command("hotfix.checkpoint")
async def checkpoint(ls: HotfixLanguageServer, p: Params, progress: WorkDone) -> Result:
    a = p.read(CheckpointArgs)
    taken = await ls.run(lambda svc: svc.checkpoint(a.container, a.paths), a.engine)
    return {
        "checkpoints": [
            {
                **checkpoint_view(cp),
                "uri": uris.file_uri(a.container, cp.path, a.engine),
                "checkpointUri": uris.checkpoint_uri(a.container, cp.path, a.engine),
            }
            for cp in taken
        ]
    }


@command("hotfix.diff")
async def diff(ls: HotfixLanguageServer, p: Params, progress: WorkDone) -> Result:
    a = p.read(DiffArgs)
    return {"diff": await ls.run(lambda svc: svc.diff(a.container, a.path), a.engine)}


@command("hotfix.revert", progress="Reverting")
async def revert(ls: HotfixLanguageServer, p: Params, progress: WorkDone) -> Result:
    a = p.read(RevertArgs)
    if not a.restart:
        result = await ls.run(
            lambda svc: svc.revert_files(a.container, a.path, to=a.to, force=a.force), a.engine
        )
        return revert_view(result)
    result = await ls.run(
        lambda svc: svc.revert_and_restart(
            a.container,
            a.path,
            to=a.to,
            probe=a.probe,
            signal=a.signal,
            timeout=a.timeout,
            expect_status=a.expect_status,
            force=a.force,
            progress=progress,
        ),
        a.engine,
    )
    return revert_view(result)


@command("hotfix.restart", progress="Restarting")
async def restart(ls: HotfixLanguageServer, p: Params, progress: WorkDone) -> Result:
    a = p.read(RestartArgs)
    result = await ls.run(
        lambda svc: svc.restart(
            a.container,
            a.probe,
            signal=a.signal,
            restart=a.restart,
            check=a.check,
            no_check=a.no_check,
            expect_body=a.expect_body,
            expect_body_regex=a.expect_body_regex,
            timeout=a.timeout,
            revert_on_failure=a.revert_on_failure,
            expect_status=a.expect_status,
            force=a.force,
            progress=progress,
        ),
        a.engine,
    )
    return restart_view(result)


@command("hotfix.probe", progress="Probing")
async def probe(ls: HotfixLanguageServer, p: Params, progress: WorkDone) -> Result:
    a = p.read(ProbeArgs)
    result = await ls.run(
        lambda svc: svc.probe(
            a.container,
            a.probe,
            timeout=a.timeout,
            expect_status=a.expect_status,
            expect_body=a.expect_body,
            expect_body_regex=a.expect_body_regex,
            progress=progress,
        ),
        a.engine,
    )
    return restart_view(result)


@command("hotfix.harvest", progress="Harvesting")
async def harvest_command(ls: HotfixLanguageServer, p: Params, progress: WorkDone) -> Result:
    a = p.read(HarvestArgs)
    result = await ls.run(
        lambda svc: harvest(
            svc,
            a.container,
            a.repo,
            maps=[f"{src}={dst}" for src, dst in (a.map or {}).items()],
            branch=a.branch,
            message=a.message,
            test=a.test,
            progress=progress,
        ),
        a.engine,
    )
    for note in result.notes:
        ls.note(note)
    return harvest_view(result)


@command("hotfix.commitImage", progress="Committing an image of")
async def commit_image_command(ls: HotfixLanguageServer, p: Params, progress: WorkDone) -> Result:
    a = p.read(CommitImageArgs)
    if (a.probe or a.expect_status) and not a.verify:
        raise UsageError("probe and expectStatus go with verify: true")
    result = await ls.run(
        lambda svc: commit_image(
            svc,
            a.container,
            tag=a.tag,
            whole_layer=a.whole_layer,
            verify=a.verify,
            probe=a.probe,
            expect_status=a.expect_status,
            timeout=a.timeout,
            progress=progress,
            notify=ls.note_from_thread,
        ),
        a.engine,
    )
    for note in result.notes:
        ls.note(note)
    return {**commit_image_view(result), "image": result.image_id}  # `image`: the contract's name


@command("hotfix.report", progress="Writing the report")
async def report_command(ls: HotfixLanguageServer, p: Params, progress: WorkDone) -> Result:
    a = p.read(ReportArgs)
    return {
        "markdown": await ls.run(
            lambda svc: build_report(svc, a.container, report_lines(svc, a.container)), a.engine
        )
    }


@command("hotfix.try", progress="Trying in a twin")
async def try_command(ls: HotfixLanguageServer, p: Params, progress: WorkDone) -> Result:
    a = p.read(TryArgs)
    if a.uri.is_checkpoint:
        raise UsageError("a checkpoint cannot be tried: open the container's file")
    probes = [a.probe] if isinstance(a.probe, str) else list(a.probe or [])
    options = TryOptions(
        probes=probes,
        expect_status=a.expect_status,
        expect_body=a.expect_body,
        expect_body_regex=a.expect_body_regex,
        check=a.check,
        network=a.network,
        with_volumes=a.with_volumes,
        keep=a.keep,
        timeout=a.timeout,
        force=a.force,
        then_apply=a.then_apply,
        restart=a.restart,
        signal=a.signal,
    )
    result = await ls.run(
        lambda svc: TwinTrial(svc).run(
            a.uri.container, [TryFile(a.uri.path, a.data)], options, progress=progress
        ),
        a.uri.engine,
    )
    return try_view(result)
