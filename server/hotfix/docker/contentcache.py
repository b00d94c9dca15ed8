"""Contents of container files this process has read or written through the archive API.

A save must know the live version (to refuse a conflict) and content (to checkpoint it, and
to put it back if the write is cut short). Through the archive API that is a download —
``GET …/archive``, for which the Engine starts a tar helper — while ``HEAD …/archive``
(size, mode and mtime to the nanosecond) is cheap (docs/performance.md). So the content last
seen is kept with the HEAD stat it had, and a HEAD that still shows that stat stands for the
download.

Equal stats mean equal content unless the file was rewritten with the same size within the
same tick of the filesystem's clock — the "racy" case git knows. Hence a content read is
kept only when its mtime was older than one tick, by the engine's clock, when the download
started. How long a tick is shows in the mtime itself: a filesystem that keeps sub-second
times stamps writes from the kernel's coarse clock (a jiffy, 1-10 ms), so an mtime with a
fractional part needs only :data:`FINE_RACY_WINDOW`; a whole-second mtime may come from a
coarse filesystem (1 s on ext3, 2 s on FAT), so it needs :data:`RACY_WINDOW`. A content
hotfix wrote carries the fine-grained mtime hotfix gave it, which no later write through
the kernel's coarse clock repeats.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from hotfix.core.model import FileContent, FileStat

RACY_WINDOW = 2.0  # seconds: the coarsest filesystem clock (FAT) ticks every 2 s
FINE_RACY_WINDOW = 0.05  # seconds: five jiffies at HZ=100, the coarsest kernel tick
DEFAULT_BUDGET = 128 << 20  # bytes of content kept, least recently used dropped first


class ContentCache:
    def __init__(self, budget: int = DEFAULT_BUDGET) -> None:
        self.budget = budget
        self._entries: OrderedDict[tuple[str, str], tuple[FileStat, FileContent]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, container_id: str, path: str, head: FileStat) -> FileContent | None:
        """The content kept for ``path`` if ``head`` (a fresh HEAD stat) still matches it."""
        key = (container_id, path)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or not _same(entry[0], head):
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put_read(
        self,
        container_id: str,
        path: str,
        head: FileStat,
        content: FileContent,
        started: float,
        clock_error: float = 0.0,
    ) -> None:
        """Keep a content downloaded at ``started`` (epoch seconds, the engine's clock, known
        to within ``clock_error`` seconds) after ``head`` was taken."""
        if head.mtime <= started - racy_window(head.mtime) - clock_error:
            self.put(container_id, path, head, content)
        else:
            self.drop(container_id, path)

    def put(self, container_id: str, path: str, head: FileStat, content: FileContent) -> None:
        key = (container_id, path)
        size = len(content.data)
        with self._lock:
            self._remove(key)
            if size > self.budget // 2:
                return
            self._entries[key] = (head, content)
            self._size += size
            while self._size > self.budget:
                self._remove(next(iter(self._entries)))

    def drop(self, container_id: str, path: str) -> None:
        with self._lock:
            self._remove((container_id, path))

    def _remove(self, key: tuple[str, str]) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._size -= len(entry[1].data)


def racy_window(mtime: float) -> float:
    """How recent an mtime may hide a second write of the same size (see the module doc)."""
    return FINE_RACY_WINDOW if mtime != int(mtime) else RACY_WINDOW


def _same(kept: FileStat, head: FileStat) -> bool:
    return (kept.kind, kept.size, kept.mode, kept.mtime) == (
        head.kind,
        head.size,
        head.mode,
        head.mtime,
    )
