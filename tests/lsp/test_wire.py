"""The frame reader, the id of a frame not read, and the JSON fast paths (no engine)."""

from __future__ import annotations

import asyncio
import base64
import io
import json
from typing import Any

import pytest

from hotfix.lsp import convert, wire
from hotfix.lsp.errors import InvalidParams


def frames(data: bytes, limit: int = 1 << 20) -> list[wire.Frame]:
    reader = wire.FrameReader(io.BytesIO(data), limit)
    found = []
    while (frame := reader.read()) is not None:
        found.append(frame)
    return found


def framed(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def test_frame_limit_is_the_base64_of_a_forced_save_plus_room() -> None:
    """Forced saves may go to 4 × HOTFIX_MAX_FILE_SIZE; the frame limit is their base64."""
    assert wire.frame_limit(16 << 20) == 89_478_488 + (1 << 20)  # len(base64 of 64 MiB)
    assert wire.frame_limit(3) == 16 + wire.ROOM  # 12 bytes take 16 characters
    assert wire.frame_limit(1) == 8 + wire.ROOM  # 4 bytes take 8 characters (padded)
    data = b"x" * 4000
    assert len(base64.b64encode(data)) + wire.ROOM <= wire.frame_limit(len(data) // 4)


def test_frames_are_read_whole_and_in_order() -> None:
    data = framed(b"one") + b"\r\n" + b"content-length:  3\r\nX-Other: y\r\n\r\ntwo" + framed(b"")
    assert [(f.length, f.body) for f in frames(data)] == [(3, b"one"), (3, b"two"), (0, b"")]


def test_a_bad_header_or_a_cut_body_ends_cleanly() -> None:
    assert [f.body for f in frames(b"Content-Length: x\r\n\r\n" + framed(b"ok"))] == [b"ok"]
    assert frames(b"Content-Length: 10\r\n\r\nshort") == []
    assert frames(b"Content-Length: 5000\r\n\r\n" + b"y" * 100, limit=10) == []


def test_a_frame_above_the_limit_is_thrown_away_keeping_its_ends() -> None:
    body = b'{"jsonrpc": "2.0", "id": 7, "params": "' + b"A" * (3 << 20) + b'"}'
    found = frames(framed(body) + framed(b"next"), limit=1 << 20)
    assert [(f.length, f.body) for f in found] == [(len(body), None), (4, b"next")]
    assert found[0].head == body[: wire.HEAD]
    assert found[0].tail == body[-wire.TAIL :]


def test_async_reader_matches() -> None:
    async def read_all(data: bytes, limit: int) -> list[Any]:
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        found = []
        while (frame := await wire.read_frame_async(reader, limit)) is not None:
            found.append((frame.length, frame.body, frame.head[:5]))
        return found

    data = framed(b"one") + framed(b"x" * 5000) + framed(b"two") + b"Content-Length: 9\r\n\r\nab"
    assert asyncio.run(read_all(data, 100)) == [
        (3, b"one", b""),
        (5000, None, b"xxxxx"),
        (3, b"two", b""),
    ]


@pytest.mark.parametrize(
    ("head", "tail", "expected"),
    [
        (b'{"jsonrpc": "2.0", "id": 7, "method": "m", "params": {"data": "AAA', b"", 7),
        (b'{"id":"abc","jsonrpc":"2.0"', b"", "abc"),
        (b'{"jsonrpc": "2.0", "method": "m", "params": {"id": 5, "data": "AAA', b"", None),
        (b'{"jsonrpc": "2.0", "params": {"data": "AAA', b'AAA"}, "id": 12}', 12),
        (b'{"params": {"data": "AAA', b'AAA", "id": "t\\"x"}\n', 't"x'),
        (b'{"params": {"data": "AAA', b'AA", "x": {"id": 5}}}', None),
        (b'{"params": {"data": "AAA', b'"id": 5}', None),  # not after , or {
        (b'{"jsonrpc": "2.0", "id": true, "method"', b"", None),
        (b'{"jsonrpc": "2.0", "id": 1.5, "method"', b"", None),
        (b"\xff\xfe garbage", b"more garbage", None),
        (b"[1, 2", b"3]", None),
    ],
)
def test_peek_id(head: bytes, tail: bytes, expected: Any) -> None:
    assert wire.peek_id(head, tail) == expected


def big_request(data: str, *, sep: str = ": ", extra: str = "") -> bytes:
    return (
        '{"jsonrpc": "2.0", "id": 1, "method": "hotfix/writeFile", "params": {"uri": "hotfix://c/x"'
        f', "data"{sep}"{data}"{extra}, "create": true}}}}'
    ).encode()


def test_loads_cuts_a_big_data_string_out() -> None:
    data = base64.b64encode(b"\xfb\xff" * 100_000).decode()
    for body in (big_request(data), big_request(data, sep=" :\n "), big_request(data, sep=":")):
        message = wire.loads(body)
        raw = message["params"]["data"]
        assert isinstance(raw, wire.Base64Text)
        assert convert.decode_data(raw) == b"\xfb\xff" * 100_000
        expected = json.loads(body)
        expected["params"].pop("data")
        message["params"].pop("data")
        assert message == expected


@pytest.mark.parametrize(
    "body",
    [
        big_request("A" * 100_000),  # short of nothing: the plain case, checked below
        big_request("A/" * 50_000).replace(b"/", b"\\/"),  # escapes: parsed as JSON
        big_request("A" * 10),  # short: parsed as JSON
        b'{"jsonrpc": "2.0", "method": "m", "params": {"uri": "\\"data\\": \\"'
        + b"A" * 100_000
        + b'", "data": "QQ=="}}',
        b'{"jsonrpc": "2.0", "method": "m", "params": {"other": {"data": "'
        + b"A" * 100_000
        + b'"}}}',
        b'{"jsonrpc": "2.0", "method": "m", "params": ["data", "' + b"A" * 100_000 + b'"]}',
    ],
)
def test_loads_means_what_json_loads_means(body: bytes) -> None:
    message = wire.loads(body)
    data = message["params"].get("data") if isinstance(message["params"], dict) else None
    if isinstance(data, wire.Base64Text):
        message["params"]["data"] = bytes(data.raw).decode()
    assert message == json.loads(body)


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"\xff\xfe", big_request("A" * 100_000)[:-1], b'{"data": "' + b"A" * 70_000],
)
def test_loads_refuses_what_is_not_json(body: bytes) -> None:
    with pytest.raises(ValueError):
        wire.loads(body)


