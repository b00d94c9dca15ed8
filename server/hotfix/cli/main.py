"""`hotfix`: parse the arguments, make the service, run the command, turn an error into its
exit code (0 success, 1 error, 2 usage, 3 conflict, 4 unhealthy, 5 a hotfix is lost; errors are one line on
stderr)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from hotfix.cli.argv import command_in
from hotfix.cli.output import Output
from hotfix.cli.parser import COMMANDS, Command, build_parser
from hotfix.core.errors import EXIT_OK, HotfixError
from hotfix.core.terminal import printable

# The service, docker-py and the state store are imported once the arguments name a command
# that needs them: --help and usage errors import none (docs/cli.md, "Start-up").
if TYPE_CHECKING:
    from hotfix.service.files import HotfixService

# A command that ran this long gets its time said on a terminal.
SAY_TIME_AFTER = 2.0


def main(argv: Sequence[str] | None = None, extra: Mapping[str, Command] | None = None) -> int:
    """Run one command. ``extra``: commands of the layers above (the resident process's own
    `hotfix daemon`), which need no engine."""
    argv = sys.argv[1:] if argv is None else list(argv)
    commands = {**COMMANDS, **(extra or {})}
    args = build_parser(command_in(argv, commands), extra).parse_args(argv)
    out = Output(getattr(args, "json", False))
    try:
        if args.command == "lsp" or args.command in (extra or {}):  # no engine: no service
            code: int = args.handler(args, None, out)
            return code
        return _run(args, _service(args, out), out)
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


def _service(args: argparse.Namespace, out: Output) -> HotfixService:
    """The service on the chosen engine; says what became of saves a killed process left
    midway. Sets ``args.engines`` for the commands that reach other engines."""
    from hotfix.docker.engines import Engines
    from hotfix.service.files import HotfixService
    from hotfix.store.state import StateStore

    args.engines = Engines()
    svc = HotfixService(args.engines.get(args.engine), StateStore())
    for settled in svc.settled:
        out.note(f"hotfix: {settled}")
    return svc


def _run(args: argparse.Namespace, svc: HotfixService, out: Output) -> int:
    started = time.monotonic()
    code: int = args.handler(args, svc, out)
    from hotfix.cli.lifecycle import print_debt_line

    print_debt_line(args, svc, out)
    if out.interactive and time.monotonic() - started > SAY_TIME_AFTER:
        out.note(f"done in {time.monotonic() - started:.1f} s")
    return code
