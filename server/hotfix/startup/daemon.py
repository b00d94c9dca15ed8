"""The resident process: hotfix imported once, a fresh fork for each ``hotfix`` command.

``python -m hotfix.startup.daemon SOCKET`` is started by the launcher (:mod:`hotfix.startup.launcher`) when
no resident process answered. It takes a lock beside its socket (one per socket), imports
what commands use, listens, and for each connection:

1. reads the request: argv, environment, working directory, umask, stdio encodings, and the
   caller's stdin, stdout and stderr as passed descriptors (``SCM_RIGHTS``);
2. forks. The child makes them its own (``dup2`` onto 0, 1, 2; ``chdir``; the environment
   replaced), answers its pid, runs :func:`hotfix.startup.control.run_cli` and exits;
3. waits for the child through a pidfd and answers its exit status, or the signal that
   killed it. If the caller goes away first, the child gets SIGHUP, as from a closed terminal.

The process itself runs nothing but this loop and holds no state, so a command behaves as it
would in a fresh process. It leaves after ``HOTFIX_DAEMON_IDLE`` seconds without a command
(default 1200), on SIGTERM (``hotfix daemon stop``) after its running commands end, and is
never shared between users or with containers: its directory is 0700, and it refuses a
caller of another uid or in another mount or PID namespace before reading anything.
"""

from __future__ import annotations

import contextlib
import fcntl
import fnmatch
import gc
import io
import locale
import marshal
import os
import selectors
import signal
import socket
import struct
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from hotfix.cli.argv import command_in
from hotfix.core.errors import Unavailable
from hotfix.core.rundir import fd_path, foreign_peer, open_private_dir, open_private_subdir
from hotfix.startup.launcher import (
    EXITED,
    KILLED,
    LOCAL,
    LOCAL_COMMANDS,
    RECORD,
    STARTED,
    socket_path,
)

DEFAULT_IDLE_SECONDS = 1200.0
REQUEST_TIMEOUT = 5.0  # a caller is this process's own user's launcher: it sends at once
MAX_REQUEST = 16 * 1024 * 1024
LENGTH = struct.Struct("!I")


@dataclass
class Request:
    argv: list[str]
    argv0: str
    cwd: str
    env: dict[str, str]
    umask: int
    stdio: list[list[str]]
    fds: list[int]  # the caller's stdin, stdout, stderr, received with the request


@dataclass
class Running:
    pid: int
    pidfd: int
    conn: socket.socket
    caller_gone: bool = False


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: python -m hotfix.startup.daemon SOCKET", file=sys.stderr)
        return 2
    Daemon(sys.argv[1], idle_seconds()).serve()
    return 0


def idle_seconds() -> float:
    try:
        return max(1.0, float(os.environ.get("HOTFIX_DAEMON_IDLE", DEFAULT_IDLE_SECONDS)))
    except ValueError:
        return DEFAULT_IDLE_SECONDS


def lock_name(socket_name: str) -> str:
    return socket_name.removesuffix(".sock") + ".lock"


def running_pid(dir_fd: int, socket_name: str) -> int | None:
    """The pid of the resident process serving ``socket_name`` in the directory open as
    ``dir_fd``, if one holds its lock."""
    try:
        fd = os.open(lock_name(socket_name), os.O_RDONLY | os.O_NOFOLLOW, dir_fd=dir_fd)
    except OSError:
        return None
    with os.fdopen(fd) as f:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = f.read().strip()
            return int(text) if text.isdigit() else None
        return None  # the lock was free: nobody serves it


@dataclass(frozen=True)
class ResidentProcess:
    pid: int
    socket: str
    current: bool  # serves this very code (the launcher's fingerprint)
    listening: bool  # else still importing, or stopping (running its last commands)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def resident_processes() -> list[ResidentProcess]:
    """This user's resident processes: this code's, and older code's not yet idled out.
    Raises :class:`~hotfix.core.errors.Unavailable` when the directory is not this user's own."""
    with _private_dir() as dir_fd:
        if dir_fd is None:
            return []
        directory, current = os.path.split(socket_path())
        names = os.listdir(dir_fd)
        found = []
        # Locks, not sockets: a stopping one has removed its socket and still runs commands.
        for lock in sorted(n for n in names if fnmatch.fnmatch(n, "daemon-*.lock")):
            name = lock.removesuffix(".lock") + ".sock"
            pid = running_pid(dir_fd, name)
            if pid is not None:
                path = os.path.join(directory, name)
                found.append(ResidentProcess(pid, path, name == current, name in names))
    return found


def stop(processes: list[ResidentProcess], wait: float = 10.0) -> list[ResidentProcess]:
    """SIGTERM each; wait until each has let go of its lock (its running commands ended)."""
    stopped = []
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGTERM)
            stopped.append(process)
    deadline = time.monotonic() + wait
    with _private_dir() as dir_fd:
        while dir_fd is not None and time.monotonic() < deadline:
            if not any(running_pid(dir_fd, os.path.basename(p.socket)) for p in stopped):
                break
            time.sleep(0.02)
    return stopped


