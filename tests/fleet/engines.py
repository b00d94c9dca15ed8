"""A second Docker engine (a second "host") on this machine, and Swarm on the main engine.

Used by ``tests/fleet/conftest.py``; also usable by hand (root, Debian):

    scripts/second-engine.sh start /tmp/e2   # prints export DOCKER_HOST=... lines
    scripts/second-engine.sh stop /tmp/e2

The second engine is a plain ``dockerd`` with its own data root, exec root, pid file and
bridge (``hfx2-XXXXXXXX``, a free 172.31.X.0/24), ``--iptables=false``, listening on a unix
socket and on ``tcp://127.0.0.1:PORT`` with mutual TLS (a throw-away CA made with the
``openssl`` CLI). Never ``--bridge=none``: that deletes the main engine's ``docker0``.

Everything an engine owns is written to ``DIR/engine.json`` before it is created, so
``stop(DIR)`` undoes a half-finished start, and an engine whose owning process died
(pytest killed) is stopped by the next ``start`` (``reap_stale``).
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors
import docker.tls
import docker.types

Log = Callable[[str], Any]

STATE_FILE = "engine.json"
DIR_PREFIX = "hfx-engine2-"
BRIDGE_PREFIX = "hfx2-"
CONTEXT_UNIX = "hotfix-engine2"
CONTEXT_TLS = "hotfix-engine2-tls"
# Candidate subnets for the second engine's bridge; the first one that overlaps no route
# and no address of this host is taken (another engine may already use 172.31.250.0/24).
SUBNETS = [f"172.31.{x}.0/24" for x in range(200, 255)]
LOCK_FILE = Path(tempfile.gettempdir()) / "hotfix-test-engines.lock"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0

# What start() creates inside DIR; stop() removes exactly these (and DIR when it is empty).
_OWNED = (
    "data",
    "exec",
    "ca",
    "server",
    "certs",
    "docker-config",
    "daemon.json",
    "key.json",
    "docker.sock",
    "docker.pid",
    "dockerd.log",
    STATE_FILE,
)


class EngineError(RuntimeError):
    pass


def _null_log(_msg: str) -> None:
    return None


# --------------------------------------------------------------------------- processes


def _proc_start(pid: int) -> int | None:
    """Start time of a process (clock ticks since boot), to tell a pid from a reused one."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def _alive(pid: int | None, start: int | None) -> bool:
    if not pid:
        return False
    now = _proc_start(pid)
    return now is not None and (start is None or now == start)


def _pids_mentioning(text: str) -> list[int]:
    """Processes whose command line contains ``text`` (our unique engine directory)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(int(entry.name))
    return found


_children: dict[int, subprocess.Popen[bytes]] = {}


def _wait_exit(pid: int, timeout: float) -> bool:
    proc = _children.get(pid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None:
            if proc.poll() is not None:
                _children.pop(pid, None)
                return True
        elif _proc_start(pid) is None:
            return True
        time.sleep(0.05)
    return False


def _terminate(pid: int, start: int | None, timeout: float, log: Log) -> None:
    if not _alive(pid, start):
        _wait_exit(pid, 0.1)  # reap a zombie child
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if _wait_exit(pid, timeout):
        return
    log(f"[engine2] pid {pid} ignored SIGTERM for {timeout:.0f} s; SIGKILL")
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _wait_exit(pid, 5)


def _run(argv: list[str], env: dict[str, str] | None = None, **kw: Any) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, **kw)
    if proc.returncode != 0:
        raise EngineError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


@contextlib.contextmanager
def _machine_lock() -> Iterator[None]:
    """Serialise subnet choice + bridge creation between test sessions on this machine."""
    with LOCK_FILE.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# --------------------------------------------------------------------------- prerequisites


def ensure_tools(log: Log = _null_log) -> None:
    if os.geteuid() != 0:
        raise EngineError("a second engine needs root (it creates a bridge and runs dockerd)")
    missing = [tool for tool in ("dockerd", "docker", "ip") if shutil.which(tool) is None]
    if missing:
        raise EngineError(f"missing {', '.join(missing)}; run scripts/ensure-engine.sh first")
    if shutil.which("openssl") is None:
        if not Path("/etc/debian_version").exists():
            raise EngineError("the openssl CLI is missing; install it")
        log("[engine2] installing Debian's openssl package")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        _run(["apt-get", "update", "-qq"], env=env)
        _run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "openssl"], env=env)


# --------------------------------------------------------------------------- TLS

_OPENSSL_CNF = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
"""


