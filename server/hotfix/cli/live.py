"""The commands on a running container: restart and probe, until healthy."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from hotfix.cli.output import Output, joined_paths
from hotfix.core.errors import EXIT_OK, EXIT_UNHEALTHY
from hotfix.core.terminal import printable
from hotfix.views import restart_view

if TYPE_CHECKING:
    from hotfix.service.files import HotfixService
    from hotfix.service.results import RestartResult


def cmd_restart(args: argparse.Namespace, svc: HotfixService, out: Output) -> int:
    res = svc.restart(
        args.container,
        args.probe,
        signal=args.signal,
        timeout=args.timeout,
        revert_on_failure=args.revert_on_failure,
        expect_status=args.expect_status,
        force=args.force,
        progress=out,
    )
    return _report_health(res, out)


def cmd_probe(args: argparse.Namespace, svc: HotfixService, out: Output) -> int:
    res = svc.probe(
        args.container,
        args.probe,
        timeout=args.timeout,
        expect_status=args.expect_status,
        progress=out,
    )
    return _report_health(res, out)


def _report_health(res: RestartResult, out: Output) -> int:
    lines = [_health_line(res)]
    if res.after_revert:
        lines.append(f"reverted {joined_paths(res.reverted) or 'nothing'}; then:")
        lines.append(_health_line(res.after_revert))
    out.result(restart_view(res), "\n".join(lines))
    return EXIT_OK if res.healthy else EXIT_UNHEALTHY


def _health_line(res: RestartResult) -> str:
    verdict = "healthy" if res.healthy else "UNHEALTHY"
    return (
        f"{res.container.name}: {verdict} after {res.seconds:.2f} s ({res.action}; "
        f"probe {printable(res.probe)}: {printable(res.result.detail)})"
    )
