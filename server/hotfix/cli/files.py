"""The file commands: ps, ls, cat, write, edit, checkpoint, changes, diff, revert, log."""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import stat as stat_module
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hotfix.cli.lifecycle import hotfix_stages, lacking_fixes, with_predecessors
from hotfix.cli.live import revert_lines
from hotfix.cli.output import Output, joined_paths, table, view
from hotfix.cli.replicas import fleet_of, replica_set, replica_set_asked
from hotfix.core.errors import EXIT_ERROR, EXIT_OK, HotfixError, UsageError
from hotfix.core.paths import parse_target
from hotfix.core.terminal import printable

if TYPE_CHECKING:
    from hotfix.core.model import DirEntry
    from hotfix.fleet import DiffGroup
    from hotfix.service.files import HotfixService
    from hotfix.service.results import WriteResult

# ls's first letter of the mode, by kind ("-" for a regular file).
KIND_LETTERS = {"dir": "d", "symlink": "l", "fifo": "p", "socket": "s", "device": "c"}


def cmd_ps(args: argparse.Namespace, svc: HotfixService, out: Output) -> int:
    if args.all_engines:
        containers = [c for e in args.engines.all() for c in e.list_containers(all=args.all)]
    else:
        containers = svc.containers(all=args.all)
    stages = hotfix_stages(args, svc, {c.engine for c in containers})
    rows = [
        ["NAME", "ID", "IMAGE", "STATE", "PORTS", "HOTFIX"]
        + (["ENGINE"] if args.all_engines else [])
    ]
    for c in containers:
        state = c.state + (f" ({c.health})" if c.health else "")
        row = [c.name, c.short_id, c.image, state, ", ".join(c.ports), stages.get(c.id, "-")]
        rows.append(row + ([c.engine] if args.all_engines else []))
    out.result(
        lambda: {"containers": [{**view(c), "hotfixStage": stages.get(c.id)} for c in containers]},
        table(rows),
    )
    return EXIT_OK


def cmd_ls(args: argparse.Namespace, svc: HotfixService, out: Output) -> int:
    container, path = parse_target(args.target)
    entries = svc.list_dir(container, path or "/")
    out.result(
        lambda: {"path": path, "entries": [{"name": e.name, **view(e.stat)} for e in entries]},
        table([_ls_row(e) for e in entries]),
    )
    return EXIT_OK


def _ls_row(entry: DirEntry) -> list[str]:
    """As `ls -l` shows it: mode, owner, group, size, time, name (and a link's target)."""
    st = entry.stat
    mode = KIND_LETTERS.get(st.kind, "-") + stat_module.filemode(st.mode)[1:]
    when = datetime.fromtimestamp(st.mtime).strftime("%Y-%m-%d %H:%M")
    name = entry.name + (f" -> {st.link_target}" if st.link_target else "")
    return [mode, str(st.uid), str(st.gid), str(st.size), when, name]


def cmd_cat(args: argparse.Namespace, svc: HotfixService, out: Output) -> int:
    container, path = parse_target(args.target)
    res = svc.read(container, path or "", force=args.force)
    if out.as_json:
        data = base64.b64encode(res.data).decode()
        out.result(
            {
                "container": res.container.name,
                "path": res.path,
                "version": res.version,
                "data": data,
            }
        )
    else:
        sys.stdout.buffer.write(res.data)
        sys.stdout.flush()
    return EXIT_OK


def cmd_write(args: argparse.Namespace, svc: HotfixService, out: Output) -> int:
    container, path = parse_target(args.target)
    if args.src in (None, "-"):
        data = sys.stdin.buffer.read()
    else:
        try:
            data = Path(args.src).read_bytes()
        except OSError as exc:
            raise HotfixError(f"cannot read {args.src}: {exc.strerror}") from exc
    res = svc.write(container, path or "", data, base_version=args.base_version, force=args.force)
    return _report_write(out, res)


def _report_write(out: Output, res: WriteResult, **extra: Any) -> int:
    for warning in res.warnings:
        out.note(f"warning: {warning}")
    taken = " (checkpoint taken first)" if res.checkpointed else ""
    text = f"wrote {res.container.name}:{printable(res.path)}{taken}"
    out.result(lambda: {**extra, **view(res)}, text)
    return EXIT_OK


def cmd_edit(args: argparse.Namespace, svc: HotfixService, out: Output) -> int:
    import tempfile

    container, path = parse_target(args.target)
    original = svc.read(container, path or "")
    workdir = Path(tempfile.mkdtemp(prefix="hotfix-edit-"))
    copy = workdir / Path(original.path).name
    copy.write_bytes(original.data)
    status = _run_editor(copy)
    if status != 0:
        out.note(f"editor exited with {status}; nothing written. Your copy: {copy}")
        return EXIT_ERROR
    edited = copy.read_bytes()
    if edited == original.data:
        shutil.rmtree(workdir, ignore_errors=True)
        out.result({"changed": False, "path": original.path}, "no change; nothing written")
        return EXIT_OK
    try:
        res = svc.write(container, original.path, edited, base_version=original.version)
    except HotfixError as exc:
        # The edit is the one thing we must never lose: keep the copy and say where.
        out.note(f"hotfix: error: {exc}")
        out.note(
            f"your edited copy is kept at {copy} — write it with "
            f"`hotfix write {container}:{original.path} {copy}` once resolved"
        )
        return exc.exit_code
    shutil.rmtree(workdir, ignore_errors=True)
    return _report_write(out, res, changed=True)


