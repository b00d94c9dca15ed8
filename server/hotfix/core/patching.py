"""Carry a change from one copy of a file to another, as a patch.

The change is the unified diff checkpoint → live of the source container; unidiff parses
it and :func:`apply_patch` replays its hunks on another container's copy. A hunk whose
context does not match is refused, never guessed at.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from hotfix.core.errors import Conflict

if TYPE_CHECKING:
    from unidiff.patch import Hunk


def make_patch(path: str, old: bytes | None, new: bytes | None) -> str:
    """The unified diff of one file (git's a/ b/ names; /dev/null for a side that is absent)."""
    rel = path.lstrip("/")
    lines = difflib.unified_diff(
        split_lines(old),
        split_lines(new),
        fromfile=f"a/{rel}" if old is not None else "/dev/null",
        tofile=f"b/{rel}" if new is not None else "/dev/null",
    )
    return "".join(mark_missing_newline(lines))


def mark_missing_newline(lines: Iterable[str]) -> list[str]:
    """Terminate a last line without newline, followed by diff's marker, as git does."""
    out = []
    for line in lines:
        out.append(line)
        if not line.endswith("\n"):
            out.append("\n\\ No newline at end of file\n")
    return out


def apply_patch(patch_text: str, content: bytes, where: str) -> bytes:
    """Apply a one-file unified diff to ``content``; Conflict when a hunk does not fit."""
    if not patch_text:
        return content
    # Imported here: only replaying a change on a replica parses a patch, and the service
    # (hence every CLI command) imports this module for make_patch alone.
    from unidiff.patch import PatchSet

    [patched_file] = PatchSet(patch_text)
    lines = split_lines(content)
    out: list[str] = []
    position = 0  # index in ``lines`` of the next line not yet copied
    offset = 0  # how far hunks have been found from where the patch says
    for hunk in patched_file:
        source, target = _sides(hunk)
        expected = source
        start = _find(lines, expected, hunk.source_start - 1 + offset, position)
        if start is None:
            raise Conflict(
                f"{where}: the change does not apply (hunk @@ -{hunk.source_start},"
                f"{hunk.source_length} @@ does not match this copy)"
            )
        offset = start - (hunk.source_start - 1)
        out.extend(lines[position:start])
        out.extend(target)
        position = start + len(expected)
    out.extend(lines[position:])
    return "".join(out).encode()


def split_lines(data: bytes | None) -> list[str]:
    # Split on \n only: str.splitlines also breaks at form feeds and other separators.
    return re.findall(r"[^\n]*\n|[^\n]+\Z", data.decode("utf-8", "replace")) if data else []


def _sides(hunk: Hunk) -> tuple[list[str], list[str]]:
    """The hunk's old and new lines; a line followed by the no-newline marker loses its \\n."""
    from unidiff.constants import LINE_TYPE_NO_NEWLINE

    source: list[str] = []
    target: list[str] = []
    last: list[list[str]] = []
    for line in hunk:
        if line.line_type == LINE_TYPE_NO_NEWLINE:
            for side in last:
                side[-1] = side[-1].removesuffix("\n")
            continue
        last = []
        if line.is_context or line.is_removed:
            source.append(line.value)
            last.append(source)
        if line.is_context or line.is_added:
            target.append(line.value)
            last.append(target)
    return source, target


def _find(lines: list[str], expected: list[str], hint: int, earliest: int) -> int | None:
    """Where ``expected`` occurs, searching outwards from ``hint``, not before ``earliest``."""
    if not expected:
        return max(earliest, min(hint, len(lines)))
    for distance in range(len(lines) + 1):
        for start in (hint - distance, hint + distance):
            if earliest <= start <= len(lines) - len(expected) and (
                lines[start : start + len(expected)] == expected
            ):
                return start
    return None
