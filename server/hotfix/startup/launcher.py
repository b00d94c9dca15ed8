"""The ``hotfix`` command's entry point: hands the command to the resident process if one runs.

A fresh ``hotfix`` process spends most of its time importing docker-py, requests and the
service before it does any work (docs/cli.md, "The resident process"). The resident process
(:mod:`hotfix.startup.daemon`) has imported them once and forks a child for each command. The
child takes this process's arguments, environment, working directory, umask and its very
stdin, stdout and stderr (the descriptors themselves, passed over a Unix socket), runs the
command line (:func:`hotfix.startup.control.run_cli`) and exits; its exit status becomes this
process's. Signals sent to this process (Ctrl-C, ``kill``, Ctrl-Z) are passed on to the
child. Only imported code is shared between commands, never state: each command is a fresh
fork.

When no resident process answers, the command runs here, in-process, as it always could, and
one is started in the background for the next command. ``HOTFIX_DAEMON=off`` turns it off.
This module imports only light standard-library modules: it runs before every command.
"""

from __future__ import annotations

# Only modules that cost nothing to import: this runs before every command. The public
# socket and signal modules wrap these two in IntEnums (enum is costly), and json needs re.
import _signal as signal  # type: ignore[import-not-found]  # (no stubs: signal's C half)
import _socket as socket
import errno
import marshal
import os
import struct
import sys
import zlib

from hotfix.cli.argv import command_in
from hotfix.core.errors import Unavailable
from hotfix.core.rundir import fd_path, foreign_peer, open_private_subdir, subdir_path

# One record from the resident process: a tag and a number.
RECORD = struct.Struct("!ci")
STARTED = b"P"  # the child's pid: the command runs
LOCAL = b"L"  # run it yourself (interactive, long-running or about the daemon itself)
EXITED = b"X"  # the command's exit status
KILLED = b"S"  # the child was killed by this signal

# Commands that keep the caller's terminal or stdio for long: they run in the caller's process.
LOCAL_COMMANDS = frozenset({"lsp", "edit", "daemon"})
FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
OFF = frozenset({"off", "0", "no", "false"})


def main() -> int:
    argv = sys.argv[1:]
    try:
        code = run_resident(argv)
    except KeyboardInterrupt:  # Ctrl-C before the child could take it: as the CLI says it
        print("hotfix: interrupted", file=sys.stderr)
        return 130
    if code is not None:
        return code
    from hotfix.startup.control import run_cli

    return run_cli(argv)


def run_resident(argv: list[str]) -> int | None:
    """The command's exit status, run by the resident process; None when it should run here."""
    if os.environ.get("HOTFIX_DAEMON", "").lower() in OFF or command_in(argv, LOCAL_COMMANDS):
        return None
    try:
        conn = _connect()
    except Unavailable as exc:
        print(
            f"hotfix: running the command in this process, not the resident one: {exc}",
            file=sys.stderr,
        )
        return None
    if conn is None:
        return None
    try:
        return _hand_over(conn, argv)
    finally:
        conn.close()


def socket_name() -> str:
    return f"daemon-{fingerprint()}.sock"


def socket_path() -> str:
    """Where the resident process for this very code listens (to name it; connect through
    :func:`_connect`, which checks the directory on its descriptor)."""
    return os.path.join(subdir_path("hotfix"), socket_name())


def _connect() -> socket.SocketType | None:
    """A connection to this user's resident process, made through a descriptor of the
    private directory and checked to be served by this user on this host; None when none
    listens (one is started for the next command). Raises :class:`Unavailable` when the
    directory or the server is not this user's own."""
    place = open_private_subdir("hotfix")
    if place is None:
        return None
    directory, dir_fd = place
    name = socket_name()
    try:
        address = fd_path(dir_fd, name)  # through the descriptor: no rename redirects it
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(address)
            foreign = _foreign_server(conn)
        except OSError as exc:
            conn.close()
            if exc.errno in (errno.ENOENT, errno.ECONNREFUSED):
                start_daemon(os.path.join(directory, name))
            return None
    finally:
        os.close(dir_fd)
    if foreign is not None:
        conn.close()  # nothing was sent: not the arguments, environment or descriptors
        raise Unavailable(f"its socket in {directory} is served by {foreign}")
    return conn


def _foreign_server(conn: socket.SocketType) -> str | None:
    """Who serves ``conn`` (as of its ``listen``), when that is not this user on this host."""
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
    pid, uid, _ = struct.unpack("3i", creds)
    return foreign_peer(pid, uid)


