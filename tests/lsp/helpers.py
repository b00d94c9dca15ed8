"""Helpers of the language-server tests: requests, commands and the errors they answer."""

from __future__ import annotations

import base64
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient


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
