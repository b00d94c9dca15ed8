"""Another local user against ``hotfix lsp --tcp`` run by root (docs/protocol.md, "Security").

The attacker is a throwaway account running a stdlib-only client (``/usr/bin/python3``: the
project's venv need not be readable by it) against a server started as root on a loopback
port, beside a real container. Without this start's token it must get one error and a
closed connection — never a container list, a file or a command.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Running
from tests.lsp.tcp import TcpServer, tcp_server
from tests.security.conftest import LocalUser

SYSTEM_PYTHON = "/usr/bin/python3"
CLIENT_TIMEOUT = 30

# Sends each message and reads the answer to it; stops when the server closes or resets.
CLIENT = r"""
import json, socket, sys

def frame(message):
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body

def answer(stream, msg_id):
    while True:
        length = None
        while True:
            line = stream.readline()
            if not line:
                return None
            if not line.strip():
                if length is not None:
                    break
                continue
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        message = json.loads(stream.read(length))
        if "method" not in message and message.get("id") == msg_id:
            return message

port, messages = int(sys.argv[1]), json.loads(sys.argv[2])
report = {"answers": [], "closed": False}
with socket.create_connection(("127.0.0.1", port), timeout=20) as conn:
    stream = conn.makefile("rb")
    for message in messages:
        try:
            conn.sendall(frame(message))
            found = answer(stream, message.get("id"))
        except OSError:
            found = None
        if found is None:
            report["closed"] = True
            break
        report["answers"].append(found)
if not report["closed"]:  # after the last answer: is the connection still open?
    conn.settimeout(2)
    try:
        report["closed"] = stream.peek(1) == b""
    except TimeoutError:
        pass
    except OSError:
        report["closed"] = True
print(json.dumps(report))
"""


def initialize(token: Any = None, msg_id: int = 1) -> dict[str, Any]:
    options = {} if token is None else {"token": token}
    return {
        "jsonrpc": "2.0",
        "id": msg_id,
        "method": "initialize",
        "params": {"processId": None, "capabilities": {}, "initializationOptions": options},
    }


def request(method: str, msg_id: int, params: Any = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params or {}}


def converse(port: int, messages: list[dict[str, Any]], user: LocalUser | None) -> dict[str, Any]:
    """Run the client as ``user`` (root when None); what it received, and whether the server
    closed the connection."""
    as_user = {"preexec_fn": user.demote, "env": user.env(), "cwd": user.home} if user else {}
    proc = subprocess.run(
        [SYSTEM_PYTHON, "-c", CLIENT, str(port), json.dumps(messages)],
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT,
        check=False,
        **as_user,  # type: ignore[arg-type]
    )
    assert proc.returncode == 0, proc.stderr
    report: dict[str, Any] = json.loads(proc.stdout)
    return report


def assert_refused(report: dict[str, Any], msg_id: int | None, reason: str) -> None:
    """One error answer, then a closed connection: nothing else was served."""
    assert report["closed"], report
    [answer] = report["answers"]
    assert answer["id"] == msg_id
    assert "result" not in answer
    assert answer["error"]["code"] == -32600
    assert answer["error"]["data"] == {"code": "NoPermissions"}
    assert answer["error"]["message"].startswith("unauthenticated: "), answer
    assert reason in answer["error"]["message"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[TcpServer]:
    """A server of this test's own: it ends when its client leaves."""
    with tcp_server(tmp_path) as started:
        yield started


@pytest.fixture(scope="module")
def attacked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TcpServer]:
    """A server the refusal tests share: refused connections leave it as it was."""
    with tcp_server(tmp_path_factory.mktemp("attacked")) as started:
        yield started


@pytest.fixture
def listed(box: Running) -> Callable[[dict[str, Any]], bool]:
    """Whether a report holds a ``hotfix/containers`` result that lists the test container."""

    def check(report: dict[str, Any]) -> bool:
        return any(box.name in json.dumps(a.get("result")) for a in report["answers"])

    return check


# --- another user, without the token -------------------------------------------------------


def test_another_user_without_a_token_is_refused_and_disconnected(
    attacked: TcpServer, other_user: LocalUser, listed: Callable[[dict[str, Any]], bool]
) -> None:
    report = converse(attacked.port, [initialize(), request("hotfix/containers", 2)], other_user)
    assert_refused(report, 1, "initializationOptions.token")
    assert not listed(report)