def fingerprint() -> str:
    """Names the code a resident process has loaded: the interpreter, its import path and the
    newest hotfix module. Installing or editing anything changes it, so no command runs on
    code older than the one a fresh process would run; the old process idles out."""
    parts = [
        os.path.realpath(sys.executable),
        sys.prefix,
        sys.version,
        str(sys.flags.utf8_mode),
        str(os.geteuid()),
    ]
    # Not the first entry unless -P: the script's directory or, for -m, the working directory.
    imported_from = sys.path if sys.flags.safe_path else sys.path[1:]
    parts += (f"{entry}@{_mtime(entry)}" for entry in imported_from)
    parts.append(str(_newest_module(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
    # A checksum, not a digest: it tells apart the few versions of the code one user runs;
    # nothing adversarial (the directory is theirs alone). hashlib would load OpenSSL.
    data = "\0".join(parts).encode("utf-8", "surrogateescape")
    return f"{zlib.crc32(data):08x}{zlib.crc32(data[::-1]):08x}"


def start_daemon(path: str) -> None:
    """Start the resident process for the next command, detached from this one (its own
    session, no stdio). A second one started meanwhile finds the first's lock and exits."""
    import subprocess

    try:  # noqa: SIM105 (contextlib: an import, before every command, for two lines)
        subprocess.Popen(
            [sys.executable, "-m", "hotfix.startup.daemon", path],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd="/",
            start_new_session=True,
        )
    except OSError:
        pass  # a convenience: this command runs in-process all the same


def _hand_over(conn: socket.SocketType, argv: list[str]) -> int | None:
    try:
        _send_request(conn, argv)
        tag, value = _read_record(conn)
    except OSError:
        return None
    if tag != STARTED:
        return None  # LOCAL, or the resident process went away before it forked: run here
    return _wait(conn, pid=value)


def _send_request(conn: socket.SocketType, argv: list[str]) -> None:
    request = {
        "argv": argv,
        "argv0": sys.argv[0],
        "cwd": os.getcwd(),
        "env": dict(os.environ),
        "umask": _umask(),
        "stdio": [[s.encoding, s.errors] for s in (sys.stdin, sys.stdout, sys.stderr) if s],
    }
    # marshal: built in, and it keeps surrogateescape'd (not UTF-8) names and values. The
    # resident process reads it only from a peer of its own uid on its own host (SO_PEERCRED
    # and namespaces), the one who could as well replace its code.
    body = marshal.dumps(request)
    stdio = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("3i", 0, 1, 2))]
    conn.sendmsg([struct.pack("!I", len(body))], stdio)
    conn.sendall(body)


def _wait(conn: socket.SocketType, pid: int) -> int:
    forwarder = _Forwarder(pid)
    forwarder.install()
    try:
        tag, value = _read_record(conn)
    except OSError:
        tag, value = b"", 0
    finally:
        forwarder.uninstall()
    if tag == EXITED:
        return value
    if tag == KILLED:
        _die_by(value)
        return 128 + value
    print(
        f"hotfix: error: the resident process went away while it ran the command (pid {pid});"
        " its outcome is unknown: see `hotfix log`",
        file=sys.stderr,
    )
    return 1


def _read_record(conn: socket.SocketType) -> tuple[bytes, int]:
    data = b""
    while len(data) < RECORD.size:
        chunk = conn.recv(RECORD.size - len(data))
        if not chunk:
            raise ConnectionResetError("the resident process closed the connection")
        data += chunk
    tag, value = RECORD.unpack(data)
    return tag, value


class _Forwarder:
    """Passes the signals this process gets to the child running the command. Ctrl-Z stops
    the child with this process, and the shell's ``fg``/``bg`` (SIGCONT) resumes both."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.previous: dict[int, object] = {}

    def install(self) -> None:
        for signum in FORWARDED_SIGNALS:
            self.previous[signum] = signal.signal(signum, self._forward)
        self.previous[signal.SIGTSTP] = signal.signal(signal.SIGTSTP, self._stop)
        self.previous[signal.SIGCONT] = signal.signal(signal.SIGCONT, self._forward)

    def uninstall(self) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)

    def _forward(self, signum: int, frame: object) -> None:
        self._kill(signum)

    def _stop(self, signum: int, frame: object) -> None:
        self._kill(signal.SIGSTOP)
        signal.signal(signal.SIGTSTP, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTSTP)  # stops here until SIGCONT
        signal.signal(signal.SIGTSTP, self._stop)

    def _kill(self, signum: int) -> None:
        try:  # noqa: SIM105
            os.kill(self.pid, signum)
        except ProcessLookupError:
            pass  # it has just exited: its status is on the way


def _die_by(signum: int) -> None:
    """End as the child ended, killed by ``signum``: a shell then reports it the same way.
    Returns only if that signal does not end this process (its default is to ignore it)."""
    try:
        if signum not in (signal.SIGKILL, signal.SIGSTOP):  # these need (and take) no handler
            signal.signal(signum, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signum])
        os.kill(os.getpid(), signum)
    except (OSError, ValueError):
        pass  # not a signal this process can be sent: the exit status says it (128 + signum)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1


def _newest_module(package: str) -> int:
    newest = 0
    for entry in os.scandir(package):
        if entry.is_dir() and not entry.name.startswith(("_", ".")):
            newest = max(newest, _newest_module(entry.path))
        elif entry.name.endswith(".py"):
            newest = max(newest, entry.stat().st_mtime_ns)
    return newest
