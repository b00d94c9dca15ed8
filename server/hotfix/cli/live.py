"""The commands on a running container: restart and probe, until healthy."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from hotfix.cli.output import Output, joined_paths, view
from hotfix.core.errors import EXIT_ERROR, EXIT_OK, EXIT_UNHEALTHY
from hotfix.core.terminal import printable

if TYPE_CHECKING:
    from hotfix.service.files import HotfixService
    from hotfix.service.results import FinalState, RestartResult, RevertedFile, RevertResult


def cmd_restart(args: argparse.Namespace, svc: HotfixService, out: Output) -> int:
    res = svc.restart(
        args.container,
        args.probe,
        signal=args.signal,
        restart=args.restart,
        check=args.check,
        no_check=args.no_check,
        expect_body=args.expect_body,
        expect_body_regex=args.expect_body_regex,
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
        expect_body=args.expect_body,
        expect_body_regex=args.expect_body_regex,
        progress=out,
    )
    return _report_health(res, out)


def _report_health(res: RestartResult, out: Output) -> int:
    lines = [*_going_live_lines(res), _health_line(res)]
    if res.revert is not None:
        lines.extend(revert_lines(res.revert) or ["reverted nothing"])
        if res.after_revert:
            lines.append("then:")
            lines.extend([*_going_live_lines(res.after_revert), _health_line(res.after_revert)])
        if res.revert.final:
            lines.append(final_line(res.container.name, res.revert.final))
    elif res.after_revert:
        lines.append(f"reverted {joined_paths(res.reverted) or 'nothing'}; then:")
        lines.append(_health_line(res.after_revert))
    out.result(lambda: view(res), "\n".join(lines))
    if res.revert is not None and res.revert.failed:
        return EXIT_ERROR  # a step of the revert failed, also when retried
    return EXIT_OK if res.healthy else EXIT_UNHEALTHY


def revert_lines(result: RevertResult) -> list[str]:
    """One line per path: what it went back to, or why that failed."""
    return [_reverted_line(item) for item in result.files]


def _reverted_line(item: RevertedFile) -> str:
    to = item.described_to
    retried = " (retried once the container ran)" if item.retried else ""
    if item.error is not None:
        return f"FAILED to revert {printable(item.path)} to {to}{retried}: {printable(item.error)}"
    return f"reverted {printable(item.path)} to {to}{retried}"


def final_line(name: str, final: FinalState) -> str:
    """The container's real state at the end: the Engine's, and the probe's verdict."""
    state = final.state + (f" (code {final.exit_code})" if final.exit_code is not None else "")
    verdict = "healthy" if final.healthy else "UNHEALTHY"
    return f"final state: {name} {state}, {verdict} ({printable(final.detail)})"


def _going_live_lines(res: RestartResult) -> list[str]:
    """How it went live and why, the check and what it printed, and the notes."""
    lines = []
    if res.why is not None:
        lines.append(f"strategy: {res.action} ({printable(res.why)})")
    if res.check:
        verdict = "passed" if res.check.passed else f"FAILED (exit {res.check.exit_code})"
        lines.append(
            f"check {printable(res.check.command)} ({printable(res.check.why)}): {verdict}"
        )
        if not res.check.passed and res.check.output:
            lines.extend("  " + printable(line) for line in res.check.output.splitlines()[-10:])
    lines.extend(f"note: {printable(note)}" for note in res.notes)
    return lines


def _health_line(res: RestartResult) -> str:
    if res.refused or res.applied is False:
        return f"{res.container.name}: UNHEALTHY: {printable(res.reason or '')}"
    verdict = "healthy" if res.healthy else "UNHEALTHY"
    return (
        f"{res.container.name}: {verdict} after {res.seconds:.2f} s ({res.action}; "
        f"probe {printable(res.probe)}: {printable(res.result.detail)})"
    )
