"""What a command prints: its result as text or JSON, notes on stderr, progress on a terminal."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable, Sequence
from typing import Any

from hotfix.core.terminal import printable


class Output:
    """Human text on a terminal, JSON with --json; progress only where a person watches.

    Text shows control characters escaped (hotfix.core.terminal): a command escapes each field
    a container controls, newlines included, and what reaches the terminal is escaped again
    except for the line breaks the command put there. JSON stays exact."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.interactive = sys.stderr.isatty() and not as_json
        self._progress_shown = False

    def result(self, data: Any | Callable[[], Any], text: str | None = None) -> None:
        """``data``: the JSON value, or a function that makes it, called only for --json (a
        result's shape imports cattrs, which a text run need not pay for)."""
        self.clear_progress()
        if self.as_json:
            json.dump(data() if callable(data) else data, sys.stdout, indent=2, default=str)
            sys.stdout.write("\n")
        elif text:
            text = printable(text, keep="\n")
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()

    def note(self, message: str) -> None:
        """Information for the person (stderr, so stdout stays clean for pipes)."""
        self.clear_progress()
        print(printable(message), file=sys.stderr)

    # The Progress protocol (hotfix.core.progress): one line, redrawn in place.
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


def view(result: object) -> Any:
    """A result's JSON shape (:mod:`hotfix.views`), for the function given to ``result``."""
    from hotfix.views import view as shape

    return shape(result)


def table(rows: list[list[str]]) -> str:
    """Columns padded to their widest cell, each cell escaped for the terminal."""
    if not rows:
        return ""
    rows = [[printable(cell) for cell in row] for row in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def joined_paths(paths: Sequence[str]) -> str:
    """Container paths for one line of text."""
    return ", ".join(map(printable, paths))
