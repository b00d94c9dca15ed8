"""The ``hotfix`` command line: a thin adapter over :class:`hotfix.service.files.HotfixService`.

Exit codes: 0 success, 1 error, 2 usage, 3 conflict, 4 unhealthy. Errors are one
line on stderr. Every command takes ``--json`` for scripts.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import stat as stat_module
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hotfix import __version__
from hotfix.core.errors import (
    EXIT_CONFLICT,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_UNHEALTHY,
    EXIT_USAGE,
    HotfixError,
    UsageError,
)
from hotfix.core.paths import parse_target
from hotfix.core.terminal import printable
from hotfix.docker.engines import DEFAULT as DEFAULT_ENGINE
from hotfix.views import (
    apply_view,
    change_view,
    checkpoint_view,
    commit_image_view,
    container_view,
    harvest_view,
    journal_view,
    restart_view,
    rollout_view,
    stat_view,
    write_view,
)

# Start-up time is most of what a command costs (docs/cli.md, "Start-up"): the service,
# docker-py and the state store are imported in main() once the arguments are known to
# name a command that needs them, and Fleet only by the commands that work on replicas.
# --help, --version and usage errors import none of them.
if TYPE_CHECKING:
    from hotfix.fleet import Fleet, Target
    from hotfix.service.files import HotfixService
    from hotfix.service.results import RestartResult, WriteResult


class Output:
    """Human text on a terminal, JSON with --json; progress only where a person watches.

    Text shows control characters escaped (hotfix.core.terminal): a command escapes each field
    a container controls, newlines included, and what reaches the terminal is escaped again
    except for the line breaks the command put there. JSON stays exact."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.interactive = sys.stderr.isatty() and not as_json
        self._progress_shown = False

    def result(self, data: Any, text: str | None = None) -> None:
        self.clear_progress()
        if self.as_json:
            json.dump(data, sys.stdout, indent=2, default=str)
            sys.stdout.write("\n")
        elif text:
            text = printable(text, keep="\n")
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()

    def note(self, message: str) -> None:
        """Information for the person (stderr, so stdout stays clean for pipes)."""
        self.clear_progress()
        print(printable(message), file=sys.stderr)

    # Progress protocol (hotfix.service.files.Progress)
    def report(self, message: str, percentage: int | None = None) -> None:
        if self.interactive:
            width = shutil.get_terminal_size((100, 20)).columns - 1
            sys.stderr.write("\r\x1b[K" + printable(message)[:width])
            sys.stderr.flush()
            self._progress_shown = True

    def cancelled(self) -> bool:
        return False

    def clear_progress(self) -> None:
        if self._progress_shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self._progress_shown = False


# --- commands ------------------------------------------------------------------------------


def cmd_ps(args: argparse.Namespace, svc: HotfixService, out: Output) -> int:
    if args.all_engines:
        containers = [c for e in args.engines.all() for c in e.list_containers(all=args.all)]
    else:
        containers = svc.containers(all=args.all)
    rows = [["NAME", "ID", "IMAGE", "STATE", "PORTS"] + (["ENGINE"] if args.all_engines else [])]
    for c in containers:
        state = c.state + (f" ({c.health})" if c.health else "")
        row = [c.name, c.short_id, c.image, state, ", ".join(c.ports)]
        rows.append(row + ([c.engine] if args.all_engines else []))
    out.result({"containers": [container_view(c) for c in containers]}, table(rows))
    return EXIT_OK


def cmd_ls(args: argparse.Namespace, svc: HotfixService, out: Output) -> int:
    container, path = parse_target(args.target)
    entries = svc.list_dir(container, path or "/")
    lines = []
    for e in entries:
        st = e.stat
        kind = {"dir": "d", "symlink": "l", "fifo": "p", "socket": "s", "device": "c"}.get(
            st.kind, "-"
        )
        when = datetime.fromtimestamp(st.mtime).strftime("%Y-%m-%d %H:%M")
        name = e.name + (f" -> {st.link_target}" if st.link_target else "")
        lines.append(
            [
                kind + stat_module.filemode(st.mode)[1:],
                str(st.uid),
                str(st.gid),
                str(st.size),
                when,
                name,
            ]
        )
    data = {"path": path, "entries": [{"name": e.name, **stat_view(e.stat)} for e in entries]}
    out.result(data, table(lines, header=False) if lines else "")
    return EXIT_OK


