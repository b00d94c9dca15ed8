"""The replica set a command works on (--replicas, --with), and the Fleet that finds it."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

# Fleet is imported by the commands that work on replicas only (docs/cli.md, "Start-up").
if TYPE_CHECKING:
    from hotfix.fleet import Fleet, Target
    from hotfix.service.files import HotfixService


def fleet_of(args: argparse.Namespace, svc: HotfixService) -> Fleet:
    from hotfix.fleet import Fleet

    return Fleet(args.engines, svc.store, svc.user)


def replica_set_asked(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "replicas", False) or getattr(args, "with_", None))


def replica_set(args: argparse.Namespace, svc: HotfixService, container: str) -> list[Target]:
    """The container and its replicas (or the ones named with --with)."""
    from hotfix.fleet import Target

    source = Target(args.engine, container)
    if args.with_:
        return [source, *(Target.parse(t, args.engine) for t in args.with_)]
    found = fleet_of(args, svc).replicas(
        source, same_image=args.same_image, all_engines=args.all_engines
    )
    return [source, *found]