def make_certs(directory: Path) -> dict[str, Path]:
    """A CA, a server cert (127.0.0.1, localhost) and a client cert, with the openssl CLI.

    Layout: ``ca/{ca.pem,ca-key.pem}``, ``server/{cert.pem,key.pem}``, and
    ``certs/{ca.pem,cert.pem,key.pem}`` (the client side, a ``DOCKER_CERT_PATH``).
    EC P-256 keys: generating them takes milliseconds.
    """
    ca_dir, server_dir, client_dir = directory / "ca", directory / "server", directory / "certs"
    for d in (ca_dir, server_dir, client_dir):
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
    cnf = ca_dir / "openssl.cnf"
    cnf.write_text(_OPENSSL_CNF)
    newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ca_pem, ca_key = ca_dir / "ca.pem", ca_dir / "ca-key.pem"
    _run([
        "openssl", "req", "-config", str(cnf), "-x509", *newkey, "-days", "7",
        "-subj", "/CN=hotfix-test engine2 CA", "-extensions", "ca",
        "-keyout", str(ca_key), "-out", str(ca_pem),
    ])  # fmt: skip
    for kind, target, cn in (
        ("server", server_dir, "localhost"),
        ("client", client_dir, "hotfix-test client"),
    ):
        csr = target / "req.csr"
        _run([
            "openssl", "req", "-config", str(cnf), "-new", *newkey, "-subj", f"/CN={cn}",
            "-keyout", str(target / "key.pem"), "-out", str(csr),
        ])  # fmt: skip
        _run([
            "openssl", "x509", "-req", "-in", str(csr), "-sha256", "-days", "7",
            "-CA", str(ca_pem), "-CAkey", str(ca_key), "-CAcreateserial",
            "-extfile", str(cnf), "-extensions", kind, "-out", str(target / "cert.pem"),
        ])  # fmt: skip
        csr.unlink()
    shutil.copyfile(ca_pem, client_dir / "ca.pem")
    return {
        "ca": ca_pem,
        "server_cert": server_dir / "cert.pem",
        "server_key": server_dir / "key.pem",
        "client_dir": client_dir,
    }


# --------------------------------------------------------------------------- network


def _used_networks() -> list[ipaddress.IPv4Network]:
    nets = []
    for argv in (["ip", "-j", "-4", "route", "show", "table", "all"], ["ip", "-j", "-4", "addr"]):
        for entry in json.loads(_run(argv) or "[]"):
            candidates = [entry.get("dst")]
            for addr in entry.get("addr_info", []):
                candidates.append(f"{addr['local']}/{addr.get('prefixlen', 32)}")
            for dst in candidates:
                if dst and dst != "default":
                    with contextlib.suppress(ValueError):
                        nets.append(ipaddress.ip_network(dst, strict=False))
    return [n for n in nets if isinstance(n, ipaddress.IPv4Network)]


def _pick_subnet() -> ipaddress.IPv4Network:
    used = _used_networks()
    for text in SUBNETS:
        net = ipaddress.IPv4Network(text)
        if not any(net.overlaps(u) for u in used if u.prefixlen > 0):
            return net
    raise EngineError(f"no free subnet among {SUBNETS[0]} .. {SUBNETS[-1]}")


def _link_exists(name: str) -> bool:
    return Path(f"/sys/class/net/{name}").exists()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- state


