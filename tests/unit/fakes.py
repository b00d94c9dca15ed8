"""An in-memory stand-in for :class:`hotfix.docker.engine.Engine`, for the service's unit tests.

Each fake container has a flat filesystem (absolute path → :class:`Node`). It answers
like the real adapter does where the service can tell the difference:

- ``stat`` is an lstat without owner (the archive HEAD has none) and reports a
  symlink's target fully resolved and absolute, as the Engine's path stat does;
- ``stat_full`` and ``read`` carry uid/gid (the archive's tar header has them);
- ``read`` of a directory is ``FileIsADirectory``, of a missing path ``FileNotFound``;
- ``write`` needs an existing parent directory and replaces what is at the path.

Every call is recorded in ``engine.calls`` as ``(method, container id, *args)``.
"""

from __future__ import annotations

import posixpath
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from hotfix.core.errors import (
    ContainerNotFound,
    FileIsADirectory,
    FileNotADirectory,
    FileNotFound,
    HotfixError,
    NoPermissions,
)
from hotfix.core.model import (
    ContainerDetails,
    ContainerInfo,
    DirEntry,
    FileContent,
    FileStat,
    Mount,
)
from hotfix.core.paths import normalize
from hotfix.docker import localfs
from hotfix.docker.engine import size_refusal

MTIME = 1_700_000_000.25


@dataclass
class Node:
    kind: str  # "file", "dir", "symlink", "fifo"
    data: bytes = b""
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    mtime: float = MTIME
    target: str | None = None  # symlinks only: the link's text (absolute in these tests)


@dataclass
class FakeContainer:
    id: str
    name: str
    image: str = "registry.example/app:1.0"
    image_id: str = "sha256:" + "ab" * 32
    state: str = "running"
    health: str | None = None
    healthcheck: list[str] | None = None
    published: list[tuple[str, int, str]] = field(default_factory=list)
    exit_code: int | None = None
    logs: str = ""
    diff: list[str] = field(default_factory=list)  # the paths of its container diff
    diff_added: list[str] = field(default_factory=list)  # those of them the image lacks
    mounts: tuple[Mount, ...] = ()  # its bind mounts, volumes, tmpfs mounts
    stop_timeout: int | None = None
    stop_signal: str | None = None
    fs: dict[str, Node] = field(default_factory=lambda: {"/": Node("dir", mode=0o755)})
    on_restart: Callable[[FakeContainer], None] | None = None
    labels: dict[str, str] = field(default_factory=dict)
    engine: str = "default"
    env: list[str] = field(default_factory=list)  # runtime "NAME=value" entries
    # What `top` lists: (pid, ppid, start time as time.time(), args); pid 4242 is its PID 1.
    processes: list[tuple[int, int, float, str]] = field(
        default_factory=lambda: [(4242, 0, time.time() - 3600, "/srv/app/run")]
    )
    # A signal: True renews the children of PID 1 (a reload that applied), False leaves them.
    reload_applies: bool = True

    @property
    def info(self) -> ContainerInfo:
        return ContainerInfo(
            id=self.id,
            name=self.name,
            image=self.image,
            image_id=self.image_id,
            state=self.state,
            health=self.health,
            ports=[f"{ip or '0.0.0.0'}:{port}->{cport}" for ip, port, cport in self.published],
            pid=4242,
            labels=dict(self.labels),
            engine=self.engine,
            mounts=self.mounts,
        )

    def details(self) -> ContainerDetails:
        return ContainerDetails(
            info=self.info,
            healthcheck=self.healthcheck,
            published=list(self.published),
            stop_timeout=self.stop_timeout,
            exit_code=self.exit_code,
            read_only=False,
            stop_signal=self.stop_signal,
        )

    # --- building the filesystem ----------------------------------------------------------------

    def add_dir(self, path: str, *, mode: int = 0o755, uid: int = 0, gid: int = 0) -> None:
        path = normalize(path)
        if path != "/":
            self._parents(path)
        self.fs[path] = Node("dir", mode=mode, uid=uid, gid=gid)

    def add_file(
        self, path: str, data: bytes, *, mode: int = 0o644, uid: int = 0, gid: int = 0
    ) -> None:
        path = normalize(path)
        self._parents(path)
        self.fs[path] = Node("file", data=data, mode=mode, uid=uid, gid=gid)

    def add_symlink(self, path: str, target: str) -> None:
        path = normalize(path)
        self._parents(path)
        self.fs[path] = Node("symlink", mode=0o777, target=target)

    def node(self, path: str) -> Node:
        return self.fs[normalize(path)]

    def _parents(self, path: str) -> None:
        parent = posixpath.dirname(path)
        if parent not in self.fs:
            self._parents(parent)
            self.fs[parent] = Node("dir", mode=0o755)

    def resolve(self, path: str) -> str:
        """Follow symlinks at ``path`` to the final path (which may not exist)."""
        for _ in range(40):
            node = self.fs.get(path)
            if node is None or node.kind != "symlink":
                return path
            assert node.target is not None
            path = normalize(posixpath.join(posixpath.dirname(path), node.target))
        raise AssertionError(f"symlink loop at {path}")


