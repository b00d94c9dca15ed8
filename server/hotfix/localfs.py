"""Fast local access to a running container's files through ``/proc/<pid>/root``.

Only used when the Engine runs on this host, we are root, the container runs and
its user namespace is the host's; the archive API remains the path that always
works (remote engines, stopped containers) and both give the same results. The catch with ``/proc/<pid>/root`` is that
the kernel resolves an *absolute* symlink inside it against our root, not the
container's — a link to ``/etc`` would land on the host's ``/etc``. So paths are
walked one component at a time with ``O_NOFOLLOW`` directory descriptors, and
symlinks are resolved by hand against the container's root.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import stat
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from hotfix.model import DirEntry, FileContent, FileKind, FileStat
from hotfix.paths import join, normalize, split
from hotfix.processes import alive

MAX_SYMLINK_HOPS = 40
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class NotADirectory(OSError):
    pass


def open_dir(root: str, path: str) -> int:
    """A descriptor of directory ``path`` inside ``root``; symlinks resolved within the root."""
    return _open_dir_resolved(root, path)[0]


def _open_dir_resolved(root: str, path: str) -> tuple[int, str]:
    """:func:`open_dir`, and the directory's path inside the root with symlinks resolved."""
    root_fd = os.open(root, _DIR_FLAGS & ~os.O_NOFOLLOW)  # /proc/<pid>/root is itself a link
    stack = [root_fd]
    names: list[str] = []  # the components of stack[1:]
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
                    names.pop()
                continue
            try:
                stack.append(os.open(part, _DIR_FLAGS, dir_fd=stack[-1]))
                names.append(part)
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
                names.clear()
            parts.extendleft(reversed([p for p in target.split("/") if p]))
        result = stack.pop()
        return result, "/" + "/".join(names)
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


def read(root: str, path: str) -> FileContent | None:
    """A regular file's content and stat; None when ``path`` is not a regular file."""
    parent, name = split(path)
    fd = open_dir(root, parent)
    try:
        try:
            file_fd = os.open(
                name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=fd
            )
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return None  # a symlink: the caller follows it
            raise
        with os.fdopen(file_fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):
                return None  # FIFOs, devices: O_NONBLOCK kept the open from hanging
            data = fh.read()
        return FileContent(data, _file_stat(path, st, None))
    finally:
        os.close(fd)


def write(root: str, path: str, data: bytes, *, uid: int, gid: int, mode: int) -> float:
    """Replace a file atomically: temp file + fsync + rename, owner and mode set first.

    Renaming over a single-file bind mount fails (EBUSY); then the file is rewritten in
    place, which is what the archive API does too. Returns the new mtime.
    """
    parent, name = split(path)
    fd = open_dir(root, parent)
    tmp = f"{_temp_prefix(name)}{os.getpid()}.tmp"
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


def _temp_prefix(name: str) -> str:
    """``.NAME.hotfix-``, NAME cut so that the temp file's name stays within NAME_MAX (255)."""
    return f".{os.fsdecode(os.fsencode(name)[:200])}.hotfix-"


def _remove_abandoned_temps(dir_fd: int, name: str) -> None:
    """Temp files of ``name`` left by a hotfix process killed before its rename."""
    prefix, suffix = _temp_prefix(name), ".tmp"
    for entry in os.listdir(dir_fd):
        pid = entry[len(prefix) : -len(suffix)] if entry.startswith(prefix) else ""
        if entry.endswith(suffix) and pid.isdigit() and not alive(int(pid)):
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


# --- many files, made durable as a group --------------------------------------------------------


@dataclass(eq=False)
class Replacement:
    """One file of :func:`replace_many`: what :func:`write` takes, and what became of it.

    ``key`` names the container (its ID): the filesystem a directory of it lives on is
    looked up once per container and directory device. ``error`` is set when the file was
    not replaced, or not made durable; ``grouped`` says whether its flush was shared."""

    root: str
    path: str
    data: bytes
    uid: int
    gid: int
    mode: int
    key: str = ""
    error: OSError | None = None
    grouped: bool = False
    _dir: int = field(default=-1, repr=False)
    _file: int = field(default=-1, repr=False)
    _tmp: str = field(default="", repr=False)
    _renamed: bool = field(default=False, repr=False)
    _flush: _Flush | None = field(default=None, repr=False)


@dataclass(eq=False)
class _Flush:
    """A filesystem that several files of one :func:`replace_many` share, and a descriptor
    on it for ``syncfs``, opened before any of their temp files is written."""

    fd: int
    members: list[Replacement] = field(default_factory=list)