def _read_state(directory: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads((directory / STATE_FILE).read_text())
        return data
    except (OSError, ValueError):
        return {}


def _write_state(directory: Path, state: dict[str, Any]) -> None:
    tmp = directory / (STATE_FILE + ".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    tmp.rename(directory / STATE_FILE)


# --------------------------------------------------------------------------- the engine


@dataclass
class SecondEngine:
    """A running second dockerd. ``cert_dir`` holds the client's ca.pem, cert.pem, key.pem.

    It has its own engine ID (``info()["ID"]``, from its own trust key) but reports the same
    ``info()["Name"]`` (the machine's hostname) as the main engine: tell engines apart by
    ID or endpoint, not by name.
    """

    name: str
    dir: Path
    unix_url: str
    tcp_url: str
    cert_dir: Path
    docker_config: Path
    bridge: str
    subnet: str
    pid: int
    context: str = CONTEXT_UNIX
    tls_context: str = CONTEXT_TLS
    timings: dict[str, float] = field(default_factory=dict)
    _clients: list[docker.DockerClient] = field(default_factory=list, repr=False)
    _api_version: str = field(default="", repr=False)
    _admin_client: docker.DockerClient | None = field(default=None, repr=False)

    @property
    def socket_path(self) -> Path:
        return Path(self.unix_url.removeprefix("unix://"))

    def tls_config(self, client_cert: bool = True) -> docker.tls.TLSConfig:
        cert = (str(self.cert_dir / "cert.pem"), str(self.cert_dir / "key.pem"))
        return docker.tls.TLSConfig(
            client_cert=cert if client_cert else None,
            ca_cert=str(self.cert_dir / "ca.pem"),
            verify=True,
        )

    def client_unix(self, **kwargs: Any) -> docker.DockerClient:
        """A new client on the unix socket (closed when the engine stops)."""
        client = docker.DockerClient(base_url=self.unix_url, **kwargs)
        self._clients.append(client)
        return client

    def client_tls(self, client_cert: bool = True, **kwargs: Any) -> docker.DockerClient:
        """A new client on tcp://127.0.0.1:PORT with the client certificate.

        ``trust_env`` is off: requests lets ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` from
        the environment override the session's CA file (psf/requests#3829), and then our CA
        is not trusted. The API version is asked on the unix socket for the same reason
        (``version="auto"`` would make a request before ``trust_env`` can be turned off).
        """
        if "version" not in kwargs:
            kwargs["version"] = self.api_version()
        base_url = self.tcp_url.replace("tcp://", "https://")
        client = docker.DockerClient(base_url=base_url, tls=self.tls_config(client_cert), **kwargs)
        client.api.trust_env = False
        self._clients.append(client)
        return client

    def api_version(self) -> str:
        if not self._api_version:
            client = docker.DockerClient(base_url=self.unix_url)
            try:
                self._api_version = str(client.version()["ApiVersion"])
            finally:
                client.close()
        return self._api_version

    def env_unix(self) -> dict[str, str]:
        return {"DOCKER_HOST": self.unix_url}

    def env_tls(self) -> dict[str, str]:
        """For the ``docker`` CLI: the TLS endpoint with the client cert.

        ``docker.from_env(environment=...)`` with these fails while ``REQUESTS_CA_BUNDLE`` or
        ``CURL_CA_BUNDLE`` is set (as on these machines): see ``client_tls``.
        """
        return {
            "DOCKER_HOST": self.tcp_url,
            "DOCKER_TLS_VERIFY": "1",
            "DOCKER_CERT_PATH": str(self.cert_dir),
        }

    def env_contexts(self) -> dict[str, str]:
        """``DOCKER_CONFIG`` of the throw-away config dir holding the two contexts."""
        return {"DOCKER_CONFIG": str(self.docker_config)}

    def load_image(self, ref: str, source: docker.DockerClient, log: Log = _null_log) -> str:
        """Copy an image from ``source`` (``docker save | docker load``); returns its id.

        A no-op when this engine already has ``ref`` with the same id.
        """
        image_id: str = source.images.get(ref).id
        target = self._admin()
        with contextlib.suppress(docker.errors.ImageNotFound):
            if target.images.get(ref).id == image_id:
                return image_id
        t0 = time.monotonic()
        # Streamed both ways (2 MB chunks): the archive is never held in memory whole.
        target.images.load(source.api.get_image(ref))
        if target.images.get(ref).id != image_id:
            raise EngineError(f"{ref} loaded into {self.name} with another id")
        self.timings[f"load {ref}"] = time.monotonic() - t0
        log(f"[engine2] loaded {ref} in {self.timings[f'load {ref}']:.1f} s")
        return image_id

    def remove_containers(self) -> int:
        containers = self._admin().containers.list(all=True)
        for container in containers:
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True, v=True)
        return len(containers)

    def _admin(self) -> docker.DockerClient:
        if self._admin_client is None:
            self._admin_client = self.client_unix()
        return self._admin_client

    def close_clients(self) -> None:
        self._admin_client = None
        for client in self._clients:
            with contextlib.suppress(Exception):
                client.close()
        self._clients.clear()


def _docker_cli_env(docker_config: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")
    }
    env["DOCKER_CONFIG"] = str(docker_config)
    return env


def _create_contexts(engine: SecondEngine) -> None:
    engine.docker_config.mkdir(mode=0o700, parents=True, exist_ok=True)
    # docker-py finds the contexts next to the config.json it finds: without this file it
    # falls back to ~/.docker/config.json (and then to ./contexts).
    config = engine.docker_config / "config.json"
    if not config.exists():
        config.write_text("{}\n")
    env = _docker_cli_env(engine.docker_config)
    certs = engine.cert_dir
    tls = f"ca={certs}/ca.pem,cert={certs}/cert.pem,key={certs}/key.pem"
    for context, what, endpoint in (
        (engine.context, "unix socket", f"host={engine.unix_url}"),
        (engine.tls_context, "TLS", f"host={engine.tcp_url},{tls}"),
    ):
        describe = ["--description", f"hotfix test {engine.name} ({what})"]
        _run(["docker", "context", "create", context, *describe, "--docker", endpoint], env=env)


def _wait_answering(
    proc: subprocess.Popen[bytes],
    make: Callable[[], docker.DockerClient],
    log_path: Path,
    what: str,
    timeout: float = START_TIMEOUT,
) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise EngineError(
                f"dockerd exited with {proc.returncode} before {what} answered:\n{_tail(log_path)}"
            )
        try:
            client = make()
        except Exception as exc:  # not listening yet
            last = exc
            time.sleep(0.05)
            continue
        try:
            client.ping()
            return
        except Exception as exc:
            if "SSL" in str(exc):  # a certificate problem does not go away by waiting
                raise EngineError(f"{what}: {exc}\n{_tail(log_path)}") from exc
            last = exc
            time.sleep(0.05)
        finally:
            client.close()
    raise EngineError(f"{what} did not answer in {timeout:.0f} s ({last}):\n{_tail(log_path)}")


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def start(
    directory: Path | None = None,
    *,
    name: str = "engine2",
    owned: bool = True,
    log: Log = _null_log,
) -> SecondEngine:
    """Start a second engine in ``directory`` (a new /tmp/hfx-engine2-* by default).

    ``owned``: the engine belongs to this process; once it has died, the next ``start``
    stops the engine (``reap_stale``). Use ``owned=False`` for an engine started by hand.
    """
    ensure_tools(log)
    reap_stale(log)
    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix=DIR_PREFIX))
    else:
        directory = directory.resolve()
        directory.mkdir(parents=True, exist_ok=True)
        if (directory / STATE_FILE).exists():
            raise EngineError(f"{directory} already holds an engine; stop it first")
    state: dict[str, Any] = {"name": name, "dir": str(directory)}
    if owned:
        state.update(owner_pid=os.getpid(), owner_start=_proc_start(os.getpid()))
    _write_state(directory, state)
    timings: dict[str, float] = {}
    try:
        t0 = time.monotonic()
        certs = make_certs(directory)
        timings["certs"] = time.monotonic() - t0

        t0 = time.monotonic()
        with _machine_lock():
            subnet = _pick_subnet()
            bridge = BRIDGE_PREFIX + uuid.uuid4().hex[:8]
            state.update(bridge=bridge, subnet=str(subnet))
            _write_state(directory, state)
            _run(["ip", "link", "add", bridge, "type", "bridge"])
            _run(
                [
                    "ip",
                    "addr",
                    "add",
                    f"{subnet.network_address + 1}/{subnet.prefixlen}",
                    "dev",
                    bridge,
                ]
            )
            _run(["ip", "link", "set", bridge, "up"])
        timings["bridge"] = time.monotonic() - t0

        t0 = time.monotonic()
        port = free_port()
        sock = directory / "docker.sock"
        log_path = directory / "dockerd.log"
        # Our own daemon.json (not /etc/docker's), and our own trust key: the engine ID
        # (`docker info` ID) comes from that key, /etc/docker/key.json by default, so
        # without it both engines would report the same ID.
        daemon_json = {"deprecated-key-path": str(directory / "key.json")}
        (directory / "daemon.json").write_text(json.dumps(daemon_json) + "\n")
        argv = [
            "dockerd",
            "--config-file", str(directory / "daemon.json"),
            "--data-root", str(directory / "data"),
            "--exec-root", str(directory / "exec"),
            "--pidfile", str(directory / "docker.pid"),
            "-H", f"unix://{sock}",
            "-H", f"tcp://127.0.0.1:{port}",
            "--tlsverify",
            "--tlscacert", str(certs["ca"]),
            "--tlscert", str(certs["server_cert"]),
            "--tlskey", str(certs["server_key"]),
            "--bridge", bridge,
            "--iptables=false",
            "--userland-proxy=true",
        ]  # fmt: skip
        with log_path.open("ab") as log_file:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _children[proc.pid] = proc
        state.update(pid=proc.pid, pid_start=_proc_start(proc.pid), port=port)
        _write_state(directory, state)
        engine = SecondEngine(
            name=name,
            dir=directory,
            unix_url=f"unix://{sock}",
            tcp_url=f"tcp://127.0.0.1:{port}",
            cert_dir=certs["client_dir"],
            docker_config=directory / "docker-config",
            bridge=bridge,
            subnet=str(subnet),
            pid=proc.pid,
            timings=timings,
        )
        _wait_answering(
            proc, lambda: docker.DockerClient(base_url=engine.unix_url), log_path, "unix"
        )
        timings["dockerd"] = time.monotonic() - t0
        t0 = time.monotonic()
        _wait_answering(proc, engine.client_tls, log_path, "TLS", timeout=10)
        root = engine.client_unix().info()["DockerRootDir"]
        if Path(root) != directory / "data":
            raise EngineError(f"{engine.unix_url} answers with data root {root}: not our dockerd")
        timings["tls"] = time.monotonic() - t0

        t0 = time.monotonic()
        _create_contexts(engine)
        timings["contexts"] = time.monotonic() - t0
        log(
            f"[engine2] {engine.unix_url} + {engine.tcp_url} (bridge {bridge} {subnet}) up: "
            + ", ".join(f"{k} {v:.2f} s" for k, v in timings.items())
        )
        return engine
    except BaseException:
        stop(directory, log=log)
        raise