class FakeEngine:
    """The subset of ``Engine`` that :class:`hotfix.service.files.HotfixService` calls."""

    host_address = "198.51.100.7"
    is_local = False  # processes come from `top`, never from this host's /proc

    def __init__(self, name: str = "default") -> None:
        self.name = name
        self.containers: dict[str, FakeContainer] = {}
        self.calls: list[tuple[Any, ...]] = []
        self.lock = threading.Lock()
        # Called with (container, path, data) just before a write takes effect.
        self.before_write: Callable[[ContainerInfo, str, bytes], None] | None = None
        self.write_error: HotfixError | None = None
        # False: writes extract in place like the archive API; with write_error set, the
        # next write stores its first ``cut_short`` bytes, then fails (once).
        self.atomic_writes = True
        self.cut_short: int | None = None
        self.changes_error: HotfixError | None = None
        self.exec_result: tuple[int, bytes] = (0, b"")
        # When set, answers exec per container: (container id, argv) -> (exit code, output).
        self.exec_handler: Callable[[str, list[str]], tuple[int, bytes]] | None = None

    def add_container(self, name: str, container_id: str | None = None) -> FakeContainer:
        cid = container_id or uuid.uuid4().hex + uuid.uuid4().hex
        container = FakeContainer(id=cid, name=name, engine=self.name)
        self.containers[cid] = container
        return container

    def remove_container(self, container_id: str) -> None:
        del self.containers[container_id]

    def called(self, method: str) -> list[tuple[Any, ...]]:
        return [c for c in self.calls if c[0] == method]

    def _record(self, method: str, *args: Any) -> None:
        with self.lock:
            self.calls.append((method, *args))

    def _find(self, ref: str) -> FakeContainer:
        by_name = [c for c in self.containers.values() if c.name == ref]
        if by_name:
            return by_name[0]
        by_id = [c for c in self.containers.values() if ref and c.id.startswith(ref)]
        if len(by_id) == 1:
            return by_id[0]
        raise ContainerNotFound(f"no such container: {ref!r}")

    def _fc(self, container: ContainerInfo | str) -> FakeContainer:
        cid = container.id if isinstance(container, ContainerInfo) else container
        if cid not in self.containers:
            raise ContainerNotFound(f"no such container: {cid}")
        return self.containers[cid]

    # --- containers -------------------------------------------------------------------------------

    def list_containers(self, all: bool = True) -> list[ContainerInfo]:
        self._record("list_containers", None)
        return [c.info for c in self.containers.values() if all or c.state == "running"]

    def events_generation(self) -> int | None:
        return None  # not watching events: callers look every time

    def listing_generation(self) -> int | None:
        return None

    def inspect(self, ref: str) -> ContainerDetails:
        self._record("inspect", ref)
        return self._find(ref).details()

    def resolve(self, ref: str) -> ContainerInfo:
        return self.inspect(ref).info

    def changed_paths(self, container: ContainerInfo) -> list[str]:
        self._record("changes", container.id)
        if self.changes_error:
            raise self.changes_error
        return list(self._fc(container.id).diff)

    def container_diff(
        self, container: ContainerInfo, limit: localfs.WalkLimit | None = None
    ) -> localfs.ChangeListing:
        paths = self.changed_paths(container)
        added = frozenset(self._fc(container.id).diff_added) & frozenset(paths)
        return localfs.ChangeListing(paths, added=added)

    def restart(self, container_id: str, stop_timeout: int | None = None) -> None:
        self._record("restart", container_id)
        container = self._fc(container_id)
        container.state = "running"
        container.processes = [
            (pid, ppid, time.time(), a) for pid, ppid, _, a in container.processes
        ]
        if container.on_restart:
            container.on_restart(container)

    def signal(self, container_id: str, signal: str) -> None:
        self._record("signal", container_id, signal)
        container = self._fc(container_id)
        if container.reload_applies:
            container.processes = [
                (pid, ppid, time.time() if ppid == 4242 else started, args)
                for pid, ppid, started, args in container.processes
            ]

    def top(self, container_id: str, ps_args: str | None = None) -> list[list[str]]:
        """As the Engine's top with ``-o pid,ppid,lstart,args`` (lstart's words split apart)."""
        self._record("top", container_id, ps_args)
        container = self._fc(container_id)
        if container.state != "running":
            raise HotfixError(f"container {container_id} is not running")
        rows = [["PID", "PPID", "STARTED", "COMMAND"]]
        for pid, ppid, started, args in container.processes:
            lstart = time.strftime("%a %b %d %H:%M:%S %Y", time.localtime(started)).split()
            rows.append([str(pid), str(ppid), *lstart, args])
        return rows

    def exec(self, container_id: str, argv: list[str], timeout: float = 30) -> tuple[int, bytes]:
        self._record("exec", container_id, list(argv))
        if self.exec_handler:
            return self.exec_handler(container_id, list(argv))
        return self.exec_result

    def container_attrs(self, ref: str) -> dict[str, Any]:
        fc = self._find(ref)
        return {"Id": fc.id, "Image": fc.image_id, "Config": {"Env": list(fc.env)}}

    def image_attrs(self, ref: str) -> dict[str, Any]:
        return {"Id": ref, "Config": {"Env": []}}

    def engine_env(self, attrs: dict[str, Any]) -> frozenset[str]:
        return frozenset()  # dockerd's: it sets none

    def runtime_env_values(self, container_id: str) -> set[str]:
        try:
            fc = self._find(container_id)
        except HotfixError:
            return set()
        return {item.split("=", 1)[1] for item in fc.env if "=" in item}

    def logs_tail(self, container_id: str, lines: int = 10) -> str:
        self._record("logs_tail", container_id)
        return self._fc(container_id).logs

    # --- files --------------------------------------------------------------------------------------

    def _stat(self, fc: FakeContainer, path: str, *, owner: bool) -> FileStat:
        node = fc.fs.get(path)
        if node is None:
            raise FileNotFound(f"{fc.name}:{path}: no such file or directory")
        return FileStat(
            path=path,
            kind=node.kind,  # type: ignore[arg-type]
            size=len(node.data),
            mode=node.mode,
            mtime=node.mtime,
            uid=node.uid if owner else None,
            gid=node.gid if owner else None,
            link_target=fc.resolve(path) if node.kind == "symlink" else None,
            mount=fc.info.mount_at(path),  # as the back ends name it
        )

    def writes_atomically(self, container: ContainerInfo) -> bool:
        return self.atomic_writes

    def clock_offset(self) -> float:
        return 0.0

    def clock_error(self) -> float:
        return 0.0

    def stat(self, container: ContainerInfo, path: str) -> FileStat:
        path = normalize(path)
        self._record("stat", container.id, path)
        return self._stat(self._fc(container), path, owner=False)

    def stat_full(self, container: ContainerInfo, path: str) -> FileStat:
        path = normalize(path)
        self._record("stat_full", container.id, path)
        return self._stat(self._fc(container), path, owner=True)

    def read(self, container: ContainerInfo, path: str, max_size: int | None = None) -> FileContent:
        path = normalize(path)
        self._record("read", container.id, path)
        fc = self._fc(container)
        st = self._stat(fc, path, owner=True)
        if st.kind == "dir":
            raise FileIsADirectory(f"{fc.name}:{path} is a directory")
        if st.kind != "file":
            raise NoPermissions(f"{fc.name}:{path} is a {st.kind}, not a regular file")
        if max_size is not None and len(fc.fs[path].data) > max_size:
            raise size_refusal(f"{fc.name}:{path}", len(fc.fs[path].data), max_size)
        return FileContent(fc.fs[path].data, st)

    def list_dir(self, container: ContainerInfo, path: str) -> list[DirEntry]:
        path = normalize(path)
        self._record("list_dir", container.id, path)
        fc = self._fc(container)
        path = fc.resolve(path)
        if fc.fs.get(path, Node("file")).kind != "dir":
            raise FileNotADirectory(f"{fc.name}:{path} is not a directory")
        return sorted(
            (
                DirEntry(posixpath.basename(p), self._stat(fc, p, owner=True))
                for p in fc.fs
                if p != "/" and posixpath.dirname(p) == path
            ),
            key=lambda e: e.name,
        )

    def write(
        self, container: ContainerInfo, path: str, data: bytes, *, uid: int, gid: int, mode: int
    ) -> float:
        path = normalize(path)
        self._record("write", container.id, path, data, uid, gid, mode)
        fc = self._fc(container)
        if self.before_write:
            self.before_write(container, path, data)
        if self.write_error:
            error = self.write_error
            if self.cut_short is not None:
                fc.fs[path] = Node("file", data=data[: self.cut_short], mode=0o600)
                self.write_error = self.cut_short = None
            raise error
        parent = fc.fs.get(posixpath.dirname(path))
        if parent is None:
            raise FileNotFound(f"{fc.name}:{path}: parent directory does not exist")
        if parent.kind != "dir":
            raise FileNotADirectory(f"{fc.name}:{path}: parent is not a directory")
        existing = fc.fs.get(path)
        if existing is not None and existing.kind == "dir":
            raise FileIsADirectory(f"{fc.name}:{path} is a directory")
        mtime = time.time()
        fc.fs[path] = Node("file", data=data, mode=mode, uid=uid, gid=gid, mtime=mtime)
        return mtime

    def mkdir(self, container: ContainerInfo, path: str, *, uid: int, gid: int, mode: int) -> None:
        path = normalize(path)
        self._record("mkdir", container.id, path, uid, gid, mode)
        self._fc(container).fs[path] = Node("dir", mode=mode, uid=uid, gid=gid)

    def delete(self, container: ContainerInfo, path: str) -> None:
        path = normalize(path)
        self._record("delete", container.id, path)
        self._fc(container).fs.pop(path, None)


def chmod(container: FakeContainer, path: str, mode: int) -> None:
    node = container.node(path)
    container.fs[normalize(path)] = replace(node, mode=mode)
