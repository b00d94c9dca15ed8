"""Fast local access to a running container's files through ``/proc/<pid>/root``, and
to its diff against its image through its overlay2 directories (:func:`overlay_changes`).

Only used when the Engine runs on this host, we are root, the container runs and
its user namespace is the host's; the archive API remains the path that always
works (remote engines, stopped containers) and both give the same results. The catch with ``/proc/<pid>/root`` is that
the kernel resolves an *absolute* symlink inside it against our root, not the
container's — a link to ``/etc`` would land on the host's ``/etc``. So paths are
walked one component at a time with ``O_NOFOLLOW`` directory descriptors, and
symlinks are resolved by hand against the container's root. The container may rename
anything at any moment, so nothing is looked up twice by name: types and sizes are
checked on the descriptor that is then used, and the overlay2 walk too goes from
descriptor to descriptor.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import time
from collections import deque
from dataclasses import dataclass

from hotfix.core.model import DirEntry, FileContent, FileKind, FileStat, OverlayDirs
from hotfix.core.paths import join, normalize, split
from hotfix.core.processes import alive

MAX_SYMLINK_HOPS = 40
MAX_WALK_DEPTH = 128  # a deeper tree cuts the overlay walk short: each level holds descriptors
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_TRUSTED_DIR_FLAGS = _DIR_FLAGS & ~os.O_NOFOLLOW


class NotADirectory(OSError):
    pass


def open_dir(root: str, path: str) -> int:
    """A descriptor of directory ``path`` inside ``root``; symlinks resolved within the root."""
    root_fd = os.open(root, _TRUSTED_DIR_FLAGS)  # /proc/<pid>/root is itself a link
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


def lstat(root: str, path: str) -> FileStat:
    """lstat of ``path``; a symlink's target is made absolute like the Engine reports it."""
    if normalize(path) == "/":
        fd = open_dir(root, "/")
        try:
            return _file_stat("/", os.fstat(fd), None)
        finally:
            os.close(fd)
    parent, name = split(path)
    fd = open_dir(root, parent)
    try:
        st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        target = os.readlink(name, dir_fd=fd) if _kind(st.st_mode) == "symlink" else None
    finally:
        os.close(fd)
    if target is not None:
        target = normalize(join(parent, target))
    return _file_stat(path, st, target)


class NotARegularFile(Exception):
    """What :func:`read` found is no regular file; it was never opened for reading."""

    def __init__(self, path: str, kind: FileKind) -> None:
        super().__init__(f"{path} is a {kind}")
        self.kind = kind


class AboveLimit(Exception):
    """The file is larger than the read's limit; ``size`` is None when it grew past the
    limit while it was read."""

    def __init__(self, path: str, size: int | None, limit: int) -> None:
        super().__init__(f"{path} is above {limit} bytes")
        self.size = size
        self.limit = limit