def cmd_cat(args: argparse.Namespace, svc: HotfixService, out: Output) -> int:
    container, path = parse_target(args.target)
    res = svc.read(container, path or "", force=args.force)
    if out.as_json:
        out.result(
            {
                "container": res.container.name,
                "path": res.path,
                "version": res.version,
                "data": base64.b64encode(res.data).decode(),
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
    out.result({**extra, **write_view(res)}, text)
    return EXIT_OK


def cmd_edit(args: argparse.Namespace, svc: HotfixService, out: Output) -> int:
    import shlex
    import subprocess
    import tempfile

    container, path = parse_target(args.target)
    original = svc.read(container, path or "")
    workdir = Path(tempfile.mkdtemp(prefix="hotfix-edit-"))
    copy = workdir / Path(original.path).name
    copy.write_bytes(original.data)
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    status = subprocess.call([*shlex.split(editor), str(copy)])
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


def cmd_checkpoint(args: argparse.Namespace, svc: HotfixService, out: Output) -> int:
    by_container: dict[str, list[str]] = {}
    for target in args.targets:
        container, path = parse_target(target)
        by_container.setdefault(container, []).append(path or "")
    taken = [cp for c, paths in by_container.items() for cp in svc.checkpoint(c, paths)]
    text = "\n".join(
        f"checkpoint {cp.container_name}:{printable(cp.path)} {cp.version}" for cp in taken
    )
    out.result({"checkpoints": [checkpoint_view(cp) for cp in taken]}, text)
    return EXIT_OK


def cmd_diff(args: argparse.Namespace, svc: HotfixService, out: Output) -> int:
    container, path = parse_target(args.target, path_required=False)
    if _replica_set_asked(args):
        groups = _fleet(args, svc).diff_groups(_replica_set(args, svc, container), path)
        text = "".join(
            f"# {', '.join(map(str, g.targets))}\n" + (g.diff or "(no changes)\n") for g in groups
        )
        data = {
            "groups": [{"containers": [str(t) for t in g.targets], "diff": g.diff} for g in groups]
        }
        if out.as_json:
            out.result(data)
        else:  # a patch, exact as `git diff` prints one: the content is not escaped
            sys.stdout.write(text)
        return EXIT_OK
    diff = svc.diff(container, path)
    if out.as_json:
        out.result({"diff": diff})
    elif diff:
        sys.stdout.write(diff)
    return EXIT_OK


def cmd_revert(args: argparse.Namespace, svc: HotfixService, out: Output) -> int:
    container, path = parse_target(args.target, path_required=False)
    if _replica_set_asked(args):
        done = _fleet(args, svc).revert_all(_replica_set(args, svc, container), path)
        lines = [f"{t}: reverted {_paths(paths) or 'nothing'}" for t, paths in done.items()]
        out.result({"reverted": {str(t): paths for t, paths in done.items()}}, "\n".join(lines))
        return EXIT_OK
    reverted = svc.revert(container, path, force=args.force)
    text = "\n".join(f"reverted {printable(p)}" for p in reverted) or "nothing to revert"
    out.result({"reverted": reverted}, text)
    return EXIT_OK


def cmd_apply(args: argparse.Namespace, svc: HotfixService, out: Output) -> int:
    from hotfix.fleet import Target

    fleet = _fleet(args, svc)
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
    lines = [f"{source}: {_paths(result.files)} → {len(targets)} target(s)"]
    for o in result.outcomes:
        health = (
            f" ({printable(o.health.result.detail)}, {o.health.seconds:.2f} s)" if o.health else ""
        )
        detail = f" — {printable(o.detail)}" if o.detail else ""
        lines.append(f"  {o.target}: {o.status}{health}{detail}")
    out.result(apply_view(result), "\n".join(lines))
    statuses = {o.status for o in result.outcomes}
    if "conflict" in statuses:
        return EXIT_CONFLICT
    if "reverted" in statuses:
        return EXIT_UNHEALTHY
    return EXIT_OK if result.ok else EXIT_ERROR


def cmd_rollout(args: argparse.Namespace, svc: HotfixService, out: Output) -> int:
    from hotfix.fleet import rollout

    result = rollout(
        _fleet(args, svc),
        args.service,
        args.image,
        engine=args.engine,
        push=args.push,
        monitor=args.monitor,
        timeout=args.timeout,
        progress=out,
    )
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
    out.result(rollout_view(result), "\n".join(lines))
    return EXIT_OK if result.converged else EXIT_UNHEALTHY


def _fleet(args: argparse.Namespace, svc: HotfixService) -> Fleet:
    from hotfix.fleet import Fleet

    return Fleet(args.engines, svc.store, svc.user)


def _replica_set_asked(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "replicas", False) or getattr(args, "with_", None))


def _replica_set(args: argparse.Namespace, svc: HotfixService, container: str) -> list[Target]:
    """The container and its replicas (or the ones named with --with)."""
    from hotfix.fleet import Target

    source = Target(args.engine, container)
    if args.with_:
        return [source, *(Target.parse(t, args.engine) for t in args.with_)]
    found = _fleet(args, svc).replicas(
        source, same_image=args.same_image, all_engines=args.all_engines
    )
    return [source, *found]


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
        lines.append(f"reverted {_paths(res.reverted) or 'nothing'}; then:")
        lines.append(_health_line(res.after_revert))
    out.result(restart_view(res), "\n".join(lines))
    return EXIT_OK if res.healthy else EXIT_UNHEALTHY


def _health_line(res: RestartResult) -> str:
    verdict = "healthy" if res.healthy else "UNHEALTHY"
    return (
        f"{res.container.name}: {verdict} after {res.seconds:.2f} s ({res.action}; "
        f"probe {printable(res.probe)}: {printable(res.result.detail)})"
    )


def cmd_log(args: argparse.Namespace, svc: HotfixService, out: Output) -> int:
    views = [journal_view(e) for e in svc.journal(args.container, limit=args.limit)]
    rows = []
    for v in views:
        when = datetime.fromtimestamp(v["time"]).strftime("%Y-%m-%d %H:%M:%S")
        where = (v["container"] or "") + (f":{v['path']}" if v["path"] else "")
        extra = v["detail"].get("error") or v["detail"].get("probe_result") or ""
        rows.append([when, v["user"], v["action"], where, v["outcome"], str(extra)])
    out.result({"entries": views}, table(rows, header=False))
    return EXIT_OK


def cmd_changes(args: argparse.Namespace, svc: HotfixService, out: Output) -> int:
    changes = svc.changes(args.container)
    text = "\n".join(f"{c.status:9} {c.container_name}:{printable(c.path)}" for c in changes)
    out.result({"changes": [change_view(c) for c in changes]}, text)
    return EXIT_OK


def cmd_harvest(args: argparse.Namespace, svc: HotfixService, out: Output) -> int:
    if _replica_set_asked(args):
        source, *replicas = _replica_set(args, svc, args.container)
        changed = _fleet(args, svc).check_identical(source, replicas)
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
    out.result(harvest_view(res), "\n".join(lines))
    return EXIT_OK


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
    code = EXIT_OK
    if res.verify is not None:
        v = res.verify
        verdict = "healthy" if v.healthy else "UNHEALTHY"
        lines.append(
            f"verify: {verdict} after {v.seconds:.2f} s "
            f"(probe {printable(v.probe)}: {printable(v.result.detail)}; "
            f"{v.container} removed)"
        )
        code = EXIT_OK if v.healthy else EXIT_UNHEALTHY
    out.result(commit_image_view(res), "\n".join(lines))
    return code


def cmd_report(args: argparse.Namespace, svc: HotfixService, out: Output) -> int:
    from hotfix.release.report import build_report

    text = build_report(svc, args.container)
    if args.output:
        target = Path(args.output)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise HotfixError(f"cannot write {args.output}: {exc.strerror}") from exc
        out.result({"output": str(target), "bytes": len(text.encode())}, f"wrote {target}")
    elif out.as_json:
        out.result({"markdown": text})
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    return EXIT_OK


def cmd_lsp(args: argparse.Namespace, svc: HotfixService | None, out: Output) -> int:
    from hotfix.lsp.server import run

    run(tcp=args.tcp)
    return EXIT_OK


# --- parser --------------------------------------------------------------------------------


def build_parser(
    only: str | None = None, extra: Mapping[str, Command] | None = None
) -> argparse.ArgumentParser:
    """The parser of every command, or, with ``only``, of that command alone: creating the
    sub-parsers is most of argparse's share of start-up (~6 ms for all of them), and a run
    uses one. :func:`main` asks for one only when the arguments name it (command_in)."""
    # --json and --engine are taken before or after the command (`hotfix --engine e2 ps` and
    # `hotfix ps --engine e2`); SUPPRESS keeps a subcommand from resetting the first.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print the result as JSON"
    )
    common.add_argument(
        "--engine",
        metavar="NAME",
        default=argparse.SUPPRESS,
        help="the engine: 'default' (DOCKER_HOST or the current docker context) or a docker "
        "context name (default: $HOTFIX_ENGINE, else 'default')",
    )

    parser = argparse.ArgumentParser(
        prog="hotfix",
        description="Hotfix files in live Docker containers: checkpointed, conflict-checked, "
        "probed, harvested to git.",
    )
    parser.add_argument("--version", action="version", version=f"hotfix {__version__}")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument(
        "--engine",
        metavar="NAME",
        default=os.environ.get("HOTFIX_ENGINE") or DEFAULT_ENGINE,
        help="the engine (a docker context name, or 'default'); also after the command",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (handler, help, arguments) in {**COMMANDS, **(extra or {})}.items():
        if only in (None, name):
            p = sub.add_parser(name, parents=[common], help=help, description=help)
            p.set_defaults(handler=handler)
            arguments(p)
    return parser


def command_in(argv: Sequence[str], extra: Mapping[str, Command] | None = None) -> str | None:
    """The command ``argv`` names, if it surely names one; None where the whole parser is
    needed: no command yet, an unknown one, or -h/--version before it (the list of commands)."""
    tokens = iter(argv)
    for token in tokens:
        if token == "--" or token in ("-h", "--h", "--he", "--hel", "--help"):
            return None
        if token.startswith("--") and "=" not in token and "--engine".startswith(token):
            next(tokens, None)  # --engine NAME (or an abbreviation of it): NAME is no command
        elif token.startswith("-"):
            if len(token) > 2 and "--version".startswith(token):
                return None
        else:
            return token if token in COMMANDS or token in (extra or {}) else None
    return None


def _ps_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--running", dest="all", action="store_false", help="only running containers")
    p.add_argument("--all-engines", action="store_true", help="list every engine's containers")


def _target_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", metavar="CONTAINER:PATH")


def _cat_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", metavar="CONTAINER:PATH")
    p.add_argument("--force", action="store_true", help="read even above HOTFIX_MAX_FILE_SIZE")


def _write_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", metavar="CONTAINER:PATH")
    p.add_argument("src", metavar="SRC", nargs="?", help="local file; stdin when absent or '-'")
    p.add_argument("--base-version", help="refuse (exit 3) unless the live file has this version")
    p.add_argument(
        "--force",
        action="store_true",
        help="write despite syntax errors, the size limit or hotfix.protect=true (journalled)",
    )


def _checkpoint_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("targets", metavar="CONTAINER:PATH", nargs="+")


def _diff_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", metavar="CONTAINER[:PATH]")
    _replica_options(p)


def _revert_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", metavar="CONTAINER[:PATH]")
    p.add_argument("--force", action="store_true", help="even if labelled hotfix.protect=true")
    _replica_options(p)


def _apply_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("container", metavar="CONTAINER")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--to-replicas", action="store_true", help="every replica of CONTAINER")
    which.add_argument("--to", nargs="+", metavar="[ENGINE/]NAME", help="these containers")
    p.add_argument("--rolling", action="store_true", help="restart + probe one target at a time")
    p.add_argument("--signal", metavar="SIG", help="with --rolling: send SIG instead of restarting")
    p.add_argument("--probe", metavar="URL|tcp:HOST:PORT|healthcheck|exec:CMD")
    p.add_argument("--timeout", type=_seconds, default=60.0, metavar="S")
    p.add_argument("--force", action="store_true", help="patch targets whose file differs")
    p.add_argument("--same-image", action="store_true", help="replicas: also by same image")
    p.add_argument("--all-engines", action="store_true", help="replicas: search every engine")


def _rollout_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("service", metavar="SERVICE")
    p.add_argument("--image", required=True, metavar="REF")
    p.add_argument("--push", action="store_true", help="push REF to its registry first")
    p.add_argument("--monitor", type=_seconds, default=5.0, metavar="S", help="watch each task S s")
    p.add_argument("--timeout", type=_seconds, default=300.0, metavar="S")


def _optional_container_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("container", metavar="CONTAINER", nargs="?")


def _probe_arguments(p: argparse.ArgumentParser, timeout: float = 10.0) -> None:
    p.add_argument("container", metavar="CONTAINER")
    p.add_argument(
        "--probe",
        metavar="URL|tcp:HOST:PORT|healthcheck|exec:CMD",
        help="default: the image's HEALTHCHECK, else HTTP GET / on the first published port",
    )
    p.add_argument(
        "--expect-status",
        type=int,
        action="append",
        metavar="CODE",
        help="HTTP status (repeatable)",
    )
    p.add_argument("--timeout", type=_seconds, default=timeout, metavar="S")


def _restart_arguments(p: argparse.ArgumentParser) -> None:
    _probe_arguments(p, timeout=60.0)
    p.add_argument("--signal", metavar="SIG", help="send SIG (e.g. HUP) instead of restarting")
    p.add_argument("--force", action="store_true", help="even if labelled hotfix.protect=true")
    p.add_argument(
        "--revert-on-failure",
        action="store_true",
        help="when unhealthy: revert to the checkpoint, restart again, report both",
    )


def _log_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("container", metavar="CONTAINER", nargs="?")
    p.add_argument("--limit", type=int, metavar="N")


def _harvest_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("container", metavar="CONTAINER")
    p.add_argument("--repo", required=True, metavar="DIR", help="the git repository (a clone)")
    p.add_argument(
        "--map",
        action="append",
        metavar="CONTAINER_PATH=REPO_PATH",
        help="where a container path (prefix) lives in the repo (repeatable); default: inferred",
    )
    p.add_argument("--branch", metavar="NAME", help="branch hotfix-NAME (made unique)")
    p.add_argument("--message", metavar="TEXT", help="the commit's subject (and body)")
    p.add_argument(
        "--test", metavar="CMD", help="run CMD in the worktree first; no commit if it fails"
    )
    _replica_options(p)


def _commit_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("container", metavar="CONTAINER")
    p.add_argument("--tag", metavar="REF", help="default REPOSITORY:TAG-hotfix-SLUG")
    p.add_argument(
        "--whole-layer",
        action="store_true",
        help="docker commit of the whole writable layer and runtime config (says what else it holds)",
    )
    p.add_argument(
        "--verify",
        action="store_true",
        help="start a throwaway container from the new image and probe it",
    )
    p.add_argument(
        "--probe",
        metavar="URL|tcp:HOST:PORT|healthcheck|exec:CMD",
        help="with --verify; a URL of the container's published port is pointed at the new one",
    )
    p.add_argument(
        "--expect-status",
        type=int,
        action="append",
        metavar="CODE",
        help="HTTP status (repeatable)",
    )
    p.add_argument("--timeout", type=_seconds, default=60.0, metavar="S", help="verify timeout")


def _report_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("container", metavar="CONTAINER", nargs="?")
    p.add_argument("--output", metavar="FILE", help="write to FILE instead of stdout")


def _lsp_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--tcp",
        metavar="HOST:PORT",
        help="listen on a loopback TCP port instead (debugging); clients must send the token "
        "whose file is named on stderr",
    )


