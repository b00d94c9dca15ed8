"""A container's processes from the host's /proc through each task's ``children`` file (the
container's few processes are read, not the host's every process), else a scan of all."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from hotfix.service.processes import host_processes


def add(root: Path, pid: int, ppid: int, children: dict[int, list[int]] | None = None) -> None:
    """A /proc entry; ``children``: task id → the children that task forked."""
    entry = root / str(pid)
    entry.mkdir()
    rest = " ".join(["S", str(ppid), *["0"] * 17, str(100 * pid), "0"])
    (entry / "stat").write_text(f"{pid} (p{pid}) {rest}\n")
    (entry / "cmdline").write_bytes(f"proc-{pid}\0".encode())
    for task, kids in (children or {}).items():
        (entry / "task" / str(task)).mkdir(parents=True)
        (entry / "task" / str(task) / "stat").write_text("")
        (entry / "task" / str(task) / "children").write_text(" ".join(map(str, kids)) + " ")


def test_the_children_files_give_the_tree_and_nothing_else_is_read(tmp_path: Path) -> None:
    add(tmp_path, 10, 1, {10: [11], 15: [12]})  # a thread (task 15) forked 12
    add(tmp_path, 11, 10, {11: []})
    add(tmp_path, 12, 15, {12: [13]})
    add(tmp_path, 13, 12, {13: []})
    (tmp_path / "99").mkdir()  # not the container's, and unreadable: never looked at
    found = host_processes(10, tmp_path)
    ticks = os.sysconf("SC_CLK_TCK")
    assert [(p.pid, p.started * ticks, p.args) for p in found] == [
        (10, 1000, "proc-10"),
        (11, 1100, "proc-11"),
        (12, 1200, "proc-12"),
        (13, 1300, "proc-13"),
    ]


def test_a_child_that_exited_while_listed_is_left_out(tmp_path: Path) -> None:
    add(tmp_path, 10, 1, {10: [11, 12]})
    add(tmp_path, 11, 10, {11: []})  # 12 is gone
    assert [p.pid for p in host_processes(10, tmp_path)] == [10, 11]
    with pytest.raises(FileNotFoundError):
        host_processes(12, tmp_path)


def test_without_children_files_every_process_is_scanned(tmp_path: Path) -> None:
    add(tmp_path, 10, 1, {10: []})
    add(tmp_path, 11, 10)
    (tmp_path / "10" / "task" / "10" / "children").unlink()  # a kernel that keeps none
    assert [p.pid for p in host_processes(10, tmp_path)] == [10, 11]


def test_the_real_proc_lists_a_child_of_ours() -> None:
    with subprocess.Popen(["sleep", "30"]) as child:
        try:
            # Popen returns once the child exists; its exec may not have set argv yet.
            cmdline = Path(f"/proc/{child.pid}/cmdline")
            deadline = time.monotonic() + 5
            while cmdline.read_bytes() != b"sleep\x0030\x00" and time.monotonic() < deadline:
                time.sleep(0.01)
            walked = {p.pid: p for p in host_processes(os.getpid())}
        finally:
            child.kill()
    assert walked[child.pid].ppid == os.getpid()
    assert walked[child.pid].args == "sleep 30"
