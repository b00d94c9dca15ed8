"""Checks run on new content before it goes live: a syntax error must not reach production.

Pure functions over bytes, shared by the service (refuse a write unless forced)
and the language server (diagnostics on open documents).
"""

from __future__ import annotations

import json
import posixpath
import warnings
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One error; lines and columns are 0-based, as LSP counts them."""

    message: str
    line: int
    column: int
    end_line: int
    end_column: int
    source: str  # "python" or "json"

    def __str__(self) -> str:
        return f"line {self.line + 1}, column {self.column + 1}: {self.message}"


def language_of(path: str, data: bytes) -> str | None:
    ext = posixpath.splitext(path)[1].lower()
    if ext in (".py", ".pyw"):
        return "python"
    if ext == ".json":
        return "json"
    first_line = data[:128].split(b"\n", 1)[0]
    if first_line.startswith(b"#!") and b"python" in first_line:
        return "python"
    return None


def check(path: str, data: bytes) -> list[Problem]:
    """Problems that make the file unusable; empty when fine or not a checked language."""
    language = language_of(path, data)
    if language == "python":
        return _check_python(path, data)
    if language is None:
        return []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [Problem(f"not valid UTF-8 ({exc.reason})", 0, 0, 0, 1, language)]
    return _check_json(text)


def _check_python(path: str, source: bytes) -> list[Problem]:
    # Compiling the bytes honours a BOM and a PEP 263 coding line, as Python itself does.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings are not errors
            compile(source, path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        line = max((exc.lineno or 1) - 1, 0)
        column = _characters(exc.text, max((exc.offset or 1) - 1, 0))
        end_line = max((exc.end_lineno or exc.lineno or 1) - 1, line)
        end_offset = max((exc.end_offset or (exc.offset or 1) + 1) - 1, 0)
        end_column = _characters(exc.text, end_offset) if end_line == line else end_offset
        end_column = max(end_column, column + 1)
        if end_line == line and end_column <= column:
            end_column = column + 1
        return [Problem(exc.msg, line, column, end_line, end_column, "python")]
    except ValueError as exc:  # e.g. NUL bytes in the source
        return [Problem(str(exc), 0, 0, 0, 1, "python")]
    return []


def _characters(line_text: str | None, utf8_offset: int) -> int:
    """Compiling bytes gives offsets in UTF-8 bytes of the line; LSP wants characters."""
    if not line_text:
        return utf8_offset
    return len(line_text.encode("utf-8")[:utf8_offset].decode("utf-8", "ignore"))


def _check_json(text: str) -> list[Problem]:
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return [Problem(exc.msg, exc.lineno - 1, exc.colno - 1, exc.lineno - 1, exc.colno, "json")]
    return []