def _mounts_under(root: Path) -> list[str]:
    prefix = str(root) + "/"
    found = []
    with open("/proc/self/mounts") as f:
        for line in f:
            target = line.split()[1].replace("\\040", " ")
            if target.startswith(prefix) or target == str(root):
                found.append(target)
    return sorted(set(found), key=len, reverse=True)


def stop(directory: Path, log: Log = _null_log) -> None:
    """Stop the engine of ``directory`` and remove what ``start`` created. Idempotent."""
    directory = Path(directory).resolve()
    state = _read_state(directory)
    if not state and not any((directory / name).exists() for name in _OWNED):
        return
    pid, pid_start = state.get("pid"), state.get("pid_start")
    sock = directory / "docker.sock"
    if pid and _alive(pid, pid_start) and sock.exists():
        try:
            client = docker.DockerClient(base_url=f"unix://{sock}", timeout=20)
            try:
                for container in client.containers.list(all=True):
                    with contextlib.suppress(docker.errors.NotFound):
                        container.remove(force=True, v=True)
            finally:
                client.close()
        except Exception as exc:  # the daemon is going away anyway
            log(f"[engine2] could not remove containers: {exc}")
    if pid:
        _terminate(pid, pid_start, STOP_TIMEOUT, log)
    # containerd and shims of a killed dockerd: they name our directory on their command line
    for stray in _pids_mentioning(str(directory) + "/"):
        log(f"[engine2] stopping stray process {stray}")
        _terminate(stray, _proc_start(stray), 5, log)
    for target in _mounts_under(directory):
        subprocess.run(["umount", "-l", target], capture_output=True, check=False)
    bridge = state.get("bridge")
    if bridge and bridge.startswith(BRIDGE_PREFIX) and _link_exists(bridge):
        subprocess.run(["ip", "link", "del", bridge], capture_output=True, check=False)
    if _mounts_under(directory):
        raise EngineError(f"{directory} still has mounts; not deleting it")
    for name in _OWNED:
        path = directory / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    with contextlib.suppress(OSError):
        directory.rmdir()  # only when empty


