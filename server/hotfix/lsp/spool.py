"""Big file contents beside the JSON-RPC stream: the negotiated ``bodyTransfer: "file"``.

A file's content inside a JSON-RPC message costs base64, JSON and the pipe on both ends
(docs/performance.md has the figures). A client on this host (one that started the server, as the editor
does) asks for ``initializationOptions.bodyTransfer = "file"``; the server then makes a
private spool directory and contents of :data:`THRESHOLD` bytes or more travel as files
in it:

- ``hotfix/readFile`` answers ``dataPath`` instead of ``data``: a file the server wrote
  (``O_EXCL``, mode 0600) for the client to read and unlink;
- ``hotfix/writeFile`` takes ``dataPath`` instead of ``data``: a file the client wrote in
  the same directory, which the server opens (``O_NOFOLLOW``, relative to the directory's
  descriptor, a regular file of this user only), unlinks and reads.

The directory (mode 0700, under ``$XDG_RUNTIME_DIR`` when it is usable, else the temp
directory) is removed with whatever is left in it when the server stops, on SIGTERM too.
Without the option nothing changes: contents are inline base64.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import shutil
import stat
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from hotfix.core.errors import ValidationFailed
from hotfix.core.rundir import runtime_dir
from hotfix.lsp.errors import InvalidParams
from hotfix.lsp.wire import FORCED_FACTOR, mib

logger = logging.getLogger(__name__)

T = TypeVar("T")

FILE = "file"  # the one out-of-band transfer there is
THRESHOLD = 64 << 10  # contents this big or bigger go through the spool
PREFIX = "hotfix-spool-"
READ_PREFIX = "r-"  # files the server wrote for readFile


class Spool:
    """A private directory for contents too big for the JSON stream; see the module doc."""

    def __init__(self, parent: str | None = None, threshold: int = THRESHOLD) -> None:
        if not hasattr(os, "O_NOFOLLOW") or os.open not in os.supports_dir_fd:
            raise OSError("this platform has no O_NOFOLLOW or dir_fd opens")
        parent = parent if parent is not None else runtime_dir()
        self.directory = tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=parent)
        self.threshold = threshold
        self._dir_fd: int | None = os.open(
            self.directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
        )
        logger.info("spooling contents of %s or more in %s", mib(threshold), self.directory)

    @property
    def closed(self) -> bool:
        return self._dir_fd is None

    def capability(self) -> dict[str, Any]:
        """What the initialize result tells the client (``experimental.hotfix.bodyTransfer``)."""
        return {"kind": FILE, "directory": self.directory, "threshold": self.threshold}

    # --- server → client ----------------------------------------------------------------

    def put(self, data: bytes | memoryview) -> str:
        """A new file holding ``data`` (created ``O_EXCL``, mode 0600); its path."""
        dir_fd = self._fd()
        name = f"{READ_PREFIX}{uuid.uuid4().hex}"
        fd = os.open(
            name,
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
            0o600,
            dir_fd=dir_fd,
        )
        try:
            with open(fd, "wb", buffering=0, closefd=True) as out:
                view = memoryview(data)
                while view:
                    view = view[out.write(view) :]
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(name, dir_fd=dir_fd)
            raise
        return os.path.join(self.directory, name)

    def discard(self, path: str) -> None:
        """Remove a file this spool handed out that nobody will read."""
        if self._dir_fd is not None and os.path.dirname(path) == self.directory:
            with contextlib.suppress(OSError):
                os.unlink(os.path.basename(path), dir_fd=self._dir_fd)

    async def guard(self, make: Awaitable[T], path_of: Callable[[T], str | None]) -> T:
        """Await ``make`` (work in a worker thread that may :meth:`put` a file, named by
        ``path_of`` its result); when the request is cancelled meanwhile, the file the
        thread still writes is removed, not left for nobody."""
        task = asyncio.ensure_future(make)
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            task.add_done_callback(lambda done: self._discard_result(done, path_of))
            raise

    def _discard_result(self, task: asyncio.Future[T], path_of: Callable[[T], str | None]) -> None:
        if not task.cancelled() and task.exception() is None:
            path = path_of(task.result())
            if path is not None:
                self.discard(path)

    # --- client → server ----------------------------------------------------------------

    def take(self, path: str, field: str, limit: int) -> bytes:
        """The content of a file the client wrote in this spool, removed from it.

        Only a regular file of this user, directly in the spool directory, not a symlink
        (``O_NOFOLLOW``), no bigger than ``limit``; anything else is InvalidParams naming it.
        The file is unlinked once opened, whether its content is taken or refused.
        """
        dir_fd = self._fd()
        name = os.path.basename(path)
        if os.path.dirname(path) != self.directory or name in ("", ".", "..") or "\0" in name:
            raise InvalidParams(
                f"{field}: {path} is not a file in this server's spool directory "
                f"{self.directory}; write the content there, or send it as data"
            )
        try:
            # O_NONBLOCK: a FIFO put there must not hang the server (no effect on files)
            flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
            fd = os.open(name, flags, dir_fd=dir_fd)
        except FileNotFoundError:
            raise InvalidParams(f"{field}: {path} does not exist (already taken?)") from None
        except OSError as exc:  # ELOOP: a symlink
            with contextlib.suppress(OSError):
                os.unlink(name, dir_fd=dir_fd)
            reason = (
                "is a symlink" if exc.errno == errno.ELOOP else f"cannot be opened ({exc.strerror})"
            )
            raise InvalidParams(f"{field}: {path} {reason}; expected a regular file") from None
        with open(fd, "rb", buffering=0, closefd=True) as src:
            with contextlib.suppress(OSError):
                os.unlink(name, dir_fd=dir_fd)
            st = os.fstat(src.fileno())
            if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
                raise InvalidParams(f"{field}: {path} is not a regular file of this user")
            if st.st_size > limit:
                raise ValidationFailed(
                    f"{field}: {path} is {mib(st.st_size)}, above this server's {mib(limit)} "
                    f"limit ({FORCED_FACTOR} × HOTFIX_MAX_FILE_SIZE); start the server with a larger "
                    "HOTFIX_MAX_FILE_SIZE"
                )
            return _read_all(src.fileno(), st.st_size)

    # --- the end ------------------------------------------------------------------------

    def close(self) -> None:
        """Remove the directory and every file left in it. Safe to call more than once."""
        fd, self._dir_fd = self._dir_fd, None
        if fd is None:
            return
        os.close(fd)
        shutil.rmtree(self.directory, ignore_errors=True)
        logger.debug("removed the spool directory %s", self.directory)

    def _fd(self) -> int:
        if self._dir_fd is None:
            raise ValidationFailed("the server is shutting down: its spool directory is gone")
        return self._dir_fd


def _read_all(fd: int, size: int) -> bytes:
    """The first ``size`` bytes of a file: one read, one buffer (no chunks joined) when
    the file is whole, as a regular file is."""
    parts: list[bytes] = []
    left = size
    while left:
        chunk = os.read(fd, left)
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return parts[0] if len(parts) == 1 else b"".join(parts)
