"""The language server as a subprocess (``python -m hotfix lsp``) driven by pytest-lsp.

Each test gets its own server with a fresh ``HOTFIX_STATE_DIR``, initialized as VS Code
would be with a short ``pollInterval``; the client is ``helpers.make_client``'s.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from typing import Any

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.lsp.helpers import POLL_INTERVAL, SERVER_COMMAND, make_client


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
    try:
        yield
        await asyncio.wait_for(lsp_client.shutdown_session(), 30)
    finally:
        server = getattr(lsp_client, "_server", None)
        if server is not None and server.returncode is None:
            server.terminate()  # a hung or half-shut server must not hang the run
        shutil.rmtree(lsp_client.state_dir, ignore_errors=True)  # type: ignore[attr-defined]
