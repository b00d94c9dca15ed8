"""What every case shares: the configuration, the engine, services per mode, the LSP server.

Two modes of hotfix's file access are measured where they differ:

- ``fast``: the default; on a local engine, a running container's files are reached
  through ``/proc/<pid>/root`` (hotfix.docker.localfs);
- ``archive``: ``HOTFIX_LOCAL_FS=0``, every file operation goes through the Engine's
  archive API, as it does against a remote engine or a stopped container.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import docker

from benchmarks.dockercli import CURL_INTERVAL, hotfix_cli
from benchmarks.fleet import Fleet
from benchmarks.lspclient import LspClient
from benchmarks.rawapi import RawArchive
from hotfix.docker import localfs
from hotfix.docker.engine import Engine
from hotfix.docker.engines import DEFAULT as DEFAULT_ENGINE
from hotfix.docker.engines import connect
from hotfix.service.files import HotfixService
from hotfix.store.state import StateStore

Mode = Literal["fast", "archive"]
MODES: tuple[Mode, ...] = ("fast", "archive")
MODE_LABEL = {"fast": "fast path", "archive": "archive API"}
LOCAL_FS_VAR = "HOTFIX_LOCAL_FS"

KB = 1024
MB = 1024 * KB


@dataclass
class Config:
    quick: bool
    file_sizes: list[int]
    file_reps: dict[int, int]
    dir_sizes: list[int]
    dir_reps: dict[int, int]
    restart_reps: int
    incident_reps: int
    replicas: list[int]
    fanout_reps: int
    profile: bool
    cli: bool = True  # also time the hotfix CLI as processes (through its resident process)
    warmup: int = 1
    curl_interval: float = CURL_INTERVAL
    only: list[str] = field(default_factory=list)

    @classmethod
    def for_mode(cls, quick: bool, profile: bool | None = None) -> Config:
        if quick:
            return cls(
                quick=True,
                file_sizes=[4 * KB, 1 * MB],
                file_reps={4 * KB: 3, 1 * MB: 3},
                dir_sizes=[100, 10_000],
                dir_reps={100: 3, 10_000: 2},
                restart_reps=1,
                incident_reps=1,
                replicas=[1, 5],
                fanout_reps=2,
                profile=bool(profile),
                cli=False,
                warmup=0,
            )
        return cls(
            quick=False,
            file_sizes=[4 * KB, 1 * MB, 32 * MB],
            file_reps={4 * KB: 30, 1 * MB: 20, 32 * MB: 10},
            dir_sizes=[100, 10_000, 100_000],
            dir_reps={100: 20, 10_000: 10, 100_000: 5},
            restart_reps=10,
            incident_reps=5,
            replicas=[1, 5, 20],
            fanout_reps=10,
            profile=True if profile is None else profile,
        )


def size_label(size: int) -> str:
    if size >= MB:
        return f"{size // MB} MB"
    return f"{size // KB} KB" if size >= KB else f"{size} B"


def use_mode(mode: Mode) -> None:
    """Select the file access mode of in-process hotfix calls (read per call or at init)."""
    if mode == "fast":
        os.environ.pop(LOCAL_FS_VAR, None)
    else:
        os.environ[LOCAL_FS_VAR] = "0"


class Context:
    def __init__(self, config: Config, log: Callable[[str], None] | None = None) -> None:
        self.config = config
        self.started = time.monotonic()
        self._log = log or (lambda m: print(m, file=sys.stderr, flush=True))
        self.workdir = Path(tempfile.mkdtemp(prefix="hotfix-bench-"))
        self.runtime = self.workdir / "run"  # XDG_RUNTIME_DIR of the hotfix processes
        self.client = docker.from_env()
        self.fleet = Fleet(self.client)
        self.raw = RawArchive()
        self.images: dict[str, str] = {}
        self._engines: dict[Mode, Engine] = {}
        self._services: dict[Mode, HotfixService] = {}
        self._stores: list[StateStore] = []
        self._lsp: LspClient | None = None
        self.path_used: dict[str, dict[str, bool]] = {}

    def log(self, message: str) -> None:
        self._log(f"[bench {time.monotonic() - self.started:6.1f}s] {message}")

    def prepare(self) -> None:
        from tests.images.build import ensure_images

        self.images = ensure_images(self.client, log=lambda *a: None)
        self.runtime.mkdir(mode=0o700)
        if self.config.cli:
            self.log(f"resident process for the CLI rows: pid {self.start_resident()}")

    def start_resident(self, timeout: float = 30.0) -> int:
        """Start the CLI's resident process (the first command starts it, in the background)
        and wait until it listens: the CLI rows time what a user who ran hotfix in the last
        20 minutes gets. Its own rows (HOTFIX_DAEMON=off) time a process per command."""
        env = self.env("fast", "resident")
        deadline = time.monotonic() + timeout
        while True:
            status = json.loads(hotfix_cli("daemon", "status", "--json", env=env))
            current = [p["pid"] for p in status["processes"] if p["current"] and p["listening"]]
            if current:
                return int(current[0])
            if time.monotonic() > deadline:
                raise RuntimeError("the resident process did not come up")
            hotfix_cli("--version", env=env)
            time.sleep(0.2)

    # --- hotfix in-process ----------------------------------------------------------------

    def engine(self, mode: Mode) -> Engine:
        if mode not in self._engines:
            use_mode(mode)
            # Built as the language server builds it (hotfix.docker.engines, watch=True): the same
            # client settings, resolved containers kept while the event stream is quiet.
            self._engines[mode] = Engine(connect(DEFAULT_ENGINE), watch=True)
        return self._engines[mode]

    def service(self, mode: Mode) -> HotfixService:
        """The long-lived service of a mode (its own state store): steady-state work."""
        if mode not in self._services:
            self._services[mode] = self.fresh_service(mode)
        return self._services[mode]

    def fresh_service(self, mode: Mode, *, prefetch: bool = True) -> HotfixService:
        """A service with an empty state store: the first write to any path checkpoints.
        Built as the language server builds it (``prefetch``: a read starts the diff
        behind the first-save warning)."""
        store = StateStore(self.workdir / "state" / f"{mode}-{uuid.uuid4().hex[:8]}")
        self._stores.append(store)
        use_mode(mode)
        return HotfixService(self.engine(mode), store, user="bench", prefetch=prefetch)

    def env(self, mode: Mode, state: str) -> dict[str, str]:
        """The environment of a hotfix process (CLI, language server) in ``mode``."""
        env = {k: v for k, v in os.environ.items() if k != LOCAL_FS_VAR}
        if mode == "archive":
            env[LOCAL_FS_VAR] = "0"
        env["HOTFIX_STATE_DIR"] = str(self.workdir / "state" / state)
        env["HOTFIX_LOG_LEVEL"] = "WARNING"
        env["XDG_RUNTIME_DIR"] = str(self.runtime)  # this run's own resident process
        env.pop("HOTFIX_DAEMON", None)
        return env

    def own_process_env(self, mode: Mode, state: str) -> dict[str, str]:
        """As :meth:`env`, for a CLI command in a process of its own (no resident process)."""
        return {**self.env(mode, state), "HOTFIX_DAEMON": "off"}

    def lsp(self) -> LspClient:
        """The language server (fast mode), started once and initialized."""
        if self._lsp is None:
            self._lsp = LspClient(
                self.env("fast", "lsp"), str(self.workdir / "lsp-stderr.log"), timeout=300
            )
            self._lsp.initialize()
        return self._lsp

    def check_paths(self, mode: Mode, container_id: str, path: str) -> dict[str, bool]:
        """Which access path the Engine takes in ``mode``: one read + write, localfs counted."""
        used = {"read": False, "write": False}
        originals = {name: getattr(localfs, name) for name in ("read", "write")}

        def counting(name: str) -> Callable[..., Any]:
            def call(*args: Any, **kwargs: Any) -> Any:
                used[name] = True
                return originals[name](*args, **kwargs)

            return call

        svc = self.service(mode)
        try:
            for name in originals:
                setattr(localfs, name, counting(name))
            use_mode(mode)
            res = svc.read(container_id, path)
            svc.write(container_id, path, res.data, base_version=res.version)
        finally:
            for name, fn in originals.items():
                setattr(localfs, name, fn)
        self.path_used[mode] = used
        return used

    # --- cleanup ----------------------------------------------------------------------------

    def close(self) -> None:
        if self.runtime.exists():
            hotfix_cli("daemon", "stop", env=self.env("fast", "resident"))
        if self._lsp is not None:
            self._lsp.close()
            self._lsp = None
        for store in self._stores:
            with contextlib.suppress(Exception):
                store.close()
        self.raw.close()
        self.fleet.clean()
        os.environ.pop(LOCAL_FS_VAR, None)
        shutil.rmtree(self.workdir, ignore_errors=True)


@contextlib.contextmanager
def closing_groups(gen: Iterator[Any]) -> Iterator[Iterator[Any]]:
    """Close a case's generator (its cleanup) even when measuring fails."""
    try:
        yield gen
    finally:
        close = getattr(gen, "close", None)
        if close:
            close()
