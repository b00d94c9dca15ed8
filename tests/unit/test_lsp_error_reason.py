"""lsp.errors: a protected container's refusal carries data.reason; FileNotFound (the
editor's probes for .vscode/settings.json and the like) is logged at DEBUG, not INFO."""

from __future__ import annotations

import logging

import pytest

from hotfix.core.errors import Conflict, FileNotFound, Protected
from hotfix.lsp.errors import to_rpc_error


def test_protected_carries_its_reason_other_errors_none() -> None:
    protected = to_rpc_error(Protected("web is protected"), "hotfix/writeFile")
    assert protected.data == {"code": "NoPermissions", "reason": "protected"}
    assert to_rpc_error(Conflict("changed"), "hotfix/writeFile").data == {"code": "Conflict"}


def test_file_not_found_is_answered_quietly(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="hotfix.lsp.errors")
    to_rpc_error(FileNotFound("web:/srv/.vscode/settings.json: no such file"), "hotfix/stat")
    to_rpc_error(Conflict("web:/srv/app.py changed"), "hotfix/writeFile")
    levels = [(r.levelname, r.getMessage().split(":")[1].strip()) for r in caplog.records]
    assert levels == [("DEBUG", "FileNotFound"), ("INFO", "Conflict")]
