"""Fast local access to a running container's files through ``/proc/<pid>/root``.

Only used when the Engine runs on this host and we are root; the archive API
remains the path that always works. The catch with ``/proc/<pid>/root`` is that
the kernel resolves an *absolute* symlink inside it against our root, not the
container's — a link to ``/etc`` would land on the host's ``/etc``. So paths are
walked one component at a time with ``O_NOFOLLOW`` directory descriptors, and
symlinks are resolved by hand against the container's root.
"""

from __future__ import annotations

import os
import stat
from collections import deque

from hotfix.model import DirEntry, FileKind, FileStat
from hotfix.paths import join, normalize, split

MAX_SYMLINK_HOPS = 40
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class NotADirectory(OSError):
    pass


def open_dir(root: str, path: str) -> int:
    """A descriptor of directory ``path`` inside ``root``; symlinks resolved within the root."""
    root_fd = os.open(root, _DIR_FLAGS & ~os.O_NOFOLLOW)  # /proc/<pid>/root is itself a link
    stack = [root_fd]
    parts = deque(p for p in normalize(path).split("/") if p)
    hops = 0
    try:
        while parts:
            part = parts.popleft()
            if part == ".":
                continue
            if part == "..":
                if len(stack) > 1:
                    os.close(stack.pop())
                continue
            try:
                stack.append(os.open(part, _DIR_FLAGS, dir_fd=stack[-1]))
                continue
            except OSError as exc:
                st = os.stat(part, dir_fd=stack[-1], follow_symlinks=False)  # FileNotFoundError
                if not stat.S_ISLNK(st.st_mode):
                    raise NotADirectory(exc.errno, f"{path}: not a directory") from None
            hops += 1
            if hops > MAX_SYMLINK_HOPS:
                raise OSError(f"{path}: too many levels of symbolic links")
            target = os.readlink(part, dir_fd=stack[-1])
            if target.startswith("/"):
                while len(stack) > 1:
                    os.close(stack.pop())
            parts.extendleft(reversed([p for p in target.split("/") if p]))
        result = stack.pop()
        return result
    finally:
        for fd in stack:
            os.close(fd)


def list_dir(root: str, path: str) -> list[DirEntry]:
    fd = open_dir(root, path)
    try:
        entries = []
        with os.scandir(fd) as it:
            for entry in it:
                st = entry.stat(follow_symlinks=False)
                target = os.readlink(entry.name, dir_fd=fd) if entry.is_symlink() else None
                entries.append(DirEntry(entry.name, _file_stat(join(path, entry.name), st, target)))
        return sorted(entries, key=lambda e: e.name)
    finally:
        os.close(fd)


def unlink(root: str, path: str) -> None:
    parent, name = split(path)
    fd = open_dir(root, parent)
    try:
        os.unlink(name, dir_fd=fd)
    finally:
        os.close(fd)


def _file_stat(path: str, st: os.stat_result, link_target: str | None) -> FileStat:
    return FileStat(
        path=path,
        kind=_kind(st.st_mode),
        size=st.st_size,
        mode=stat.S_IMODE(st.st_mode),
        mtime=st.st_mtime_ns / 1e9,
        uid=st.st_uid,
        gid=st.st_gid,
        link_target=link_target,
    )


def _kind(mode: int) -> FileKind:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "other"
