"""Which command an argument list names, told without argparse.

Cheap to import (nothing but this module): the launcher asks it before every command, to keep
the commands that stay in the caller's process away from the resident one, and the parser asks
it to build only the named command's sub-parser.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing would double the launcher's cost
if TYPE_CHECKING:
    from collections.abc import Container, Iterable

HELP = ("-h", "--h", "--he", "--hel", "--help")


def command_in(argv: Iterable[str], commands: Container[str]) -> str | None:
    """The command of ``commands`` that ``argv`` names, if it surely names one; None where the
    whole parser is needed: no command yet, another one, or -h/--version before it (the list
    of commands)."""
    tokens = iter(argv)
    for token in tokens:
        if token == "--" or token in HELP:
            return None
        if token.startswith("--") and "=" not in token and "--engine".startswith(token):
            next(tokens, None)  # --engine NAME (or an abbreviation of it): NAME is no command
        elif token.startswith("-"):
            if len(token) > 2 and "--version".startswith(token):
                return None
        else:
            return token if token in commands else None
    return None
