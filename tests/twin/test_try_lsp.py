"""`hotfix.try` through the language server: the editor's unsaved content tried in a twin,
with work-done progress; the saved file in the container is not touched."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pytest_lsp import LanguageClient

from tests.conftest import Running
from tests.lsp.helpers import b64, call, code_of, command, command_error_of, unb64

pytestmark = pytest.mark.engine

APP = "/usr/src/app/app.py"


async def test_try_the_unsaved_content(
    client: LanguageClient, images: dict[str, str], run_container: Callable[..., Running]
) -> None:
    prod = run_container(images["prod"], port=8001)
    uri = f"hotfix://{prod.name}{APP}"
    read = await call(client, "hotfix/readFile", uri=uri)
    dirty = unb64(read["data"]).replace(b"cause_a_problem = True", b"cause_a_problem = False")
    result = await command(client, "hotfix.try", uri=uri, data=b64(dirty), expectBody="Hello")
    assert result["verdict"] == "healthy" and result["healthy"] is True, result
    assert result["versions"] == {APP: read["version"]}
    assert "live" not in result
    after = await call(client, "hotfix/readFile", uri=uri)
    assert after["version"] == read["version"]  # tried, not saved
    reports = [r for r in client.progress_reports.values() if r][-1]
    kinds = [type(r).__name__ for r in reports]
    assert kinds[0] == "WorkDoneProgressBegin" and kinds[-1] == "WorkDoneProgressEnd", kinds
    assert "twin" in reports[0].title

    broken = b"def application(env, start_response:\n"
    refused = await command_error_of(client, "hotfix.try", uri=uri, data=b64(broken))
    assert code_of(refused) == "ValidationFailed"
    failed = await command(client, "hotfix.try", uri=uri, data=b64(broken), force=True, timeout=20)
    assert failed["verdict"] == "unhealthy" and "SyntaxError" in failed["log"]
    checkpoint = f"hotfix-checkpoint://{prod.name}{APP}"
    err = await command_error_of(client, "hotfix.try", uri=checkpoint, data=b64(dirty))
    assert code_of(err) == "ValidationFailed"
