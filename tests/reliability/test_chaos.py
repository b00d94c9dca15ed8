"""A bounded chaos soak: saves by CLI processes and language-server clients on both file
paths while faults land at random moments; then the invariants every run must keep.

Saves of 10 B–2 MB go through ``hotfix write C:PATH -`` (a fork of the resident process,
the CLI's default) and ``hotfix/writeFile`` (raw JSON-RPC clients, :mod:`.rpc`), each on the
local path (``/proc/<pid>/root``) or the archive API (``HOTFIX_LOCAL_FS=0``). One thread
SIGKILLs callers, the resident process, its forks and language servers, and restarts or
pauses the containers. Afterwards (docs/reliability.md):

1. every file is whole: its original or exactly one of the contents sent to it;
2. no temp file is left in the containers;
3. no journal row is left ``started`` once a final ``hotfix log`` has settled them;
4. ``state.db`` passes ``PRAGMA integrity_check``;
5. ``hotfix revert`` brings every original back (owner and mode too; files the soak created
   are gone) and ``hotfix diff`` then prints nothing;
6. no process of the soak is left once the resident process is stopped;
7. no command's (or server's) stderr holds a traceback;
12. the caller of a killed fork dies by SIGKILL as well, without a traceback;
13. no intent temp file (``intents/.N.new.PID.TID.tmp``) is left in the state directory.

Bounded by time and count. The RNG is seeded (``HOTFIX_CHAOS_SEED`` replays the choices; the
threads' timing still varies); the seed and the figures are printed, and a failure names the
seed and each broken invariant.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docker.errors
import pytest

from tests.conftest import Running
from tests.reliability.conftest import uri
from tests.reliability.rpc import Rpc, ServerGone, b64

pytestmark = pytest.mark.engine

HOTFIX = [sys.executable, "-m", "hotfix"]
SOAK_SECONDS = 60.0
MAX_SAVES = 800
MAX_FAULTS = 80
CLI_CLIENTS = 3
SERVER_CLIENTS = 2
COMMAND_TIMEOUT = 60.0  # one save, even a 2 MB one on a loaded machine, takes seconds
MIN_SIZE, MAX_SIZE = 10, 2 * 1024 * 1024
PATHS = ("local", "archive")
DIRECTORY = "chaos"
# A fork this old has answered its pid and runs the command: killed before that, its caller
# would rightly run the command itself (the resident process's documented fallback).
FORK_STARTED = 0.2
CREATED = ("new1.bin", "new2.bin")  # absent at first: the soak creates them


@dataclass(frozen=True)
class Original:
    name: str
    mode: int
    uid: int
    gid: int


ORIGINALS = (
    Original("plain.bin", 0o644, 0, 0),
    Original("exec.bin", 0o755, 0, 0),
    Original("owned.bin", 0o640, 1000, 1000),
)

# Fault kinds, and how often each is drawn after the first round (which has them all).
FAULTS = {
    "kill caller": 3.0,
    "kill fork": 3.0,
    "kill resident": 2.0,
    "kill server": 2.0,
    "restart container": 1.0,
    "pause container": 1.0,
}


# --- what the soak writes to ----------------------------------------------------------------


@dataclass
class Target:
    """One file of a container, with every content the soak sent to it (sha256 digests)."""

    box: Running
    name: str
    original: bytes | None
    meta: Original | None
    sent: set[str] = field(default_factory=set)

    @property
    def path(self) -> str:
        return f"/{DIRECTORY}/{self.name}"

    def __str__(self) -> str:
        return f"{self.box.name}:{self.path}"


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content(rng: random.Random) -> bytes:
    """Random bytes, 10 B to 2 MB, log-uniform: as many small saves as big ones."""
    size = int(math.exp(rng.uniform(math.log(MIN_SIZE), math.log(MAX_SIZE))))
    return rng.randbytes(size)


def plant_originals(box: Running, rng: random.Random) -> list[Target]:
    """``/chaos`` with the original files (each its owner and mode), put in place with the
    Engine's archive API, not through hotfix; and the targets the soak creates."""
    buffer = io.BytesIO()
    targets = []
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        folder = tarfile.TarInfo(DIRECTORY)
        folder.type, folder.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(folder)
        for original in ORIGINALS:
            data = rng.randbytes(rng.randint(MIN_SIZE, 64 * 1024))
            info = tarfile.TarInfo(f"{DIRECTORY}/{original.name}")
            info.size, info.mode = len(data), original.mode
            info.uid, info.gid = original.uid, original.gid
            tar.addfile(info, io.BytesIO(data))
            targets.append(Target(box, original.name, data, original))
    assert box.container.put_archive("/", buffer.getvalue())
    return targets + [Target(box, name, None, None) for name in CREATED]


