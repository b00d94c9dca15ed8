"""The debt line's cost when there is no hotfix: a command does not even import the lifecycle."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_cli_startup import run_cli

pytestmark = pytest.mark.engine


def test_a_command_without_hotfixes_imports_no_lifecycle(tmp_path: Path, docker_client) -> None:
    proc, modules = run_cli(tmp_path, "ps")
    assert proc.returncode == 0, proc.stderr
    assert "hotfix.lifecycle.debt" not in modules and b"warning" not in proc.stderr
