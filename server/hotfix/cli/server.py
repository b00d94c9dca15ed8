"""`hotfix lsp`: the language server, on stdio (or a loopback TCP port)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from hotfix.cli.output import Output
from hotfix.core.errors import EXIT_OK

if TYPE_CHECKING:
    from hotfix.service.files import HotfixService


def cmd_lsp(args: argparse.Namespace, svc: HotfixService | None, out: Output) -> int:
    from hotfix.lsp.main import run

    run(tcp=args.tcp)
    return EXIT_OK
