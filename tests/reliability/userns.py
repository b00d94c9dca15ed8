"""A user-namespaced Docker engine on this machine: ``dockerd --userns-remap=default``.

Used by ``tests/reliability/test_userns.py``; also usable by hand (root, Debian):

    scripts/userns-engine.sh start /tmp/eu   # prints export DOCKER_HOST=unix://... line
    scripts/userns-engine.sh stop /tmp/eu

``--userns-remap=default`` runs every container in a user namespace whose root is the first
ID of the ``dockremap`` user's subordinate ranges (``/etc/subuid``, ``/etc/subgid``), so a
file owned by uid 1000 inside a container is owned by uid START+1000 on the host.
``ensure_dockremap`` creates that user, its group and its ranges when they are missing
(idempotent; a fresh CI machine has none of them).

The engine is a plain ``dockerd`` with its own data root, exec root, pid file and unix socket
in DIR, and its own bridge (``hfx2-XXXXXXXX`` on a free 172.31.X.0/24) with
``--iptables=false``, as the fleet tests' second engine (``tests/fleet/engines.py``) — never
``--bridge=none``, which deletes the main engine's ``docker0``. It uses the same layout and
``engine.json`` state file as that one, so ``engines.stop(DIR)`` stops it and removes what
``start`` created, and ``engines.reap_stale`` (run by every start) stops one whose test
session died (DIR is a ``/tmp/hfx-engine2-userns-*``).
"""

from __future__ import annotations

import contextlib
import fcntl
import grp
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors

from tests.fleet import engines
from tests.fleet.engines import EngineError

Log = Callable[[str], Any]

REMAP_USER = "dockremap"  # what --userns-remap=default means
RANGE_SIZE = 65536  # IDs 0..65535 inside the container
FIRST_ID = 100000  # where Debian's useradd starts handing out subordinate IDs
SUBID_FILES = (Path("/etc/subuid"), Path("/etc/subgid"))
SUBID_LOCK = Path("/etc/.hotfix-test-subid.lock")
DIR_PREFIX = engines.DIR_PREFIX + "userns-"  # so engines.reap_stale finds it too


def _null_log(_msg: str) -> None:
    return None


# --------------------------------------------------------------------------- dockremap


@dataclass(frozen=True)
class Remap:
    """The host IDs that container uid/gid 0 map to, and how many IDs are mapped."""

    uid: int
    gid: int
    size: int

    def host_uid(self, uid: int) -> int:
        return self.uid + uid

    def host_gid(self, gid: int) -> int:
        return self.gid + gid


def _ranges(path: Path) -> list[tuple[str, int, int]]:
    """``name:start:count`` lines of a subordinate ID file (absent file: none)."""
    found = []
    with contextlib.suppress(FileNotFoundError):
        for line in path.read_text().splitlines():
            parts = line.strip().split(":")
            if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                found.append((parts[0], int(parts[1]), int(parts[2])))
    return found


def _ensure_range(path: Path, log: Log) -> int:
    """The start of ``dockremap``'s range in ``path``, appended when it has none big enough.

    A new range starts after every range already in the file (at ``FIRST_ID`` or above),
    so it overlaps no other user's.
    """
    ranges = _ranges(path)
    for name, start, count in ranges:
        if name == REMAP_USER and count >= RANGE_SIZE:
            return start
    start = max([FIRST_ID, *(start + count for _, start, count in ranges)])
    text = path.read_text() if path.exists() else ""
    if text and not text.endswith("\n"):
        text += "\n"
    tmp = path.with_name(path.name + ".hotfix-tmp")
    tmp.write_text(f"{text}{REMAP_USER}:{start}:{RANGE_SIZE}\n")
    os.chmod(tmp, 0o644)
    tmp.rename(path)
    log(f"[userns] {path}: added {REMAP_USER}:{start}:{RANGE_SIZE}")
    return start