def replace_many(files: list[Replacement]) -> None:
    """Replace many files, each exactly as :func:`write` does — temp file with owner and
    mode set, durable, renamed over the file, the rename durable — but with the flushes
    shared: where two or more of them live on one filesystem, one ``syncfs`` of it makes
    every temp file durable before any rename, and one more every rename, instead of an
    ``fsync`` of each file and of each directory. A file alone on its filesystem (or where
    the filesystem cannot be told, or ``syncfs`` is missing) gets its own ``fsync`` calls.

    Never raises an ``OSError``: each file's ``error`` tells; a failed file is left as it
    was (its temp file removed), except when the last flush failed after its rename — as
    with :func:`write`, it then holds the new content, not known to be durable.

    Why ``syncfs`` of the *upper* filesystem: a container's root is an overlay mount whose
    file data and directory entries live in its upper directory's filesystem. Writing
    through the overlay dirties the upper inodes, so ``sync_filesystem`` of the upper
    filesystem writes them and commits its journal. ``syncfs`` on a descriptor inside the
    overlay would do that too on current kernels (``ovl_sync_fs`` calls
    ``sync_filesystem(upper_sb)``), but it reports only the overlay's own writeback errors,
    not the upper's, and does nothing on a ``volatile`` overlay; a descriptor opened on the
    upper directory itself reports that filesystem's writeback errors since it was opened
    (Linux ≥ 5.8), so it is opened before the first temp file is written. Whether the upper
    directory named in the container's mountinfo is really this overlay's (our mount
    namespace could differ from dockerd's) is checked by finding each temp file there; a
    file not found so is flushed on its own.
    """
    flushes: dict[int, _Flush] = {}  # by device: of a filesystem, and (negative) of an overlay
    lock = threading.Lock()
    try:
        _spread(lambda f: _prepare(f, flushes, lock), files)
        groups = list({id(flush): flush for flush in flushes.values()}.values())
        for flush in groups:
            if len(flush.members) < 2:  # alone: fsync as write() does, no one else's data
                for f in flush.members:
                    f._flush = None
                flush.members.clear()
        for f in files:
            if f.error is None and f._flush is None:
                _guard(f, os.fsync, f._file)
        for flush in groups:
            if flush.members:
                _flush_group(flush)
        _spread(lambda f: _guard(f, _rename, f) if f.error is None else None, files)
        for flush in groups:
            if any(f.error is None for f in flush.members):
                _flush_group(flush)
        for f in files:
            if f.error is None and f._flush is None and f._renamed:
                _guard(f, os.fsync, f._dir)
            f.grouped = f._flush is not None and f.error is None
    finally:
        for f in files:
            _close(f)
        for fd in {flush.fd for flush in flushes.values()}:
            with contextlib.suppress(OSError):
                os.close(fd)


# The kernel's part of creating and renaming files runs on every core; two threads keep
# two of them busy (a rename over a file frees the old one's blocks: ≈150 µs on ext4).
SPREAD_FROM = 4
_WORKERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="hotfix-replace")


def _spread(work: Callable[[Replacement], object], files: list[Replacement]) -> None:
    """``work`` on every file: half of them on a worker thread, half on this one."""
    if len(files) < SPREAD_FROM:
        for f in files:
            work(f)
        return
    half = len(files) // 2
    future = _WORKERS.submit(lambda: [work(f) for f in files[half:]])
    try:
        for f in files[:half]:
            work(f)
    finally:
        future.result()


def _prepare(f: Replacement, flushes: dict[int, _Flush], lock: threading.Lock) -> None:
    """Open the directory, remove abandoned temps, write the temp file (not yet flushed)."""
    parent, name = split(f.path)
    try:
        f._dir, resolved = _open_dir_resolved(f.root, parent)
        _remove_abandoned_temps(f._dir, name)
        with lock:
            found = _flush_of(f, resolved, flushes)
        f._tmp = f"{_temp_prefix(name)}{os.getpid()}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        f._file = os.open(f._tmp, flags, 0o600, dir_fd=f._dir)
        view = memoryview(f.data)
        while view:
            view = view[os.write(f._file, view) :]
        os.fchown(f._file, f.uid, f.gid)
        os.fchmod(f._file, f.mode & 0o7777)  # after chown, which clears setuid/setgid
        if found is not None and (found[1] is None or _seen_in(found[1], f._tmp)):
            f._flush = found[0]
            with lock:
                f._flush.members.append(f)
    except OSError as exc:
        f.error = exc
        _discard(f)


def _guard(f: Replacement, call: Callable[..., object], *args: Any) -> None:
    try:
        call(*args)
    except OSError as exc:
        f.error = exc
        _discard(f)


def _rename(f: Replacement) -> None:
    _, name = split(f.path)
    try:
        os.rename(f._tmp, name, src_dir_fd=f._dir, dst_dir_fd=f._dir)
    except OSError as exc:
        if exc.errno not in (errno.EBUSY, errno.EXDEV):
            raise
        os.unlink(f._tmp, dir_fd=f._dir)
        f._tmp = ""
        f._flush = None
        _rewrite_in_place(f._dir, name, f.data)  # a bind-mounted file: as write() does
        return
    f._tmp = ""
    f._renamed = True


