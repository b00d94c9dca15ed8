"""Helpers of the language-server tests: the client, requests, commands, the errors they answer.

The client keeps the results of custom requests as plain JSON (pygls would make namedtuples
of them) and records ``hotfix/didChangeFile`` notifications in ``client.changed_files``.
"""

from __future__ import annotations

import base64
import sys
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.protocol import JsonRPCNotification, JsonRPCResponseMessage, default_converter
from pytest_lsp import LanguageClient
from pytest_lsp.client import register_lsp_features

SERVER_COMMAND = [sys.executable, "-m", "hotfix", "lsp"]
POLL_INTERVAL = 0.2


def _raw_converter() -> Any:
    converter = default_converter()
    for cls in (JsonRPCResponseMessage, JsonRPCNotification):
        converter.register_structure_hook(cls, lambda obj, cls: cls(**obj))
    return converter


def make_client() -> LanguageClient:
    client = LanguageClient(converter_factory=_raw_converter)
    register_lsp_features(client)
    client.changed_files = []  # type: ignore[attr-defined]

    @client.feature("hotfix/didChangeFile")
    def did_change_file(ls: LanguageClient, params: Any) -> None:
        ls.changed_files.append(params)  # type: ignore[attr-defined]

    return client


async def call(client: LanguageClient, method: str, **params: Any) -> Any:
    return await client.protocol.send_request_async(method, params)


async def command(client: LanguageClient, name: str, **args: Any) -> Any:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=name, arguments=[args])
    )


async def error_of(client: LanguageClient, method: str, **params: Any) -> JsonRpcException:
    """The error a request answers (failing the test if it succeeds)."""
    try:
        result = await call(client, method, **params)
    except JsonRpcException as exc:
        return exc
    raise AssertionError(f"{method} {params} succeeded: {result!r}")


async def command_error_of(client: LanguageClient, name: str, **args: Any) -> JsonRpcException:
    try:
        result = await command(client, name, **args)
    except JsonRpcException as exc:
        return exc
    raise AssertionError(f"{name} {args} succeeded: {result!r}")


def code_of(exc: JsonRpcException) -> str:
    assert isinstance(exc.data, dict), f"no data.code in {exc!r}"
    return str(exc.data["code"])


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


async def close(client: LanguageClient) -> None:
    """Stop a client; its server is terminated if a failed test left it running."""
    server = getattr(client, "_server", None)
    if server is not None and server.returncode is None:
        server.terminate()
    await client.stop()