def ensure_dockremap(log: Log = _null_log) -> Remap:
    """The ``dockremap`` user and group and their subordinate ranges; created if missing."""
    if os.geteuid() != 0:
        raise EngineError("a user-namespaced engine needs root (it edits /etc/subuid)")
    with SUBID_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            try:
                grp.getgrnam(REMAP_USER)
            except KeyError:
                engines._run(["groupadd", "--system", REMAP_USER])
                log(f"[userns] created group {REMAP_USER}")
            try:
                pwd.getpwnam(REMAP_USER)
            except KeyError:
                engines._run([
                    "useradd", "--system", "--gid", REMAP_USER, "--no-create-home",
                    "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", REMAP_USER,
                ])  # fmt: skip
                log(f"[userns] created user {REMAP_USER}")
            uid_start, gid_start = (_ensure_range(path, log) for path in SUBID_FILES)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return Remap(uid_start, gid_start, RANGE_SIZE)


# --------------------------------------------------------------------------- the engine


@dataclass
class UsernsEngine:
    """A running ``dockerd --userns-remap=default`` on a unix socket of its own."""

    dir: Path
    unix_url: str
    bridge: str
    subnet: str
    pid: int
    remap: Remap
    timings: dict[str, float] = field(default_factory=dict)
    _clients: list[docker.DockerClient] = field(default_factory=list, repr=False)

    @property
    def socket_path(self) -> Path:
        return Path(self.unix_url.removeprefix("unix://"))

    def env(self) -> dict[str, str]:
        """For the ``hotfix`` CLI (and ``docker``): this engine as the default one."""
        return {"DOCKER_HOST": self.unix_url}

    def client(self, **kwargs: Any) -> docker.DockerClient:
        """A new client on the socket (closed when the engine stops)."""
        client = docker.DockerClient(base_url=self.unix_url, **kwargs)
        self._clients.append(client)
        return client

    def load_image(self, ref: str, source: docker.DockerClient, log: Log = _null_log) -> str:
        """Copy an image from ``source`` (``docker save | docker load``); returns its id."""
        image_id = str(source.images.get(ref).id)
        target = self.client()
        t0 = time.monotonic()
        target.images.load(source.api.get_image(ref))
        if target.images.get(ref).id != image_id:
            raise EngineError(f"{ref} loaded into the userns engine with another id")
        self.timings[f"load {ref}"] = time.monotonic() - t0
        log(f"[userns] loaded {ref} in {self.timings[f'load {ref}']:.1f} s")
        return image_id

    def close_clients(self) -> None:
        for client in self._clients:
            with contextlib.suppress(Exception):
                client.close()
        self._clients.clear()


