"""A running container's processes with their start times: what a going-live step reads to
tell which server serves the container and whether its workers started after the save.

For a local engine the host's ``/proc`` answers (start times to the clock tick, in the
boot-time clock); otherwise the Engine's ``top`` (``ps -o pid,ppid,lstart,args`` on the
engine's host: start times to the second, in the engine's wall clock).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from hotfix.core.errors import HotfixError
from hotfix.core.model import ContainerInfo

TOP_PS_ARGS = "-o pid,ppid,lstart,args"
LSTART_FORMAT = "%a %b %d %H:%M:%S %Y"  # ps's lstart: "Mon Dec  7 00:08:46 2026"


class ProcessesUnknown(Exception):
    """The container's processes could not be listed (stopped, no ps on the engine's host …)."""


@dataclass(frozen=True)
class Process:
    pid: int  # as the host sees it
    ppid: int
    started: float  # in the clock of the listing it came from (see ``Listing.now``)
    args: str

    @property
    def argv(self) -> list[str]:
        return self.args.split()


@dataclass(frozen=True)
class Listing:
    """The processes of one container at one moment, with the clock their start times use."""

    init_pid: int  # the container's PID 1, as the host sees it
    processes: list[Process]
    resolution: float  # seconds: how finely start times are known

    def started_after(self, process: Process, moment: float) -> bool:
        """Whether ``process`` started at or after ``moment`` (a :meth:`Source.now` value);
        a start time known to the second counts from the start of that second."""
        if self.resolution >= 1:
            return process.started >= math.floor(moment)
        return process.started >= moment - self.resolution


class Engine(Protocol):
    @property
    def is_local(self) -> bool: ...

    def top(self, container_id: str, ps_args: str | None = None) -> list[list[str]]: ...
    def clock_offset(self) -> float: ...


class Source:
    """Lists a container's processes, and says what time it is in their clock."""

    def __init__(self, engine: Engine, proc_root: Path = Path("/proc")) -> None:
        self.engine = engine
        self.proc_root = proc_root

    def _local(self, container: ContainerInfo) -> bool:
        return bool(getattr(self.engine, "is_local", False)) and container.pid > 0

    def now(self, container: ContainerInfo) -> float:
        if self._local(container):
            return time.clock_gettime(time.CLOCK_BOOTTIME)
        return time.time() + self.engine.clock_offset()

    def list(self, container: ContainerInfo) -> Listing:
        """The processes of ``container`` (its info as just inspected: its PID 1 changes on a
        restart); raises :class:`ProcessesUnknown`."""
        if container.state != "running":
            raise ProcessesUnknown(f"{container.name} is {container.state}")
        if self._local(container):
            try:
                processes = host_processes(container.pid, self.proc_root)
                return Listing(container.pid, processes, 1 / os.sysconf("SC_CLK_TCK"))
            except OSError:
                pass  # not our /proc (a container of its own): ask the engine
        return Listing(container.pid, engine_processes(self.engine, container.id), 1.0)


def host_processes(init_pid: int, proc_root: Path = Path("/proc")) -> list[Process]:
    """``init_pid`` and its descendants from the host's /proc (start times in seconds of the
    boot-time clock)."""
    ticks = os.sysconf("SC_CLK_TCK")
    try:
        return _children_walk(init_pid, proc_root, ticks)
    except _NoChildrenFiles:
        pass  # a kernel without /proc/PID/task/TID/children: look at every process
    every: dict[int, Process] = {}
    for entry in proc_root.iterdir():
        if entry.name.isdigit():
            try:
                every[int(entry.name)] = _read_process(entry, ticks)
            except (OSError, ValueError, IndexError):
                continue  # it exited while we looked
    if init_pid not in every:
        raise FileNotFoundError(f"no process {init_pid} under {proc_root}")
    return _descendants(every, init_pid)


class _NoChildrenFiles(Exception):
    pass


def _children_walk(init_pid: int, proc_root: Path, ticks: int) -> list[Process]:
    """The descendants through each task's ``children`` file: the container's few processes
    are read, not every process of the host (a going-live step looks many times)."""
    found: list[Process] = []
    todo = [init_pid]
    while todo:
        pid = todo.pop()
        entry = proc_root / str(pid)
        try:
            process = _read_process(entry, ticks)
        except (OSError, ValueError, IndexError):
            if pid == init_pid:
                raise FileNotFoundError(f"no process {init_pid} under {proc_root}") from None
            continue  # it exited while we looked
        found.append(process)
        todo.extend(_children(entry))
    return sorted(found, key=lambda p: p.pid)


def _children(entry: Path) -> list[int]:
    """The child PIDs of every task of one process; :class:`_NoChildrenFiles` when the process
    is there but the kernel keeps no such files."""
    pids: list[int] = []
    try:
        tasks = list((entry / "task").iterdir())
    except OSError:
        tasks = []
    if not tasks and (entry / "stat").exists():
        raise _NoChildrenFiles
    for task in tasks:
        try:
            pids.extend(int(p) for p in (task / "children").read_text().split())
        except FileNotFoundError:
            if (task / "stat").exists():
                raise _NoChildrenFiles from None
        except OSError:
            continue  # the task ended while we looked
    return pids


def _read_process(entry: Path, ticks: int) -> Process:
    stat = entry.joinpath("stat").read_text()
    # The command name in parentheses may hold spaces and parentheses: split after the last.
    fields = stat[stat.rindex(")") + 2 :].split()
    comm = stat[stat.index("(") + 1 : stat.rindex(")")]
    cmdline = entry.joinpath("cmdline").read_bytes().rstrip(b"\0").replace(b"\0", b" ")
    args = cmdline.decode("utf-8", "replace") or f"[{comm}]"
    return Process(int(entry.name), int(fields[1]), int(fields[19]) / ticks, args)


def _descendants(every: dict[int, Process], root: int) -> list[Process]:
    children: dict[int, list[int]] = {}
    for process in every.values():
        children.setdefault(process.ppid, []).append(process.pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(every[pid])
        todo.extend(children.get(pid, []))
    return sorted(found, key=lambda p: p.pid)


def engine_processes(engine: Engine, container_id: str) -> list[Process]:
    """The container's processes through the Engine's ``top``. Docker splits ps's lines on
    blanks, and lstart holds five words: the columns after PPID are joined and re-split."""
    try:
        rows = engine.top(container_id, TOP_PS_ARGS)
    except HotfixError as exc:
        raise ProcessesUnknown(f"the engine's top failed: {exc}") from None
    processes = []
    for row in rows[1:]:
        try:
            words = " ".join(row[2:]).split(maxsplit=5)
            started = time.mktime(time.strptime(" ".join(words[:5]), LSTART_FORMAT))
            args = words[5] if len(words) > 5 else ""
            processes.append(Process(int(row[0]), int(row[1]), started, args))
        except (ValueError, IndexError):
            raise ProcessesUnknown(f"the engine's top answered {row!r}") from None
    return processes