@contextlib.contextmanager
def _private_dir() -> Iterator[int | None]:
    """A descriptor of the resident processes' directory; None when there is none."""
    place = open_private_subdir("hotfix")
    if place is None:
        yield None
        return
    try:
        yield place[1]
    finally:
        os.close(place[1])


class _Stopped(Exception):
    pass


class Daemon:
    def __init__(self, socket_path: str, idle: float) -> None:
        self.directory, self.socket_name = os.path.split(socket_path)
        self.idle = idle
        self.running: dict[int, Running] = {}  # by pid
        self.selector = selectors.DefaultSelector()
        self.listener: socket.socket | None = None
        self.dir_fd = -1
        self.lock_fd: int | None = None
        self.stopping = False

    def serve(self) -> None:
        # Everything in the directory goes through this descriptor: where another user can
        # rename the directory's parent, its path may lead to a directory of theirs later.
        try:
            self.dir_fd = open_private_dir(self.directory)
        except Unavailable:
            return  # the launcher that started it says why, and runs its commands itself
        self.lock_fd = self._lock()
        if self.lock_fd is None:
            return  # another one serves this socket
        for signum in (signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)  # a terminal's signals are not for it
        # The gc module's recipe for fork without exec: no collection here, gc.freeze()
        # before each fork, gc.enable() in the child; else a child's first collection copies
        # every page of what was imported (docs/cli.md, "The resident process").
        gc.disable()
        try:
            _preload()
            self._listen()
            self._loop()
        except _Stopped:
            pass
        finally:
            self._close_listener()
            os.close(self.lock_fd)  # after the socket is gone: a successor binds a fresh one

    def _lock(self) -> int | None:
        fd = os.open(
            lock_name(self.socket_name),
            os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
            0o600,
            dir_fd=self.dir_fd,
        )
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return fd

    def _listen(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            # a predecessor's, killed before it could remove it
            os.unlink(self.socket_name, dir_fd=self.dir_fd)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(fd_path(self.dir_fd, self.socket_name))
        listener.listen(64)
        self.listener = listener
        self.selector.register(listener, selectors.EVENT_READ, self._accept)
        signal.signal(signal.SIGTERM, lambda signum, frame: self._stop())

    def _loop(self) -> None:
        last_command = time.monotonic()
        while not (self.stopping and not self.running):
            timeout = None if self.running else last_command + self.idle - time.monotonic()
            if timeout is not None and timeout <= 0:
                return
            for key, _ in self.selector.select(timeout):
                # SIGTERM waits while a command is being taken in: none is half-started.
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
                try:
                    key.data(key.fileobj)
                finally:
                    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
            if self.running:
                last_command = time.monotonic()

    def _stop(self) -> None:
        """SIGTERM: no new commands; the loop ends once the running ones have."""
        self.stopping = True
        self._close_listener()
        if not self.running:
            raise _Stopped

    def _close_listener(self) -> None:
        if self.listener is None:
            return
        self.selector.unregister(self.listener)
        self.listener.close()
        self.listener = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket_name, dir_fd=self.dir_fd)

    def _accept(self, listener: Any) -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        try:
            request = self._read_request(conn)
        except (OSError, ValueError, EOFError, KeyError, TypeError):
            conn.close()  # the caller sees no pid and runs the command itself
            return
        if command_in(request.argv, LOCAL_COMMANDS):
            _close_all(request.fds)
            with contextlib.suppress(OSError):
                conn.sendall(RECORD.pack(LOCAL, 0))
            conn.close()
            return
        self._fork(conn, request)

    def _read_request(self, conn: socket.socket) -> Request:
        conn.settimeout(REQUEST_TIMEOUT)
        pid, uid, _ = struct.unpack(
            "3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
        )
        foreign = foreign_peer(pid, uid)
        if foreign is not None:  # refused before a byte of it is read
            raise ValueError(f"a caller that is {foreign}")
        header, fds, _, _ = socket.recv_fds(conn, LENGTH.size, 3)
        try:
            if len(header) != LENGTH.size or len(fds) != 3:
                raise ValueError("a malformed request")
            (size,) = LENGTH.unpack(header)
            if size > MAX_REQUEST:
                raise ValueError("an oversized request")
            body = _read_exactly(conn, size)
            request = Request(**marshal.loads(body), fds=fds)  # see launcher._send_request
        except BaseException:
            _close_all(fds)
            raise
        conn.settimeout(None)
        return request

    def _fork(self, conn: socket.socket, request: Request) -> None:
        gc.freeze()
        pid = os.fork()
        if pid == 0:
            gc.enable()
            # The child keeps only its caller's connection: not the lock, the listener or
            # other callers' connections (a long command would keep those from closing).
            inherited = [*self.selector.get_map(), self.lock_fd, self.dir_fd]
            self.selector.close()
            _close_all(fd for fd in inherited if fd != conn.fileno())
            _run_child(conn, request)  # never returns
        _close_all(request.fds)
        pidfd = os.pidfd_open(pid)
        running = Running(pid, pidfd, conn)
        self.running[pid] = running
        self.selector.register(pidfd, selectors.EVENT_READ, lambda _: self._reap(running))
        self.selector.register(conn, selectors.EVENT_READ, lambda _: self._caller_gone(running))

    def _reap(self, running: Running) -> None:
        _, status = os.waitpid(running.pid, 0)
        self.selector.unregister(running.pidfd)
        os.close(running.pidfd)
        if not running.caller_gone:
            self.selector.unregister(running.conn)
        if os.WIFSIGNALED(status):
            record = RECORD.pack(KILLED, os.WTERMSIG(status))
        else:
            record = RECORD.pack(EXITED, os.waitstatus_to_exitcode(status))
        with contextlib.suppress(OSError):
            running.conn.sendall(record)
        running.conn.close()
        del self.running[running.pid]

    def _caller_gone(self, running: Running) -> None:
        """The caller's end is readable: it closed (it sends nothing after its request)."""
        self.selector.unregister(running.conn)
        running.caller_gone = True
        with contextlib.suppress(ProcessLookupError):
            os.kill(running.pid, signal.SIGHUP)


