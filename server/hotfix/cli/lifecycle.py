"""The lifecycle commands: status (where each hotfix is, exit 5 when one is lost) and
reapply (a lost hotfix onto its container's successor); the debt line of every command."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from hotfix.cli.output import Output, table, view
from hotfix.core.errors import EXIT_LOST, EXIT_OK, EXIT_UNHEALTHY, HotfixError
from hotfix.core.terminal import printable

if TYPE_CHECKING:
    from hotfix.lifecycle.reapply import ReapplyResult
    from hotfix.lifecycle.stages import HotfixStatus
    from hotfix.lifecycle.status import ServiceFor
    from hotfix.service.files import HotfixService
    from hotfix.store.state import JournalEntry

# Commands that say the lifecycle themselves, or that run no engine command.
NO_DEBT_LINE = {"status", "reapply", "lsp", "daemon"}


def service_for(args: argparse.Namespace, svc: HotfixService) -> ServiceFor:
    """The service of each engine a hotfix lives on; the command's own for its engine."""
    from hotfix.service.files import HotfixService

    made: dict[str, HotfixService] = {svc.engine.name: svc}

    def get(engine: str) -> HotfixService:
        if engine not in made:
            made[engine] = HotfixService(args.engines.get(engine), svc.store, svc.user)
        return made[engine]

    return get


def cmd_status(args: argparse.Namespace, svc: HotfixService, out: Output) -> int:
    from hotfix.lifecycle.status import select, statuses, survey

    engines = None if args.all_engines else [svc.engine.name]
    lines = select(statuses(survey(svc.store, service_for(args, svc), engines)), args.container)
    out.result(lambda: {"hotfixes": view(lines)}, _status_text(lines))
    return EXIT_LOST if any(line.stage == "lost" for line in lines) else EXIT_OK


def _status_text(lines: list[HotfixStatus]) -> str:
    if not lines:
        return "no hotfixes"
    rows = [["CONTAINER(S)", "FILES", "AGE", "WHO", "STAGE", "NEXT"]]
    for line in lines:
        where = ", ".join(line.containers) + ("" if line.present else " (removed)")
        stage = line.stage + _stage_detail(line)
        rows.append(
            [
                where,
                ", ".join(line.files),
                _age(line.age_seconds),
                ", ".join(line.users),
                stage,
                _next(line),
            ]
        )
    return table(rows)


def _stage_detail(line: HotfixStatus) -> str:
    if line.stage == "harvested" and line.branch:
        return f" ({line.branch})"
    if line.stage in ("imaged", "rolled-out") and line.image:
        return f" ({line.image})"
    if line.stage == "lost" and line.notes:
        return f" ({'; '.join(line.notes)})"
    return ""


def _next(line: HotfixStatus) -> str:
    name = line.containers[0]
    return {
        "harvest": f"harvest: hotfix harvest {name} --repo DIR",
        "commit": f"commit: hotfix commit {name}",
        "rollout": f"rollout: hotfix rollout SERVICE --image {line.image or 'REF'}",
        "reapply": f"reapply: hotfix reapply {name}",
    }.get(line.next_step, "-")


def _age(seconds: float) -> str:
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 86400:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def cmd_reapply(args: argparse.Namespace, svc: HotfixService, out: Output) -> int:
    from hotfix.lifecycle.reapply import ReapplyRequest, reapply

    request = ReapplyRequest(
        args.old, args.to, args.restart, args.probe, args.timeout, signal=args.signal
    )
    result = reapply(svc.store, service_for(args, svc), request, progress=out)
    out.result(lambda: view(result), _reapply_text(result))
    if result.health is not None and not result.health.healthy:
        return EXIT_UNHEALTHY
    return EXIT_OK


def _reapply_text(result: ReapplyResult) -> str:
    lines = [
        f"reapplied {result.old_container} ({result.old_container_id[:12]}) → "
        f"{result.container.name} ({result.container.short_id})"
    ]
    lines += [f"  {printable(path)}: {how}" for path, how in result.how.items()]
    if result.health is not None:
        health = result.health
        state = "healthy" if health.healthy else "UNHEALTHY"
        lines.append(
            f"  {health.action}: {state} ({printable(health.result.detail)}, {health.seconds:.2f} s)"
        )
    return "\n".join(lines)


def print_debt_line(args: argparse.Namespace, svc: HotfixService, out: Output) -> None:
    """The debt line on stderr, never failing the command it follows."""
    if args.command in NO_DEBT_LINE or not svc.store.has_checkpoints():
        return  # no hotfix, no debt: not even the lifecycle modules are imported
    from hotfix.lifecycle.debt import debt_line

    try:
        line = debt_line(svc)
    except (HotfixError, OSError) as exc:
        line = f"hotfix: warning: the hotfix lifecycle could not be checked ({exc})"
    if line:
        out.note(line)


def hotfix_stages(
    args: argparse.Namespace, svc: HotfixService, engines: set[str]
) -> dict[str, str]:
    """`hotfix ps`'s HOTFIX column: each container's hotfix stage, by ID."""
    if not svc.store.has_checkpoints():
        return {}
    from hotfix.lifecycle.status import stage_by_container, survey

    try:
        return dict(stage_by_container(survey(svc.store, service_for(args, svc), engines)))
    except HotfixError as exc:  # the listing stands without the column
        _warn(f"hotfix: warning: hotfix stages unknown ({exc})")
        return {}


def lacking_fixes(
    args: argparse.Namespace, svc: HotfixService, container: str | None
) -> list[tuple[str, str, str]]:
    """The files successors of lost hotfixes run without, for `hotfix changes`."""
    if not svc.store.has_checkpoints():
        return []
    from hotfix.lifecycle.status import lacking, survey

    try:
        found = lacking(survey(svc.store, service_for(args, svc), [svc.engine.name]))
    except HotfixError as exc:  # the changes stand without what successors lack
        _warn(f"hotfix: warning: successors not checked ({exc})")
        return []
    return [f for f in found if container in (None, f[0], f[2])]


def with_predecessors(
    args: argparse.Namespace, svc: HotfixService, entries: list[JournalEntry]
) -> list[JournalEntry]:
    """`hotfix log NAME`: the journal of NAME's predecessors too (recreated containers of
    that name, hotfixes reapplied onto it), oldest first."""
    if not args.container:
        return entries
    from hotfix.lifecycle.status import predecessors

    try:
        current = svc.container(args.container).info
    except HotfixError:
        return entries
    earlier = [
        e
        for cid in predecessors(svc.store, current.id, current.name)
        for e in svc.journal(cid, limit=args.limit)
    ]
    return sorted({e.id: e for e in earlier + entries}.values(), key=lambda e: e.id)


def lifecycle_of(args: argparse.Namespace, svc: HotfixService) -> list[HotfixStatus]:
    """The lines of `hotfix status` for the report's Lifecycle section; none when the
    lifecycle cannot be judged (the report still stands without it)."""
    from hotfix.lifecycle.status import select, statuses, survey

    try:
        judged = survey(svc.store, service_for(args, svc), [svc.engine.name])
    except HotfixError:
        return []
    return select(statuses(judged), args.container)


def _warn(message: str) -> None:
    print(printable(message), file=sys.stderr)