Handler = Callable[[argparse.Namespace, "HotfixService", Output], int]
Arguments = Callable[[argparse.ArgumentParser], None]

Command = tuple[Handler | Callable[..., int], str, Arguments]

# name → (handler, help, its arguments); in this order in `hotfix --help`.
COMMANDS: dict[str, Command] = {
    "ps": (
        cmd_ps,
        "list containers: name, short id, image, state/health, published ports",
        _ps_arguments,
    ),
    "ls": (cmd_ls, "list a directory of a container", _target_argument),
    "cat": (cmd_cat, "print a file of a container", _cat_arguments),
    "write": (
        cmd_write,
        "write a file into a container (checkpoints the original first)",
        _write_arguments,
    ),
    "edit": (
        cmd_edit,
        "edit a file with $VISUAL/$EDITOR; written back if changed",
        _target_argument,
    ),
    "checkpoint": (
        cmd_checkpoint,
        "take checkpoints: the live files become the baseline",
        _checkpoint_arguments,
    ),
    "diff": (
        cmd_diff,
        "unified diff checkpoint → live; prints nothing when unchanged",
        _diff_arguments,
    ),
    "revert": (
        cmd_revert,
        "restore checkpointed files (content, owner, mode)",
        _revert_arguments,
    ),
    "apply": (
        cmd_apply,
        "carry a container's change to its replicas (or named containers)",
        _apply_arguments,
    ),
    "rollout": (
        cmd_rollout,
        "roll a Swarm service out to an image (Swarm's rolling update)",
        _rollout_arguments,
    ),
    "changes": (
        cmd_changes,
        "files changed against their checkpoints",
        _optional_container_argument,
    ),
    "restart": (
        cmd_restart,
        "restart (or signal) a container, then wait until healthy",
        _restart_arguments,
    ),
    "probe": (cmd_probe, "wait until a container is healthy", _probe_arguments),
    "log": (cmd_log, "the journal: who did what, when, with which outcome", _log_arguments),
    "harvest": (
        cmd_harvest,
        "commit the hotfixed files to a hotfix-* branch of a git repo",
        _harvest_arguments,
    ),
    "commit": (
        cmd_commit,
        "commit the hotfixed container as an image (clean by default)",
        _commit_arguments,
    ),
    "report": (cmd_report, "the incident record (Markdown) from the journal", _report_arguments),
    "lsp": (cmd_lsp, "run the language server (stdio)", _lsp_arguments),
}


