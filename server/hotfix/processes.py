"""Is the process that left something behind still alive? (Journal rows, temp files and
throwaway containers carry their owner's PID, so a later run can tell orphans apart.)"""

from __future__ import annotations

import os
import socket


def alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process, but alive
    return True


def owner_tag() -> str:
    """``host:pid`` of this process, for things only this host can judge orphaned."""
    return f"{socket.gethostname()}:{os.getpid()}"


def orphaned(tag: str) -> bool:
    """True for a ``host:pid`` tag of this host whose process has died."""
    host, _, pid = tag.rpartition(":")
    return host == socket.gethostname() and pid.isdigit() and not alive(int(pid))
