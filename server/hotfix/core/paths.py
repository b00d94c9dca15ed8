"""Paths inside a container, and the ``CONTAINER:PATH`` form the CLI takes."""

from __future__ import annotations

import posixpath

from hotfix.core.errors import UsageError


def normalize(path: str) -> str:
    """An absolute, normalised POSIX path. ``..`` cannot climb above ``/``."""
    if not path:
        raise UsageError("empty path: give an absolute path inside the container, e.g. /etc/hosts")
    if "\x00" in path:
        raise UsageError(f"path {path!r} contains a NUL byte")
    check_utf8(path, "path")
    if not path.startswith("/"):
        raise UsageError(f"path {path!r} is relative: give an absolute path inside the container")
    normal = posixpath.normpath(path)
    # normpath keeps a leading '//' (POSIX allows it to mean something else); we do not.
    return "/" + normal.lstrip("/")


def check_utf8(text: str, what: str) -> None:
    """Names from the command line that are not UTF-8 (undecodable bytes) would fail deep in
    the Engine API and SQLite: refuse them here."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(
            f"{what} {text!r} is not valid UTF-8 (other encodings are not supported)"
        ) from None


def split(path: str) -> tuple[str, str]:
    """``/a/b/c`` → (``/a/b``, ``c``)."""
    parent, name = posixpath.split(normalize(path))
    if not name:
        raise UsageError("the container's root directory is not a file")
    return parent, name


def join(directory: str, name: str) -> str:
    return posixpath.join(directory, name)


def parse_target(text: str, *, path_required: bool = True) -> tuple[str, str | None]:
    """Split ``CONTAINER:PATH`` (``CONTAINER`` alone when the path is optional)."""
    container, sep, path = text.partition(":")
    if not container:
        raise UsageError(f"{text!r}: expected CONTAINER:PATH, e.g. my_service:/usr/src/app/app.py")
    if not sep or not path:
        if path_required:
            raise UsageError(f"{text!r}: expected CONTAINER:PATH with an absolute PATH")
        return container, None
    return container, normalize(path)
