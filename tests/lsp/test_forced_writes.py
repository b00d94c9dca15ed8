"""Refused saves the editor lets the user override, against a real engine: a protected
container says so in ``data.reason``; a write forced past a syntax error is marked
``forced`` and the incident report says **FORCED**."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pytest_lsp import LanguageClient

from tests.conftest import Running
from tests.lsp.helpers import b64, call, command, error_of

pytestmark = pytest.mark.engine

INDEX = "/www/index.html"


async def test_protected_container_refusal_names_its_reason(
    client: LanguageClient, images: dict[str, str], run_container: Callable[..., Running]
) -> None:
    guarded = run_container(images["busybox"], port=8080, labels={"hotfix.protect": "true"})
    uri = f"hotfix://{guarded.name}{INDEX}"
    params = {"uri": uri, "data": b64(b"<h1>x</h1>\n"), "create": False, "overwrite": True}
    error = await error_of(client, "hotfix/writeFile", **params)
    assert error.data == {"code": "NoPermissions", "reason": "protected"}
    await call(client, "hotfix/writeFile", **params, force=True)
    assert guarded.container.exec_run(["cat", INDEX]).output == b"<h1>x</h1>\n"


async def test_a_write_forced_past_a_syntax_error_is_marked_in_the_report(
    client: LanguageClient, images: dict[str, str], run_container: Callable[..., Running]
) -> None:
    box = run_container(images["busybox"], port=8080)
    uri = f"hotfix://{box.name}/www/settings.json"
    params = {"uri": uri, "data": b64(b'{"debug": tru}\n'), "create": True, "overwrite": True}
    error = await error_of(client, "hotfix/writeFile", **params)
    assert error.data == {"code": "ValidationFailed"}
    await call(client, "hotfix/writeFile", **params, force=True)
    report = (await command(client, "hotfix.report", container=box.name))["markdown"]
    (line,) = [row for row in report.splitlines() if "/www/settings.json" in row and "write" in row]
    assert "**FORCED** past: line 1, column 11: Expecting value" in line