def start(
    directory: Path | None = None, *, owned: bool = True, log: Log = _null_log
) -> UsernsEngine:
    """Start ``dockerd --userns-remap=default`` in ``directory`` (a new /tmp dir by default).

    ``owned``: the engine belongs to this process; once it has died, the next start of any
    test engine stops it. Use ``owned=False`` for an engine started by hand.
    """
    engines.ensure_tools(log)
    engines.reap_stale(log)
    reap_leftovers(log)
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    remap = ensure_dockremap(log)
    timings["dockremap"] = time.monotonic() - t0
    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix=DIR_PREFIX))
    else:
        directory = directory.resolve()
        directory.mkdir(parents=True, exist_ok=True)
        if (directory / engines.STATE_FILE).exists():
            raise EngineError(f"{directory} already holds an engine; stop it first")
    # The remapped root must be able to walk down to the data root (dockerd checks every
    # directory above it for o+x); mkdtemp made this one 0700.
    directory.chmod(0o711)
    state: dict[str, Any] = {"name": "userns", "dir": str(directory), "userns": True}
    if owned:
        state.update(owner_pid=os.getpid(), owner_start=engines._proc_start(os.getpid()))
    engines._write_state(directory, state)
    try:
        t0 = time.monotonic()
        with engines._machine_lock():
            subnet = engines._pick_subnet()
            bridge = engines.BRIDGE_PREFIX + uuid.uuid4().hex[:8]
            state.update(bridge=bridge, subnet=str(subnet))
            engines._write_state(directory, state)
            engines._run(["ip", "link", "add", bridge, "type", "bridge"])
            address = f"{subnet.network_address + 1}/{subnet.prefixlen}"
            engines._run(["ip", "addr", "add", address, "dev", bridge])
            engines._run(["ip", "link", "set", bridge, "up"])
        timings["bridge"] = time.monotonic() - t0

        t0 = time.monotonic()
        sock = directory / "docker.sock"
        log_path = directory / "dockerd.log"
        # Our own daemon.json (not /etc/docker's) and trust key: see tests/fleet/engines.py.
        daemon_json = {"deprecated-key-path": str(directory / "key.json")}
        (directory / "daemon.json").write_text(json.dumps(daemon_json) + "\n")
        argv = [
            "dockerd",
            "--config-file", str(directory / "daemon.json"),
            "--data-root", str(directory / "data"),
            "--exec-root", str(directory / "exec"),
            "--pidfile", str(directory / "docker.pid"),
            "-H", f"unix://{sock}",
            "--bridge", bridge,
            "--iptables=false",
            "--userns-remap=default",
        ]  # fmt: skip
        with log_path.open("ab") as log_file:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        engines._children[proc.pid] = proc
        state.update(pid=proc.pid, pid_start=engines._proc_start(proc.pid))
        engines._write_state(directory, state)
        engine = UsernsEngine(
            dir=directory,
            unix_url=f"unix://{sock}",
            bridge=bridge,
            subnet=str(subnet),
            pid=proc.pid,
            remap=remap,
            timings=timings,
        )
        engines._wait_answering(
            proc, lambda: docker.DockerClient(base_url=engine.unix_url), log_path, "unix"
        )
        timings["dockerd"] = time.monotonic() - t0
        info = engine.client().info()
        expected_root = directory / "data" / f"{remap.uid}.{remap.gid}"
        if Path(info["DockerRootDir"]) != expected_root:
            raise EngineError(
                f"{engine.unix_url} answers with data root {info['DockerRootDir']}, not "
                f"{expected_root}: not our dockerd, or not remapped"
            )
        if "name=userns" not in info.get("SecurityOptions", []):
            raise EngineError(f"{engine.unix_url} does not report userns in SecurityOptions")
        log(
            f"[userns] {engine.unix_url} (bridge {bridge} {subnet}, root -> "
            f"{remap.uid}:{remap.gid}) up: "
            + ", ".join(f"{k} {v:.2f} s" for k, v in timings.items())
        )
        return engine
    except BaseException:
        stop(directory, log=log)
        raise


def _exec_roots(directory: Path) -> list[Path]:
    """``exec.UID.GID``: a remapped dockerd's exec root is EXEC_ROOT.UID.GID, beside ours."""
    return [p for p in directory.glob("exec.*") if re.fullmatch(r"exec\.\d+\.\d+", p.name)]


def stop(directory: Path, log: Log = _null_log) -> None:
    """Stop the engine of ``directory``, delete its bridge and what start created there."""
    directory = Path(directory).resolve()
    engines.stop(directory, log=log)  # the daemon, containers, mounts, bridge, data, exec
    if engines._mounts_under(directory):
        raise EngineError(f"{directory} still has mounts; not deleting it")
    for path in _exec_roots(directory):
        shutil.rmtree(path, ignore_errors=True)
    with contextlib.suppress(OSError):
        directory.rmdir()  # only when empty


def reap_leftovers(log: Log = _null_log, min_age: float = 60.0) -> None:
    """Directories of stopped engines that ``engines.reap_stale`` (which stops engines
    whose session died) left behind: nothing but ``exec.UID.GID`` in them."""
    for directory in Path(tempfile.gettempdir()).glob(f"{DIR_PREFIX}*"):
        with contextlib.suppress(OSError):
            if time.time() - directory.stat().st_mtime < min_age:
                continue
            if {p.name for p in directory.iterdir()} == {p.name for p in _exec_roots(directory)}:
                log(f"[userns] removing leftover {directory}")
                stop(directory, log=log)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print("usage: userns-engine.sh start|stop DIR", file=sys.stderr)
        return 2
    command, directory = argv[0], Path(argv[1])

    def log(msg: str) -> None:
        print(msg, file=sys.stderr)

    try:
        if command == "start":
            engine = start(directory, owned=False, log=log)
            engine.close_clients()
            engines._children.clear()  # dockerd outlives this process
            print(f"export DOCKER_HOST={engine.unix_url}")
        else:
            stop(directory, log=log)
    except EngineError as exc:
        print(f"userns engine: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
