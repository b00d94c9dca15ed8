"""Secret values out of text: every form in which a value may be printed, in one pass.

A container's run-time environment values (its tokens and passwords) must not reach the
journal, ``hotfix log`` or the incident report. A program rarely prints a value only as it
is: it quotes it in JSON, puts it in a URL, base64-encodes it in a header, or its output is
wrapped across lines. :func:`redact` replaces each of these forms of each value with
``[redacted]``:

- the value;
- its JSON string escape (``json.dumps(value)[1:-1]``, ASCII-only and not);
- its URL encodings (``quote`` with and without ``/`` kept, ``quote_plus``), with upper-
  and lower-case hex digits;
- its base64 (standard and URL-safe alphabet): the whole encoding, and the characters that
  encode only the value's bytes when it sits at any offset inside longer encoded data;
- each of these split across lines: a line break between any two of its characters —
  ``\\n`` or ``\\r\\n``, raw or escaped (as JSON shows them), or the `` | `` that joins a
  stopped container's captured log lines.

Values shorter than :data:`MIN_SECRET_LENGTH` are left alone (they would redact ordinary
text), and so are base64 forms shorter than :data:`MIN_BASE64_LENGTH` (a few letters of
base64 turn up by chance).
"""

from __future__ import annotations

import base64
import bisect
import functools
import json
import re
import urllib.parse
from collections.abc import Callable, Iterable

REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 3
MIN_BASE64_LENGTH = 6

# A line break in captured output: raw, escaped (as JSON and terminal text show it), or the
# separator that joins a stopped container's last log lines into one journal string. Each
# alternative starts with a fixed character, which lets the regex engine skip ahead fast.
_LINE_BREAK = re.compile(r"\n|\r\n|\\n|\\r\\n| \| |\r \| ")
_PERCENT_HEX = re.compile(r"%[0-9A-F]{2}")


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every form of every value in ``secrets`` replaced by ``[redacted]``."""
    pattern = secrets_pattern(frozenset(secrets))
    return _redact(text, pattern) if pattern else text


def _redact(text: str, pattern: re.Pattern[str]) -> str:
    # Matched with the line breaks taken out, so a value wrapped anywhere is one match; the
    # span it covers in ``text``, breaks included, is what gets replaced.
    joined = _Joined(text)
    out: list[str] = []
    done = 0
    for match in pattern.finditer(joined.text):
        start, end = joined.span_in_original(match.start(), match.end())
        out += [text[done:start], REDACTED]
        done = end
    return "".join(out) + text[done:]


@functools.lru_cache(maxsize=64)
def secrets_pattern(secrets: frozenset[str]) -> re.Pattern[str] | None:
    """One alternation of every form of every value, line breaks taken out (None when no
    value is long enough). Longer forms come first: a whole encoding wins over a fragment."""
    forms = {
        _LINE_BREAK.sub("", form)
        for value in secrets
        if len(value) >= MIN_SECRET_LENGTH
        for form in (value, *encoded_forms(value))
    }
    forms.discard("")
    if not forms:
        return None
    ordered = sorted(forms, key=lambda form: (-len(form), form))
    return re.compile("|".join(map(re.escape, ordered)))


class _Joined:
    """A text with its line breaks taken out, and the way back to the original positions
    (worked out only when a match asks for it: most texts hold no secret)."""

    def __init__(self, original: str) -> None:
        self._original_text = original
        self.text = _LINE_BREAK.sub("", original)

    def span_in_original(self, start: int, end: int) -> tuple[int, int]:
        """The original span of this text's ``[start, end)`` (``end > start``): from its
        first character to its last, with the breaks between them."""
        return self._original(start), self._original(end - 1) + 1

    @functools.cached_property
    def _runs(self) -> tuple[list[int], list[int]]:
        """Where each run of text between breaks starts, here and in the original."""
        starts, original_starts = [0], [0]
        removed = 0
        for found in _LINE_BREAK.finditer(self._original_text):
            removed += found.end() - found.start()
            starts.append(found.end() - removed)
            original_starts.append(found.end())
        return starts, original_starts

    def _original(self, index: int) -> int:
        starts, original_starts = self._runs
        run = bisect.bisect_right(starts, index) - 1
        return original_starts[run] + index - starts[run]


def encoded_forms(value: str) -> set[str]:
    """The JSON, URL and base64 forms of ``value`` (not the value itself)."""
    forms = {json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    for url_form in _url_forms(value):
        forms |= {url_form, _PERCENT_HEX.sub(lambda m: m.group().lower(), url_form)}
    forms |= {f for f in _base64_forms(value) if len(f) >= MIN_BASE64_LENGTH}
    forms.discard(value)
    return forms


def _url_forms(value: str) -> set[str]:
    return {
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote(value),
        urllib.parse.quote_plus(value),
    }


def _base64_forms(value: str) -> set[str]:
    data = value.encode("utf-8", "surrogateescape")
    forms = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        forms.add(encode(data).decode("ascii"))
        forms |= {_base64_inner(data, offset, encode) for offset in range(3)}
    return forms


# Leading characters of base64(prefix + data) that depend on the unknown prefix, for a
# prefix of 0, 1 or 2 bytes (each output character carries 6 bits; a byte is 8).
_UNSTABLE_LEAD = (0, 2, 3)


def _base64_inner(data: bytes, offset: int, encode: Callable[[bytes], bytes]) -> str:
    """The characters of base64 that encode only ``data``, when ``data`` starts ``offset``
    bytes into a 3-byte group of longer encoded data."""
    encoded = encode(b"\0" * offset + data).decode("ascii").rstrip("=")
    if (offset + len(data)) % 3:
        encoded = encoded[:-1]  # its low bits belong to the byte after the value
    return encoded[_UNSTABLE_LEAD[offset] :]


def redact_strings(value: object, secrets: Iterable[str]) -> object:
    """``value`` (JSON-like: dicts, lists, strings) with each string redacted; keys too."""
    pattern = secrets_pattern(frozenset(secrets))
    return _redact_strings(value, pattern) if pattern else value


def _redact_strings(value: object, pattern: re.Pattern[str]) -> object:
    if isinstance(value, str):
        return _redact(value, pattern)
    if isinstance(value, dict):
        return {_redact_strings(k, pattern): _redact_strings(v, pattern) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_strings(item, pattern) for item in value]
    return value