@pytest.mark.parametrize(
    "first",
    [
        request("hotfix/containers", 7),
        request("workspace/executeCommand", 7, {"command": "hotfix.harvest", "arguments": [{}]}),
        request("hotfix/readFile", 7, {"uri": "hotfix://x/etc/shadow"}),
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
    ],
    ids=["containers", "harvest", "readFile", "notification"],
)
def test_another_user_sending_anything_but_initialize_first_is_refused(
    attacked: TcpServer, other_user: LocalUser, first: dict[str, Any]
) -> None:
    second = request("hotfix/containers", 8)
    report = converse(attacked.port, [first, second], other_user)
    assert_refused(report, first.get("id"), "must be an initialize request")


@pytest.mark.parametrize(
    "token",
    ["", "x" * 43, 12345, ["a"], "é" * 43],
    ids=["empty", "same-length", "number", "list", "non-ascii"],
)
def test_another_user_with_a_wrong_token_is_refused_and_disconnected(
    attacked: TcpServer, other_user: LocalUser, token: Any
) -> None:
    messages = [initialize(token), request("hotfix/containers", 2)]
    report = converse(attacked.port, messages, other_user)
    reason = "wrong initializationOptions.token" if isinstance(token, str) else "must be"
    assert_refused(report, 1, reason)


def test_a_huge_first_message_is_refused_unread(attacked: TcpServer, other_user: LocalUser) -> None:
    """A first frame above 1 MiB is not read at all: its header alone gets the refusal."""
    script = (
        "import socket, sys\n"
        "s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=20)\n"
        "s.sendall(b'Content-Length: 400000000\\r\\n\\r\\n')\n"
        "data = b''\n"
        "while chunk := s.recv(65536):\n"
        "    data += chunk\n"
        "sys.stdout.buffer.write(data)\n"
    )
    started = time.monotonic()
    proc = subprocess.run(
        [SYSTEM_PYTHON, "-c", script, str(attacked.port)],
        capture_output=True,
        timeout=CLIENT_TIMEOUT,
        preexec_fn=other_user.demote,
        env=other_user.env(),
        cwd=other_user.home,
        check=True,
    )
    assert time.monotonic() - started < 10
    head, _, body = proc.stdout.partition(b"\r\n\r\n")
    answer = json.loads(body)
    assert head == b"Content-Length: %d" % len(body)
    assert answer["error"]["message"].startswith("unauthenticated: ")


# --- the token stays with root ---------------------------------------------------------------


def test_another_user_cannot_read_the_token(attacked: TcpServer, other_user: LocalUser) -> None:
    found = os.stat(attacked.token_path)
    assert (found.st_uid, stat.S_IMODE(found.st_mode)) == (0, 0o600)
    directory = os.stat(attacked.token_path.parent)
    assert directory.st_uid == 0 and not directory.st_mode & 0o077
    proc = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import sys; print(open(sys.argv[1]).read())", attacked.token_path],
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT,
        preexec_fn=other_user.demote,
        env=other_user.env(),
        cwd=other_user.home,
        check=False,
    )
    assert proc.returncode != 0 and "PermissionError" in proc.stderr, proc
    assert attacked.token not in proc.stdout
    # nor is it anywhere every user can read: the command line, the log
    with open(f"/proc/{attacked.proc.pid}/cmdline", "rb") as cmdline:
        assert attacked.token.encode() not in cmdline.read()
    assert attacked.token not in attacked.stderr()


# --- root, with the token ---------------------------------------------------------------------


def test_root_with_the_token_is_served_after_the_refusals(
    server: TcpServer, other_user: LocalUser
) -> None:
    """Refused connections neither stop the server nor take its place: the holder of the
    token is served, and while it is connected nobody else is."""
    for messages in ([initialize("nope")], [request("hotfix/containers", 1)]):
        assert_refused(converse(server.port, messages, other_user), 1, "unauthenticated")
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as holder:
        _send(holder, initialize(server.token))  # the one client, connected meanwhile
        _wait_for_answer(holder)
        report = converse(server.port, [initialize(server.token)], None)
        [busy] = report["answers"]
        assert report["closed"] and busy["error"]["message"].startswith("busy: ")
    assert server.proc.wait(20) == 0  # its client left: the server ended, as on stdio


def test_root_with_the_token_lists_the_containers(
    server: TcpServer, listed: Callable[[dict[str, Any]], bool]
) -> None:
    report = converse(
        server.port, [initialize(server.token), request("hotfix/containers", 2)], None
    )
    assert not report["closed"] and listed(report), report
    assert "refused" not in server.stderr()


def _send(conn: socket.socket, message: dict[str, Any]) -> None:
    body = json.dumps(message).encode()
    conn.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)


def _wait_for_answer(conn: socket.socket) -> None:
    with conn.makefile("rb") as stream:
        length = 0
        while line := stream.readline().strip():
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        assert length and b'"result"' in stream.read(length)
