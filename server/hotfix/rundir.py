"""This user's private runtime directory: where the language server spools contents and the
resident process listens. Standard library only (the ``hotfix`` launcher imports it)."""

from __future__ import annotations

import os
import stat


def runtime_dir() -> str | None:
    """``$XDG_RUNTIME_DIR`` (a per-user tmpfs) when it is a directory of this user that only
    they can enter; else None."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if not runtime:
        return None
    try:
        st = os.stat(runtime)
    except OSError:
        return None
    return runtime if _private_dir(st) else None


def private_subdir(name: str) -> str | None:
    """``name`` under :func:`runtime_dir`, else ``hotfix-UID`` under ``$TMPDIR`` (/tmp); made
    0700 when missing. None when it exists but is not a real directory of this user alone
    (another user may have made it first in a shared /tmp): nothing private goes there."""
    base = runtime_dir()
    if base is not None:
        path = os.path.join(base, name)
    else:
        tmp = os.environ.get("TMPDIR") or "/tmp"
        path = os.path.join(tmp, f"{name}-{os.geteuid()}")
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        st = os.lstat(path)  # not stat: a symlink planted there is refused
    except OSError:
        return None
    return path if _private_dir(st) else None


def _private_dir(st: os.stat_result) -> bool:
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o077