def _run_child(conn: socket.socket, request: Request) -> None:
    try:
        _become_caller(request)
        conn.sendall(RECORD.pack(STARTED, os.getpid()))
        conn.close()
    except BaseException:
        os._exit(1)  # before its pid: the caller runs the command itself, and says what failed
    code = 1
    try:
        code = _run_cli(request.argv)
    except BaseException:
        with contextlib.suppress(BaseException):
            traceback.print_exc()  # as the interpreter would
    finally:
        os._exit(_flushed(code))


def _become_caller(request: Request) -> None:
    """Take the caller's place: its stdio, directory, umask, environment and arguments."""
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())  # blocked in the parent while it forked
    for target, fd in enumerate(request.fds):
        os.dup2(fd, target)
    _close_all(fd for fd in request.fds if fd > 2)
    os.chdir(request.cwd)
    os.umask(request.umask)
    for name in os.environ.keys() - request.env.keys():
        del os.environ[name]
    for name, value in request.env.items():
        if os.environ.get(name) != value:  # most are the same: set only what differs
            os.environ[name] = value
    tempfile.tempdir = None  # chosen again from this environment's TMPDIR
    with contextlib.suppress(locale.Error):
        locale.setlocale(locale.LC_CTYPE, "")
    sys.argv = [request.argv0, *request.argv]
    _reopen_stdio(request.stdio)


def _reopen_stdio(encodings: list[list[str]]) -> None:
    """New sys.stdin/stdout/stderr over descriptors 0-2, in the caller's encodings and
    buffered as the caller's would be (line-buffered on a terminal)."""
    (in_enc, in_err), (out_enc, out_err), (err_enc, err_err) = encodings
    sys.stdin = open(0, encoding=in_enc, errors=in_err, closefd=False)  # noqa: SIM115
    sys.stdout = open(  # noqa: SIM115
        1, "w", encoding=out_enc, errors=out_err, closefd=False, buffering=_buffering(1)
    )
    sys.stderr = open(2, "w", encoding=err_enc, errors=err_err, closefd=False, buffering=1)  # noqa: SIM115


def _buffering(fd: int) -> int:
    return 1 if os.isatty(fd) else -1


def _run_cli(argv: list[str]) -> int:
    from hotfix.startup.control import run_cli

    try:
        return run_cli(argv)
    except KeyboardInterrupt:  # Ctrl-C before main's own handling began
        print("hotfix: interrupted", file=sys.stderr)
        return 130
    except SystemExit as exc:  # argparse's errors, --help, --version
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1


def _flushed(code: int) -> int:
    """Flush what the command printed, as the interpreter does at exit (120 if it cannot)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = code or 120
    return code


def _preload() -> None:
    """Import what the commands use, so that no command pays for it. docker-py comes with
    paramiko (hotfix.docker.engine imports it whole), so ssh:// engines work as in-process."""
    import hotfix.cli.files
    import hotfix.cli.fleet
    import hotfix.cli.lifecycle
    import hotfix.cli.live
    import hotfix.cli.main
    import hotfix.cli.release
    import hotfix.cli.server
    import hotfix.docker.engine
    import hotfix.docker.engines
    import hotfix.fleet
    import hotfix.git.repo
    import hotfix.lifecycle.debt
    import hotfix.lifecycle.reapply
    import hotfix.release.harvest
    import hotfix.release.imaging
    import hotfix.release.report
    import hotfix.service.files
    import hotfix.startup.control
    import hotfix.store.state
    import hotfix.views  # noqa: F401  (the --json shapes: cattrs)


def _read_exactly(conn: socket.socket, size: int) -> bytes:
    buffer = io.BytesIO()
    while buffer.tell() < size:
        chunk = conn.recv(min(size - buffer.tell(), 1 << 16))
        if not chunk:
            raise ConnectionResetError("the caller closed before its request was whole")
        buffer.write(chunk)
    return buffer.getvalue()


def _close_all(fds: Any) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


if __name__ == "__main__":
    sys.exit(main())
