"""How a container goes live, and the proof that it did.

- **Strategy**: a graceful reload where the container's server supports one (its master
  process found among the container's processes, or the label ``hotfix.reload``), else a
  restart; ``--restart`` / ``--signal`` override. Each choice carries why it was made.
- **Check**: a command run in the container before going live (``--check``, the label
  ``hotfix.check``, else the known server's own config test); failing, nothing goes live.
- **Proof**: after the step, the processes that serve the container must have started
  after it — a reload whose workers did not restart was not applied.
"""

from __future__ import annotations

import posixpath
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass

from hotfix.core.errors import UsageError
from hotfix.core.model import ContainerInfo
from hotfix.service.processes import Listing, Process, ProcessesUnknown

RELOAD_LABEL = "hotfix.reload"
CHECK_LABEL = "hotfix.check"
FORWARDING_INITS = ("docker-init", "tini", "tini-static", "dumb-init")
# Seconds between looks at the container's processes: at least this, and at least as long
# as the last look took (a remote engine's top is not asked back to back).
POLL_INTERVAL = 0.01


@dataclass(frozen=True)
class KnownServer:
    name: str
    signal: str  # the graceful reload
    check: tuple[str, ...] = ()  # its own config test
    settle: float = 10.0  # seconds a reload may take before its old workers count as kept
    hint: str = ""  # why its workers may not have restarted


SERVERS = {
    "uwsgi": KnownServer("uWSGI", "HUP"),
    "gunicorn": KnownServer("gunicorn", "HUP"),
    "nginx": KnownServer("nginx", "HUP", ("nginx", "-t"), 3.0, " (its config test failed?)"),
    "apache": KnownServer("Apache", "USR1", ("apachectl", "-t"), 5.0, " (its config test failed?)"),
    "php-fpm": KnownServer("php-fpm", "USR2", ("php-fpm", "-t"), 5.0, " (its config test failed?)"),
}


@dataclass(frozen=True)
class Detected:
    """The server found in a container: its master process, or why it cannot reload."""

    server: KnownServer
    master: Process
    cannot_reload: str = ""  # e.g. "uWSGI without --master can't reload"


@dataclass(frozen=True)
class Strategy:
    signal: str | None  # None: a restart
    why: str
    server: KnownServer | None = None

    @property
    def how(self) -> str:
        return f"signal {self.signal}" if self.signal else "restart"


@dataclass(frozen=True)
class CheckPlan:
    argv: tuple[str, ...]
    why: str

    @property
    def command(self) -> str:
        return shlex.join(self.argv)


def _kind(process: Process) -> str | None:
    """Which known server ``process`` belongs to, from its command line."""
    args = process.args
    for kind in ("nginx", "php-fpm", "gunicorn"):
        if args.startswith(f"{kind}: "):  # a title the server set itself
            return kind
    words = args.split()[:2]
    names = [posixpath.basename(w) for w in words]
    if names and names[0].startswith("uwsgi"):
        return "uwsgi"
    if names and (names[0] == "apache2" or (names[0] == "httpd" and _apache_flags(process))):
        return "apache"
    if any(n.startswith("gunicorn") for n in names):
        return "gunicorn"
    return None


def _apache_flags(process: Process) -> bool:
    """Apache's ``httpd`` runs with ``-k start`` or ``-D…`` (``-DFOREGROUND``); busybox's
    applet of the same name (``httpd -f -p 8080``) is no Apache and has no reload."""
    return any(arg == "-k" or arg.startswith("-D") for arg in process.argv[1:])


def detect_server(listing: Listing) -> Detected | None:
    """The first known server whose topmost process is in the listing."""
    kinds = {p.pid: _kind(p) for p in listing.processes}
    for process in listing.processes:
        kind = kinds[process.pid]
        if kind is None or kinds.get(process.ppid) == kind:
            continue  # not a server, or a worker under its master
        if kind == "nginx" and "master process" not in process.args:
            continue
        server = SERVERS[kind]
        why_not = _cannot_reload(kind, process, listing)
        return Detected(server, process, why_not)
    return None


def _cannot_reload(kind: str, master: Process, listing: Listing) -> str:
    argv = master.argv
    if kind == "uwsgi" and not ({"--master", "-M"} & set(argv) or "--master=true" in argv):
        return "uWSGI without --master can't reload"
    # A signal goes to the container's PID 1: the master, or an init that passes it on.
    if master.pid != listing.init_pid and listing.init_pid:
        init = next((p for p in listing.processes if p.pid == listing.init_pid), None)
        init_name = posixpath.basename(init.argv[0]) if init and init.argv else ""
        if not (init_name in FORWARDING_INITS and master.ppid == listing.init_pid):
            return f"the {SERVERS[kind].name} master is not PID 1, so a signal would miss it"
    return ""


