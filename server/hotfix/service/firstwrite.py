"""The warning before a container's first hotfix: image files its writable layer already
modified or deleted, from the Engine's container diff — someone else may be editing it.
What the service itself produces (pid files, sockets, caches, logs, temp files, anything
created since it started) is counted as ignored, not shown: a warning that lists runtime
files every time is one people learn to skip.

The diff only feeds a warning, so it runs in the background beside the write (or since the
file was read), is bounded by :data:`FIRST_WRITE_CHECK`, and never fails a write."""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace

from hotfix.core.errors import HotfixError, UsageError
from hotfix.core.model import ContainerInfo
from hotfix.core.terminal import printable
from hotfix.docker import localfs
from hotfix.docker.engine import Engine
from hotfix.docker.localfs import ChangeListing

CHANGED_PATHS_TTL = 120.0  # seconds a container diff taken at a read serves a first save
# The check gives up here: a hostile or huge writable layer must not stall a save.
FIRST_WRITE_CHECK = localfs.WalkLimit(entries=50_000, seconds=5.0)
# One pool for every check, not a thread per save.
BACKGROUND = ThreadPoolExecutor(max_workers=2, thread_name_prefix="hotfix-background")
SHOWN_PATHS = 5
# Where a service writes its own runtime state; a change there is no one's edit.
RUNTIME_DIRS = ("/run", "/tmp", "/var/run", "/var/cache", "/var/log")
RUNTIME_SUFFIXES = (".pid", ".sock", ".pyc")
RUNTIME_NAMES = ("__pycache__",)
_RUNTIME_PREFIXES = tuple(d + "/" for d in RUNTIME_DIRS)


def leaf_changes(engine: Engine, container: ContainerInfo) -> ChangeListing:
    """The container diff's leaves; an empty listing when the Engine refuses it."""
    try:
        listing = engine.container_diff(container, FIRST_WRITE_CHECK)
    except HotfixError:
        return ChangeListing([])
    return replace(listing, paths=leaves(listing.paths))


def wait_for(changed: Future[ChangeListing]) -> ChangeListing:
    """The check's outcome, waited for no longer than its own limit allows."""
    waited = time.monotonic()
    try:
        return changed.result(timeout=FIRST_WRITE_CHECK.seconds + 1)
    except TimeoutError:  # still queued behind another container's check
        return ChangeListing([], False, 0, time.monotonic() - waited)


def leaves(paths: list[str]) -> list[str]:
    """The paths no other path lies under (a diff lists ``/etc`` beside ``/etc/a.conf``).
    Sorted with ``/`` first, a path's descendants come right after it."""
    ordered = sorted(set(paths), key=lambda p: p.replace("/", "\0"))
    following = ordered[1:]
    return sorted(
        p
        for i, p in enumerate(ordered)
        if not (i < len(following) and following[i].startswith(p + "/"))
    )


def changed_warning(container: ContainerInfo, listing: ChangeListing, path: str) -> list[str]:
    """Image files changed before our first write: someone else's edits. The diff runs
    beside the write, so it may list the write's own temp file: not someone's."""
    candidates = [p for p in listing.paths if p != path and not _own_temp_file(p)]
    others = [p for p in candidates if not is_runtime_change(p, listing.added)]
    ignored = _ignored_note(len(candidates) - len(others))
    warnings = []
    if others:
        count = f"{len(others)}" if listing.complete else f"at least {len(others)}"
        shown = ", ".join(printable(p) for p in others[:SHOWN_PATHS])
        if len(others) > SHOWN_PATHS:
            shown += f" and {len(others) - SHOWN_PATHS} more"
        warnings.append(
            f"{container.name} already has {count} image file(s) modified or deleted before "
            f"this hotfix: {shown} — someone else may be editing it (see `docker diff`){ignored}"
        )
    if not listing.complete:
        warnings.append(
            f"{container.name}: first-write check stopped after {listing.entries} paths / "
            f"{listing.seconds:.1f} s; not all changes were checked{ignored}"
        )
    return warnings


def is_runtime_change(path: str, added: frozenset[str] = frozenset()) -> bool:
    """Whether a changed path is the service's own doing: created since the container
    started (not in the image), under a runtime directory, or a pid file, socket or
    Python bytecode cache."""
    if path in added or path in RUNTIME_DIRS or path.startswith(_RUNTIME_PREFIXES):
        return True
    parts = path.split("/")
    return path.endswith(RUNTIME_SUFFIXES) or any(p in RUNTIME_NAMES for p in parts)


def _ignored_note(count: int) -> str:
    return f"; {count} runtime file(s) ignored" if count else ""


def _own_temp_file(path: str) -> bool:
    """Whether ``path`` is a temp file of a hotfix write. A name that is not a valid path to
    us (not UTF-8, say) is someone else's file: our temp files are named after paths we took."""
    try:
        return localfs.is_temp_file(path)
    except UsageError:
        return False
