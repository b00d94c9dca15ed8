"""The server without containers: capabilities, diagnostics, params errors, transports."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient, client_capabilities

from tests.lsp.helpers import (
    SERVER_COMMAND,
    close,
    code_of,
    command_error_of,
    error_of,
    make_client,
)
from tests.lsp.tcp import tcp_server

COMMANDS = [
    "hotfix.checkpoint",
    "hotfix.diff",
    "hotfix.revert",
    "hotfix.restart",
    "hotfix.probe",
    "hotfix.harvest",
    "hotfix.commitImage",
    "hotfix.report",
    "hotfix.try",
    "hotfix.status",
    "hotfix.reapply",
]


def open_doc(client: LanguageClient, uri: str, text: str, language: str = "python") -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id=language, version=1, text=text
            )
        )
    )


def change_doc(client: LanguageClient, uri: str, version: int, text: str) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


async def diagnostics_of(client: LanguageClient, uri: str) -> list[types.Diagnostic]:
    await asyncio.wait_for(
        client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS), 10
    )
    return list(client.diagnostics[uri])


async def test_commands_are_advertised(tmp_path: Path) -> None:
    fresh = make_client()
    await fresh.start_io(*SERVER_COMMAND, env={**os.environ, "HOTFIX_STATE_DIR": str(tmp_path)})
    try:
        result = await fresh.initialize_session(
            types.InitializeParams(capabilities=client_capabilities("visual-studio-code"))
        )
        assert result.capabilities.execute_command_provider is not None
        assert sorted(result.capabilities.execute_command_provider.commands) == sorted(COMMANDS)
        assert result.server_info is not None and result.server_info.name == "hotfix"
        await fresh.shutdown_session()
    finally:
        await close(fresh)


async def test_python_diagnostics_follow_the_text(client: LanguageClient) -> None:
    uri = "hotfix://some-container/usr/src/app/app.py"
    text = "import os\ns = 'x'; print(s\n"
    open_doc(client, uri, text)
    found = await diagnostics_of(client, uri)
    assert len(found) == 1
    diag = found[0]
    assert diag.severity == types.DiagnosticSeverity.Error
    assert "never closed" in diag.message and diag.source == "hotfix (python)"
    assert (diag.range.start.line, diag.range.start.character) == (1, text.index("(") - 10)

    change_doc(client, uri, 2, "import os\ns = 'x'; print(s)\n")
    assert await diagnostics_of(client, uri) == []

    change_doc(client, uri, 3, "def f(:\n    pass\n")
    assert len(await diagnostics_of(client, uri)) == 1
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    assert await diagnostics_of(client, uri) == []


async def test_python_diagnostic_columns_count_characters(client: LanguageClient) -> None:
    uri = "hotfix://some-container/srv/emoji.py"
    text = 's = "\U0001f600"; print(s\n'
    open_doc(client, uri, text)
    (diag,) = await diagnostics_of(client, uri)
    paren = text.index("print(") + len("print")
    utf16 = len(text[:paren].encode("utf-16-le")) // 2  # the emoji is two UTF-16 units
    assert (diag.range.start.line, diag.range.start.character) == (0, utf16)


async def test_json_diagnostics_and_unchecked_files(client: LanguageClient) -> None:
    uri = "hotfix://c/etc/app/config.json"
    open_doc(client, uri, '{"a": 1,\n "b": }\n', "json")
    found = await diagnostics_of(client, uri)
    assert len(found) == 1 and found[0].range.start.line == 1
    assert found[0].source == "hotfix (json)"

    plain = "hotfix://c/etc/hosts"
    open_doc(client, plain, "not python (\n", "plaintext")
    assert await diagnostics_of(client, plain) == []

    checkpoint = "hotfix-checkpoint://c/usr/src/app/app.py"
    open_doc(client, checkpoint, "def f(:\n")
    assert await diagnostics_of(client, checkpoint) == []  # the original is not ours to judge


async def test_malformed_params_name_the_field(client: LanguageClient) -> None:
    cases = [
        ("hotfix/readFile", {}, "params.uri: required"),
        ("hotfix/stat", {"uri": 42}, "params.uri: expected a non-empty string"),
        ("hotfix/readDirectory", {"uri": "hotfix:///x"}, "names no container"),
        ("hotfix/writeFile", {"uri": "hotfix://c/a", "data": "", "create": 1}, "params.create"),
        ("hotfix/rename", {"oldUri": "hotfix://c/a"}, "params.newUri: required"),
        ("hotfix/delete", {"uri": "hotfix://c/a", "recursive": "no"}, "params.recursive"),
        ("hotfix/changes", {"container": ""}, "params.container"),
    ]
    for method, params, fragment in cases:
        err = await error_of(client, method, **params)
        assert code_of(err) == "ValidationFailed", (method, err)
        assert fragment in err.message, (method, err.message)
        assert err.code == -32602

    err = await command_error_of(client, "hotfix.diff")
    assert code_of(err) == "ValidationFailed" and "arguments[0].container: required" in err.message
    with pytest.raises(JsonRpcException) as info:
        await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="hotfix.diff", arguments=["c", "d"])
        )
    assert code_of(info.value) == "ValidationFailed" and "one JSON object" in info.value.message
    err = await command_error_of(client, "hotfix.checkpoint", container="c", paths="/a")
    assert "arguments[0].paths: expected a list" in err.message
    err = await error_of(client, "hotfix/readFile", uri="hotfix://c/x?engine=no-such-context")
    assert code_of(err) == "ValidationFailed" and "unknown engine 'no-such-context'" in err.message
    # still serving
    err = await error_of(client, "hotfix/readFile", uri="hotfix://c/x", extra=1)
    assert code_of(err) in ("FileNotFound", "Unavailable")


# --- transports -----------------------------------------------------------------------------------


def test_tcp_refuses_a_non_loopback_host() -> None:
    proc = subprocess.run(
        [*SERVER_COMMAND, "--tcp", "0.0.0.0:2087"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "not a loopback address" in lines[0], proc.stderr


async def test_tcp_serves_on_loopback(tmp_path: Path) -> None:
    with tcp_server(tmp_path) as server:
        client = make_client()
        try:
            await client.start_tcp("127.0.0.1", server.port)
            await client.initialize_session(
                types.InitializeParams(
                    capabilities=client_capabilities("visual-studio-code"),
                    initialization_options={"token": server.token},
                )
            )
            err = await error_of(client, "hotfix/readFile", uri="nope")
            assert code_of(err) == "ValidationFailed"
            await client.shutdown_session()
        finally:
            await client.stop()


def test_tcp_answers_bad_frames(tmp_path: Path) -> None:
    """The TCP transport reads frames as stdio does once the client is in: -32700 for what
    is not JSON, a frame above the limit (HOTFIX_MAX_FILE_SIZE=3K: 1 MiB + 4 KiB) thrown
    away, then served again."""
    with (
        tcp_server(tmp_path, HOTFIX_MAX_FILE_SIZE="3K") as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=20) as conn,
        conn.makefile("rb") as answers,
    ):

        def send(body: bytes) -> dict[str, object]:
            conn.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            length = 0
            while line := answers.readline().strip():
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            answer: dict[str, object] = json.loads(answers.read(length))
            return answer

        initialize = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"capabilities": {}, "initializationOptions": {"token": server.token}},
        }
        assert "result" in send(json.dumps(initialize).encode())
        assert send(b"{nope")["error"] == {
            "code": -32700,
            "message": "Parse error: the message is not JSON "
            "(Expecting property name enclosed in double quotes: line 1 column 2 (char 1))",
            "data": {"code": "ValidationFailed"},
        }
        big = b'{"jsonrpc": "2.0", "id": 5, "method": "x", "params": "%s"}' % (b"A" * (2 << 20))
        answer = send(big)
        assert answer["id"] == 5, answer
        message = answer["error"]["message"]  # type: ignore[index]
        assert message == (
            "Invalid Request: the message is 2.0 MiB (Content-Length 2097208), above this "
            "server's 1.0 MiB limit (the base64 of 4 × HOTFIX_MAX_FILE_SIZE 3.0 KiB, plus "
            "1 MiB); it was not read: start the server with a larger HOTFIX_MAX_FILE_SIZE"
        )
        ok = send(b'{"jsonrpc": "2.0", "id": 6, "method": "shutdown"}')
        assert ok == {"jsonrpc": "2.0", "id": 6, "result": None}


async def test_stdio_round_trip_is_fast(client: LanguageClient) -> None:
    """Requests that need no engine answer in milliseconds (the loop is never blocked)."""
    started = time.perf_counter()
    for _ in range(20):
        await error_of(client, "hotfix/readFile", uri="nope")
    per_request = (time.perf_counter() - started) / 20
    print(f"params-error round trip over stdio: {per_request * 1000:.2f} ms")
    assert per_request < 0.1


async def test_no_engine_is_unavailable_and_the_server_keeps_serving(tmp_path: Path) -> None:
    """With Docker unreachable the server still starts and answers Unavailable, saying why."""
    down = make_client()
    env = {
        **os.environ,
        "HOTFIX_STATE_DIR": str(tmp_path / "state"),
        "DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock",
    }
    await down.start_io(*SERVER_COMMAND, env=env)
    try:
        await down.initialize_session(
            types.InitializeParams(capabilities=client_capabilities("visual-studio-code"))
        )
        for _ in range(2):  # the service is retried on each request
            err = await error_of(down, "hotfix/readFile", uri="hotfix://web/etc/hosts")
            assert code_of(err) == "Unavailable"
            assert "engine" in err.message.lower() and "Traceback" not in err.message
        err = await command_error_of(down, "hotfix.restart", container="web")
        assert code_of(err) == "Unavailable"
        await down.shutdown_session()
    finally:
        await close(down)