def reap_stale(log: Log = _null_log) -> None:
    """Stop engines left behind by a test session that died (kill -9, OOM, CI timeout)."""
    for state_path in Path(tempfile.gettempdir()).glob(f"{DIR_PREFIX}*/{STATE_FILE}"):
        state = _read_state(state_path.parent)
        owner = state.get("owner_pid")
        if owner and not _alive(owner, state.get("owner_start")):
            log(f"[engine2] stopping stale engine {state_path.parent} (owner {owner} is gone)")
            with contextlib.suppress(Exception):
                stop(state_path.parent, log)


# --------------------------------------------------------------------------- Swarm

TEST_LABEL = "hotfix.test"
OWNER_LABEL = "hotfix.test.owner"
# Who uses the test swarm, and whether the tests initialised it. Kept beside the engine's
# own swarm state (which survives reboots), not in /run.
SWARM_DIR = Path("/var/tmp/hotfix-test-swarm")
SWARM_MARKER = "initialized-by-tests"
TASK_FAILED = {"rejected", "failed", "orphaned"}
SECOND = 1_000_000_000  # swarm durations are in nanoseconds


def _me() -> str:
    return f"{os.getpid()}-{_proc_start(os.getpid())}"


def _owner_alive(owner: str) -> bool:
    pid, _, start = owner.partition("-")
    try:
        return _alive(int(pid), int(start) if start.isdigit() else None)
    except ValueError:
        return False


