"""Who may talk to ``hotfix lsp --tcp``: whoever holds the token of this start.

Any local user can connect to a loopback port, and the server acts as its own user (root,
beside the engine). So each start makes a random token, writes it to a 0600 file in the
user's private runtime directory (:func:`hotfix.core.rundir.open_private_subdir`) and says where on
stderr; a connection's first message must be an ``initialize`` request carrying it as
``initializationOptions.token``. Anything else gets one error response and the connection
is closed: no other message of it is read, let alone served.

On stdio there is no token: the process that started the server owns its pipes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import os
import secrets
from typing import Any

from hotfix.core.errors import NoPermissions, Unavailable
from hotfix.core.rundir import open_private_subdir
from hotfix.lsp import wire

TOKEN_BYTES = 32
FIRST_FRAME_LIMIT = 1 << 20  # an initialize is a few KiB; nothing bigger is read unauthenticated
FIRST_FRAME_TIMEOUT = 10.0  # seconds a connection may stay silent before it is dropped
LINGER_TIMEOUT = 1.0  # after a refusal, seconds spent discarding what the client still sends
LINGER_BYTES = 1 << 20

UNAUTHENTICATED = -32600  # JSON-RPC's Invalid Request
UNAUTHENTICATED_CODE = NoPermissions.code  # data.code, as for any refused operation
NEEDS_TOKEN = (
    "the first message must be an initialize request with initializationOptions.token "
    "(the token file's path is printed on the server's stderr)"
)


class TokenFile:
    """This start's token, in ``lsp-PORT.token`` of the private runtime directory.

    Made after the port is bound, so a start that cannot bind never replaces the file of a
    server that holds the port; a file left by a killed server on this port is replaced.
    """

    def __init__(self, port: int) -> None:
        self.token = secrets.token_urlsafe(TOKEN_BYTES)
        found = open_private_subdir("hotfix")  # checked on its descriptor, as we write there
        if found is None:
            raise Unavailable(
                "hotfix lsp --tcp: no private runtime directory for the token file "
                "(set XDG_RUNTIME_DIR to a directory only you can enter)"
            )
        directory, dir_fd = found
        name = f"lsp-{port}.token"
        self.path = os.path.join(directory, name)
        try:
            _write_private(dir_fd, name, self.token)
        finally:
            os.close(dir_fd)

    def remove(self) -> None:
        """Unlink the file, unless another server on this port has replaced it since (its
        inode may be the same number: the token tells them apart)."""
        with contextlib.suppress(OSError):
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            with os.fdopen(fd, "rb") as found:
                ours = hmac.compare_digest(found.read(len(self.token) + 1), self.token.encode())
            if ours:
                os.unlink(self.path)


def _write_private(dir_fd: int, name: str, text: str) -> None:
    """Create ``name`` in the directory ``dir_fd`` (``O_EXCL | O_NOFOLLOW``, mode 0600)
    holding ``text``, in place of any file of that name."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(name, dir_fd=dir_fd)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(name, flags, 0o600, dir_fd=dir_fd)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(text)


# --- the first message --------------------------------------------------------------------


async def read_first_frame(reader: asyncio.StreamReader) -> wire.Frame | None:
    """A connection's first frame, read with a small size limit (a bigger one is left
    unread) and a time limit; None when the client closed or stayed silent."""
    try:
        return await asyncio.wait_for(
            wire.read_frame_async(reader, FIRST_FRAME_LIMIT, discard=False),
            FIRST_FRAME_TIMEOUT,
        )
    except TimeoutError:
        return None


def check(frame: wire.Frame, token: str) -> tuple[wire.MsgId | None, str | None]:
    """The id of the connection's first request, and why that frame does not authenticate
    the connection (None when it is an ``initialize`` request carrying ``token``)."""
    message = _json_object(frame.body)
    if message is None:
        return None, f"unauthenticated: {NEEDS_TOKEN}"
    msg_id = wire.valid_id(message.get("id"))
    if message.get("method") != "initialize" or msg_id is None:
        return msg_id, f"unauthenticated: {NEEDS_TOKEN}"
    params = message.get("params")
    options = params.get("initializationOptions") if isinstance(params, dict) else None
    given = options.get("token") if isinstance(options, dict) else None
    if not isinstance(given, str):
        return msg_id, f"unauthenticated: {NEEDS_TOKEN}"
    if not hmac.compare_digest(given.encode(), token.encode()):
        return msg_id, "unauthenticated: wrong initializationOptions.token"
    return msg_id, None


def _json_object(body: bytes | None) -> dict[str, Any] | None:
    if body is None:
        return None
    try:
        found = json.loads(body)
    except ValueError:  # not UTF-8, or not JSON
        return None
    return found if isinstance(found, dict) else None


async def refuse(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, msg_id: wire.MsgId | None, why: str
) -> None:
    """Answer one error and close. What the client sent meanwhile is read and thrown away
    for a moment first: closing with unread data resets the connection, which can drop the
    answer before the client reads it."""
    answer = {
        "jsonrpc": "2.0",
        "id": msg_id,
        "error": {"code": UNAUTHENTICATED, "message": why, "data": {"code": UNAUTHENTICATED_CODE}},
    }
    body = json.dumps(answer).encode()
    try:
        writer.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.write_eof()
        await asyncio.wait_for(_discard(reader, LINGER_BYTES), LINGER_TIMEOUT)
    except (OSError, TimeoutError):
        pass
    finally:
        writer.close()


async def _discard(reader: asyncio.StreamReader, limit: int) -> None:
    left = limit
    while left > 0 and (chunk := await reader.read(min(left, 64 << 10))):
        left -= len(chunk)


def announce(host: str, port: int, token_file: TokenFile) -> str:
    """The line ``hotfix lsp --tcp`` prints on stderr once it listens."""
    shown = f"[{host}]" if ":" in host else host
    return f"hotfix lsp: listening on {shown}:{port}; token in {token_file.path}"
