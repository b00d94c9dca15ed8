"""A running container's files through ``/proc/<pid>/root`` (:mod:`hotfix.docker.localfs`),
for an engine on this host: the fast path. Where it cannot go on — the container's process
went away mid-operation, or the overlay2 walk fails — the archive API does the work.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager

from hotfix.core.errors import (
    FileIsADirectory,
    FileNotADirectory,
    FileNotFound,
    NoPermissions,
    Unavailable,
)
from hotfix.core.model import ContainerInfo, DirEntry, FileContent, FileStat
from hotfix.core.paths import normalize, split
from hotfix.docker import localfs
from hotfix.docker.archive import ArchiveFiles
from hotfix.docker.files import not_regular, on_mount, read_on_mount, size_refusal
from hotfix.docker.localfs import ChangeListing, WalkLimit


class LocalFiles:
    """One running container's files under ``root`` (its ``/proc/<pid>/root``); ``archive``
    takes over when the container's process is gone. ``mkdir`` always goes through it."""

    writes_atomically = True  # temp file + fsync + rename

    def __init__(self, container: ContainerInfo, root: str, archive: ArchiveFiles) -> None:
        self.container = container
        self.root = root
        self.archive = archive

    def _errors(self, path: str, parent: str = "") -> contextlib.AbstractContextManager[None]:
        return _local_errors(self.container, path, self.root, parent)

    def stat(self, path: str) -> FileStat:
        path = normalize(path)
        with contextlib.suppress(RootGone), self._errors(path):
            return on_mount(self.container, localfs.lstat(self.root, path))
        return self.archive.stat(path)

    def stat_full(self, path: str) -> FileStat:
        path = normalize(path)
        with contextlib.suppress(RootGone), self._errors(path):
            return on_mount(self.container, localfs.lstat(self.root, path))
        return self.archive.stat_full(path)

    def read(self, path: str, max_size: int | None = None) -> FileContent:
        path = normalize(path)
        where = f"{self.container.name}:{path}"
        with contextlib.suppress(RootGone), self._errors(path):
            try:
                return read_on_mount(self.container, localfs.read(self.root, path, max_size))
            except localfs.NotARegularFile as exc:
                raise not_regular(where, exc.kind) from None
            except localfs.AboveLimit as exc:
                raise size_refusal(where, exc.size, exc.limit) from None
        return self.archive.read(path, max_size)

    def list_dir(self, path: str) -> list[DirEntry]:
        path = normalize(path)
        with contextlib.suppress(RootGone), self._errors(path):
            return localfs.list_dir(self.root, path)
        return self.archive.list_dir(path)

    def write(self, path: str, data: bytes, *, uid: int, gid: int, mode: int) -> float:
        """A file that is itself a mount (a single-file bind mount) is rewritten in place:
        renamed over, it would be replaced under the mount, and the host's file left as
        it was."""
        path = normalize(path)
        parent, _ = split(path)
        in_place = self._is_mount_point(path)
        with contextlib.suppress(RootGone), self._errors(path, parent):
            return localfs.write(
                self.root, path, data, uid=uid, gid=gid, mode=mode, in_place=in_place
            )
        return self.archive.write(path, data, uid=uid, gid=gid, mode=mode)

    def _is_mount_point(self, path: str) -> bool:
        mount = self.container.mount_at(path)
        return mount is not None and mount.destination.rstrip("/") == path

    def mkdir(self, path: str, *, uid: int, gid: int, mode: int) -> None:
        self.archive.mkdir(path, uid=uid, gid=gid, mode=mode)

    def delete(self, path: str) -> None:
        """A mount point is refused: unlinked from the host's mount namespace, it would go
        from under the mount, which the container would no longer see."""
        path = normalize(path)
        if self._is_mount_point(path):
            mount = self.container.mount_at(path)
            raise NoPermissions(
                f"{self.container.name}:{path} is {mount.describe() if mount else 'a mount'}; "
                "a mount point cannot be deleted in the container"
            )
        with contextlib.suppress(RootGone), self._errors(path):
            with contextlib.suppress(FileNotFoundError):
                localfs.unlink(self.root, path)
            return
        self.archive.delete(path)

    def changes(self, limit: WalkLimit | None = None) -> ChangeListing:
        """Read from the overlay2 directories themselves, as the Engine's native diff
        does, rather than the Engine's walk of the whole image."""
        if self.container.overlay:
            with contextlib.suppress(OSError):  # gone, or not overlay's layout: ask the Engine
                return localfs.overlay_changes(self.container.overlay, limit)
        return self.archive.changes(limit)


class RootGone(Exception):
    """The container's process went away mid-operation: use the archive API instead."""


@contextmanager
def _local_errors(
    container: ContainerInfo, path: str, root: str, parent: str = ""
) -> Iterator[None]:
    """OS errors of the local path as the same HotfixErrors the archive path raises."""
    try:
        yield
    except OSError as exc:
        if not os.path.isdir(root):
            raise RootGone from exc
        raise _translated(exc, f"{container.name}:{path}", root, parent) from exc


def _translated(exc: OSError, where: str, root: str, parent: str) -> Exception:
    if isinstance(exc, localfs.NotADirectory) or exc.errno == errno.ENOTDIR:
        return FileNotADirectory(f"{where}: {parent or 'a parent'} is not a directory")
    if exc.errno == errno.ENOENT:
        if parent and not _local_exists(root, parent):
            return FileNotFound(f"{where}: parent directory {parent} does not exist")
        return FileNotFound(f"{where}: no such file or directory")
    if exc.errno == errno.EROFS:
        return NoPermissions(f"{where}: the container's root filesystem is read-only")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return NoPermissions(f"{where}: permission denied ({exc.strerror})")
    if exc.errno == errno.EISDIR:
        return FileIsADirectory(f"{where} is a directory")
    if exc.errno == errno.ELOOP:
        return FileNotFound(f"{where}: too many levels of symbolic links")
    if exc.errno == errno.ENOSPC:
        return Unavailable(f"{where}: no space left on the container's filesystem")
    return Unavailable(f"{where}: {exc.strerror or exc}")


def _local_exists(root: str, path: str) -> bool:
    try:
        os.close(localfs.open_dir(root, path))
    except OSError:
        return False
    return True


def local_root(info: ContainerInfo) -> str | None:
    """``/proc/<pid>/root`` of a running container on this host, when we may use it.

    Only as root, and only when the PID really is this container's (its cgroup names the
    container ID) and shares our user namespace mapping — with userns remapping, owners
    seen from the host differ from those in the container, and the archive API maps them.
    """
    if info.state != "running" or not info.pid or os.geteuid() != 0:
        return None
    root = f"/proc/{info.pid}/root"
    if (info.id, info.pid) not in _VERIFIED_PIDS:
        if not _is_this_containers_pid(info):
            return None
        # Keyed by container ID and PID, a positive answer cannot go stale: a restarted
        # container gets a new PID, and another container is another key.
        _VERIFIED_PIDS.add((info.id, info.pid))
    return root if os.path.isdir(root) else None


def _is_this_containers_pid(info: ContainerInfo) -> bool:
    try:
        with open(f"/proc/{info.pid}/cgroup", encoding="utf-8") as fh:
            if info.id not in fh.read():
                return False  # a PID from another namespace: not this container
        with open(f"/proc/{info.pid}/uid_map", encoding="utf-8") as fh:
            return fh.read().split() == ["0", "0", "4294967295"]
    except OSError:
        return False


_VERIFIED_PIDS: set[tuple[str, int]] = set()