@contextlib.contextmanager
def _swarm_lock() -> Iterator[None]:
    SWARM_DIR.mkdir(parents=True, exist_ok=True)
    with (SWARM_DIR / ".lock").open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@dataclass
class SwarmService:
    """A replicated service of the test swarm; its tasks' containers run on the main engine."""

    name: str
    id: str
    image: str
    replicas: int
    target_port: int | None
    publish_mode: str | None
    client: docker.DockerClient = field(repr=False)

    def model(self) -> Any:
        return self.client.services.get(self.id)

    def tasks(self, desired: str | None = "running") -> list[dict[str, Any]]:
        filters = {"service": self.id}
        if desired:
            filters["desired-state"] = desired
        tasks: list[dict[str, Any]] = self.client.api.tasks(filters=filters)
        return tasks

    def containers(self, all: bool = False) -> list[Any]:
        """The task containers, found as a product would: by the swarm service label."""
        label = f"com.docker.swarm.service.name={self.name}"
        return list(self.client.containers.list(all=all, filters={"label": label}))

    def urls(self) -> list[str]:
        """One ``http://127.0.0.1:PORT/`` per running task (``publish_mode="host"``)."""
        assert self.target_port and self.publish_mode == "host", "no per-task ports published"
        urls = []
        for container in self.containers():
            bindings = container.ports.get(f"{self.target_port}/tcp") or []
            if bindings:
                urls.append(f"http://127.0.0.1:{bindings[0]['HostPort']}/")
        return sorted(urls)

    @property
    def published_port(self) -> int | None:
        """The ingress port (``publish_mode="ingress"``); not reachable on 127.0.0.1 here."""
        for port in self.model().attrs.get("Endpoint", {}).get("Ports", []):
            if port.get("PublishMode") == "ingress":
                return int(port["PublishedPort"])
        return None

    def scale(self, replicas: int, wait: bool = True, timeout: float = 60.0) -> None:
        self.model().scale(replicas)
        self.replicas = replicas
        if wait:
            self.wait_converged(timeout)

    def wait_converged(self, timeout: float = 60.0) -> float:
        """Until exactly ``replicas`` tasks run (healthy, when there is a healthcheck)."""
        t0 = time.monotonic()
        deadline = t0 + timeout
        states: list[str] = []
        while True:
            tasks = self.tasks()
            states = [t["Status"]["State"] for t in tasks]
            # (the engine lists a task's container as soon as the task runs)
            if (
                len(states) == self.replicas
                and all(s == "running" for s in states)
                and len(self.containers()) >= self.replicas
            ):
                return time.monotonic() - t0
            for task in self.tasks(desired=None):
                status = task["Status"]
                if status["State"] == "rejected":  # the node cannot run it: no use waiting
                    raise EngineError(f"service {self.name}: task rejected: {status.get('Err')}")
            if time.monotonic() > deadline:
                errors = {
                    t["Status"].get("Err")
                    for t in self.tasks(desired=None)
                    if t["Status"]["State"] in TASK_FAILED
                }
                raise EngineError(
                    f"service {self.name}: {states} after {timeout:.0f} s "
                    f"(want {self.replicas} running); errors: {errors or 'none'}"
                )
            time.sleep(0.1)


