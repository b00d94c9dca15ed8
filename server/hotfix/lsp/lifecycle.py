"""``workspace/executeCommand`` commands of a hotfix's lifecycle: ``hotfix.status`` (the CLI's
`hotfix status --json`) and ``hotfix.reapply`` (`hotfix reapply --json`)."""

from __future__ import annotations

from dataclasses import dataclass

from hotfix.lifecycle.reapply import ReapplyRequest, reapply
from hotfix.lsp.lifecyclewatch import status_lines
from hotfix.lsp.params import Params
from hotfix.lsp.progress import WorkDone
from hotfix.lsp.registry import Result, command
from hotfix.lsp.server import HotfixLanguageServer
from hotfix.views import view


@dataclass(frozen=True, kw_only=True)
class StatusArgs:
    container: str | None = None
    engine: str | None = None


@dataclass(frozen=True, kw_only=True)
class ReapplyArgs:
    old: str
    to: str | None = None
    restart: bool = False
    probe: str | None = None
    timeout: float = 60.0
    signal: str | None = None
    engine: str | None = None


@command("hotfix.status")
async def status_command(ls: HotfixLanguageServer, p: Params, progress: WorkDone) -> Result:
    a = p.read(StatusArgs)
    lines = await ls.run(lambda svc: status_lines(svc, a.container), a.engine)
    return {"hotfixes": [view(line) for line in lines]}


@command("hotfix.reapply", progress="Reapplying the hotfix")
async def reapply_command(ls: HotfixLanguageServer, p: Params, progress: WorkDone) -> Result:
    a = p.read(ReapplyArgs)
    request = ReapplyRequest(
        a.old,
        a.to,
        a.restart,
        [a.probe] if a.probe else None,
        a.timeout,
        signal=a.signal,
    )
    result = await ls.run(
        lambda svc: reapply(svc.store, lambda _: svc, request, progress=progress), a.engine
    )
    return dict(view(result))
