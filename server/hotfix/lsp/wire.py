"""The wire under the language server: Content-Length frames in, JSON text out.

pygls 2 reads frames in ``pygls.io_.run_async``: it reads a whole body whatever its
``Content-Length`` says, then ``json.loads`` it, and drops (logs) what does not parse,
so a request that is not JSON is never answered. The server reads frames here instead
(:class:`FrameReader` for stdio, :func:`read_frame_async` for TCP) and hands each one to
``HotfixProtocol.handle_frame``, which answers JSON-RPC's ``-32700``/``-32600``.

- **A size limit before reading**: a frame above :func:`frame_limit` is read and thrown
  away in 1 MiB chunks, never held; only its first 64 KiB and last 4 KiB are kept, to
  find the request's ``id`` (:func:`peek_id`) for the error.
- **Big base64 strings are not JSON-parsed or JSON-encoded**: ``hotfix/writeFile``'s
  ``params.data`` is cut out of the body before ``json.loads`` (:func:`loads`) and
  ``hotfix/readFile``'s ``data`` is spliced into the JSON text after ``json.dumps``
  (:func:`dumps`), as :class:`Base64Text` (the base64 alphabet needs no JSON escaping).
  The JSON text is the same as ``json.dumps`` would make.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

logger = logging.getLogger(__name__)

ROOM = 1 << 20  # the JSON around the base64 of a file: URI, versions, flags
CHUNK = 1 << 20  # read size when throwing a frame away
HEAD, TAIL = 64 << 10, 4 << 10  # what is kept of a frame thrown away, to find its id
MAX_HEADER_LINE = 8 << 10
RAW_MIN = 64 << 10  # strings shorter than this go through json as usual

MsgId = int | str


FORCED_FACTOR = 4  # a forced save may go this far past HOTFIX_MAX_FILE_SIZE


def frame_limit(max_file_size: int) -> int:
    """The largest frame the server reads: the base64 (4 characters per 3 bytes) of a
    forced save of ``FORCED_FACTOR`` × ``max_file_size`` bytes, plus 1 MiB for the rest of
    the message. Unforced saves above ``max_file_size`` are read and then refused."""
    return -(-FORCED_FACTOR * max_file_size // 3) * 4 + ROOM


def mib(size: int) -> str:
    """A size for a person: MiB with one decimal (KiB, bytes below a MiB)."""
    if size >= 1 << 20:
        return f"{size / (1 << 20):.1f} MiB"
    return f"{size / (1 << 10):.1f} KiB" if size >= 1 << 10 else f"{size} bytes"


class Base64Text:
    """Base64 text kept as ASCII bytes: ``params.data`` as read off the wire (a view of
    the frame, not checked yet: :func:`hotfix.lsp.convert.decode_data` does that), or
    ``data`` of a result, written into the JSON text as it is."""

    __slots__ = ("raw",)

    def __init__(self, raw: bytes | memoryview) -> None:
        self.raw = raw

    def __len__(self) -> int:
        return len(self.raw)

    def __repr__(self) -> str:
        return f"Base64Text({len(self.raw)} bytes)"


@dataclass
class Frame:
    """One message's body, or, when it was above the limit, what is known of it."""

    length: int
    body: bytes | None  # None: above the limit, thrown away
    head: bytes = b""
    tail: bytes = b""


# --- reading frames ---------------------------------------------------------------------


def content_length(line: bytes, known: int | None) -> int | None:
    """The Content-Length a header line gives (names are case-insensitive), else ``known``."""
    name, sep, value = line.partition(b":")
    if not sep or name.strip().lower() != b"content-length":
        return known
    text = value.strip()
    if not text.isdigit():
        logger.warning("ignoring a bad header line %r", line[:100])
        return known
    return int(text)


class _Discard:
    """Throws a frame's body away, keeping its first HEAD and last TAIL bytes."""

    def __init__(self, length: int) -> None:
        self.length = length
        self.head = bytearray()
        self.tail = b""

    def take(self, chunk: bytes) -> None:
        if len(self.head) < HEAD:
            self.head += chunk[: HEAD - len(self.head)]
        self.tail = (self.tail + chunk)[-TAIL:]

    def frame(self) -> Frame:
        return Frame(self.length, None, bytes(self.head), self.tail)


class FrameReader:
    """Frames from a blocking binary stream (stdin); call :meth:`read` in a thread."""

    def __init__(self, stream: BinaryIO, limit: int) -> None:
        self.stream = stream
        self.limit = limit

    def read(self) -> Frame | None:
        """The next frame; None at the end of the stream."""
        length: int | None = None
        while True:
            line = self.stream.readline(MAX_HEADER_LINE)
            if not line:
                return None
            if line.strip():
                length = content_length(line, length)
                continue
            if length is None:
                continue  # a blank line between messages
            if length <= self.limit:
                body = self.stream.read(length)
                return Frame(length, body) if len(body) == length else None
            discard = _Discard(length)
            left = length
            while left:
                chunk = self.stream.read(min(CHUNK, left))
                if not chunk:
                    return None
                discard.take(chunk)
                left -= len(chunk)
            return discard.frame()


