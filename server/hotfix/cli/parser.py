"""The command line's grammar: every command, its help and its arguments, and the parser."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from hotfix import __version__
from hotfix.docker.engines import DEFAULT as DEFAULT_ENGINE

if TYPE_CHECKING:
    from hotfix.cli.output import Output
    from hotfix.service.files import HotfixService

Handler = Callable[[argparse.Namespace, "HotfixService", "Output"], int]
Arguments = Callable[[argparse.ArgumentParser], None]

Command = tuple[Handler | Callable[..., int], str, Arguments]

PROBE_METAVAR = "URL|tcp:HOST:PORT|healthcheck|exec:CMD"


class LazyHandler:
    """The handler ``name`` of the command group ``hotfix.cli.<group>``, imported when its
    command runs: a run imports its own group only (docs/cli.md, "Start-up")."""

    def __init__(self, group: str, name: str) -> None:
        self.group, self.name = group, name

    def resolve(self) -> Handler:
        module = __import__(f"hotfix.cli.{self.group}", fromlist=[self.name])
        found: Handler = getattr(module, self.name)
        return found

    def __call__(self, args: argparse.Namespace, svc: HotfixService, out: Output) -> int:
        return self.resolve()(args, svc, out)


def build_parser(
    only: str | None = None, extra: Mapping[str, Command] | None = None
) -> argparse.ArgumentParser:
    """The parser of every command, or, with ``only``, of that command alone: a run uses one,
    and creating the sub-parsers is most of argparse's start-up (docs/cli.md, "Start-up")."""
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
        help="the engine (a docker context name, 'podman' or 'default'); also after the command",
    )
    common = _common_options()
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (run, help, arguments) in {**COMMANDS, **(extra or {})}.items():
        if only in (None, name):
            p = sub.add_parser(name, parents=[common], help=help, description=help)
            p.set_defaults(handler=run)
            arguments(p)
    return parser


