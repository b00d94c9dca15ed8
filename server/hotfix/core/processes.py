"""Is the process that left something behind still alive? (Journal rows, temp files and
throwaway containers carry their owner's PID, so a later run can tell orphans apart.)"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import uuid


def alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        return True  # someone else's process, but alive
    return True


def throwaway_name(prefix: str, about: str) -> str:
    """A throwaway container's name that says who made it: ``PREFIX-ABOUT-HOST-pPID-RANDOM``.

    The owner goes in the name, not a label: ``docker commit`` merges the container's labels
    into the image, and every container started from it would look like an orphan."""
    return f"{prefix}-{about[:40]}-{_host()}-p{os.getpid()}-{uuid.uuid4().hex[:8]}"


def orphaned_name(name: str) -> bool:
    """True for a :func:`throwaway_name` of this host whose process has died."""
    match = _OWNER.search(name.lstrip("/"))
    if match is None:
        return False
    return match.group(1) == _host() and not alive(int(match.group(2)))


_OWNER = re.compile(r"-([0-9a-f]{8})-p(\d+)-[0-9a-f]{8}$")


def _host() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
