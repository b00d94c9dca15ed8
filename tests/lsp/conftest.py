"""The language server as a subprocess (``python -m hotfix lsp``) driven by pytest-lsp.

Each test gets its own server with a fresh ``HOTFIX_STATE_DIR``. The client keeps the
results of custom requests as plain JSON (pygls would make namedtuples of them) and records
``hotfix/didChangeFile`` notifications.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator
from typing import Any

import pytest_lsp
from lsprotocol import types
from pygls.protocol import JsonRPCNotification, JsonRPCResponseMessage, default_converter
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
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


class FreshState(ClientServerConfig):
    """Start each server with its own state directory (``client.state_dir``)."""

    async def start(self, devtools: str | None = None) -> Any:
        client = self.client_factory()
        state_dir = tempfile.mkdtemp(prefix="hotfix-lsp-state-")
        client.state_dir = state_dir  # type: ignore[attr-defined]
        env = {**os.environ, "HOTFIX_STATE_DIR": state_dir, "HOTFIX_LOG_LEVEL": "INFO"}
        await client.start_io(*self.get_server_command(devtools), env=env)
        return client


@pytest_lsp.fixture(config=FreshState(server_command=SERVER_COMMAND, client_factory=make_client))
async def client(lsp_client: LanguageClient) -> AsyncIterator[None]:
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            initialization_options={"pollInterval": POLL_INTERVAL},
        )
    )
    yield
    await lsp_client.shutdown_session()
    shutil.rmtree(lsp_client.state_dir, ignore_errors=True)  # type: ignore[attr-defined]
