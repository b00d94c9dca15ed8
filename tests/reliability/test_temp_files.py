"""Temp files of a local save killed before its rename (``.NAME.hotfix-PID.tmp``) are swept
by the next operation on that name — a write, and a delete (revert of a new file,
``hotfix/delete``) too, so that removing the file leaves nothing of it behind."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hotfix.service.files import HotfixService
from tests.conftest import CliResult, Running
from tests.reliability.conftest import Killed

pytestmark = pytest.mark.engine

NEW_FILE = "/srv-new.txt"


def temp_files(box: Running) -> list[str]:
    return [n for n in box.sh("ls -a /").split() if n.startswith(".srv-new.txt.hotfix-")]


def leave_a_killed_save(box: Running, killed: Callable[..., Killed]) -> None:
    """A second save of the new file, SIGKILLed right after its temp file was written."""
    run = killed(
        ["write", f"{box.name}:{NEW_FILE}", "-"],
        at="hotfix.docker.localfs:_write_new",
        when="after",
        input=b"second\n",
    )
    assert run.code == -9, run.stderr
    assert len(temp_files(box)) == 1


def test_revert_of_a_new_file_removes_a_killed_saves_temp_file(
    box: Running, hotfix: Callable[..., CliResult], killed: Callable[..., Killed]
) -> None:
    first = hotfix("write", f"{box.name}:{NEW_FILE}", "-", input=b"first\n")
    assert first.code == 0, first.stderr
    leave_a_killed_save(box, killed)

    reverted = hotfix("revert", box.name)
    assert reverted.code == 0, reverted.stderr
    assert box.sh(f"ls {NEW_FILE} 2>/dev/null || echo gone").strip() == "gone"
    assert temp_files(box) == []


def test_delete_removes_a_killed_saves_temp_file(
    box: Running, service: HotfixService, killed: Callable[..., Killed]
) -> None:
    service.write(box.name, NEW_FILE, b"first\n")
    leave_a_killed_save(box, killed)

    service.delete(box.name, NEW_FILE)
    assert temp_files(box) == []


def test_a_live_saves_temp_file_is_kept(box: Running, service: HotfixService) -> None:
    """Only a dead process's temp file is abandoned: one of a running save is its own."""
    service.write(box.name, NEW_FILE, b"first\n")
    mine = f".srv-new.txt.hotfix-{1}.tmp"  # PID 1 of the host: always alive
    box.sh(f"echo busy > /{mine}")

    service.delete(box.name, NEW_FILE)
    assert temp_files(box) == [mine]