class Swarm:
    """The main engine as a one-node swarm manager, shared by test sessions on this machine.

    ``join()`` runs ``docker swarm init --advertise-addr 127.0.0.1`` when the engine is in no
    swarm, and records that the tests did it; ``leave()`` runs ``docker swarm leave --force``
    when the last test session using it is done, and only for a swarm the tests initialised
    and in which no service of someone else runs.
    """

    def __init__(self, client: docker.DockerClient, log: Log = _null_log) -> None:
        self.client = client
        self.log = log
        self.initialized_here = False
        self.timings: dict[str, float] = {}
        self._me = _me()
        self.services: list[SwarmService] = []

    def _prune_users(self) -> list[Path]:
        users = []
        for path in SWARM_DIR.glob("user-*"):
            if _owner_alive(path.name.removeprefix("user-")):
                users.append(path)
            else:
                path.unlink(missing_ok=True)
        return users

    def join(self) -> None:
        t0 = time.monotonic()
        with _swarm_lock():
            self._prune_users()
            info = self.client.info()["Swarm"]
            state = info.get("LocalNodeState")
            if state == "inactive":
                self.client.swarm.init(advertise_addr="127.0.0.1")
                node_id = self.client.info()["Swarm"]["NodeID"]
                (SWARM_DIR / SWARM_MARKER).write_text(node_id)
                self.initialized_here = True
                self.log(f"[swarm] initialised (node {node_id})")
            elif state == "active":
                if not info.get("ControlAvailable"):
                    raise EngineError("the main engine is a swarm worker; services need a manager")
            else:
                raise EngineError(f"the main engine's swarm state is {state!r}; fix it by hand")
            (SWARM_DIR / f"user-{self._me}").touch()
        self.timings["swarm init" if self.initialized_here else "swarm join"] = (
            time.monotonic() - t0
        )
        # services of a test session that died
        for svc in self.client.services.list(filters={"label": OWNER_LABEL}):
            if not _owner_alive(svc.attrs["Spec"]["Labels"].get(OWNER_LABEL, "")):
                self.log(f"[swarm] removing stale service {svc.name}")
                with contextlib.suppress(docker.errors.NotFound):
                    svc.remove()

    def service(
        self,
        image: str,
        replicas: int = 3,
        *,
        name: str | None = None,
        command: list[str] | None = None,
        labels: dict[str, str] | None = None,
        healthcheck: list[str] | docker.types.Healthcheck | None = None,
        publish: int | None = None,
        publish_mode: str = "host",
        env: dict[str, str] | list[str] | None = None,
        stop_grace_period: float = 1.0,
        wait: bool = True,
        timeout: float = 60.0,
        **kwargs: Any,
    ) -> SwarmService:
        """Create a replicated service from a LOCAL image (name or id; nothing is pulled).

        ``labels`` go on the service and on its containers. ``healthcheck``: an argv run in
        the container (``["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]``)
        every 0.5 s, or a ``docker.types.Healthcheck``; tasks count as running once healthy.
        ``publish=PORT``: publish that container port; ``publish_mode="host"`` (default)
        gives every task its own random host port (``SwarmService.urls()``; bound on
        0.0.0.0, probe it on 127.0.0.1), ``"ingress"`` one routing-mesh port for the service
        (it does NOT answer on 127.0.0.1 on these machines). ``stop_grace_period``: busybox's
        httpd ignores SIGTERM, and the default 10 s would make every removal slow.
        """
        name = name or f"hfx-svc-{uuid.uuid4().hex[:8]}"
        all_labels = {TEST_LABEL: "1", OWNER_LABEL: self._me, **(labels or {})}
        check = healthcheck
        if isinstance(healthcheck, list):
            test = healthcheck
            if test[0] not in ("CMD", "CMD-SHELL", "NONE"):
                test = ["CMD", *test]
            check = docker.types.Healthcheck(
                test=test, interval=SECOND // 2, timeout=2 * SECOND, retries=3
            )
        endpoint = None
        if publish:
            endpoint = docker.types.EndpointSpec(
                ports=[{"Protocol": "tcp", "TargetPort": publish, "PublishMode": publish_mode}]
            )
        t0 = time.monotonic()
        model = self.client.services.create(
            image,
            command=command,
            name=name,
            mode=docker.types.ServiceMode("replicated", replicas),
            labels=all_labels,
            container_labels=all_labels,
            healthcheck=check,
            endpoint_spec=endpoint,
            env=env,
            stop_grace_period=int(stop_grace_period * SECOND),
            **kwargs,
        )
        svc = SwarmService(
            name=name,
            id=model.id,
            image=image,
            replicas=replicas,
            target_port=publish,
            publish_mode=publish_mode if publish else None,
            client=self.client,
        )
        self.services.append(svc)
        if wait:
            svc.wait_converged(timeout)
            self.timings.setdefault(f"service x{replicas} converged", time.monotonic() - t0)
        return svc

    def remove(self, svc: SwarmService, wait: bool = False, timeout: float = 30.0) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            self.client.api.remove_service(svc.id)
        if svc in self.services:
            self.services.remove(svc)
        deadline = time.monotonic() + timeout
        while wait and svc.containers(all=True) and time.monotonic() < deadline:
            time.sleep(0.1)

    def remove_all(self, wait: bool = False) -> None:
        services = list(self.services)
        for svc in services:
            self.remove(svc)
        deadline = time.monotonic() + 30
        while (
            wait and time.monotonic() < deadline and any(s.containers(all=True) for s in services)
        ):
            time.sleep(0.1)

    def leave(self) -> None:
        self.remove_all(wait=True)
        with _swarm_lock():
            (SWARM_DIR / f"user-{self._me}").unlink(missing_ok=True)
            marker = SWARM_DIR / SWARM_MARKER
            if self._prune_users() or not marker.exists():
                return
            info = self.client.info()["Swarm"]
            if info.get("LocalNodeState") != "active" or info.get("NodeID") != marker.read_text():
                marker.unlink()  # someone left (or re-initialised) it meanwhile: not ours
                return
            others = [
                s.name
                for s in self.client.services.list()
                if OWNER_LABEL not in s.attrs["Spec"].get("Labels", {})
            ]
            if others:
                self.log(f"[swarm] not leaving: services {others} are not the tests'")
                return
            t0 = time.monotonic()
            self.client.swarm.leave(force=True)
            marker.unlink()
            # swarm init made docker_gwbridge; drop it too when nothing uses it any more
            with contextlib.suppress(docker.errors.APIError):
                self.client.networks.get("docker_gwbridge").remove()
            self.timings["swarm leave"] = time.monotonic() - t0
            self.log("[swarm] left")