def live_file(box: Running, path: str) -> tuple[bytes, tarfile.TarInfo] | None:
    """A file's bytes and tar header, read with the Engine's archive API; None if absent."""
    try:
        stream, _ = box.container.get_archive(path)
    except docker.errors.NotFound:
        return None
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        member = tar.next()
        assert member is not None
        extracted = tar.extractfile(member)
        return (extracted.read() if extracted else b""), member


def names_in(box: Running) -> set[str]:
    return set(box.sh(f"ls -a /{DIRECTORY}").split()) - {".", ".."}


# --- the soak's processes, found under /proc --------------------------------------------------


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    session: int
    daemon_code: bool  # runs hotfix.startup.daemon: the resident process, or one of its forks

    @property
    def resident(self) -> bool:
        return self.daemon_code and self.session == self.pid  # forks share its session

    @property
    def fork(self) -> bool:
        return self.daemon_code and self.session != self.pid


def soak_processes(marker: bytes) -> list[Proc]:
    """Every process whose environment carries ``marker``: all that the soak started,
    the resident processes and their forks included (they inherit the environment)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0"):
            ppid, _, session = stat.rsplit(")", 1)[1].split()[1:4]
            daemon_code = b"hotfix.startup.daemon" in cmdline.split(b"\0")
            found.append(Proc(int(entry), int(ppid), int(session), daemon_code))
    return found


def describe(pid: int) -> str:
    with contextlib.suppress(OSError):
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        return f"{pid} {' '.join(a.decode(errors='replace') for a in argv)[:120]}"
    return str(pid)


def error_line(stderr: str) -> str:
    """The error a failed command gave, not the notes before it (what was settled)."""
    lines = stderr.strip().splitlines()
    return next((line for line in lines if "error:" in line), lines[-1] if lines else "")


def stdout_pipe(pid: int) -> str | None:
    with contextlib.suppress(OSError):
        return os.readlink(f"/proc/{pid}/fd/1")
    return None


def age(pid: int) -> float:
    """Seconds since the process started (0 when it is gone)."""
    try:
        start_ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    return uptime - start_ticks / os.sysconf("SC_CLK_TCK")


def stop_process(pid: int, timeout: float = 2.0) -> bool:
    """SIGSTOP, and wait until it is stopped: a stopped process has not begun to exit, so a
    SIGKILL then surely kills it. False (and resumed) when it did not stop in time."""
    try:
        os.kill(pid, signal.SIGSTOP)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return False
        if state in ("T", "t"):
            return True
        time.sleep(0.005)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGCONT)
    return False


def wait_until_gone(marker: bytes, keep: Callable[[Proc], bool], timeout: float) -> list[Proc]:
    """Wait until no process of the soak but those ``keep`` spares is left; the rest."""
    deadline = time.monotonic() + timeout
    while True:
        left = [p for p in soak_processes(marker) if not keep(p)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


# --- the soak -------------------------------------------------------------------------------


@dataclass(eq=False)  # hashed by identity: kept in a set while it runs
class Caller:
    """A ``hotfix write`` process; ``pipe`` names its stdout, which its fork has as fd 1."""

    proc: subprocess.Popen[bytes]
    pipe: str
    done: threading.Event = field(default_factory=threading.Event)
    killed: bool = False
    fork_killed: bool = False


@dataclass
class ServerClient:
    """One language-server client: its current server, replaced when it is killed."""

    server: Rpc | None = None


class Soak:
    """The clients, the fault thread and what they saw: outcomes, figures and violations
    (each a line naming the invariant it breaks)."""

    def __init__(
        self, seed: int, env: dict[str, str], targets: list[Target], start: Callable[..., Rpc]
    ) -> None:
        self.seed = seed
        self.env = env
        self.targets = targets
        self.boxes = list({t.box.name: t.box for t in targets}.values())
        self.start_server = start
        self.lock = threading.Lock()
        self.deadline = time.monotonic() + SOAK_SECONDS
        self.attempted = 0
        self.saves: Counter[tuple[str, str]] = Counter()  # (kind, outcome)
        self.seconds: dict[str, list[float]] = {}  # how long each save of a kind took
        self.errors: Counter[str] = Counter()  # first line of each failed save's error
        self.faults: Counter[str] = Counter()
        self.violations: list[str] = []
        self.callers: set[Caller] = set()
        self.clients = [ServerClient() for _ in range(SERVER_CLIENTS)]
        self.servers: list[Rpc] = []
        self.killed_servers: set[int] = set()

    def rng(self, name: str) -> random.Random:
        return random.Random(f"{self.seed}/{name}")

    def over(self) -> bool:
        return time.monotonic() > self.deadline or self.attempted >= MAX_SAVES

    def violation(self, text: str) -> None:
        with self.lock:
            self.violations.append(text)

    def count(self, kind: str, outcome: str, began: float, error: str = "") -> None:
        """One save's outcome (``ok``, ``failed``, ``killed``), its time and its error."""
        with self.lock:
            self.saves[kind, outcome] += 1
            self.seconds.setdefault(kind, []).append(time.monotonic() - began)
            if outcome == "failed":
                self.errors[re.sub(r"\d+", "N", error)] += 1  # grouped: pids and sizes vary

    def pick(self, rng: random.Random) -> tuple[Target, bytes]:
        target, data = rng.choice(self.targets), content(rng)
        with self.lock:
            self.attempted += 1
            target.sent.add(digest(data))  # before sending: a killed save may land all the same
        return target, data

    def path_env(self, path_kind: str) -> dict[str, str]:
        return {**self.env, "HOTFIX_LOCAL_FS": "1" if path_kind == "local" else "0"}

    # --- CLI clients --------------------------------------------------------------------------

    def cli_client(self, name: str) -> None:
        rng = self.rng(name)
        while not self.over():
            self.cli_save(rng)

    def cli_save(self, rng: random.Random) -> None:
        target, data = self.pick(rng)
        path_kind = rng.choice(PATHS)
        began = time.monotonic()
        proc = subprocess.Popen(
            [*HOTFIX, "write", f"{target.box.name}:{target.path}", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.path_env(path_kind),
        )
        assert proc.stdout is not None
        caller = Caller(proc, os.readlink(f"/proc/self/fd/{proc.stdout.fileno()}"))
        with self.lock:
            self.callers.add(caller)
        try:
            _, err = proc.communicate(data, timeout=COMMAND_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
            self.violation(f"(hang) `hotfix write {target}` ran over {COMMAND_TIMEOUT:.0f} s")
        finally:
            with self.lock:
                self.callers.discard(caller)
            caller.done.set()
        outcome, error = self.judge_cli(caller, target, err.decode("utf-8", "replace"))
        self.count(f"cli/{path_kind}", outcome, began, error)

    def judge_cli(self, caller: Caller, target: Target, err: str) -> tuple[str, str]:
        """The outcome of a ``hotfix write`` and its error; what it must not do is a violation."""
        code = caller.proc.returncode
        if caller.fork_killed:
            if code != -signal.SIGKILL or "Traceback" in err:
                self.violation(
                    f"(12) the caller of a killed fork ({target}) exited {code} instead of "
                    f"dying by SIGKILL; stderr: {err.strip()[-300:]!r}"
                )
            return "killed", ""
        if "Traceback" in err:
            self.violation(f"(7) `hotfix write {target}` exited {code} with: {err[-600:]}")
        if caller.killed and code == -signal.SIGKILL:
            return "killed", ""
        if code < 0:
            self.violation(f"(7) `hotfix write {target}` died by signal {-code}, unsent")
        return ("ok", "") if code == 0 else ("failed", error_line(err) or f"exit {code}")

    # --- language-server clients ------------------------------------------------------------

    def server_client(self, index: int) -> None:
        """Saves through one language server at a time, a new one when it is killed; each
        client keeps to one file path (a server's is set by its environment)."""
        rng = self.rng(f"server-{index}")
        client = self.clients[index]
        path_kind = PATHS[index % len(PATHS)]
        while not self.over():
            server = self.start_server(env=self.path_env(path_kind))
            with self.lock:
                self.servers.append(server)
                client.server = server
            while not self.over() and self.server_save(rng, server, f"lsp/{path_kind}"):
                pass
            with self.lock:
                client.server = None
            server.close()

    def server_save(self, rng: random.Random, server: Rpc, kind: str) -> bool:
        """One ``hotfix/writeFile``; False when the server is gone."""
        target, data = self.pick(rng)
        params = {"uri": uri(target.box, target.path), "data": b64(data)}
        began = time.monotonic()
        try:
            answer = server.request(
                "hotfix/writeFile",
                {**params, "create": True, "overwrite": True},
                timeout=COMMAND_TIMEOUT,
            )
        except (ServerGone, BrokenPipeError):
            if server.proc.pid not in self.killed_servers:
                self.violation(f"(7) a language server died unprompted: {server.stderr[-600:]}")
            self.count(kind, "killed", began)
            return False
        except TimeoutError:
            self.violation(f"(hang) hotfix/writeFile {target} got no answer in time")
            self.count(kind, "failed", began, "no answer")
            return False
        if "error" in answer:
            self.count(kind, "failed", began, str(answer["error"].get("message")))
        else:
            self.count(kind, "ok", began)
        return True

    # --- faults -------------------------------------------------------------------------------

    def inject_faults(self) -> None:
        rng = self.rng("faults")
        first_round = list(FAULTS)
        rng.shuffle(first_round)  # every kind at least once, in a random order
        actions: dict[str, Callable[[random.Random], bool]] = {
            "kill caller": self.kill_caller,
            "kill fork": self.kill_fork,
            "kill resident": self.kill_resident,
            "kill server": self.kill_server,
            "restart container": self.restart_container,
            "pause container": self.pause_container,
        }
        while not self.over() and self.faults.total() < MAX_FAULTS:
            time.sleep(rng.uniform(0.2, 1.0))
            if first_round:
                kind = first_round.pop()
            else:
                kind = rng.choices(list(FAULTS), weights=list(FAULTS.values()))[0]
            if self.try_fault(actions[kind], rng):
                self.faults[kind] += 1

    def try_fault(self, action: Callable[[random.Random], bool], rng: random.Random) -> bool:
        """The fault, as soon as it can be done (there may be nothing to kill right now)."""
        for _ in range(60):
            if self.over():
                return False
            if action(rng):
                return True
            time.sleep(0.05)
        return False

    def live_callers(self) -> list[Caller]:
        with self.lock:
            return [c for c in self.callers if c.proc.returncode is None]

    def kill_caller(self, rng: random.Random) -> bool:
        callers = self.live_callers()
        if not callers:
            return False
        caller = rng.choice(callers)
        caller.killed = True
        with contextlib.suppress(ProcessLookupError):
            caller.proc.send_signal(signal.SIGKILL)
        return True

    def kill_fork(self, rng: random.Random) -> bool:
        """SIGKILL the fork that runs a caller's command; that caller must die by SIGKILL too."""
        processes = soak_processes(self.marker)
        residents = {p.pid for p in processes if p.resident}
        forks = {
            stdout_pipe(p.pid): p.pid
            for p in processes
            if p.fork and p.ppid in residents and age(p.pid) > FORK_STARTED
        }
        callers = [c for c in self.live_callers() if c.pipe in forks and not c.killed]
        if not callers:
            return False
        caller = rng.choice(callers)
        fork = forks[caller.pipe]
        if not stop_process(fork):
            return False
        caller.fork_killed = True
        os.kill(fork, signal.SIGKILL)
        # Its caller hears of it from the resident process: no other fault until it has.
        if not caller.done.wait(COMMAND_TIMEOUT):
            self.violation(f"(hang) the caller of killed fork {fork} did not end")
        return True

    def kill_resident(self, rng: random.Random) -> bool:
        residents = [p.pid for p in soak_processes(self.marker) if p.resident]
        for pid in residents:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return bool(residents)

    def kill_server(self, rng: random.Random) -> bool:
        with self.lock:
            servers = [c.server for c in self.clients if c.server and c.server.alive()]
        if not servers:
            return False
        server = rng.choice(servers)
        self.killed_servers.add(server.proc.pid)
        server.proc.send_signal(signal.SIGKILL)
        return True

    def restart_container(self, rng: random.Random) -> bool:
        rng.choice(self.boxes).container.restart(timeout=1)
        return True

    def pause_container(self, rng: random.Random) -> bool:
        box = rng.choice(self.boxes)
        box.container.pause()
        try:
            time.sleep(rng.uniform(0.1, 1.0))
        finally:
            box.container.unpause()
        return True

    @property
    def marker(self) -> bytes:
        return f"HOTFIX_CHAOS_RUN={self.env['HOTFIX_CHAOS_RUN']}".encode()


# --- running it, and what must hold afterwards -------------------------------------------


def run_soak(soak: Soak) -> None:
    work: list[tuple[str, Callable[[], None]]] = [
        *((f"cli-{i}", lambda i=i: soak.cli_client(f"cli-{i}")) for i in range(CLI_CLIENTS)),
        *((f"lsp-{i}", lambda i=i: soak.server_client(i)) for i in range(SERVER_CLIENTS)),
        ("faults", soak.inject_faults),
    ]
    threads = [
        threading.Thread(target=guarded(soak, name, run), name=name, daemon=True)
        for name, run in work
    ]
    for thread in threads:
        thread.start()
    # Each thread ends at the deadline once its save in flight has (each bounded in time).
    deadline = soak.deadline + 2 * COMMAND_TIMEOUT
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [t.name for t in threads if t.is_alive()]
    if stuck:
        soak.violation(f"(hang) still running {2 * COMMAND_TIMEOUT:.0f} s after the end: {stuck}")


def guarded(soak: Soak, name: str, run: Callable[[], None]) -> Callable[[], None]:
    """``run``, its unexpected exception recorded as a failure of the soak itself."""

    def body() -> None:
        try:
            run()
        except Exception as exc:
            soak.violation(f"(harness) {name}: {type(exc).__name__}: {exc}")
            raise

    return body


def quiesce(soak: Soak) -> None:
    """Close the language servers, let every command end, stop the resident process: then no
    process of the soak may be left (6). Their stderr holds no traceback (7)."""
    for server in soak.servers:
        server.close()
        if "Traceback" in server.stderr:
            soak.violation(f"(7) language server {server.proc.pid} logged: {server.stderr[-800:]}")
    left = wait_until_gone(soak.marker, keep=lambda p: p.resident, timeout=COMMAND_TIMEOUT)
    if left:
        stray = [describe(p.pid) for p in left]
        soak.violation(f"(6) still running {COMMAND_TIMEOUT:.0f} s after the soak: {stray}")
    final_command(soak, "daemon", "stop")
    left = wait_until_gone(soak.marker, keep=lambda p: False, timeout=15)
    if left:
        soak.violation(f"(6) left after `hotfix daemon stop`: {[describe(p.pid) for p in left]}")


def final_command(soak: Soak, *args: str) -> subprocess.CompletedProcess[str]:
    """A command after the soak, in its own process (no resident process is started again);
    it must succeed without a traceback (7)."""
    proc = subprocess.run(
        [*HOTFIX, *args],
        env={**soak.env, "HOTFIX_DAEMON": "off"},
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    if proc.returncode != 0 or "Traceback" in proc.stderr:
        soak.violation(f"(7) `hotfix {' '.join(args)}` exited {proc.returncode}: {proc.stderr}")
    return proc


def check_state(soak: Soak, state_dir: Path) -> Counter[str]:
    """After a final ``hotfix log`` has settled what dead processes left: no row ``started``
    (3), ``state.db`` intact (4), no intent temp file (13). The journal's outcomes."""
    final_command(soak, "log", "--json")
    db = sqlite3.connect(f"file:{state_dir / 'state.db'}?mode=ro", uri=True)
    try:
        started = db.execute(
            "SELECT id, action, container_name, path, detail FROM journal WHERE outcome = 'started'"
        ).fetchall()
        integrity = db.execute("PRAGMA integrity_check").fetchall()
        outcomes = Counter(dict(db.execute("SELECT outcome, count(*) FROM journal GROUP BY 1")))
    finally:
        db.close()
    if started:
        soak.violation(f"(3) journal rows left 'started' after `hotfix log`: {started}")
    if integrity != [("ok",)]:
        soak.violation(f"(4) PRAGMA integrity_check: {integrity}")
    leftovers = sorted(p.name for p in (state_dir / "intents").glob(".*.tmp"))
    if leftovers:
        soak.violation(f"(13) intent temp files left in {state_dir / 'intents'}: {leftovers}")
    return outcomes


def check_files_whole(soak: Soak) -> None:
    """(1): each file holds its original or exactly one of the contents sent to it."""
    for target in soak.targets:
        live = live_file(target.box, target.path)
        if live is None:
            if target.original is not None:
                soak.violation(f"(1) {target} is gone")
            continue
        allowed = set(target.sent)
        if target.original is not None:
            allowed.add(digest(target.original))
        if digest(live[0]) not in allowed:
            soak.violation(
                f"(1) {target} ({len(live[0])} bytes) is neither its original nor any of "
                f"the {len(target.sent)} contents sent to it"
            )


def temp_files(soak: Soak) -> list[str]:
    """Names in the containers' ``/chaos`` that are none of the soak's files (2)."""
    known = {o.name for o in ORIGINALS} | set(CREATED)
    return [f"{box.name}:/{DIRECTORY}/{n}" for box in soak.boxes for n in names_in(box) - known]


def check_revert(soak: Soak) -> None:
    """(5): ``hotfix revert`` brings back every original, owner and mode included, and
    removes what the soak created; ``hotfix diff`` then prints nothing."""
    for box in soak.boxes:
        final_command(soak, "diff", box.name)
        final_command(soak, "revert", box.name)
    for target in soak.targets:
        live = live_file(target.box, target.path)
        if target.meta is None or target.original is None:
            if live is not None:
                soak.violation(f"(5) {target}, created by the soak, is still there after revert")
        elif live is None or live[0] != target.original:
            soak.violation(f"(5) {target} is not its original after revert")
        elif (live[1].mode & 0o7777, live[1].uid, live[1].gid) != (
            target.meta.mode,
            target.meta.uid,
            target.meta.gid,
        ):
            soak.violation(f"(5) {target} has mode {live[1].mode:o} {live[1].uid}:{live[1].gid}")
    for box in soak.boxes:
        if diff := final_command(soak, "diff", box.name).stdout.strip():
            soak.violation(f"(5) `hotfix diff {box.name}` after revert: {diff[:300]}")


def check_soaked(soak: Soak) -> None:
    """The soak did what it is for: saves of each kind went through, each fault happened."""
    for kind in (f"{front}/{path}" for front in ("cli", "lsp") for path in PATHS):
        if not soak.saves[kind, "ok"]:
            soak.violation(f"(soak) no {kind} save succeeded")
    for fault in FAULTS:
        if not soak.faults[fault]:
            soak.violation(f"(soak) no '{fault}' fault was injected")


def figures(soak: Soak, journal: Counter[str], temps: list[str], times: dict[str, float]) -> str:
    outcomes = ("ok", "failed", "killed")
    lines = [
        f"chaos soak, seed {soak.seed} (HOTFIX_CHAOS_SEED={soak.seed} replays its choices)",
        f"{'saves':<12}{'attempted':>10}{'ok':>6}{'failed':>8}{'killed':>8}"
        f"{'median s':>10}{'max s':>8}",
    ]
    for kind in sorted(soak.seconds):
        counts = [soak.saves[kind, outcome] for outcome in outcomes]
        seconds = sorted(soak.seconds[kind])
        lines.append(
            f"{kind:<12}{sum(counts):>10}{counts[0]:>6}{counts[1]:>8}{counts[2]:>8}"
            f"{seconds[len(seconds) // 2]:>10.2f}{seconds[-1]:>8.2f}"
        )
    totals = [sum(n for (_, o), n in soak.saves.items() if o == outcome) for outcome in outcomes]
    lines.append(f"{'all':<12}{sum(totals):>10}{totals[0]:>6}{totals[1]:>8}{totals[2]:>8}")
    faults = ", ".join(f"{kind} {n}" for kind, n in sorted(soak.faults.items()))
    lines.append(f"faults ({soak.faults.total()}): {faults}")
    said = "; ".join(f"{n}× {error}" for error, n in soak.errors.most_common(6))
    lines.append(f"failed saves said: {said or '-'}")
    lines.append("journal rows: " + ", ".join(f"{k} {n}" for k, n in sorted(journal.items())))
    lines.append(f"temp files in the containers before the final revert: {temps or 'none'}")
    lines.append("time: " + ", ".join(f"{k} {v:.1f} s" for k, v in times.items()))
    return "\n".join(lines)


@pytest.fixture
def chaos_env(state_dir: Path) -> Iterator[dict[str, str]]:
    """The soak's environment: a runtime directory of its own (the resident process it kills
    is its own, not the other tests'), this test's state directory, and a marker that finds
    its processes under /proc. What is left of them afterwards is stopped."""
    runtime = tempfile.mkdtemp(prefix="hfx-chaos-")  # short: a socket's path fits 107 bytes
    env = {
        **os.environ,
        "XDG_RUNTIME_DIR": runtime,
        "HOTFIX_STATE_DIR": str(state_dir),
        "HOTFIX_CHAOS_RUN": uuid.uuid4().hex,
    }
    for name in ("HOTFIX_DAEMON", "HOTFIX_LOCAL_FS"):
        env.pop(name, None)
    yield env
    stop = [*HOTFIX, "daemon", "stop"]
    subprocess.run(stop, env=env, capture_output=True, timeout=60, check=False)
    for process in soak_processes(f"HOTFIX_CHAOS_RUN={env['HOTFIX_CHAOS_RUN']}".encode()):
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
    shutil.rmtree(runtime, ignore_errors=True)


def test_saves_under_random_faults_keep_every_invariant(
    chaos_env: dict[str, str],
    box: Running,
    run_container: Callable[..., Running],
    images: dict[str, str],
    state_dir: Path,
    lsp: Callable[..., Rpc],
) -> None:
    seed = int(os.environ.get("HOTFIX_CHAOS_SEED") or random.SystemRandom().randrange(1 << 32))
    print(f"chaos soak seed {seed}")
    began = time.monotonic()
    other = run_container(images["busybox"], command=["sleep", "3600"], stop_signal="KILL")
    planting = random.Random(f"{seed}/originals")
    targets = plant_originals(box, planting) + plant_originals(other, planting)
    soak = Soak(seed, chaos_env, targets, lsp)
    ready = time.monotonic()
    run_soak(soak)
    soaked = time.monotonic()
    quiesce(soak)
    journal = check_state(soak, state_dir)
    check_files_whole(soak)
    temps = temp_files(soak)
    check_revert(soak)
    if left := temp_files(soak):
        soak.violation(f"(2) temp files left in the containers after revert: {left}")
    check_soaked(soak)
    times = {
        "setup": ready - began,
        "soak": soaked - ready,
        "settling and checks": time.monotonic() - soaked,
        "whole test": time.monotonic() - began,
    }
    print(figures(soak, journal, temps, times))
    broken = "\n".join(soak.violations)
    assert not soak.violations, f"chaos soak seed {seed}: {len(soak.violations)} broken:\n{broken}"