def _run_editor(copy: Path) -> int:
    """$VISUAL, else $EDITOR, else vi on ``copy``, on this terminal; its exit status."""
    import shlex
    import subprocess

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    return subprocess.call([*shlex.split(editor), str(copy)])


def cmd_checkpoint(args: argparse.Namespace, svc: HotfixService, out: Output) -> int:
    by_container: dict[str, list[str]] = {}
    for target in args.targets:
        container, path = parse_target(target)
        by_container.setdefault(container, []).append(path or "")
    taken = [cp for c, paths in by_container.items() for cp in svc.checkpoint(c, paths)]
    text = "\n".join(
        f"checkpoint {cp.container_name}:{printable(cp.path)} {cp.version}" for cp in taken
    )
    out.result(lambda: {"checkpoints": view(taken)}, text)
    return EXIT_OK


def cmd_changes(args: argparse.Namespace, svc: HotfixService, out: Output) -> int:
    changes = svc.changes(args.container)
    lines = [
        f"{c.status:9} {c.container_name}:{printable(c.path)}"
        + ("" if c.container_exists else f" (removed: {c.container_id[:12]})")
        for c in changes
    ]
    missing = lacking_fixes(args, svc, args.container)
    lines += [
        f"{'lacks':9} {new}:{printable(path)} ({old} had the fix)" for new, path, old in missing
    ]
    out.result(
        lambda: {
            "changes": view(changes),
            "lacking": [{"container": n, "path": p, "hadIt": o} for n, p, o in missing],
        },
        "\n".join(lines),
    )
    return EXIT_OK


def cmd_diff(args: argparse.Namespace, svc: HotfixService, out: Output) -> int:
    container, path = parse_target(args.target, path_required=False)
    if replica_set_asked(args):
        return _diff_replicas(args, svc, out, container, path)
    diff = svc.diff(container, path)
    if out.as_json:
        out.result({"diff": diff})
    elif diff:
        sys.stdout.write(diff)
    return EXIT_OK


def _diff_replicas(
    args: argparse.Namespace, svc: HotfixService, out: Output, container: str, path: str | None
) -> int:
    groups = fleet_of(args, svc).diff_groups(replica_set(args, svc, container), path)
    if out.as_json:
        out.result(
            {
                "groups": [
                    {
                        "containers": [str(t) for t in g.targets],
                        "diff": g.diff,
                        "lacksFix": not g.diff and any(o.diff for o in groups),
                    }
                    for g in groups
                ]
            }
        )
    else:  # a patch, exact as `git diff` prints one: the content is not escaped
        sys.stdout.write("".join(_diff_group_text(g, groups) for g in groups))
    return EXIT_OK


def _diff_group_text(group: DiffGroup, groups: list[DiffGroup]) -> str:
    """A replica without changes where others have some lacks their fix: say so."""
    head = f"# {', '.join(map(str, group.targets))}\n"
    if group.diff:
        return head + group.diff
    fixed = [str(t) for g in groups if g.diff for t in g.targets]
    if fixed:
        return head + f"(lacks the fix: {', '.join(fixed)} has it)\n"
    return head + "(no changes)\n"


def cmd_revert(args: argparse.Namespace, svc: HotfixService, out: Output) -> int:
    container, path = parse_target(args.target, path_required=False)
    if replica_set_asked(args):
        if args.to != "checkpoint":
            raise UsageError("--to last-good reverts one container; without --replicas/--with")
        done = fleet_of(args, svc).revert_all(replica_set(args, svc, container), path)
        lines = [f"{t}: reverted {joined_paths(paths) or 'nothing'}" for t, paths in done.items()]
        out.result({"reverted": {str(t): paths for t, paths in done.items()}}, "\n".join(lines))
        return EXIT_OK
    result = svc.revert_files(container, path, to=args.to, force=args.force)
    lines = [line for line in revert_lines(result) if not line.startswith("FAILED")]
    text = "\n".join(lines) or (None if result.failed else "nothing to revert")
    out.result(lambda: view(result), text)
    if result.failed:  # every path was tried; the error line names the first that failed
        first = result.failed[0]
        more = f" (and {len(result.failed) - 1} more)" if len(result.failed) > 1 else ""
        raise HotfixError(f"revert of {first.path} failed{more}: {first.error}")
    return EXIT_OK


def cmd_log(args: argparse.Namespace, svc: HotfixService, out: Output) -> int:
    entries = with_predecessors(args, svc, svc.journal(args.container, limit=args.limit))
    rows = []
    for e in entries:
        when = datetime.fromtimestamp(e.time).strftime("%Y-%m-%d %H:%M:%S")
        where = (e.container_name or "") + (f":{e.path}" if e.path else "")
        extra = e.detail.get("error") or e.detail.get("probe_result") or ""
        rows.append([when, e.user, e.action, where, e.outcome, str(extra)])
    out.result(lambda: {"entries": view(entries)}, table(rows))
    return EXIT_OK
