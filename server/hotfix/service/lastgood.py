"""Last known good: the version of each hotfixed file that a going-live step proved healthy.

Before a going-live step, the live content of every checkpointed file of the container is
taken (:func:`snapshot`); when the step ends healthy, it is recorded (:func:`record`) in the
state store, content-addressed like checkpoints. A revert chooses per path what it goes back
to (:func:`choose`): the last good when asked and known, else the checkpoint."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from hotfix.core.errors import HotfixError
from hotfix.core.model import ContainerInfo, FileContent
from hotfix.service.results import RevertTarget
from hotfix.store.state import Checkpoint, LastGood, StateStore

# Reads a container file: (the path read, its content or None when absent).
ReadLive = Callable[[ContainerInfo, str], tuple[str, FileContent | None]]


@dataclass(frozen=True)
class Snapshot:
    """A checkpointed file's live content as a going-live step began (None: absent)."""

    path: str
    content: FileContent | None


@dataclass(frozen=True)
class Source:
    """What a revert brings one path back to."""

    to: RevertTarget
    present: bool
    blob: str | None
    mode: int | None
    uid: int | None
    gid: int | None
    went_live_at: float | None = None
    fallback: bool = False  # last good asked, none usable: the checkpoint

    @property
    def version(self) -> str | None:
        return f"sha256:{self.blob}" if self.blob else None


def snapshot(store: StateStore, container: ContainerInfo, read: ReadLive) -> list[Snapshot]:
    """The live content of the container's checkpointed files; a file that cannot be read
    now is left out (it gets no last good from this step)."""
    taken = []
    for cp in store.checkpoints(container.id):
        with contextlib.suppress(HotfixError):
            _, content = read(container, cp.path)
            taken.append(Snapshot(cp.path, content))
    return taken


def record(
    store: StateStore, container: ContainerInfo, taken: list[Snapshot], journal_id: int | None
) -> None:
    """The snapshot of a step that ended healthy becomes each path's last good."""
    now = time.time()
    for item in taken:
        st = item.content.stat if item.content else None
        good = LastGood(
            container_id=container.id,
            path=item.path,
            present=item.content is not None,
            blob=None,
            mode=st.mode if st else None,
            uid=st.uid if st else None,
            gid=st.gid if st else None,
            went_live_at=now,
            journal_id=journal_id,
        )
        if item.content is None:
            store.put_last_good(good, None)
        else:
            store.put_last_good(good, item.content.data, item.content.version)


def usable(cp: Checkpoint, good: LastGood | None) -> LastGood | None:
    """A last good older than the path's checkpoint predates the baseline someone set since
    (``hotfix checkpoint``): the checkpoint wins."""
    if good is None or good.went_live_at < cp.created_at:
        return None
    return good


def choose(cp: Checkpoint, good: LastGood | None, to: RevertTarget) -> Source:
    """What one path goes back to: its last good when asked and usable, else its checkpoint."""
    found = usable(cp, good) if to == "last-good" else None
    if found is None:
        return Source(
            "checkpoint", cp.present, cp.blob, cp.mode, cp.uid, cp.gid, fallback=to == "last-good"
        )
    return Source(
        "last-good",
        found.present,
        found.blob,
        found.mode,
        found.uid,
        found.gid,
        went_live_at=found.went_live_at,
    )


def latest(store: StateStore, container_id: str) -> float | None:
    """When the container's most recent usable last good went live; None: none known."""
    times = [
        good.went_live_at
        for good in store.last_goods(container_id)
        if (cp := store.get_checkpoint(container_id, good.path)) and usable(cp, good)
    ]
    return max(times, default=None)