def test_raw_data_that_is_not_base64_is_refused_by_decode_data() -> None:
    """What the fast path lets through without the JSON parser is checked by the decoder:
    control characters (JSON forbids them in strings), other UTF-8, a bad length."""
    for raw in (b"A" * 99_999 + b"\x01", "é".encode() * 40_000, b"A" * 70_001):
        body = big_request("RAW").replace(b"RAW", raw)
        message = wire.loads(body)
        assert isinstance(message["params"]["data"], wire.Base64Text)
        with pytest.raises(InvalidParams, match=r"^params.data: not valid base64$"):
            convert.decode_data(message["params"]["data"], "params.data")


def test_dumps_splices_raw_base64_as_json_dumps_would() -> None:
    data = bytes(range(256)) * 1000
    result = {"data": convert.encode_data_raw(data), "version": "sha256:x", "n": [1, None]}
    message = {"jsonrpc": "2.0", "id": 3, "result": result}
    pieces = wire.dumps(message, default=lambda o: o.__dict__)
    assert len(pieces) == 3
    text = b"".join(bytes(p) for p in pieces)
    plain = {**message, "result": {**result, "data": base64.b64encode(data).decode()}}
    assert text == json.dumps(plain).encode()
    assert wire.dumps({"a": "b"}, default=str) == [b'{"a": "b"}']
