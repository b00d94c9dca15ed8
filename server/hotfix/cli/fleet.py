"""The commands on several containers: apply (a change to replicas) and rollout (Swarm)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from hotfix.cli.output import Output, joined_paths, view
from hotfix.cli.replicas import fleet_of
from hotfix.core.errors import EXIT_CONFLICT, EXIT_ERROR, EXIT_OK, EXIT_UNHEALTHY
from hotfix.core.terminal import printable

if TYPE_CHECKING:
    from hotfix.fleet import ApplyResult, RolloutResult, Target
    from hotfix.service.files import HotfixService


def cmd_apply(args: argparse.Namespace, svc: HotfixService, out: Output) -> int:
    from hotfix.fleet import Target

    fleet = fleet_of(args, svc)
    source = Target(args.engine, args.container)
    if args.to:
        targets = [Target.parse(t, args.engine) for t in args.to]
    else:
        targets = fleet.replicas(source, same_image=args.same_image, all_engines=args.all_engines)
    result = fleet.apply(
        source,
        targets,
        rolling=args.rolling,
        probe=args.probe,
        signal=args.signal,
        timeout=args.timeout,
        force=args.force,
        progress=out,
    )
    for warning in result.warnings:
        out.note(f"warning: {warning}")
    out.result(lambda: view(result), _apply_text(source, targets, result))
    return _apply_exit_code(result)


def _apply_text(source: Target, targets: list[Target], result: ApplyResult) -> str:
    lines = [f"{source}: {joined_paths(result.files)} → {len(targets)} target(s)"]
    for o in result.outcomes:
        health = (
            f" ({printable(o.health.result.detail)}, {o.health.seconds:.2f} s)" if o.health else ""
        )
        detail = f" — {printable(o.detail)}" if o.detail else ""
        lines.append(f"  {o.target}: {o.status}{health}{detail}")
    return "\n".join(lines)


def _apply_exit_code(result: ApplyResult) -> int:
    statuses = {o.status for o in result.outcomes}
    if "conflict" in statuses:
        return EXIT_CONFLICT
    if "reverted" in statuses:
        return EXIT_UNHEALTHY
    return EXIT_OK if result.ok else EXIT_ERROR


def cmd_rollout(args: argparse.Namespace, svc: HotfixService, out: Output) -> int:
    from hotfix.fleet import rollout

    result = rollout(
        fleet_of(args, svc),
        args.service,
        args.image,
        engine=args.engine,
        push=args.push,
        monitor=args.monitor,
        timeout=args.timeout,
        progress=out,
    )
    out.result(lambda: view(result), _rollout_text(result))
    return EXIT_OK if result.converged else EXIT_UNHEALTHY


def _rollout_text(result: RolloutResult) -> str:
    lines = [
        f"{result.service}: {result.state} after {result.seconds:.1f} s "
        f"({result.previous_image} → {result.image})"
        + (f": {printable(result.message)}" if result.message else "")
    ]
    for t in result.tasks:
        lines.append(
            f"  task {t.slot}: {t.state} {t.image} {(t.container_id or '')[:12]} "
            f"{printable(t.message)}".rstrip()
        )
    return "\n".join(lines)
