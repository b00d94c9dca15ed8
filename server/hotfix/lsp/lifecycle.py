"""``workspace/executeCommand`` commands of a hotfix's lifecycle: ``hotfix.status`` (the CLI's
`hotfix status --json`) and ``hotfix.reapply`` (`hotfix reapply --json`)."""

from __future__ import annotations

from hotfix.lifecycle.reapply import ReapplyRequest, reapply
from hotfix.lsp.lifecyclewatch import status_lines
from hotfix.lsp.params import Params
from hotfix.lsp.progress import WorkDone
from hotfix.lsp.registry import Result, command
from hotfix.lsp.server import HotfixLanguageServer
from hotfix.views import view


@command("hotfix.status")
async def status_command(ls: HotfixLanguageServer, p: Params, progress: WorkDone) -> Result:
    container = p.opt_text("container")
    lines = await ls.run(lambda svc: status_lines(svc, container), p.opt_text("engine"))
    return {"hotfixes": [view(line) for line in lines]}


@command("hotfix.reapply", progress="Reapplying the hotfix")
async def reapply_command(ls: HotfixLanguageServer, p: Params, progress: WorkDone) -> Result:
    probe = p.opt_text("probe")
    request = ReapplyRequest(
        p.text("old"),
        p.opt_text("to"),
        p.flag("restart", False),
        [probe] if probe else None,
        p.opt_number("timeout") or 60.0,
        signal=p.opt_text("signal"),
    )
    result = await ls.run(
        lambda svc: reapply(svc.store, lambda _: svc, request, progress=progress),
        p.opt_text("engine"),
    )
    return dict(view(result))