def _common_options() -> argparse.ArgumentParser:
    """--json and --engine after the command too (`hotfix ps --engine e2`); SUPPRESS keeps a
    subcommand from resetting the value given before it."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print the result as JSON"
    )
    common.add_argument(
        "--engine",
        metavar="NAME",
        default=argparse.SUPPRESS,
        help="the engine: 'default' (DOCKER_HOST or the current docker context), a docker "
        "context name, or 'podman' (CONTAINER_HOST, else /run/podman/podman.sock) "
        "(default: $HOTFIX_ENGINE, else 'default')",
    )
    return common


def _try_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "targets",
        nargs="+",
        metavar="CONTAINER:PATH [SRC] | CONTAINER:PATH=SRC",
        help="the file and its new content (SRC a local file; '-' or none: stdin); "
        "several files as CONTAINER:PATH=SRC each",
    )
    p.add_argument(
        "--probe",
        metavar=PROBE_METAVAR,
        action="append",
        help="repeatable, all must pass, on the twin's own 127.0.0.1 (a published host port "
        "is taken as its container port); default as restart's",
    )
    _expect_status_option(p)
    body = p.add_mutually_exclusive_group()
    body.add_argument("--expect-body", metavar="TEXT", help="the HTTP probe's body holds TEXT")
    body.add_argument("--expect-body-regex", metavar="RE", help="the HTTP probe's body matches RE")
    p.add_argument("--timeout", type=_seconds, default=60.0, metavar="S")
    p.add_argument("--check", metavar="ARGV", help="run ARGV in the twin first; exit != 0 refuses")
    p.add_argument(
        "--network",
        choices=("none", "same"),
        default="none",
        help="none (default): the twin's own loopback only; same: the container's network "
        "(the twin can reach what production reaches: databases, queues — see docs/cli.md)",
    )
    p.add_argument(
        "--with-volumes", action="store_true", help="anonymous copies of the container's mounts"
    )
    p.add_argument("--keep", action="store_true", help="leave the twin (for a look inside)")
    p.add_argument("--force", action="store_true", help="try despite syntax errors")
    p.add_argument(
        "--then-apply",
        action="store_true",
        help="healthy: save the same content to the container and go live",
    )
    how = p.add_mutually_exclusive_group()
    how.add_argument("--restart", action="store_true", help="with --then-apply: restart")
    how.add_argument("--signal", metavar="SIG", help="with --then-apply: send SIG")


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
    p.add_argument(
        "--to",
        choices=("checkpoint", "last-good"),
        default="checkpoint",
        help="the checkpoint (default), or each file's last version that went live healthy",
    )
    p.add_argument("--force", action="store_true", help="even if labelled hotfix.protect=true")
    _replica_options(p)


def _apply_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("container", metavar="CONTAINER")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--to-replicas", action="store_true", help="every replica of CONTAINER")
    which.add_argument("--to", nargs="+", metavar="[ENGINE/]NAME", help="these containers")
    p.add_argument("--rolling", action="store_true", help="restart + probe one target at a time")
    p.add_argument("--signal", metavar="SIG", help="with --rolling: send SIG instead of restarting")
    p.add_argument("--probe", metavar=PROBE_METAVAR)
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
        metavar=PROBE_METAVAR,
        action="append",
        help="repeatable, all must pass; default: the image's HEALTHCHECK, "
        "else HTTP GET / on the first published port",
    )
    _expect_status_option(p)
    body = p.add_mutually_exclusive_group()
    body.add_argument("--expect-body", metavar="TEXT", help="the HTTP probe's body holds TEXT")
    body.add_argument("--expect-body-regex", metavar="RE", help="the HTTP probe's body matches RE")
    p.add_argument("--timeout", type=_seconds, default=timeout, metavar="S")


def _restart_arguments(p: argparse.ArgumentParser) -> None:
    _probe_arguments(p, timeout=60.0)
    how = p.add_mutually_exclusive_group()
    how.add_argument(
        "--signal", metavar="SIG", help="send SIG (e.g. HUP) instead of the chosen strategy"
    )
    how.add_argument("--restart", action="store_true", help="restart even if a reload would do")
    check = p.add_mutually_exclusive_group()
    check.add_argument(
        "--check",
        metavar="CMD",
        help="run CMD (or exec:CMD) in the container first; exit != 0 refuses (default: the "
        "label hotfix.check, else the server's own test: nginx -t, apachectl -t, php-fpm -t)",
    )
    check.add_argument("--no-check", action="store_true", help="no pre-flight check")
    p.add_argument("--force", action="store_true", help="even if labelled hotfix.protect=true")
    p.add_argument(
        "--revert-on-failure",
        action="store_true",
        help="when unhealthy: revert to the last good version (else the checkpoint), "
        "restart again, report both and the final state",
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
        metavar=PROBE_METAVAR,
        help="with --verify; a URL of the container's published port is pointed at the new one",
    )
    _expect_status_option(p)
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


def _status_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("container", metavar="CONTAINER", nargs="?")
    p.add_argument("--all-engines", action="store_true", help="the hotfixes of every engine")


def _reapply_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("old", metavar="OLD", help="the removed or recreated container (name or ID)")
    p.add_argument("--to", metavar="NEW", help="the container to carry it to (default: found)")
    p.add_argument("--restart", action="store_true", help="then restart (or reload) and probe")
    p.add_argument("--signal", metavar="SIG", help="with --restart: send SIG instead")
    p.add_argument("--probe", metavar=PROBE_METAVAR, action="append", help="with --restart")
    p.add_argument("--timeout", type=_seconds, default=60.0, metavar="S", help="with --restart")


def _replica_options(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("--replicas", action="store_true", help="the container and its replicas")
    group.add_argument("--with", dest="with_", nargs="+", metavar="[ENGINE/]NAME", help="and these")
    p.add_argument("--same-image", action="store_true", help="replicas: also by same image")
    p.add_argument("--all-engines", action="store_true", help="replicas: search every engine")


def _expect_status_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--expect-status",
        type=int,
        action="append",
        metavar="CODE",
        help="HTTP status (repeatable)",
    )


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value


# name → (handler, help, its arguments); in this order in `hotfix --help`.
COMMANDS: dict[str, Command] = {
    "ps": (
        LazyHandler("files", "cmd_ps"),
        "list containers: name, short id, image, state/health, published ports",
        _ps_arguments,
    ),
    "ls": (LazyHandler("files", "cmd_ls"), "list a directory of a container", _target_argument),
    "cat": (LazyHandler("files", "cmd_cat"), "print a file of a container", _cat_arguments),
    "write": (
        LazyHandler("files", "cmd_write"),
        "write a file into a container (checkpoints the original first)",
        _write_arguments,
    ),
    "edit": (
        LazyHandler("files", "cmd_edit"),
        "edit a file with $VISUAL/$EDITOR; written back if changed",
        _target_argument,
    ),
    "checkpoint": (
        LazyHandler("files", "cmd_checkpoint"),
        "take checkpoints: the live files become the baseline",
        _checkpoint_arguments,
    ),
    "diff": (
        LazyHandler("files", "cmd_diff"),
        "unified diff checkpoint → live; prints nothing when unchanged",
        _diff_arguments,
    ),
    "revert": (
        LazyHandler("files", "cmd_revert"),
        "restore checkpointed files (content, owner, mode)",
        _revert_arguments,
    ),
    "apply": (
        LazyHandler("fleet", "cmd_apply"),
        "carry a container's change to its replicas (or named containers)",
        _apply_arguments,
    ),
    "rollout": (
        LazyHandler("fleet", "cmd_rollout"),
        "roll a Swarm service out to an image (Swarm's rolling update)",
        _rollout_arguments,
    ),
    "changes": (
        LazyHandler("files", "cmd_changes"),
        "files changed against their checkpoints",
        _optional_container_argument,
    ),
    "restart": (
        LazyHandler("live", "cmd_restart"),
        "restart (or signal) a container, then wait until healthy",
        _restart_arguments,
    ),
    "probe": (
        LazyHandler("live", "cmd_probe"),
        "wait until a container is healthy",
        _probe_arguments,
    ),
    "log": (
        LazyHandler("files", "cmd_log"),
        "the journal: who did what, when, with which outcome",
        _log_arguments,
    ),
    "harvest": (
        LazyHandler("release", "cmd_harvest"),
        "commit the hotfixed files to a hotfix-* branch of a git repo",
        _harvest_arguments,
    ),
    "commit": (
        LazyHandler("release", "cmd_commit"),
        "commit the hotfixed container as an image (clean by default)",
        _commit_arguments,
    ),
    "report": (
        LazyHandler("release", "cmd_report"),
        "the incident record (Markdown) from the journal",
        _report_arguments,
    ),
    "lsp": (LazyHandler("server", "cmd_lsp"), "run the language server (stdio)", _lsp_arguments),
    "try": (
        LazyHandler("twin", "cmd_try"),
        "try a fix in a throwaway twin of the container (isolated); live only with --then-apply",
        _try_arguments,
    ),
    "status": (
        LazyHandler("lifecycle", "cmd_status"),
        "where each hotfix is: live, harvested, imaged, rolled-out, in-image, reverted, lost",
        _status_arguments,
    ),
    "reapply": (
        LazyHandler("lifecycle", "cmd_reapply"),
        "carry a lost hotfix onto the container that replaced its own",
        _reapply_arguments,
    ),
}
