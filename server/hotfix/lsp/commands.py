"""``workspace/executeCommand`` commands: one JSON object argument mirroring the CLI's options,
one JSON object result (the CLI's ``--json`` shapes from :mod:`hotfix.views`)."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hotfix.errors import Unavailable
from hotfix.lsp import uris
from hotfix.lsp.convert import camel_to_snake
from hotfix.lsp.params import Params
from hotfix.lsp.progress import WorkDone
from hotfix.lsp.registry import Result, command
from hotfix.service import HotfixService
from hotfix.views import checkpoint_view, restart_view

if TYPE_CHECKING:
    from hotfix.lsp.server import HotfixLanguageServer


@command("hotfix.checkpoint")
async def checkpoint(ls: HotfixLanguageServer, p: Params, progress: WorkDone) -> Result:
    container, paths = p.text("container"), p.texts("paths")
    taken = await ls.run(lambda svc: svc.checkpoint(container, paths))
    return {
        "checkpoints": [
            {
                **checkpoint_view(cp),
                "uri": uris.file_uri(container, cp.path),
                "checkpointUri": uris.checkpoint_uri(container, cp.path),
            }
            for cp in taken
        ]
    }


@command("hotfix.diff")
async def diff(ls: HotfixLanguageServer, p: Params, progress: WorkDone) -> Result:
    container, path = p.text("container"), p.opt_text("path")
    return {"diff": await ls.run(lambda svc: svc.diff(container, path))}


@command("hotfix.revert", progress="Reverting")
async def revert(ls: HotfixLanguageServer, p: Params, progress: WorkDone) -> Result:
    container, path = p.text("container"), p.opt_text("path")
    reverted = await ls.run(lambda svc: svc.revert(container, path))
    return {"reverted": reverted}


@command("hotfix.restart", progress="Restarting")
async def restart(ls: HotfixLanguageServer, p: Params, progress: WorkDone) -> Result:
    container, probe, signal = p.text("container"), p.opt_text("probe"), p.opt_text("signal")
    timeout, expect = p.opt_number("timeout") or 60.0, p.opt_ints("expectStatus")
    revert_on_failure = p.flag("revertOnFailure", False)
    result = await ls.run(
        lambda svc: svc.restart(
            container,
            probe,
            signal=signal,
            timeout=timeout,
            revert_on_failure=revert_on_failure,
            expect_status=expect,
            progress=progress,
        )
    )
    return restart_view(result)


@command("hotfix.probe", progress="Probing")
async def probe(ls: HotfixLanguageServer, p: Params, progress: WorkDone) -> Result:
    container, probe = p.text("container"), p.opt_text("probe")
    timeout, expect = p.opt_number("timeout") or 10.0, p.opt_ints("expectStatus")
    result = await ls.run(
        lambda svc: svc.probe(
            container, probe, timeout=timeout, expect_status=expect, progress=progress
        )
    )
    return restart_view(result)


# --- commands whose core is being written elsewhere --------------------------------------------
# Each answers Unavailable until the service has the method. When it lands: check that the
# camelCase arguments map onto its keywords (or map them here) and add a ``*_view`` to
# hotfix.views for the result; that is all.


@command("hotfix.harvest", progress="Harvesting")
async def harvest(ls: HotfixLanguageServer, p: Params, progress: WorkDone) -> Result:
    p.text("container")
    return await _pending_core(ls, p, progress, "hotfix.harvest", "harvest", "harvest_view")


@command("hotfix.commitImage", progress="Committing an image of")
async def commit_image(ls: HotfixLanguageServer, p: Params, progress: WorkDone) -> Result:
    p.text("container")
    return await _pending_core(
        ls, p, progress, "hotfix.commitImage", "commit_image", "commit_image_view"
    )


@command("hotfix.report", progress="Writing the report of")
async def report(ls: HotfixLanguageServer, p: Params, progress: WorkDone) -> Result:
    p.opt_text("container")
    return await _pending_core(
        ls, p, progress, "hotfix.report", "report", "report_view", "markdown"
    )


async def _pending_core(
    ls: HotfixLanguageServer,
    p: Params,
    progress: WorkDone,
    name: str,
    method: str,
    view: str,
    text_field: str = "text",
) -> Result:
    def work(svc: HotfixService) -> Any:
        fn: Callable[..., Any] | None = getattr(svc, method, None)
        if fn is None:
            raise Unavailable(
                f"{name} is not available in this build: the core has no {method} yet "
                "(use the CLI's equivalent when it lands, or update the server)"
            )
        kwargs = {camel_to_snake(k): v for k, v in p.values.items()}
        if "progress" in inspect.signature(fn).parameters:
            kwargs["progress"] = progress
        return fn(**kwargs)

    result = await ls.run(work)
    shape = getattr(importlib.import_module("hotfix.views"), view, None)
    if shape is not None:
        return dict(shape(result))
    if isinstance(result, str):
        return {text_field: result}
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return dataclasses.asdict(result)
    if isinstance(result, dict):
        return result
    return {"result": result}
