"""The commands that carry a hotfix out of the container: harvest (git), commit (an image),
report (the incident record)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hotfix.cli.output import Output, view
from hotfix.cli.replicas import fleet_of, replica_set, replica_set_asked
from hotfix.core.errors import EXIT_OK, EXIT_UNHEALTHY, HotfixError, UsageError
from hotfix.core.terminal import printable

# The release modules bring git and more: imported by their own commands only (docs/cli.md).
if TYPE_CHECKING:
    from hotfix.release.harvest import HarvestResult
    from hotfix.release.imaging import CommitResult
    from hotfix.service.files import HotfixService


def cmd_harvest(args: argparse.Namespace, svc: HotfixService, out: Output) -> int:
    if replica_set_asked(args):
        source, *replicas = replica_set(args, svc, args.container)
        changed = fleet_of(args, svc).check_identical(source, replicas)
        out.note(f"one change across {', '.join(map(str, changed)) or 'no replica'}")
    from hotfix.release.harvest import harvest

    res = harvest(
        svc,
        args.container,
        args.repo,
        maps=args.map or [],
        branch=args.branch,
        message=args.message,
        test=args.test,
        progress=out,
    )
    for note in res.notes:
        out.note(f"note: {note}")
    out.result(lambda: view(res), _harvest_text(res))
    return EXIT_OK


def _harvest_text(res: HarvestResult) -> str:
    if res.commit is None or (not res.new_branch and res.commit == res.parent):
        head = f"nothing to commit in {res.repo}" + (
            f" (branch {res.branch})" if res.branch else ""
        )
    else:
        state = "new branch" if res.new_branch else "added to"
        head = f"harvested {res.container.name} into {res.repo}: {state} {res.branch}"
    lines = [
        head,
        f"branch  {res.branch or '-'}",
        f"commit  {res.commit or '-'}",
        f"base    {res.base[:12]} ({res.base_source})",
        "files",
    ]
    for f in res.files:
        extra = ", executable" if f.executable and f.action != "deleted" else ""
        lines.append(
            f"  {printable(f.repo_path)} <- {printable(f.path)}  {f.status}, {f.action}{extra} "
            f"(mapped by {printable(f.mapped_by)})"
        )
    if res.test:
        lines.append(f"tests   `{printable(res.test.command)}` passed in {res.test.seconds:.2f} s")
    return "\n".join(lines)


def cmd_commit(args: argparse.Namespace, svc: HotfixService, out: Output) -> int:
    if (args.probe or args.expect_status) and not args.verify:
        raise UsageError("--probe and --expect-status go with --verify")
    from hotfix.release.imaging import commit_image

    res = commit_image(
        svc,
        args.container,
        tag=args.tag,
        whole_layer=args.whole_layer,
        verify=args.verify,
        probe=args.probe,
        expect_status=args.expect_status,
        timeout=args.timeout,
        progress=out,
        notify=out.note,
    )
    for note in res.notes:
        out.note(f"note: {note}")
    out.result(lambda: view(res), _commit_text(res))
    if res.verify is None:
        return EXIT_OK
    return EXIT_OK if res.verify.healthy else EXIT_UNHEALTHY


def _commit_text(res: CommitResult) -> str:
    what = (
        "the whole writable layer and runtime config"
        if res.mode == "whole-layer"
        else f"clean: {res.base_image} + {len(res.files)} hotfixed file(s)"
    )
    lines = [
        f"committed {res.tag} ({res.image_id[:19]}; {what}) in {res.commit_seconds:.2f} s",
        *[f"  {printable(f.path)}  {f.mode:04o} {f.uid}:{f.gid}" for f in res.files],
        *[f"  label {printable(k)}={printable(v)}" for k, v in sorted(res.labels.items())],
    ]
    if res.verify is not None:
        v = res.verify
        verdict = "healthy" if v.healthy else "UNHEALTHY"
        lines.append(
            f"verify: {verdict} after {v.seconds:.2f} s "
            f"(probe {printable(v.probe)}: {printable(v.result.detail)}; "
            f"{v.container} removed)"
        )
    return "\n".join(lines)


def cmd_report(args: argparse.Namespace, svc: HotfixService, out: Output) -> int:
    from hotfix.cli.lifecycle import lifecycle_of
    from hotfix.release.report import build_report

    text = build_report(svc, args.container, lifecycle_of(args, svc))
    if args.output:
        target = _write_atomically(args.output, text)
        out.result({"output": str(target), "bytes": len(text.encode())}, f"wrote {target}")
    elif out.as_json:
        out.result({"markdown": text})
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    return EXIT_OK


def _write_atomically(name: str, text: str) -> Path:
    """A reader of the file sees the old report or the whole new one, never half."""
    target = Path(name)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise HotfixError(f"cannot write {name}: {exc.strerror}") from exc
    return target
