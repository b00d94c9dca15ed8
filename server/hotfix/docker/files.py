"""One container's files, behind one interface with two back ends.

:class:`hotfix.docker.archive.ArchiveFiles` goes through the Engine's archive API, which
always works (remote engines, stopped containers, images without a shell);
:class:`hotfix.docker.local.LocalFiles` goes through ``/proc/<pid>/root`` for a running
container of an engine on this host, and falls back to the archive API where it cannot go
on. ``Engine.files(container)`` picks one per container. Both give the same results and
raise the same :mod:`hotfix.core.errors`.

Paths are absolute inside the container. Symlinks are not followed except where a method
says so: the service decides what a link means for each use case.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from hotfix.core.errors import FileIsADirectory, FileTooLarge, HotfixError, NoPermissions
from hotfix.core.model import ContainerInfo, DirEntry, FileContent, FileKind, FileStat
from hotfix.docker.localfs import MAX_SYMLINK_HOPS, ChangeListing, WalkLimit

__all__ = [
    "MAX_SYMLINK_HOPS",
    "ChangeListing",
    "FileBackend",
    "WalkLimit",
    "not_regular",
    "on_mount",
    "read_on_mount",
    "size_refusal",
]


class FileBackend(Protocol):
    """The files of one container."""

    @property
    def writes_atomically(self) -> bool:
        """Whether :meth:`write` replaces a file atomically rather than writing it in place,
        where a write cut short leaves it half-written."""
        ...

    def stat(self, path: str) -> FileStat:
        """lstat of a path (symlinks not followed; a link's target made absolute); the
        owner may be missing (see :meth:`stat_full`). It names the mount the path is on
        (``FileStat.mount``), as :meth:`stat_full` and :meth:`read` do."""
        ...

    def stat_full(self, path: str) -> FileStat:
        """:meth:`stat` with the owner."""
        ...

    def read(self, path: str, max_size: int | None = None) -> FileContent:
        """A regular file (a final symlink not followed). Above ``max_size`` bytes it is
        refused (:class:`FileTooLarge`) before its content is read: the size is checked on
        what is read, not on an earlier stat the container may have outdated."""
        ...

    def list_dir(self, path: str) -> list[DirEntry]:
        """Direct children of a directory (a symlink to one is followed), sorted by name."""
        ...

    def write(self, path: str, data: bytes, *, uid: int, gid: int, mode: int) -> float:
        """Write a regular file with this owner and mode; its mtime becomes now (and is
        returned). The local path first removes the temp files of this name that a killed
        local save left; the archive API cannot (see :mod:`hotfix.docker.archive`)."""
        ...

    def mkdir(self, path: str, *, uid: int, gid: int, mode: int) -> None: ...

    def delete(self, path: str) -> None:
        """Remove a file (gone already is fine); the local path also removes the temp files
        of its name that a killed local save left."""
        ...

    def changes(self, limit: WalkLimit | None = None) -> ChangeListing:
        """The paths of the container's diff against its image — added, changed or
        deleted, parents included — as the Engine lists them; given up at ``limit`` (the
        listing then says so)."""
        ...


def size_refusal(where: str, size: int | None, limit: int) -> FileTooLarge:
    """The refusal of a file above the size limit (``size`` None: it grew past the limit
    while it was read)."""
    what = "grew past" if size is None else f"is {_mib(size)}, above"
    return FileTooLarge(
        f"{where} {what} the {_mib(limit)} limit (HOTFIX_MAX_FILE_SIZE); force to go ahead"
    )


def _mib(size: int) -> str:
    return f"{size / (1 << 20):.1f} MiB"


def not_regular(where: str, kind: FileKind) -> HotfixError:
    """The refusal to read what is no regular file."""
    if kind == "dir":
        return FileIsADirectory(f"{where} is a directory")
    return NoPermissions(f"{where} is a {kind}, not a regular file")


def on_mount(container: ContainerInfo, st: FileStat) -> FileStat:
    """``st`` naming the bind mount, volume or tmpfs its path is on, if any."""
    mount = container.mount_at(st.path)
    return replace(st, mount=mount) if mount else st


def read_on_mount(container: ContainerInfo, content: FileContent) -> FileContent:
    """:func:`on_mount` for what a read returns."""
    mount = container.mount_at(content.stat.path)
    return FileContent(content.data, replace(content.stat, mount=mount)) if mount else content