async def read_frame_async(
    reader: asyncio.StreamReader, limit: int, *, discard: bool = True
) -> Frame | None:
    """:meth:`FrameReader.read` for an asyncio stream (TCP). With ``discard=False`` a frame
    above the limit is returned without reading its body (the connection is then unusable).
    A header line above the stream's limit ends the stream, as the end of input does."""
    length: int | None = None
    try:
        while True:
            line = await reader.readline()
            if not line:
                return None
            if line.strip():
                length = content_length(line, length)
                continue
            if length is None:
                continue
            if length <= limit:
                return Frame(length, await reader.readexactly(length))
            if not discard:
                return Frame(length, None)
            thrown = _Discard(length)
            left = length
            while left:
                chunk = await reader.readexactly(min(CHUNK, left))
                thrown.take(chunk)
                left -= len(chunk)
            return thrown.frame()
    except (asyncio.IncompleteReadError, ValueError):  # ValueError: readline's limit
        return None


# --- the id of a frame that was not read -------------------------------------------------

_TAIL_ID = re.compile(rb'[,{]\s*"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.)*")\s*}\s*\Z')


def peek_id(head: bytes, tail: bytes) -> MsgId | None:
    """The top-level ``id`` of a message of which only the start and end are known: found
    among the members before the first one that does not fit in ``head`` (clients send
    ``{"jsonrpc", "id", "method", "params"}`` in this order), else as the last member."""
    found = _head_id(head.decode("utf-8", "replace"))
    if found is None:
        match = _TAIL_ID.search(tail)
        if match:
            found = valid_id(_json_or_none(match.group(1)))
    return found


def _head_id(text: str) -> MsgId | None:
    decoder = json.JSONDecoder()
    i = _skip(text, 0)
    if not text.startswith("{", i):
        return None
    i += 1
    try:
        while True:
            key, i = decoder.raw_decode(text, _skip(text, i))
            i = _skip(text, i)
            if not isinstance(key, str) or not text.startswith(":", i):
                return None
            value, i = decoder.raw_decode(text, _skip(text, i + 1))
            if key == "id":
                return valid_id(value)
            i = _skip(text, i)
            if not text.startswith(",", i):
                return None
            i += 1
    except ValueError:  # a member that goes on past what was kept
        return None


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def _json_or_none(text: bytes) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def valid_id(value: Any) -> MsgId | None:
    """An id JSON-RPC lets us answer: an integer or a string (LSP's ``integer | string``)."""
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    return None


# --- JSON ---------------------------------------------------------------------------------

_TOKEN = f"hotfix-raw-{uuid.uuid4().hex}"
_TOKEN_JSON = json.dumps(_TOKEN).encode()
_WS = b" \t\r\n"


def loads(body: bytes) -> Any:
    """``json.loads`` of a frame (UTF-8), but a long ``params.data`` string without
    escapes is not parsed: it is cut out, as :class:`Base64Text` over the body.

    Raises ValueError (UnicodeDecodeError, JSONDecodeError) for a body that is not JSON.
    """
    span = _data_span(body) if len(body) >= RAW_MIN else None
    if span is not None:
        start, end = span
        rest = b"".join((body[: start - 1], _TOKEN_JSON, body[end + 1 :]))
        message = json.loads(rest.decode("utf-8"))
        params = message.get("params") if isinstance(message, dict) else None
        if isinstance(params, dict) and params.get("data") == _TOKEN:
            params["data"] = Base64Text(memoryview(body)[start:end])
            return message
        # the long string was somewhere else: parse the whole body as it is
    return json.loads(body.decode("utf-8"))


def _data_span(body: bytes) -> tuple[int, int] | None:
    """Where the first long ``"data": "…"`` string without escapes lies (its content)."""
    at = body.find(b'"data"')
    while at != -1:
        i = at + 6
        while i < len(body) and body[i] in _WS:
            i += 1
        if body[i : i + 1] == b":":
            i += 1
            while i < len(body) and body[i] in _WS:
                i += 1
            if body[i : i + 1] == b'"':
                start = i + 1
                end = body.find(b'"', start)
                if end == -1:
                    return None
                if end - start >= RAW_MIN and body.find(b"\\", start, end) == -1:
                    return start, end
        at = body.find(b'"data"', at + 6)
    return None


def dumps(data: Any, default: Callable[[Any], Any]) -> list[bytes | memoryview]:
    """The JSON text of ``data`` in pieces, to be written one after the other: as
    ``json.dumps(data, default=default)``, with every :class:`Base64Text` written as a JSON
    string without passing through the encoder."""
    raws: list[Base64Text] = []

    def hook(value: Any) -> Any:
        if isinstance(value, Base64Text):
            raws.append(value)
            return f"{_TOKEN}:{len(raws) - 1}"
        return default(value)

    text = json.dumps(data, default=hook).encode("utf-8")
    if not raws:
        return [text]
    pieces: list[bytes | memoryview] = []
    at = 0
    for index, raw in enumerate(raws):
        marker = f"{_TOKEN}:{index}".encode()
        found = text.index(marker, at)
        pieces.append(text[at:found])
        pieces.append(raw.raw)
        at = found + len(marker)
    pieces.append(text[at:])
    return pieces
