"""The TCP token: its file, the first-message check, a first frame read unauthenticated (no
engine; tests/security/test_lsp_tcp.py plays the other user against a real server)."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from hotfix.lsp import auth, wire


@pytest.fixture
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "run"
    directory.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(directory))
    return directory


def test_the_token_file_is_private_and_holds_only_the_token(runtime: Path) -> None:
    token_file = auth.TokenFile(2087)
    path = Path(token_file.path)
    assert path == runtime / "hotfix" / "lsp-2087.token"
    found = path.lstat()
    assert stat.S_IMODE(found.st_mode) == 0o600 and found.st_uid == os.geteuid()
    assert path.read_text() == token_file.token and len(token_file.token) == 43
    token_file.remove()
    assert not path.exists()


def test_each_start_has_its_own_token_and_replaces_a_leftover(runtime: Path) -> None:
    first = auth.TokenFile(2087)
    second = auth.TokenFile(2087)  # the first server was killed before it could remove it
    assert first.token != second.token
    assert Path(second.path).read_text() == second.token
    first.remove()  # not its file any more: left alone
    assert Path(second.path).read_text() == second.token
    second.remove()
    assert not Path(second.path).exists()


def test_a_symlink_in_place_of_the_token_file_is_replaced_not_followed(runtime: Path) -> None:
    (runtime / "hotfix").mkdir(mode=0o700)
    target = runtime / "elsewhere"
    target.write_text("keep")
    (runtime / "hotfix" / "lsp-2087.token").symlink_to(target)
    token_file = auth.TokenFile(2087)
    assert target.read_text() == "keep"
    assert not Path(token_file.path).is_symlink()
    token_file.remove()


def frame_of(message: Any) -> wire.Frame:
    body = json.dumps(message).encode()
    return wire.Frame(len(body), body)


def initialize(options: Any, msg_id: Any = 1, method: str = "initialize") -> dict[str, Any]:
    params = {"capabilities": {}, "initializationOptions": options}
    return {"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}


TOKEN = "t0ken-of-this-start"


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (frame_of(initialize({"token": TOKEN})), (1, None)),
        (frame_of(initialize({"token": TOKEN}, "a")), ("a", None)),
        (frame_of(initialize({"token": "t0ken-of-this-starT"})), (1, "wrong")),
        (frame_of(initialize({"token": "é"})), (1, "wrong")),
        (frame_of(initialize({"token": 5})), (1, "must be")),
        (frame_of(initialize({})), (1, "must be")),
        (frame_of(initialize(None)), (1, "must be")),
        (frame_of(initialize({"token": TOKEN}, None)), (None, "must be")),
        (frame_of(initialize({"token": TOKEN}, method="hotfix/containers")), (1, "must be")),
        (frame_of([initialize({"token": TOKEN})]), (None, "must be")),
        (wire.Frame(5, b"{nope"), (None, "must be")),
        (wire.Frame(2, b"\xff\xfe"), (None, "must be")),
        (wire.Frame(400 << 20, None), (None, "must be")),
    ],
    ids=[
        "right",
        "string-id",
        "wrong",
        "non-ascii",
        "number",
        "no-token",
        "no-options",
        "notification",
        "other-method",
        "batch",
        "not-json",
        "not-utf8",
        "too-big",
    ],
)
def test_the_first_message_check(frame: wire.Frame, expected: tuple[Any, str | None]) -> None:
    msg_id, refusal = auth.check(frame, TOKEN)
    want_id, want_reason = expected
    assert msg_id == want_id
    if want_reason is None:
        assert refusal is None
    else:
        assert refusal is not None and refusal.startswith("unauthenticated: ")
        assert want_reason in refusal


def test_a_big_first_frame_is_not_read() -> None:
    async def first() -> tuple[wire.Frame | None, int]:
        reader = asyncio.StreamReader()
        reader.feed_data(b"Content-Length: 400000000\r\n\r\n" + b"x" * 1000)
        found = await auth.read_first_frame(reader)
        return found, len(await reader.read(2000))

    found, left = asyncio.run(first())
    assert found == wire.Frame(400_000_000, None)
    assert left == 1000  # the body is still unread


def test_a_silent_connection_is_given_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "FIRST_FRAME_TIMEOUT", 0.05)

    async def first() -> wire.Frame | None:
        return await auth.read_first_frame(asyncio.StreamReader())

    assert asyncio.run(first()) is None


def test_a_header_line_over_the_stream_limit_ends_the_stream() -> None:
    async def first() -> wire.Frame | None:
        reader = asyncio.StreamReader(limit=1024)
        reader.feed_data(b"X" * 4096 + b"\r\n")
        return await wire.read_frame_async(reader, 1 << 20)

    assert asyncio.run(first()) is None