# --------------------------------------------------------------------------- CLI


def env_lines(directory: Path) -> list[str]:
    """Shell ``export`` lines for the engine of ``directory`` (TLS endpoint + contexts)."""
    directory = Path(directory).resolve()
    state = _read_state(directory)
    if not state.get("port"):
        raise EngineError(f"no engine in {directory}")
    return [
        f"export DOCKER_HOST=tcp://127.0.0.1:{state['port']}",
        "export DOCKER_TLS_VERIFY=1",
        f"export DOCKER_CERT_PATH={directory / 'certs'}",
        f"export DOCKER_CONFIG={directory / 'docker-config'}",
        f"# or: DOCKER_HOST=unix://{directory / 'docker.sock'}",
        f"# contexts (with that DOCKER_CONFIG): {CONTEXT_UNIX}, {CONTEXT_TLS}",
    ]


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "stop", "env"):
        print("usage: second-engine.sh start|stop|env DIR", file=sys.stderr)
        return 2
    command, directory = argv[0], Path(argv[1])

    def log(msg: str) -> None:
        print(msg, file=sys.stderr)

    try:
        if command == "start":
            start(directory, owned=False, log=log).close_clients()
            _children.clear()  # dockerd outlives this process
        elif command == "stop":
            stop(directory, log=log)
            return 0
        print("\n".join(env_lines(directory)))
    except EngineError as exc:
        print(f"engine2: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