def _replica_options(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("--replicas", action="store_true", help="the container and its replicas")
    group.add_argument("--with", dest="with_", nargs="+", metavar="[ENGINE/]NAME", help="and these")
    p.add_argument("--same-image", action="store_true", help="replicas: also by same image")
    p.add_argument("--all-engines", action="store_true", help="replicas: search every engine")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value


def table(rows: list[list[str]], header: bool = True) -> str:
    if not rows:
        return ""
    rows = [[printable(cell) for cell in row] for row in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def _paths(paths: Sequence[str]) -> str:
    """Container paths for one line of text."""
    return ", ".join(map(printable, paths))


def main(argv: Sequence[str] | None = None, extra: Mapping[str, Command] | None = None) -> int:
    """Run one command. ``extra``: commands of the layers above (the resident process's own
    `hotfix daemon`), which need no engine."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(command_in(argv, extra), extra).parse_args(argv)
    out = Output(getattr(args, "json", False))
    try:
        if args.command == "lsp" or args.command in (extra or {}):  # no engine: no service
            code: int = args.handler(args, None, out)
            return code
        if _reaches_no_ssh_engine(args):
            _without_paramiko()
        from hotfix.docker.engines import Engines
        from hotfix.service.files import HotfixService
        from hotfix.store.state import StateStore

        args.engines = Engines()
        svc = HotfixService(args.engines.get(args.engine), StateStore())
        for settled in svc.settled:  # what became of saves a killed process left midway
            out.note(f"hotfix: {settled}")
        started = time.monotonic()
        code = args.handler(args, svc, out)
        if out.interactive and time.monotonic() - started > 2:
            out.note(f"done in {time.monotonic() - started:.1f} s")
        return code
    except HotfixError as exc:
        out.clear_progress()
        print(f"hotfix: error: {printable(exc)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        out.clear_progress()
        print("hotfix: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK


# docker-py's URL schemes that are surely not ssh:// (docker/utils/utils.py: parse_host).
_NOT_SSH_SCHEMES = ("unix", "http+unix", "tcp", "http", "https")


def _reaches_no_ssh_engine(args: argparse.Namespace) -> bool:
    """Whether this run surely reaches one engine only, and not through ssh://: the default
    engine, with DOCKER_HOST set to a non-ssh URL, or unset and no current docker context.
    Told without docker-py (that is the point); in doubt, False."""
    if args.engine != DEFAULT_ENGINE or args.command in ("apply", "rollout"):
        return False
    if getattr(args, "all_engines", False) or _replica_set_asked(args):
        return False
    host = os.environ.get("DOCKER_HOST", "").strip()
    if host:
        return host.partition("://")[0].lower() in _NOT_SSH_SCHEMES
    return _no_current_context()


def _no_current_context() -> bool:
    """No docker config names a current context (other than 'default'), in any of the files
    docker-py may read it from (docker/utils/config.py: find_config_file)."""
    if os.environ.get("DOCKER_CONTEXT", "default") != "default":
        return False
    home = os.path.expanduser("~")
    candidates = [os.path.join(home, ".docker", "config.json"), os.path.join(home, ".dockercfg")]
    if os.environ.get("DOCKER_CONFIG"):
        candidates.insert(0, os.path.join(os.environ["DOCKER_CONFIG"], "config.json"))
    for path in candidates:
        try:
            with open(path, "rb") as f:
                config = json.load(f)
        except FileNotFoundError:
            continue
        except (OSError, ValueError):
            return False
        if not isinstance(config, dict) or config.get("currentContext", "default") != "default":
            return False
    return True


def _without_paramiko() -> None:
    """Let docker-py load without paramiko, for a run that reaches no ssh:// engine.

    `import docker` imports paramiko (with cryptography, PyNaCl and invoke: ~0.2 s, about
    40 % of a `hotfix cat`) for its ssh transport alone (docker/transport/sshconn.py), and
    hotfix never uses paramiko even for ssh:// (it has docker-py run the ssh binary:
    engines._client, use_ssh_client). docker-py treats paramiko as optional, its `ssh`
    extra: docker/transport/__init__.py imports the ssh transport under `except ImportError`,
    and all but ssh:// works without it. A None entry in sys.modules makes `import paramiko`
    raise ImportError, as if it were not installed (the import system's module cache:
    https://docs.python.org/3/reference/import.html#the-module-cache). Nothing of docker-py
    is patched. Only before docker-py or paramiko is imported (a process imports docker-py
    once), so a process that imported either, e.g. a test run, is left as it is.
    """
    if not {"docker", "paramiko"} & sys.modules.keys():
        sys.modules["paramiko"] = None  # type: ignore[assignment]


def make_service(engine: str | None = None) -> HotfixService:
    from hotfix.docker.engines import Engines
    from hotfix.service.files import HotfixService
    from hotfix.store.state import StateStore

    return HotfixService(Engines().get(engine), StateStore())


__all__ = ["EXIT_USAGE", "build_parser", "main"]
