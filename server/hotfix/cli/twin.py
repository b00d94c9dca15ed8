"""`hotfix try`: the fix in a throwaway twin of the container first; live only with
``--then-apply`` and a healthy verdict."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hotfix.cli.live import _health_line
from hotfix.cli.output import Output, view
from hotfix.core.errors import EXIT_OK, EXIT_UNHEALTHY, HotfixError, UsageError
from hotfix.core.paths import parse_target
from hotfix.core.terminal import printable

if TYPE_CHECKING:
    from hotfix.service.files import HotfixService
    from hotfix.service.twin import TryFile, TryResult


def cmd_try(args: argparse.Namespace, svc: HotfixService, out: Output) -> int:
    from hotfix.service.twin import TryOptions, TwinTrial

    if (args.restart or args.signal) and not args.then_apply:
        raise UsageError(
            "--restart and --signal choose how --then-apply goes live: add --then-apply"
        )
    container, files = try_files(args.targets)
    options = TryOptions(
        probes=args.probe or [],
        expect_status=args.expect_status,
        expect_body=args.expect_body,
        expect_body_regex=args.expect_body_regex,
        check=args.check,
        network=args.network,
        with_volumes=args.with_volumes,
        keep=args.keep,
        timeout=args.timeout,
        force=args.force,
        then_apply=args.then_apply,
        restart=args.restart,
        signal=args.signal,
    )
    res = TwinTrial(svc).run(container, files, options, progress=out)
    out.result(lambda: view(res), "\n".join(try_lines(res)))
    healthy = res.healthy and (res.live is None or res.live.healthy)
    return EXIT_OK if healthy else EXIT_UNHEALTHY


def try_files(items: list[str]) -> tuple[str, list[TryFile]]:
    """``CONTAINER:PATH [SRC]`` or ``CONTAINER:PATH=SRC``… (one container): the container
    and each path's new content (SRC a local file, ``-`` or none: stdin)."""
    from hotfix.service.twin import TryFile

    if len(items) <= 2 and "=" not in items[0]:
        pairs = [(items[0], items[1] if len(items) == 2 else "-")]
    else:
        bad = [item for item in items if "=" not in item]
        if bad:
            raise UsageError(f"{bad[0]!r}: with several files give each as CONTAINER:PATH=SRC")
        pairs = [(t, s) for t, _, s in (item.rpartition("=") for item in items)]
    targets = [parse_target(target) for target, _ in pairs]
    containers = {c for c, _ in targets}
    if len(containers) > 1:
        raise UsageError(f"one container per try; got {', '.join(sorted(containers))}")
    if any(not path for _, path in targets):
        raise UsageError("give a file: CONTAINER:PATH")
    if sum(src in ("", "-") for _, src in pairs) > 1:
        raise UsageError("stdin ('-') can be the content of one file only")
    files = [
        TryFile(path or "", _content(src))
        for (_, path), (_, src) in zip(targets, pairs, strict=True)
    ]
    return targets[0][0], files


def _content(src: str) -> bytes:
    if src in ("", "-"):
        return sys.stdin.buffer.read()
    try:
        return Path(src).read_bytes()
    except OSError as exc:
        raise HotfixError(f"cannot read {src}: {exc.strerror}") from exc


def try_lines(res: TryResult) -> list[str]:
    """The twin, the check, the verdict with its time; the twin's log on failure; then
    what went live."""
    mounts = f", {len(res.dropped_mounts)} mount(s) left out" if res.dropped_mounts else ""
    kept = " (kept)" if res.kept else " (removed)"
    lines = [f"twin {res.twin}{kept}: network {res.network}{mounts}"]
    if res.check:
        verdict = "passed" if res.check.passed else f"FAILED (exit {res.check.exit_code})"
        lines.append(f"check {printable(res.check.command)}: {verdict}")
        if not res.check.passed and res.check.output:
            lines.extend("  " + printable(line) for line in res.check.output.splitlines()[-10:])
    lines.extend(f"note: {printable(note)}" for note in res.notes)
    name = res.container.name
    if res.healthy:
        lines.append(
            f"{name}: healthy in its twin after {res.seconds:.2f} s "
            f"(probe {printable(res.probe)}: {printable(res.result.detail)})"
        )
    else:
        what = "REFUSED" if res.verdict == "refused" else "UNHEALTHY"
        lines.append(
            f"{name}: {what} in its twin after {res.seconds:.2f} s: {printable(res.reason or '')}"
        )
        lines.append("production untouched")
        if res.log:
            lines.append("the twin's last log lines:")
            lines.extend("  " + printable(line) for line in res.log.splitlines())
    lines.extend(f"saved {name}:{printable(w.path)}" for w in res.applied)
    if res.live:
        lines.append(_health_line(res.live))
    return lines