def _flush_group(flush: _Flush) -> None:
    try:
        syncfs(flush.fd)
    except OSError as exc:
        for f in flush.members:
            if f.error is None:
                f.error = exc
                _discard(f)


def _discard(f: Replacement) -> None:
    """Remove the temp file, if it was not renamed yet."""
    if f._tmp and f._dir >= 0:
        with contextlib.suppress(OSError):
            os.unlink(f._tmp, dir_fd=f._dir)
    f._tmp = ""


def _close(f: Replacement) -> None:
    _discard(f)  # left only when something other than an OSError went through
    for fd in (f._file, f._dir):
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)
    f._file = f._dir = -1


def _seen_in(directory: str, name: str) -> bool:
    try:
        os.stat(os.path.join(directory, name), follow_symlinks=False)
    except OSError:
        return False
    return True


# (container key, directory device) -> (mount point, upper directory) of an overlay, or
# None for a filesystem that is not one (the directory's own descriptor is flushed).
_UPPERS: dict[tuple[str, int], tuple[str, str] | None] = {}
_UPPERS_MAX = 4096


def _flush_of(
    f: Replacement, resolved: str, flushes: dict[int, _Flush]
) -> tuple[_Flush, str | None] | None:
    """The shared flush of the filesystem of ``f``'s directory, and the directory where its
    temp file must be seen for that flush to cover it (None: it is that directory); None:
    flush it on its own."""
    if not group_flush_available():
        return None
    dev = os.fstat(f._dir).st_dev
    cache_key = (f.key or f.root, dev)
    if cache_key not in _UPPERS:
        if len(_UPPERS) >= _UPPERS_MAX:
            _UPPERS.clear()
        _UPPERS[cache_key] = _overlay_upper(f.root, dev)
    upper = _UPPERS[cache_key]
    if upper is None:  # not an overlay (a volume, a bind mount): flush through the directory
        flush = flushes.get(dev)
        if flush is None:
            flush = flushes[dev] = _Flush(os.dup(f._dir))
        return flush, None
    mount_point, upper_dir = upper
    if not f.root.startswith("/proc/"):  # our own mountinfo: paths from our root
        resolved = os.path.realpath(f.root) + resolved
    if resolved != mount_point and not resolved.startswith(mount_point.rstrip("/") + "/"):
        return None
    inside = upper_dir + "/" + resolved[len(mount_point) :].strip("/")
    flush = flushes.get(-dev)  # this overlay's upper filesystem, already open
    if flush is None:
        try:
            fd = os.open(upper_dir, _DIR_FLAGS & ~os.O_NOFOLLOW)
        except OSError:
            _UPPERS.pop(cache_key, None)
            return None
        fs_dev = os.fstat(fd).st_dev
        flush = flushes.get(fs_dev)
        if flush is None:
            flush = flushes[fs_dev] = _Flush(fd)
        else:
            os.close(fd)
        flushes[-dev] = flush
    return flush, inside


def _overlay_upper(root: str, dev: int) -> tuple[str, str] | None:
    """For the mount of ``root`` with device ``dev``: (its mount point inside the root, its
    upper directory) when it is an overlay, else None. Read from the mountinfo of the
    process whose root it is (``/proc/<pid>/root``), else our own."""
    proc = os.path.dirname(root) if root.startswith("/proc/") else "/proc/self"
    wanted = f"{os.major(dev)}:{os.minor(dev)}"
    try:
        with open(f"{proc}/mountinfo", encoding="utf-8", errors="surrogateescape") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if len(fields) < 7 or fields[2] != wanted:
            continue
        sep = fields.index("-", 6)
        fstype, options = fields[sep + 1], fields[sep + 3] if len(fields) > sep + 3 else ""
        if fstype != "overlay":
            return None
        for option in options.split(","):
            if option.startswith("upperdir="):
                return _unescape(fields[4]), _unescape(option[len("upperdir=") :])
        return None  # a read-only overlay: nothing is written there anyway
    return None


def _unescape(text: str) -> str:
    """mountinfo writes space, tab, newline, backslash (and, in options, comma) as \\ooo."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


_LIBC: Any = None


def group_flush_available() -> bool:
    """``syncfs`` is there and reports writeback errors (Linux ≥ 5.8)."""
    global _LIBC
    if _LIBC is None:
        _LIBC = False
        try:
            release = tuple(int(x) for x in re.findall(r"\d+", os.uname().release)[:2])
            if release >= (5, 8):
                libc = ctypes.CDLL(None, use_errno=True)
                libc.syncfs.argtypes = [ctypes.c_int]
                _LIBC = libc
        except (OSError, AttributeError, ValueError):
            _LIBC = False
    return bool(_LIBC)


def syncfs(fd: int) -> None:
    """Flush the whole filesystem ``fd`` is on (``syncfs(2)``; Python has no ``os.syncfs``)."""
    if _LIBC.syncfs(fd) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


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
