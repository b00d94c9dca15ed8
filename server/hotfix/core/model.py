"""Plain data the Engine adapter returns and the service passes around."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

FileKind = Literal["file", "dir", "symlink", "fifo", "socket", "device", "other"]


@dataclass(frozen=True)
class FileStat:
    """What the Engine knows of one path. ``uid``/``gid`` are None when unknown."""

    path: str
    kind: FileKind
    size: int
    mode: int  # permission bits, setuid/setgid/sticky included (0o7777)
    mtime: float  # seconds since the epoch, sub-second precision when the Engine has it
    uid: int | None = None
    gid: int | None = None
    link_target: str | None = None


@dataclass(frozen=True)
class DirEntry:
    name: str
    stat: FileStat


@dataclass(frozen=True)
class FileContent:
    data: bytes
    stat: FileStat  # of the file actually read (the symlink's target when following)

    @cached_property
    def version(self) -> str:
        """``sha256:<hex>`` of the data, hashed once: big contents cost to hash."""
        return "sha256:" + hashlib.sha256(self.data).hexdigest()

    @classmethod
    def hashed(cls, data: bytes, stat: FileStat, version: str) -> FileContent:
        """A content whose version is known already (a write hashes what it writes)."""
        content = cls(data, stat)
        content.__dict__["version"] = version  # what the cached_property would compute
        return content


@dataclass(frozen=True)
class OverlayDirs:
    """A container's layers as overlay2 keeps them: its writable layer, and the layers below
    it, top first (the init layer, then the image's)."""

    upper: str
    lowers: tuple[str, ...]


@dataclass(frozen=True)
class ContainerInfo:
    id: str
    name: str
    image: str  # the reference the container was created from
    image_id: str
    state: str  # created, running, paused, restarting, exited, dead
    health: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    ports: list[str] = field(default_factory=list)  # "127.0.0.1:8001->8001/tcp"
    pid: int = 0
    engine: str = "default"  # the name of the engine it runs on (see hotfix.docker.engines)
    # Mounts the Engine's archive API cannot reach (tmpfs, /dev, /proc, /sys); from inspect.
    unarchivable: tuple[str, ...] = ()
    # overlay2's directories on the engine's host, from inspect: None with another driver.
    overlay: OverlayDirs | None = None

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def service(self) -> str | None:
        """Compose ``project/service`` or Swarm service name, when the container has one."""
        swarm = self.labels.get("com.docker.swarm.service.name")
        if swarm:
            return swarm
        project = self.labels.get("com.docker.compose.project")
        service = self.labels.get("com.docker.compose.service")
        if project and service:
            return f"{project}/{service}"
        return None


@dataclass(frozen=True)
class ContainerDetails:
    """The parts of ``docker inspect`` the service needs for restart and probe."""

    info: ContainerInfo
    healthcheck: list[str] | None
    published: list[tuple[str, int, str]]  # (host ip, host port, "8001/tcp")
    stop_timeout: int | None
    exit_code: int | None
    read_only: bool
