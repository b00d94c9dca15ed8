"""``hotfix.revert``'s ``to`` and ``restart`` (issue 16) over the protocol, on the incident's
uWSGI service: fix 1 goes live healthy, fix 2 fails; Revert and Restart in one call lands on
fix 1, a plain revert on the checkpoint."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pytest_lsp import LanguageClient

from tests.conftest import Running, http_get
from tests.lsp.helpers import b64, call, command, command_error_of

pytestmark = pytest.mark.engine

APP = "/usr/src/app/app.py"


@pytest.fixture
def prod(images: dict[str, str], run_container: Callable[..., Running]) -> Running:
    return run_container(images["prod"], port=8001)


async def save(client: LanguageClient, prod: Running, data: bytes) -> None:
    uri = f"hotfix://{prod.name}{APP}"
    read = await call(client, "hotfix/readFile", uri=uri)
    await call(
        client, "hotfix/writeFile", uri=uri, data=b64(data), baseVersion=read["version"],
        create=False, overwrite=True,
    )  # fmt: skip


async def test_revert_to_last_good_with_restart_then_to_the_checkpoint(
    client: LanguageClient, prod: Running
) -> None:
    original = prod.sh(f"cat {APP}").encode()
    fix1 = original.replace(b"cause_a_problem = True", b"cause_a_problem = False").replace(
        b'b"Hello World"', b'b"Hello fix 1"'
    )
    await save(client, prod, fix1)
    went = await command(client, "hotfix.restart", container=prod.name, timeout=60)
    assert went["healthy"] is True, went
    assert http_get(prod.url) == (200, "Hello fix 1")

    fix2 = original.replace(b'b"Something is wrong"', b'b"fix 2 is wrong"')
    await save(client, prod, fix2)
    failed = await command(client, "hotfix.restart", container=prod.name, timeout=10)
    assert failed["healthy"] is False and failed["probe"]["status"] == 500
    assert isinstance(failed["lastGood"], float)  # the editor offers "to last good"

    err = await command_error_of(client, "hotfix.revert", container=prod.name, to="lastgood")
    assert 'to: expected "checkpoint" or "last-good"' in str(err)

    back = await command(
        client, "hotfix.revert", container=prod.name, to="last-good", restart=True, timeout=60
    )
    assert (back["to"], back["reverted"]) == ("last-good", [APP])
    assert back["files"][0]["to"] == "last-good" and "wentLiveAt" in back["files"][0]
    assert back["restart"]["healthy"] is True
    assert (back["final"]["state"], back["final"]["healthy"]) == ("running", True)
    assert http_get(prod.url) == (200, "Hello fix 1")

    plain = await command(client, "hotfix.revert", container=prod.name, path=APP)
    assert (plain["to"], plain["reverted"]) == ("checkpoint", [APP])
    assert "restart" not in plain and "final" not in plain
    assert prod.sh(f"cat {APP}").encode() == original
