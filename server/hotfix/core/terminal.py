"""Strings a container controls, made safe to print on a terminal.

File names, log lines, probe output and error messages come from containers, which may be
hostile: an ESC or BEL sequence in a file name can retitle or clear the terminal, and a
newline can print a line that looks like the tool's own. Text output therefore shows each
control character as an escape, the way Python's ``repr`` does (without the quotes):

- ``\\n``, ``\\r`` and ``\\t`` by name; other C0 controls, DEL and C1 controls (U+0080 to
  U+009F) as ``\\xNN``;
- a byte that is not UTF-8 (a lone surrogate from ``surrogateescape``) as ``\\xNN`` of that
  byte; any other lone surrogate as ``\\uNNNN``.

A backslash is printed as it is, so the text is for people: ``--json`` gives the exact
string.
"""

from __future__ import annotations

import re

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_BY_NAME = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# surrogateescape decodes an undecodable byte 0xNN as U+DCNN.
_ESCAPED_BYTES = range(0xDC80, 0xDD00)


def printable(text: object, keep: str = "") -> str:
    """``str(text)`` with each control character escaped, except those in ``keep``."""
    return _CONTROL.sub(lambda match: _escape(match.group(), keep), str(text))


def _escape(char: str, keep: str) -> str:
    if char in keep:
        return char
    if char in _BY_NAME:
        return _BY_NAME[char]
    code = ord(char)
    if code in _ESCAPED_BYTES:
        return f"\\x{code - 0xDC00:02x}"
    if code > 0xFF:
        return f"\\u{code:04x}"
    return f"\\x{code:02x}"
