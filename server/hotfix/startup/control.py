"""`hotfix daemon status|stop`, and the command line as the start-up layer runs it: with
this layer's own command added (the command line itself knows nothing of the resident
process)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from hotfix.cli.main import main
from hotfix.cli.output import Output, table
from hotfix.cli.parser import Command
from hotfix.core.errors import EXIT_OK
from hotfix.startup import daemon
from hotfix.startup.import_cost import spare_paramiko
from hotfix.startup.launcher import OFF


def run_cli(argv: Sequence[str]) -> int:
    """One command, in this process: `hotfix daemon` added, paramiko spared where it can be."""
    spare_paramiko(argv)
    return main(argv, extra=COMMANDS)


def cmd_daemon(args: argparse.Namespace, svc: object, out: Output) -> int:
    found = daemon.resident_processes()
    if args.action == "stop":
        stopped = daemon.stop(found)
        out.result(
            {"stopped": [p.pid for p in stopped]},
            "\n".join(f"stopped the resident process {p.pid}" for p in stopped)
            or "no resident process runs",
        )
        return EXIT_OK
    enabled = os.environ.get("HOTFIX_DAEMON", "").lower() not in OFF
    text = _resident_table(found) if found else "no resident process runs"
    if not enabled:
        text += "\nHOTFIX_DAEMON is off: commands run in their own process"
    out.result({"enabled": enabled, "processes": [p.as_json() for p in found]}, text)
    return EXIT_OK


def _resident_table(found: list[daemon.ResidentProcess]) -> str:
    rows = [
        [
            str(p.pid),
            "this hotfix" if p.current else "older code",
            "listening" if p.listening else "starting or stopping",
            p.socket,
        ]
        for p in found
    ]
    return table([["PID", "CODE", "STATE", "SOCKET"], *rows])


def _daemon_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=["status", "stop"], nargs="?", default="status")


COMMANDS: dict[str, Command] = {
    "daemon": (
        cmd_daemon,
        "the resident process that runs commands without Python's start-up: status, stop",
        _daemon_arguments,
    ),
}