def choose_strategy(
    container: ContainerInfo,
    detected: Detected | None,
    *,
    restart: bool = False,
    signal: str | None = None,
    unknown: str = "",
) -> Strategy:
    """Options first, then the label, then the detected server; else a restart.
    ``unknown``: why the processes could not be looked at."""
    server = detected.server if detected else None
    if restart and signal:
        raise UsageError("--restart and --signal exclude each other")
    if restart:
        return Strategy(None, "--restart given", server)
    if signal:
        return Strategy(signal, "--signal given", server)
    label = container.labels.get(RELOAD_LABEL)
    if label is not None:
        return Strategy(_label_signal(label), f"label {RELOAD_LABEL}", server)
    if detected is None:
        return Strategy(None, f"{unknown}: restart" if unknown else "no known server: restart")
    if detected.cannot_reload:
        return Strategy(None, f"{detected.cannot_reload}: restart", server)
    return Strategy(
        server.signal if server else None, f"{detected.server.name} master detected", server
    )


def _label_signal(value: str) -> str | None:
    text = value.strip()
    if text == "restart":
        return None
    kind, _, name = text.partition(":")
    if kind == "signal" and name.strip():
        return name.strip()
    raise UsageError(
        f"label {RELOAD_LABEL}={value!r} not understood: use restart or signal:NAME (e.g. signal:HUP)"
    )


def parse_check(text: str, why: str) -> CheckPlan:
    """``exec:CMD`` or ``CMD``: split like a shell would, never run by one."""
    command = text.strip().removeprefix("exec:")
    try:
        argv = tuple(shlex.split(command))
    except ValueError as exc:
        raise UsageError(f"check {text!r}: {exc}") from None
    if not argv:
        raise UsageError(f"check {text!r}: no command")
    return CheckPlan(argv, why)


def choose_check(
    container: ContainerInfo,
    server: KnownServer | None,
    *,
    check: str | None = None,
    no_check: bool = False,
) -> CheckPlan | None:
    """``--no-check``, else ``--check``, else the label, else the known server's own test."""
    if no_check and check:
        raise UsageError("--check and --no-check exclude each other")
    if no_check:
        return None
    if check:
        return parse_check(check, "--check given")
    label = container.labels.get(CHECK_LABEL)
    if label:
        return parse_check(label, f"label {CHECK_LABEL}")
    if server and server.check:
        return CheckPlan(server.check, f"{server.name}'s config test")
    return None


def serving(listing: Listing) -> tuple[list[Process], str]:
    """The processes that answer requests, and what to call them: a known server's workers
    (its master's children; the master when it has none), else every process."""
    detected = detect_server(listing)
    if detected is None:
        return listing.processes, "the container's processes"
    workers = [p for p in listing.processes if p.ppid == detected.master.pid]
    if workers:
        return workers, f"{detected.server.name}'s workers"
    return [detected.master], f"{detected.server.name}'s master"


@dataclass(frozen=True)
class Proof:
    applied: bool | None  # None: the processes could not be looked at
    reason: str  # "not applied: …", or the note when unknown; "" when applied


def wait_until_new(
    look: Callable[[], Listing],
    since: float,
    settle: float,
    cancelled: Callable[[], bool],
    hint: str = "",
) -> Proof:
    """Poll until every serving process started at or after ``since`` (old workers stopped
    answering), at most ``settle`` seconds. ``look`` raises ProcessesUnknown."""
    deadline = time.monotonic() + settle
    while True:
        looked = time.monotonic()
        try:
            listing = look()
        except ProcessesUnknown as exc:
            return Proof(None, f"cannot tell whether the fix is loaded: {exc}")
        processes, what = serving(listing)
        old = [p for p in processes if not listing.started_after(p, since)]
        if processes and not old:
            return Proof(True, "")
        if time.monotonic() >= deadline or cancelled():
            pids = ", ".join(str(p.pid) for p in old[:5])
            return Proof(
                False, f"not applied: {what} did not restart{hint}; old still running: {pids}"
            )
        time.sleep(max(POLL_INTERVAL, time.monotonic() - looked))
