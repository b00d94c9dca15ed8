"""Reaching a container's own loopback from the host: a thread enters the container's network
namespace (``setns`` changes only the calling thread's), runs one check there, and ends.

So a twin with no network at all can still be probed on its 127.0.0.1 — never through a
bridge IP. Needs the engine on this host and CAP_SYS_ADMIN (hotfix runs as root there)."""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable
from typing import TypeVar

from hotfix.core.errors import Unavailable

T = TypeVar("T")
CLONE_NEWNET = 0x40000000


def netns_path(pid: int) -> str:
    return f"/proc/{pid}/ns/net"


def run_in_netns(path: str, work: Callable[[], T]) -> T:
    """``work()`` in a fresh thread inside the network namespace at ``path``; its result,
    or what it raised."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    outcome: list[T] = []
    failure: list[BaseException] = []

    def enter_and_work() -> None:
        try:
            _setns(fd)
            outcome.append(work())
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    try:
        thread = threading.Thread(target=enter_and_work, name="hotfix-netns", daemon=True)
        thread.start()
        thread.join()
    finally:
        os.close(fd)
    if failure:
        raise failure[0]
    return outcome[0]


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise Unavailable(f"cannot enter the twin's network namespace: {os.strerror(err)}")
