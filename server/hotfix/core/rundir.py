"""This user's private runtime directory: where the language server spools contents and the
resident process listens; and who may be at the other end of a socket there. Standard
library only, and nothing that costs to import (the ``hotfix`` launcher imports it)."""

from __future__ import annotations

import os
import stat

from hotfix.core.errors import Unavailable

USER_RUNTIME_ROOT = "/run/user"  # where logind makes each user's runtime directory
NAMESPACES = ("mnt", "pid")  # a peer in others sees other files and processes than ours


def runtime_dir() -> str | None:
    """``$XDG_RUNTIME_DIR`` or, when that is unset, ``/run/user/UID`` (a per-user tmpfs),
    when it is a directory of this user that only they can enter; else None."""
    runtime = os.environ.get("XDG_RUNTIME_DIR") or os.path.join(
        USER_RUNTIME_ROOT, str(os.geteuid())
    )
    try:
        st = os.stat(runtime)
    except OSError:
        return None
    return runtime if _private_dir(st) else None


def subdir_path(name: str) -> str:
    """Where :func:`open_private_subdir` looks: ``name`` under :func:`runtime_dir`, else
    ``NAME-UID`` under ``$TMPDIR`` (/tmp)."""
    base = runtime_dir()
    if base is not None:
        return os.path.join(base, name)
    tmp = os.environ.get("TMPDIR") or "/tmp"
    return os.path.join(tmp, f"{name}-{os.geteuid()}")


def open_private_subdir(name: str) -> tuple[str, int] | None:
    """The path of :func:`subdir_path` and a descriptor of the directory, made 0700 when
    missing; None when it cannot be made. Raises :class:`Unavailable` when something else
    is there: a symlink, or a directory another user owns or can enter (another user may
    have made it first in a shared /tmp). Work through the descriptor, not the path: where
    another user can rename the directory's parent, the path may lead elsewhere later."""
    path = subdir_path(name)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    return path, open_private_dir(path)


def open_private_dir(path: str) -> int:
    """A descriptor of directory ``path`` (``O_NOFOLLOW``: a symlink planted there is
    refused), checked on the descriptor to be this user's alone; else :class:`Unavailable`."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise Unavailable(f"{path} is not a private directory: {exc.strerror}") from None
    st = os.fstat(fd)
    if not _private_dir(st):
        os.close(fd)
        raise Unavailable(
            f"{path} is not a private directory (owner uid {st.st_uid}, mode "
            f"{stat.S_IMODE(st.st_mode):04o}; wanted uid {os.geteuid()}, mode 0700)"
        )
    return fd


def fd_path(dir_fd: int, name: str) -> str:
    """A path to ``name`` in the directory open as ``dir_fd`` that resolves through the
    descriptor, so a rename of the directory's path cannot redirect it (for ``bind`` and
    ``connect``, which take no ``dir_fd``)."""
    path = f"/proc/self/fd/{dir_fd}/{name}"
    if len(os.fsencode(path)) > 107:  # sun_path: 108 bytes with the NUL
        raise Unavailable(f"the socket name {name!r} is too long")
    return path


def foreign_peer(pid: int, uid: int) -> str | None:
    """Why a socket peer (its ``SO_PEERCRED`` pid and uid) is not this user on this host, or
    None when it is: of another uid, or in another mount or PID namespace (root in a
    container that sees the socket through a bind mount)."""
    if uid != os.geteuid():
        return f"uid {uid}"
    try:
        for kind in NAMESPACES:
            if _namespace(str(pid), kind) != _namespace("self", kind):
                return f"process {pid} in another {kind} namespace"
    except OSError as exc:
        return f"process {pid}, whose namespaces cannot be read ({exc.strerror})"
    return None


def _namespace(pid: str, kind: str) -> tuple[int, int]:
    st = os.stat(f"/proc/{pid}/ns/{kind}")
    return st.st_dev, st.st_ino


def _private_dir(st: os.stat_result) -> bool:
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o077
