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
    # The mount the path is on (bind, volume, tmpfs), when the back end looked; None: the
    # container's own filesystem, or not looked.
    mount: Mount | None = None


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


MountType = Literal["bind", "volume", "tmpfs", "other"]


@dataclass(frozen=True)
class Mount:
    """One of a container's mounts, from ``Mounts`` in inspect. A file there is not in its
    writable layer: a save edits the host's file (bind), a volume's, or memory (tmpfs), and
    ``docker commit`` skips it."""

    type: MountType
    destination: str  # where the container sees it
    source: str = ""  # the host's path (bind, volume); empty for a tmpfs
    name: str = ""  # a named volume's name

    def covers(self, path: str) -> bool:
        root = self.destination.rstrip("/")
        return path == self.destination or path.startswith(root + "/")

    def describe(self) -> str:
        """ "a bind mount of the host's /srv/conf", "the volume data (…)", "a tmpfs"."""
        if self.type == "bind":
            return f"a bind mount of the host's {self.source}"
        if self.type == "volume":
            return f"the volume {self.name or '(anonymous)'} (the host's {self.source})"
        if self.type == "tmpfs":
            return f"a tmpfs at {self.destination}"
        return f"a mount at {self.destination}"


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
    # Its bind mounts, volumes and tmpfs mounts, from inspect (none from a listing).
    mounts: tuple[Mount, ...] = ()

    def mount_at(self, path: str) -> Mount | None:
        """The mount a container path is on: the longest destination that covers it."""
        covering = [m for m in self.mounts if m.covers(path)]
        return max(covering, key=lambda m: len(m.destination), default=None)

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
    stop_signal: str | None = None  # Config.StopSignal; None: SIGTERM

    @property
    def mounts(self) -> tuple[Mount, ...]:
        return self.info.mounts
