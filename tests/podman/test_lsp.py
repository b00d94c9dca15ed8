"""The language server against Podman: the incident through the protocol — containers,
readFile, writeFile (conflict-checked), restart + probe, diff, revert."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pytest_lsp import LanguageClient

from tests.conftest import Running, http_get
from tests.lsp.conftest import client  # noqa: F401 (the language server of each test)
from tests.lsp.helpers import b64, call, code_of, command, error_of, unb64

pytestmark = pytest.mark.engine

APP = "/usr/src/app/app.py"


@pytest.fixture
def prod(images: dict[str, str], run_container: Callable[..., Running]) -> Running:
    return run_container(images["prod"], port=8001)


async def test_read_write_restart_through_the_protocol(
    client: LanguageClient,  # noqa: F811 (the fixture imported above)
    prod: Running,
    images: dict[str, str],
) -> None:
    uri = f"hotfix://{prod.name}{APP}"
    assert http_get(prod.url)[0] == 500
    listed = await call(client, "hotfix/containers")
    [mine] = [c for c in listed["containers"] if c["name"] == prod.name]
    assert mine["state"] == "running" and mine["image"] == images["prod"]

    read = await call(client, "hotfix/readFile", uri=uri)
    original = unb64(read["data"])
    fixed = original.replace(b"cause_a_problem = True", b"cause_a_problem = False")
    assert fixed != original
    prod.sh(f"echo '# someone else' >> {APP}")  # a change behind the editor's back
    conflict = await error_of(
        client,
        "hotfix/writeFile",
        uri=uri,
        data=b64(fixed),
        baseVersion=read["version"],
        create=False,
        overwrite=True,
    )
    assert code_of(conflict) == "Conflict"
    read = await call(client, "hotfix/readFile", uri=uri)
    fixed = unb64(read["data"]).replace(b"cause_a_problem = True", b"cause_a_problem = False")
    written = await call(
        client,
        "hotfix/writeFile",
        uri=uri,
        data=b64(fixed),
        baseVersion=read["version"],
        create=False,
        overwrite=True,
    )
    assert written["checkpointed"] is True

    restarted = await command(client, "hotfix.restart", container=prod.name, timeout=60)
    assert restarted["healthy"] is True, restarted
    assert http_get(prod.url) == (200, "Hello World")
    diff = await command(client, "hotfix.diff", container=prod.name)
    assert "+    cause_a_problem = False" in str(diff)
    reverted = await command(client, "hotfix.revert", container=prod.name)
    assert APP in str(reverted)
    assert unb64((await call(client, "hotfix/readFile", uri=uri))["data"]) == unb64(read["data"])
