"""Helpers the cases share: alternating payloads, version-tracking writers."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.context import Context, Mode, use_mode
from benchmarks.dockercli import hotfix_cli
from hotfix.service.files import HotfixService


@dataclass
class Payloads:
    """Two different contents of one size, used in turn so every write is a real change."""

    a: bytes
    b: bytes
    files: tuple[Path, Path]
    turn: int = 0

    @classmethod
    def random(cls, size: int, workdir: Path, name: str) -> Payloads:
        a, b = os.urandom(size), os.urandom(size)
        files = (workdir / f"{name}-a.bin", workdir / f"{name}-b.bin")
        files[0].write_bytes(a)
        files[1].write_bytes(b)
        return cls(a, b, files)

    def next(self) -> tuple[bytes, Path]:
        self.turn += 1
        return (self.a, self.files[0]) if self.turn % 2 else (self.b, self.files[1])


@dataclass
class CoreWriter:
    """Steady-state saves through one in-process service, each based on the last version."""

    service: HotfixService
    mode: Mode
    container: str
    path: str
    payloads: Payloads
    version: str | None = None
    _data: bytes = field(default=b"", repr=False)

    def setup(self) -> None:
        use_mode(self.mode)
        if self.version is None:
            self.version = self.service.read(self.container, self.path).version
        self._data, _ = self.payloads.next()

    def write(self) -> None:
        res = self.service.write(self.container, self.path, self._data, base_version=self.version)
        self.version = res.version


@dataclass
class FirstWriter:
    """The first save of a path: a fresh service and state store each time, so it
    checkpoints; the file is read first, untimed, as an editor opens it before a save."""

    ctx: Context
    mode: Mode
    container: str
    path: str
    payloads: Payloads
    service: HotfixService | None = None
    version: str | None = None
    _data: bytes = field(default=b"", repr=False)

    def setup(self) -> None:
        # As an editor does it: open the file (read, untimed), then save it (timed).
        self.service = self.ctx.fresh_service(self.mode)
        self.version = self.service.read(self.container, self.path).version
        self._data, _ = self.payloads.next()

    def write(self) -> None:
        assert self.service is not None
        res = self.service.write(self.container, self.path, self._data, base_version=self.version)
        assert res.checkpointed, "the first write did not checkpoint"
        self.version = res.version

    def after(self) -> None:
        if self.service is not None:
            self.service.store.close()
            shutil.rmtree(self.service.store.directory, ignore_errors=True)
            self.service = None


@dataclass
class CliWriter:
    """Saves with the CLI as a process: ``hotfix write C:PATH FILE --base-version V``."""

    env: dict[str, str]
    container: str
    path: str
    payloads: Payloads
    version: str | None = None
    _file: Path | None = None

    def setup(self) -> None:
        if self.version is None:
            out = hotfix_cli("cat", "--json", f"{self.container}:{self.path}", env=self.env)
            self.version = json.loads(out)["version"]
        _, self._file = self.payloads.next()

    def write(self) -> None:
        out = hotfix_cli(
            "write",
            "--json",
            f"{self.container}:{self.path}",
            str(self._file),
            "--base-version",
            str(self.version),
            env=self.env,
        )
        self.version = json.loads(out)["version"]
