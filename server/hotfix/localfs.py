"""Fast local access to a running container's files through ``/proc/<pid>/root``, and
to its diff against its image through its overlay2 directories (:func:`overlay_changes`).

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
import errno
import os
import posixpath
import stat
from collections import deque

from hotfix.model import DirEntry, FileContent, FileKind, FileStat, OverlayDirs
from hotfix.paths import join, normalize, split
from hotfix.processes import alive

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
    parent, name = split(path)
    fd = open_dir(root, parent)
    try:
        os.unlink(name, dir_fd=fd)
    finally:
        os.close(fd)


def overlay_changes(dirs: OverlayDirs) -> list[str]:
    """The paths of a container's diff against its image, from its overlay2 directories, as
    the Engine's diff lists them (it compares the two trees): every entry of the writable
    layer that is no directory (a whiteout is a deletion); a directory there when something
    under it is listed, when it is new or its mode or owner changed, or when it is opaque
    (it replaced the image's, whose entries it lacks are listed as deleted). Sorted."""
    if not all(os.path.isabs(d) for d in (dirs.upper, *dirs.lowers)):
        raise FileNotFoundError(errno.ENOENT, "not overlay2's directories", dirs.upper)
    found: list[str] = []
    _walk_upper(dirs, "/", found)
    return sorted(found)


def _walk_upper(dirs: OverlayDirs, directory: str, found: list[str]) -> bool:
    """Lists the changes under ``directory`` into ``found``; whether it listed any."""
    listed = False
    names = set()
    with os.scandir(dirs.upper + directory) as entries:
        for entry in entries:
            path = join(directory, entry.name)
            names.add(entry.name)
            if not entry.is_dir(follow_symlinks=False):
                found.append(path)  # a file, symlink, … or a whiteout: a deletion
            elif (
                _walk_upper(dirs, path, found)
                or _opaque(dirs.upper + path)
                or _dir_differs(entry.stat(follow_symlinks=False), dirs.lowers, path)
            ):
                found.append(path)
            else:
                continue  # copied up for a change since undone: not a change
            listed = True
    if directory != "/" and _opaque(dirs.upper + directory):
        gone = _lower_names(dirs.lowers, directory) - names
        found.extend(join(directory, name) for name in gone)
        listed = listed or bool(gone)
    return listed


def _dir_differs(st: os.stat_result, lowers: tuple[str, ...], path: str) -> bool:
    """Whether a directory of the writable layer is new, or differs from the image's in
    mode or owner (not mtime: the Engine's diff ignores a directory's mtime)."""
    below = _lower_stat(lowers, path)
    if below is None or not stat.S_ISDIR(below.st_mode):
        return True
    return (st.st_mode, st.st_uid, st.st_gid) != (below.st_mode, below.st_uid, below.st_gid)


def _lower_stat(lowers: tuple[str, ...], path: str) -> os.stat_result | None:
    """``path`` as the image shows it: from the top layer that has it, unless a whiteout or
    an opaque directory in a layer above hides it."""
    for lower in lowers:
        try:
            st = os.lstat(lower + path)
        except FileNotFoundError:
            if _hidden_below(lower, path):
                return None
            continue
        return None if _is_whiteout(st) else st
    return None


def _lower_names(lowers: tuple[str, ...], directory: str) -> set[str]:
    """The entries of ``directory`` as the image shows it (merged layers, top first)."""
    names: set[str] = set()
    hidden: set[str] = set()
    for lower in lowers:
        try:
            with os.scandir(lower + directory) as entries:
                for entry in entries:
                    if entry.name in names or entry.name in hidden:
                        continue  # a layer above has it, or deleted it
                    if _is_whiteout(entry.stat(follow_symlinks=False)):
                        hidden.add(entry.name)
                    else:
                        names.add(entry.name)
        except (FileNotFoundError, NotADirectoryError):
            if _hidden_below(lower, directory):
                break
            continue
        if _opaque(lower + directory):
            break
    return names


def _hidden_below(lower: str, path: str) -> bool:
    """Whether a layer hides ``path`` of the layers below it: a whiteout or an opaque
    directory at one of its ancestors (or itself)."""
    while path != "/":
        try:
            st = os.lstat(lower + path)
        except FileNotFoundError:
            pass
        else:
            if _is_whiteout(st) or (stat.S_ISDIR(st.st_mode) and _opaque(lower + path)):
                return True
        path = posixpath.dirname(path)
    return False


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _opaque(directory: str) -> bool:
    try:
        return os.getxattr(directory, "trusted.overlay.opaque", follow_symlinks=False) == b"y"
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