def read(root: str, path: str, max_size: int | None = None) -> FileContent:
    """A regular file's content and stat, reading at most ``max_size`` bytes.

    The name is first opened with ``O_PATH`` (which opens nothing: a FIFO's writer is not
    woken, a device's driver is not called), its type and size checked on that descriptor,
    and only a regular file is then opened for reading, through ``/proc/self/fd`` — the
    very inode checked, whatever the container renames meanwhile."""
    parent, name = split(path)
    dir_fd = open_dir(root, parent)
    try:
        handle = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    finally:
        os.close(dir_fd)
    try:
        st = os.fstat(handle)
        if not stat.S_ISREG(st.st_mode):
            raise NotARegularFile(path, _kind(st.st_mode))
        _check_size(path, st.st_size, max_size)
        file_fd = os.open(f"/proc/self/fd/{handle}", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        os.close(handle)
    with os.fdopen(file_fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        _check_size(path, st.st_size, max_size)
        data = fh.read() if max_size is None else fh.read(max_size + 1)
    if max_size is not None and len(data) > max_size:
        raise AboveLimit(path, None, max_size)  # it grew while it was read
    return FileContent(data, _file_stat(path, st, None))


def _check_size(path: str, size: int, limit: int | None) -> None:
    if limit is not None and size > limit:
        raise AboveLimit(path, size, limit)


def write(
    root: str, path: str, data: bytes, *, uid: int, gid: int, mode: int, in_place: bool = False
) -> float:
    """Replace a file atomically: temp file + fsync + rename, owner and mode set first.

    ``in_place``: rewrite the file where it is instead — a single-file bind mount, which a
    rename from the host's mount namespace would not fail on but replace *under* the mount,
    detaching the container from the host's file. Returns the new mtime.
    """
    parent, name = split(path)
    fd = open_dir(root, parent)
    if in_place:
        try:
            _rewrite_in_place(fd, name, data)
            return os.stat(name, dir_fd=fd).st_mtime_ns / 1e9
        finally:
            os.close(fd)
    tmp = f"{_temp_prefix(name)}{os.getpid()}{_TEMP_SUFFIX}"
    try:
        _remove_abandoned_temps(fd, name)
        _write_new(fd, tmp, data, uid, gid, mode)
        try:
            os.rename(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
        except OSError as exc:
            os.unlink(tmp, dir_fd=fd)
            if exc.errno not in (errno.EBUSY, errno.EXDEV):
                raise
            _rewrite_in_place(fd, name, data)
        os.fsync(fd)
        return os.stat(name, dir_fd=fd, follow_symlinks=False).st_mtime_ns / 1e9
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=fd)
        raise
    finally:
        os.close(fd)


_TEMP_MARK, _TEMP_SUFFIX = ".hotfix-", ".tmp"  # .NAME.hotfix-PID.tmp


def is_temp_file(path: str) -> bool:
    """Whether ``path`` names a temp file of :func:`write` (``.NAME.hotfix-PID.tmp``)."""
    _, name = split(path)
    prefix = name[: name.rfind(_TEMP_MARK) + len(_TEMP_MARK)]
    return name.startswith(".") and _TEMP_MARK in name and _temp_pid(name, prefix) is not None


def _temp_prefix(name: str) -> str:
    """``.NAME.hotfix-``, NAME cut so that the temp file's name stays within NAME_MAX (255)."""
    return f".{os.fsdecode(os.fsencode(name)[:200])}{_TEMP_MARK}"


def _temp_pid(entry: str, prefix: str) -> int | None:
    """The PID in ``entry`` when it is a temp file's name: ``prefix`` + PID + ``.tmp``."""
    pid = entry[len(prefix) : -len(_TEMP_SUFFIX)]
    named = entry.startswith(prefix) and entry.endswith(_TEMP_SUFFIX) and pid.isdigit()
    return int(pid) if named else None


def _remove_abandoned_temps(dir_fd: int, name: str) -> None:
    """Temp files of ``name`` left by a hotfix process killed before its rename."""
    prefix = _temp_prefix(name)
    for entry in os.listdir(dir_fd):
        pid = _temp_pid(entry, prefix)
        if pid is not None and not alive(pid):
            with contextlib.suppress(OSError):
                os.unlink(entry, dir_fd=dir_fd)


def _write_new(dir_fd: int, name: str, data: bytes, uid: int, gid: int, mode: int) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    file_fd = os.open(name, flags, 0o600, dir_fd=dir_fd)
    with os.fdopen(file_fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fchown(fh.fileno(), uid, gid)
        os.fchmod(fh.fileno(), mode & 0o7777)  # after chown, which clears setuid/setgid
        os.fsync(fh.fileno())


def _rewrite_in_place(dir_fd: int, name: str, data: bytes) -> None:
    file_fd = os.open(name, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    with os.fdopen(file_fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def unlink(root: str, path: str) -> None:
    """Remove a file, and the temp files of its name that a killed :func:`write` left
    (removed first: so they go even when the file is already gone)."""
    parent, name = split(path)
    fd = open_dir(root, parent)
    try:
        _remove_abandoned_temps(fd, name)
        os.unlink(name, dir_fd=fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class WalkLimit:
    """When a walk of container data gives up: after this many entries, or seconds."""

    entries: int
    seconds: float


@dataclass(frozen=True)
class ChangeListing:
    """A container's changed paths; ``complete`` is False when the walk was cut short (by
    its :class:`WalkLimit`, or a tree deeper than :data:`MAX_WALK_DEPTH`)."""

    paths: list[str]
    complete: bool = True
    entries: int = 0  # entries looked at
    seconds: float = 0.0
    # The paths the image does not have (the Engine's Kind 1): made since the container
    # started. The others were modified or deleted.
    added: frozenset[str] = frozenset()


def overlay_changes(dirs: OverlayDirs, limit: WalkLimit | None = None) -> ChangeListing:
    """The paths of a container's diff against its image, from its overlay2 directories, as
    the Engine's diff lists them (it compares the two trees): every entry of the writable
    layer that is no directory (a whiteout is a deletion); a directory there when something
    under it is listed, when it is new or its mode or owner changed, or when it is opaque
    (it replaced the image's, whose entries it lacks are listed as deleted). Sorted. An
    entry no image layer has is ``added``.

    The container may swap a directory for a symlink at any moment: every layer is walked
    through ``O_NOFOLLOW`` directory descriptors, so a symlink is an entry, never entered.
    ``limit`` cuts the walk short (the listing then says it is incomplete)."""
    if not all(os.path.isabs(d) for d in (dirs.upper, *dirs.lowers)):
        raise FileNotFoundError(errno.ENOENT, "not overlay2's directories", dirs.upper)
    walk = _OverlayWalk(limit)
    with contextlib.ExitStack() as fds:
        # The layers' own paths come from the Engine (GraphDriver data): trusted.
        upper = os.open(dirs.upper, _TRUSTED_DIR_FLAGS)
        fds.callback(os.close, upper)
        lowers = []
        for lower in dirs.lowers:
            lowers.append(os.open(lower, _TRUSTED_DIR_FLAGS))
            fds.callback(os.close, lowers[-1])
        with contextlib.suppress(_CutShort):
            walk.directory(upper, "/", lowers, depth=0)
    return walk.listing()


class _CutShort(Exception):
    """The walk reached its limit."""


class _OverlayWalk:
    """One walk of a writable layer, with the image layers below it walked alongside."""

    def __init__(self, limit: WalkLimit | None) -> None:
        self.limit = limit
        self.found: list[str] = []
        self.added: set[str] = set()
        self.entries = 0
        self.complete = True
        self.started = time.monotonic()

    def listing(self) -> ChangeListing:
        seconds = time.monotonic() - self.started
        found = sorted(self.found)
        return ChangeListing(found, self.complete, self.entries, seconds, frozenset(self.added))

    def count_entry(self) -> None:
        self.entries += 1
        if self.limit is None:
            return
        spent = time.monotonic() - self.started
        if self.entries > self.limit.entries or spent > self.limit.seconds:
            self.complete = False
            raise _CutShort

    def directory(self, fd: int, path: str, below: list[int], depth: int) -> bool:
        """Lists the changes under directory ``path`` (``fd``; ``below``: the same directory
        in the image layers that show it, top first); whether it listed any."""
        listed = False
        names = set()
        with os.scandir(fd) as entries:
            for entry in entries:
                self.count_entry()
                names.add(entry.name)
                child = join(path, entry.name)
                if self._entry_changed(fd, entry, child, below, depth):
                    self.found.append(child)
                    listed = True
        if path != "/" and _opaque(fd):
            gone = self._lower_names(below) - names
            self.found.extend(join(path, name) for name in gone)
            listed = listed or bool(gone)
        return listed

    def _entry_changed(
        self, parent: int, entry: os.DirEntry[str], path: str, below: list[int], depth: int
    ) -> bool:
        if not entry.is_dir(follow_symlinks=False):
            if not _in_image(below, entry.name) and not _whiteout_entry(entry):
                self.added.add(path)
            return True  # a file, symlink, … or a whiteout: a deletion
        try:
            fd = os.open(entry.name, _DIR_FLAGS, dir_fd=parent)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                return True  # swapped for a symlink or a file since listed: never entered
            if exc.errno == errno.ENOENT:
                return False  # gone since listed
            raise
        try:
            if depth >= MAX_WALK_DEPTH:
                self.complete = False
                return True
            image_stat, image_dirs = _image_child(below, entry.name)
            if image_stat is None:
                self.added.add(path)
            try:
                return (
                    self.directory(fd, path, image_dirs, depth + 1)
                    or _opaque(fd)
                    or _dir_differs(os.fstat(fd), image_stat)
                )  # else: copied up for a change since undone, not a change
            finally:
                for image_fd in image_dirs:
                    os.close(image_fd)
        finally:
            os.close(fd)

    def _lower_names(self, below: list[int]) -> set[str]:
        """The entries of a directory as the image shows it (``below``: its layers, top
        first)."""
        names: set[str] = set()
        hidden: set[str] = set()
        for fd in below:
            with os.scandir(fd) as entries:
                for entry in entries:
                    self.count_entry()
                    if entry.name in names or entry.name in hidden:
                        continue  # a layer above has it, or deleted it
                    if _is_whiteout(entry.stat(follow_symlinks=False)):
                        hidden.add(entry.name)
                    else:
                        names.add(entry.name)
        return names


def _image_child(below: list[int], name: str) -> tuple[os.stat_result | None, list[int]]:
    """``name`` in a directory as the image shows it (``below``: the directory's layers,
    top first): the lstat of the top layer's entry (None when no layer has it or a whiteout
    hides it), and its descriptors in the layers whose directories merge into it, top first
    (down to the first opaque one; a non-directory ends the merge)."""
    shown: os.stat_result | None = None
    merged: list[int] = []
    try:
        for parent in below:
            try:
                st = os.stat(name, dir_fd=parent, follow_symlinks=False)
            except FileNotFoundError:
                continue
            if _is_whiteout(st):
                break
            if shown is None:
                shown = st
            if not stat.S_ISDIR(st.st_mode):
                break
            merged.append(os.open(name, _DIR_FLAGS, dir_fd=parent))
            if _opaque(merged[-1]):
                break
    except BaseException:
        for fd in merged:
            os.close(fd)
        raise
    return shown, merged


def _in_image(below: list[int], name: str) -> bool:
    """Whether the image shows ``name`` in a directory (``below``: its layers, top first;
    none for a directory the image lacks, so a new directory's files cost no look-up)."""
    for parent in below:
        try:
            st = os.stat(name, dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            continue
        return not _is_whiteout(st)
    return False


def _whiteout_entry(entry: os.DirEntry[str]) -> bool:
    """A whiteout (a deletion), stat-ed only when its type is no file or link's."""
    if entry.is_file(follow_symlinks=False) or entry.is_symlink():
        return False
    try:
        return _is_whiteout(entry.stat(follow_symlinks=False))
    except OSError:
        return False


def _dir_differs(st: os.stat_result, image: os.stat_result | None) -> bool:
    """Whether a directory of the writable layer is new, or differs from the image's in
    mode or owner (not mtime: the Engine's diff ignores a directory's mtime)."""
    if image is None or not stat.S_ISDIR(image.st_mode):
        return True
    return (st.st_mode, st.st_uid, st.st_gid) != (image.st_mode, image.st_uid, image.st_gid)


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _opaque(fd: int) -> bool:
    try:
        return os.getxattr(fd, "trusted.overlay.opaque") == b"y"
    except OSError:
        return False


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
