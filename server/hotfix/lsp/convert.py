"""Conversions from the core's data to what the editor expects. Pure, no I/O.

VS Code's ``FileType``: Unknown=0, File=1, Directory=2, SymbolicLink=64 (OR-ed with the
type of the link's target). ``FilePermission.Readonly`` = 1. Times in milliseconds.
"""

from __future__ import annotations

import binascii
from typing import Any

from lsprotocol import types

from hotfix.core.model import FileStat
from hotfix.core.validation import Problem
from hotfix.lsp.errors import InvalidParams
from hotfix.lsp.wire import Base64Text

FILE_TYPE_UNKNOWN = 0
FILE_TYPE_FILE = 1
FILE_TYPE_DIRECTORY = 2
FILE_TYPE_SYMBOLIC_LINK = 64

PERMISSION_NONE = 0
PERMISSION_READONLY = 1

_KIND_TYPES = {"file": FILE_TYPE_FILE, "dir": FILE_TYPE_DIRECTORY}


def file_type(kind: str, is_link: bool = False) -> int:
    """The FileType of a path of this kind (the target's kind, for a link)."""
    base = FILE_TYPE_UNKNOWN if kind == "symlink" else _KIND_TYPES.get(kind, FILE_TYPE_UNKNOWN)
    return base | (FILE_TYPE_SYMBOLIC_LINK if is_link or kind == "symlink" else 0)


def millis(seconds: float | None) -> int:
    return round((seconds or 0.0) * 1000)


def stat_result(st: FileStat, is_link: bool = False, readonly: bool = False) -> dict[str, Any]:
    """``hotfix/stat``'s result. The Engine reports no ctime: the mtime stands in for it."""
    return {
        "type": file_type(st.kind, is_link),
        "size": st.size,
        "mtime": millis(st.mtime),
        "ctime": millis(st.mtime),
        "permissions": PERMISSION_READONLY if readonly else PERMISSION_NONE,
    }


def synthetic_stat(
    type_: int, size: int, mtime: float | None, readonly: bool = True
) -> dict[str, Any]:
    """A stat for something that is not a live path (a checkpoint, a directory of them)."""
    return {
        "type": type_,
        "size": size,
        "mtime": millis(mtime),
        "ctime": millis(mtime),
        "permissions": PERMISSION_READONLY if readonly else PERMISSION_NONE,
    }


def encode_data_raw(data: bytes) -> Base64Text:
    """Base64 for a result, written into the JSON text as it is (no str,
    no JSON encoding of it; see :mod:`hotfix.lsp.wire`)."""
    return Base64Text(binascii.b2a_base64(data, newline=False))


def decode_data(text: object, field: str = "data") -> bytes:
    """Base64 to bytes; a malformed one is ``InvalidParams`` naming ``field``."""
    try:
        return decode_base64(text)
    except ValueError as exc:
        raise InvalidParams(f"{field}: {exc}") from None


def decode_base64(text: object) -> bytes:
    """Base64 (a JSON string, or the raw text :func:`hotfix.lsp.wire.loads` cut out of a
    big message) to bytes; anything but the base64 alphabet and padding is ``ValueError``."""
    if isinstance(text, Base64Text):
        text = text.raw
    elif not isinstance(text, str):
        raise ValueError(f"expected base64 text, got {type(text).__name__}")
    try:
        # strict_mode: the C decoder's own check, much faster than validate=True's regex.
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        raise ValueError("not valid base64") from None


def diagnostic(problem: Problem) -> types.Diagnostic:
    """A validation problem as an LSP error (positions in code points; see ``to_client``)."""
    return types.Diagnostic(
        range=types.Range(
            start=types.Position(line=problem.line, character=problem.column),
            end=types.Position(line=problem.end_line, character=problem.end_column),
        ),
        message=problem.message,
        severity=types.DiagnosticSeverity.Error,
        source=f"hotfix ({problem.source})",
    )
