"""The lifecycle through the protocol: ``hotfix.status``, and the ``hotfix/lifecycle``
notification when a hotfix's container is removed — then ``hotfix.reapply`` onto the
container recreated in its place."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.conftest import Running
from tests.lsp.helpers import SERVER_COMMAND, b64, call, command, make_client

pytestmark = pytest.mark.engine

PAGE = "/www/index.html"


class FreshState(ClientServerConfig):
    async def start(self, devtools: str | None = None) -> Any:
        client = self.client_factory()
        client.state_dir = tempfile.mkdtemp(prefix="hotfix-lsp-life-")  # type: ignore[attr-defined]
        env = {**os.environ, "HOTFIX_STATE_DIR": client.state_dir}  # type: ignore[attr-defined]
        await client.start_io(*self.get_server_command(devtools), env=env)
        return client


@pytest_lsp.fixture(config=FreshState(server_command=SERVER_COMMAND, client_factory=make_client))
async def client(lsp_client: LanguageClient) -> AsyncIterator[None]:
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            initialization_options={"pollInterval": 0.2, "lifecycleInterval": 0.3},
        )
    )
    try:
        yield
        await asyncio.wait_for(lsp_client.shutdown_session(), 30)
    finally:
        server = getattr(lsp_client, "_server", None)
        if server is not None and server.returncode is None:
            server.terminate()
        shutil.rmtree(lsp_client.state_dir, ignore_errors=True)  # type: ignore[attr-defined]


async def test_a_removed_hotfixed_container_is_notified_once_and_reapplied(
    client: LanguageClient, images: dict[str, str], run_container: Callable[..., Running]
) -> None:
    name = "hotfix-test-life-" + os.urandom(3).hex()
    labels = {"com.docker.compose.project": "lifelsp", "com.docker.compose.service": "web"}
    web = run_container(images["busybox"], port=8080, name=name, labels=labels)
    uri = f"hotfix://{name}{PAGE}"
    await call(
        client,
        "hotfix/writeFile",
        uri=uri,
        data=b64(b"<h1>fixed</h1>\n"),
        create=False,
        overwrite=True,
    )
    [line] = (await command(client, "hotfix.status"))["hotfixes"]
    assert (line["containers"], line["stage"]) == ([name], "live")

    web.container.remove(force=True)
    params = await asyncio.wait_for(client.wait_for_notification("hotfix/lifecycle"), 10)
    [lost] = params["lost"]
    assert (lost["containers"], lost["stage"], lost["nextStep"]) == ([name], "lost", "reapply")
    with pytest.raises(TimeoutError):  # three more checks, and no second notification
        await asyncio.wait_for(client.wait_for_notification("hotfix/lifecycle"), 1.0)
    shown = [m.message for m in client.messages if name in m.message]
    assert len(shown) == 1 and "is lost" in shown[0]

    markdown = (await command(client, "hotfix.report"))["markdown"]
    assert f"| {name} (removed) | {PAGE} | lost: no container took its place" in markdown

    again = run_container(images["busybox"], port=8080, name=name, labels=labels)
    done = await command(client, "hotfix.reapply", old=name)
    assert done["container"]["id"] == again.container.id
    assert again.sh(f"cat {PAGE}") == "<h1>fixed</h1>\n"
    stages = {x["stage"] for x in (await command(client, "hotfix.status"))["hotfixes"]}
    assert stages == {"live"}
