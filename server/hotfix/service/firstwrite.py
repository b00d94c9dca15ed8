"""The warning before a container's first hotfix: paths its writable layer already changed
against its image, from the Engine's container diff — someone else may be editing it.

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
    """Files changed against the image before our first write: someone else's edits. The
    diff runs beside the write, so it may list the write's own temp file: not someone's."""
    others = [p for p in listing.paths if p != path and not _own_temp_file(p)]
    warnings = []
    if others:
        count = f"{len(others)}" if listing.complete else f"at least {len(others)}"
        shown = ", ".join(printable(p) for p in others[:SHOWN_PATHS])
        if len(others) > SHOWN_PATHS:
            shown += f" and {len(others) - SHOWN_PATHS} more"
        warnings.append(
            f"{container.name} already has {count} path(s) changed against its image "
            f"before this hotfix: {shown} — someone else may be editing it (see `docker diff`)"
        )
    if not listing.complete:
        warnings.append(
            f"{container.name}: first-write check stopped after {listing.entries} paths / "
            f"{listing.seconds:.1f} s; not all changes were checked"
        )
    return warnings


def _own_temp_file(path: str) -> bool:
    """Whether ``path`` is a temp file of a hotfix write. A name that is not a valid path to
    us (not UTF-8, say) is someone else's file: our temp files are named after paths we took."""
    try:
        return localfs.is_temp_file(path)
    except UsageError:
        return False
