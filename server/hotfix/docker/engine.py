"""Docker access: containers and their files, over the Engine API (docker-py).

File work goes through the archive endpoints (``HEAD``/``GET``/``PUT
/containers/{id}/archive``), the API ``docker cp`` uses, so it works on stopped
containers and on images without a shell. ``docker exec`` is never used to read
or write a file. Errors from the Engine become :mod:`hotfix.core.errors` that name
the container and path.

Nothing here knows about checkpoints, versions or git: that is the service's job.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import io
import json
import os
import stat as stat_module
import tarfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import docker
import docker.errors
import requests
import urllib3

from hotfix.core.errors import (
    AmbiguousContainer,
    ContainerNotFound,
    FileIsADirectory,
    FileNotADirectory,
    FileNotFound,
    FileTooLarge,
    HotfixError,
    NoPermissions,
    Unavailable,
)
from hotfix.core.model import (
    ContainerDetails,
    ContainerInfo,
    DirEntry,
    FileContent,
    FileKind,
    FileStat,
    OverlayDirs,
)
from hotfix.core.paths import check_utf8, join, normalize, split
from hotfix.core.processes import orphaned_name
from hotfix.docker import localfs
from hotfix.docker.containerwatch import ContainerWatch

# Go's os.FileMode type bits, as the Engine reports them in X-Docker-Container-Path-Stat.
_GO_DIR = 1 << 31
_GO_SYMLINK = 1 << 27
_GO_DEVICE = 1 << 26
_GO_PIPE = 1 << 25
_GO_SOCKET = 1 << 24
_GO_SETUID = 1 << 23
_GO_SETGID = 1 << 22
_GO_STICKY = 1 << 20

_TAR_KINDS: dict[bytes, FileKind] = {
    tarfile.REGTYPE: "file",
    tarfile.AREGTYPE: "file",
    tarfile.LNKTYPE: "file",
    tarfile.DIRTYPE: "dir",
    tarfile.SYMTYPE: "symlink",
    tarfile.FIFOTYPE: "fifo",
    tarfile.CHRTYPE: "device",
    tarfile.BLKTYPE: "device",
}

MAX_SYMLINK_HOPS = 40


class Engine:
    """A Docker Engine reached through docker-py."""

    def __init__(
        self,
        client: docker.DockerClient,
        name: str = "default",
        local_fs: bool | None = None,
        watch: bool = False,
    ) -> None:
        self.client = client
        # Typed Any: the archive HEAD and streamed GET need docker-py's request helpers
        # (_url, _get, _raise_for_status), which its public API does not expose.
        self.api: Any = client.api
        # The /proc/<pid>/root fast path; HOTFIX_LOCAL_FS=0 forces the archive API.
        self.local_fs = (
            os.environ.get("HOTFIX_LOCAL_FS", "1") != "0" if local_fs is None else local_fs
        )
        self.name = name
        self._info: tuple[dict[str, Any], float, float] | None = None  # see _daemon_info
        # Long-lived processes keep resolved containers while the event stream is quiet.
        self._watch = (
            ContainerWatch(
                lambda: self.api.events(decode=True, filters={"type": "container"}), name
            )
            if watch
            else None
        )

    @classmethod
    def from_env(cls) -> Engine:
        try:
            client = docker.from_env()
        except docker.errors.DockerException as exc:
            raise Unavailable(f"cannot reach the Docker engine: {_reason(exc)}") from exc
        return cls(client)

    @property
    def is_local(self) -> bool:
        """True when the Engine runs on this host (a unix socket), so its PIDs are ours."""
        return str(self.api.base_url).startswith("http+docker://local")

    @property
    def host_address(self) -> str:
        """Where ports published on all interfaces can be reached."""
        base = str(self.api.base_url)
        if base.startswith(("http://", "https://")):
            return urllib.parse.urlsplit(base).hostname or "127.0.0.1"
        return "127.0.0.1"

    # --- containers -------------------------------------------------------------------------

    def list_containers(self, all: bool = True) -> list[ContainerInfo]:
        with _engine_errors():
            rows = self.api.containers(all=all)
        return [replace(_info_from_summary(row), engine=self.name) for row in rows]

    def inspect(self, ref: str) -> ContainerDetails:
        """Resolve a container by name, full ID or unique ID prefix."""
        if not ref:
            raise ContainerNotFound("no container given")
        check_utf8(ref, "container")
        try:
            with _engine_errors():
                attrs = self.api.inspect_container(ref)
        except ContainerNotFound:
            # Editors lower-case a URI's authority (RFC 3986 calls it case-insensitive),
            # while container names are not: accept a unique case-insensitive match.
            folded = [c for c in self.list_containers() if c.name.lower() == ref.lower()]
            if len(folded) == 1:
                return self.inspect(folded[0].id)
            raise ContainerNotFound(
                f"no such container: {ref!r}{'' if self.name == 'default' else f' on engine {self.name}'}"
                " (see `hotfix ps` for names and IDs)"
            ) from None
        except HotfixError as exc:
            if "multiple" in str(exc).lower() or "ambiguous" in str(exc).lower():
                raise self._ambiguous(ref) from None
            raise
        details = _details_from_inspect(attrs)
        return replace(details, info=replace(details.info, engine=self.name))

    def resolve(self, ref: str) -> ContainerInfo:
        """The container for file work: :meth:`inspect`'s info — on a watching engine, kept
        from the last inspect while no container event came (see :mod:`hotfix.docker.containerwatch`;
        its health and ports may be stale: inspect for those)."""
        if self._watch is None:
            return self.inspect(ref).info
        kept = self._watch.get(ref)
        if kept is not None:
            return kept
        generation = self._watch.generation()
        info = self.inspect(ref).info
        self._watch.keep(ref, info, generation)
        return info

    def _ambiguous(self, ref: str) -> AmbiguousContainer:
        matches = [c for c in self.list_containers() if c.id.startswith(ref)]
        names = ", ".join(f"{c.name} ({c.short_id})" for c in matches[:10])
        return AmbiguousContainer(
            f"container ID prefix {ref!r} is ambiguous: matches {names}; give more of the ID or a name"
        )

    def changed_paths(self, container: ContainerInfo) -> list[str]:
        """The paths of the container's diff against its image: added, changed or deleted,
        parents included, as the Engine lists them (all of them: see :meth:`container_diff`)."""
        return self.container_diff(container).paths

    def container_diff(
        self, container: ContainerInfo, limit: localfs.WalkLimit | None = None
    ) -> localfs.ChangeListing:
        """:meth:`changed_paths`, given up at ``limit`` (the listing then says so). On the
        fast path, read from the overlay2 upper directory itself, as the Engine's native
        diff does (archive.OverlayChanges): the Engine here answers from a walk of the whole
        image (~0.5 s for 200 MB)."""
        if container.overlay and self._local_root(container):
            with contextlib.suppress(OSError):  # gone, or not overlay's layout: ask the Engine
                return localfs.overlay_changes(container.overlay, limit)
        started = time.monotonic()
        url = self.api._url("/containers/{0}/changes", container.id)
        timeout = {"timeout": limit.seconds} if limit else {}
        with _engine_errors(container.id):
            try:
                res = self.api._get(url, **timeout)
            except requests.exceptions.Timeout:  # the Engine is still walking
                return localfs.ChangeListing([], False, 0, time.monotonic() - started)
            rows = self.api._result(res, True) or []
        paths = sorted(row["Path"] for row in rows)
        complete = limit is None or len(paths) <= limit.entries
        kept = paths if limit is None else paths[: limit.entries]
        return localfs.ChangeListing(kept, complete, len(kept), time.monotonic() - started)

    def restart(self, container_id: str, stop_timeout: int | None = None) -> None:
        with _engine_errors(container_id):
            if stop_timeout is None:
                self.api.restart(container_id)
            else:
                self.api.restart(container_id, timeout=stop_timeout)

    def signal(self, container_id: str, signal: str) -> None:
        with _engine_errors(container_id):
            self.api.kill(container_id, signal=signal)

    def exec(self, container_id: str, argv: list[str], timeout: float = 30) -> tuple[int, bytes]:
        """Run an argv list (no shell) in the container; used by ``exec:`` probes only."""
        with _engine_errors(container_id):
            created = self.api.exec_create(container_id, argv, stdout=True, stderr=True)
            output = self.api.exec_start(created["Id"])
            code = self.api.exec_inspect(created["Id"]).get("ExitCode")
        return (code if code is not None else -1), output or b""

    def logs_tail(self, container_id: str, lines: int = 10) -> str:
        with _engine_errors(container_id):
            data: bytes = self.api.logs(container_id, tail=lines)
        return data.decode("utf-8", "replace")

    def image_attrs(self, ref: str) -> dict[str, Any]:
        with _engine_errors():
            attrs: dict[str, Any] = self.api.inspect_image(ref)
        return attrs

    # --- files ------------------------------------------------------------------------------
    # Paths are absolute inside the container. Symlinks are not followed here except where
    # a method says so: the service decides what a link means for each use case.
    #
    # Two paths behind one interface: the archive API, which always works (remote engines,
    # stopped containers, no shell), and /proc/<pid>/root for a running container of a local
    # engine (about 100× faster). Both give the same results and the same errors.

    def _daemon_info(self) -> tuple[dict[str, Any], float, float]:
        """``/info`` (asked once), our clock at the middle of that call and half its length."""
        if self._info is None:
            before = time.time()
            with _engine_errors():
                info = self.api.info()
            after = time.time()
            self._info = (info, (before + after) / 2, (after - before) / 2)
        return self._info

    def clock_offset(self) -> float:
        """Seconds the engine's clock is ahead of ours: 0 on this host, else from
        ``/info``'s SystemTime (to within the round trip). File mtimes are the engine's
        clock."""
        if self.is_local:
            return 0.0
        info, asked_at, _ = self._daemon_info()
        engine_now = _parse_go_time(str(info.get("SystemTime") or ""))
        return engine_now - asked_at if engine_now else 0.0

    def clock_error(self) -> float:
        """How far :meth:`clock_offset` may be off: 0 on this host, else half the round trip
        it was measured over (1 s when the engine did not say its time)."""
        if self.is_local:
            return 0.0
        info, _, half_trip = self._daemon_info()
        return half_trip if info.get("SystemTime") else 1.0

    def _remapped_ids(self) -> tuple[int, int]:
        """The host uid/gid of container root on an Engine with ``--userns-remap``, else 0, 0.

        Its archive GET reports owners as the host sees them (container uid + that), while
        its PUT takes them as the container sees them (moby/moby#43698). A remapped dockerd
        says ``name=userns`` and keeps its data in ``<data-root>/<uid>.<gid>``.
        """
        info, _, _ = self._daemon_info()
        if "name=userns" in (info.get("SecurityOptions") or []):
            last = str(info.get("DockerRootDir") or "").rstrip("/").rpartition("/")[2]
            uid, _, gid = last.partition(".")
            if uid.isdigit() and gid.isdigit():
                return int(uid), int(gid)
        return 0, 0

    def _container_ids(self, st: FileStat) -> FileStat:
        """An archive GET's owner as the container sees it (what a PUT expects)."""
        uid0, gid0 = self._remapped_ids()
        if not (uid0 or gid0):
            return st
        uid = st.uid - uid0 if st.uid is not None and st.uid >= uid0 else st.uid
        gid = st.gid - gid0 if st.gid is not None and st.gid >= gid0 else st.gid
        return replace(st, uid=uid, gid=gid)

    def _local_root(self, container: ContainerInfo) -> str | None:
        return local_root(container) if self.local_fs and self.is_local else None

    def writes_atomically(self, container: ContainerInfo) -> bool:
        """Whether :meth:`write` replaces a file atomically (the local path) rather than
        extracting it in place (the archive API), where a write cut short leaves it
        half-written."""
        return self._local_root(container) is not None

    def stat(self, container: ContainerInfo, path: str) -> FileStat:
        """lstat of a path (symlinks not followed; a link's target made absolute)."""
        path = normalize(path)
        root = self._local_root(container)
        if root:
            with contextlib.suppress(_RootGone), _local_errors(container, path, root):
                return localfs.lstat(root, path)
        return self._stat_archive(container, path)

    def _stat_archive(self, container: ContainerInfo, path: str) -> FileStat:
        """``HEAD …/archive`` (about 1 ms); the Engine reports no uid/gid there."""
        _check_archive_reach(container, path)
        url = self.api._url("/containers/{0}/archive", container.id)
        with _engine_errors(container, path):
            res = self.api.head(url, params={"path": path})
            if res.status_code >= 500:  # a HEAD answer has no body to say why: GET says it
                with self._archive(container, path):
                    pass
            self.api._raise_for_status(res)
        header = res.headers.get("X-Docker-Container-Path-Stat")
        if not header:
            raise Unavailable(f"{container.name}:{path}: the engine sent no path stat")
        return _stat_from_header(path, json.loads(base64.b64decode(header)))

    def stat_full(self, container: ContainerInfo, path: str) -> FileStat:
        """Stat with owner: locally an lstat, else the first tar header of ``GET …/archive``."""
        path = normalize(path)
        root = self._local_root(container)
        if root:
            with contextlib.suppress(_RootGone), _local_errors(container, path, root):
                return localfs.lstat(root, path)
        with self._archive(container, path) as (tar, _):
            member = tar.next()
            if member is None:
                raise Unavailable(f"{container.name}:{path}: the engine sent an empty archive")
            return self._container_ids(_stat_from_tarinfo(path, member))

    def read(self, container: ContainerInfo, path: str, max_size: int | None = None) -> FileContent:
        """Read a regular file (not following a final symlink). Above ``max_size`` bytes
        it is refused (:class:`FileTooLarge`) before its content is read: the size is
        checked on what is read, not on an earlier stat the container may have outdated."""
        path = normalize(path)
        where = f"{container.name}:{path}"
        root = self._local_root(container)
        if root:
            with contextlib.suppress(_RootGone), _local_errors(container, path, root):
                try:
                    return localfs.read(root, path, max_size)
                except localfs.NotARegularFile as exc:
                    raise _not_regular(where, exc.kind) from None
                except localfs.AboveLimit as exc:
                    raise size_refusal(where, exc.size, exc.limit) from None
        with self._archive(container, path) as (tar, body):  # body: right after the header
            member = tar.next()
            if member is None:
                raise Unavailable(f"{where}: the engine sent an empty archive")
            info = self._container_ids(_stat_from_tarinfo(path, member))
            if info.kind != "file":
                raise _not_regular(where, info.kind)
            if max_size is not None and member.size > max_size:
                raise size_refusal(where, member.size, max_size)
            data = body.read(member.size)
        if len(data) != member.size:
            raise Unavailable(
                f"{where}: the engine's archive ended after {len(data)} of {member.size} bytes"
            )
        return FileContent(data, info)

    def list_dir(self, container: ContainerInfo, path: str) -> list[DirEntry]:
        """Direct children of a directory (a symlink to one is followed)."""
        path = normalize(path)
        root = self._local_root(container)
        if root:
            with contextlib.suppress(_RootGone), _local_errors(container, path, root):
                return localfs.list_dir(root, path)
        return self._list_dir_archive(container, path)

    def _list_dir_archive(self, container: ContainerInfo, path: str) -> list[DirEntry]:
        # GET of a directory sends its whole subtree; we read headers only and skip contents.
        top = self.stat(container, path)
        if top.kind == "symlink" and top.link_target:
            path = top.link_target
            top = self.stat(container, path)
        if top.kind != "dir":
            raise FileNotADirectory(f"{container.name}:{path} is not a directory")
        entries: list[DirEntry] = []
        with self._archive(container, path) as (tar, _):
            first: str | None = None
            for member in tar:
                name = member.name.rstrip("/")
                if first is None:
                    first = name  # the directory itself
                    continue
                rel = name[len(first) + 1 :] if name.startswith(first + "/") else name
                if rel and "/" not in rel:
                    st = self._container_ids(_stat_from_tarinfo(join(path, rel), member))
                    entries.append(DirEntry(rel, st))
        return sorted(entries, key=lambda e: e.name)

    def write(
        self, container: ContainerInfo, path: str, data: bytes, *, uid: int, gid: int, mode: int
    ) -> float:
        """Write a regular file with the given owner and mode; its mtime becomes now.

        The Engine extracts the tar as root and applies the header's owner, mode and
        mtime (an mtime of 0 would date the file 1970, and editors compare mtimes).
        Locally the file is replaced atomically (temp file + fsync + rename); through the
        archive API the Engine extracts it in place. Returns the mtime written.
        """
        path = normalize(path)
        parent, name = split(path)
        root = self._local_root(container)
        if root:
            with contextlib.suppress(_RootGone), _local_errors(container, path, root, parent):
                return localfs.write(root, path, data, uid=uid, gid=gid, mode=mode)
        _check_archive_reach(container, path)
        mtime = time.time()
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = mode & 0o7777
        info.uid, info.gid = uid, gid
        info.mtime = mtime
        with _engine_errors(container, path, parent=parent):
            self.api.put_archive(container.id, parent, _one_file_tar(info, data))
        return mtime

    def mkdir(self, container: ContainerInfo, path: str, *, uid: int, gid: int, mode: int) -> None:
        _check_archive_reach(container, path)
        parent, name = split(path)
        info = tarfile.TarInfo(name)
        info.type = tarfile.DIRTYPE
        info.mode = mode & 0o7777
        info.uid, info.gid = uid, gid
        info.mtime = time.time()
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
            tar.addfile(info)
        with _engine_errors(container, path, parent=parent):
            self.api.put_archive(container.id, parent, buf.getvalue())

    def delete(self, container: ContainerInfo, path: str) -> None:
        """Remove a file. The archive API cannot delete, so this needs local access or ``rm``."""
        path = normalize(path)
        root = self._local_root(container)
        if root:
            with contextlib.suppress(_RootGone), _local_errors(container, path, root):
                with contextlib.suppress(FileNotFoundError):
                    localfs.unlink(root, path)
                return
        why = (
            f"{container.name}:{path}: cannot delete: the Engine API has no delete, and the "
            "container is not running on this host"
        )
        if container.state != "running":
            raise Unavailable(
                f"{why} (it is {container.state}; start it, or delete on a local engine)"
            )
        code, output = self.exec(container.id, ["rm", "-f", "--", path])
        if code != 0:
            raise Unavailable(
                f"{why}; `rm` in it failed: {output.decode(errors='replace').strip()}"
            )

    # --- images: clean commits, whole-layer commits, verification ------------------------------

    def find_image(self, ref: str) -> dict[str, Any] | None:
        """``docker image inspect`` of ``ref``, or None when the Engine has no such image."""
        try:
            with _engine_errors():
                attrs: dict[str, Any] = self.api.inspect_image(ref)
        except (ContainerNotFound, FileNotFound):
            return None
        return attrs

    def container_attrs(self, ref: str) -> dict[str, Any]:
        """The raw ``docker inspect`` of a container (runtime config included)."""
        with _engine_errors(ref):
            attrs: dict[str, Any] = self.api.inspect_container(ref)
        return attrs

    def runtime_env_values(self, container_id: str) -> set[str]:
        """Values of the environment the container was given at run time (not its image's):
        the secrets to keep out of the journal and the report. None when it is gone."""
        try:
            attrs = self.container_attrs(container_id)
        except HotfixError:
            return set()
        env = list((attrs.get("Config") or {}).get("Env") or [])
        try:
            image_config = self.image_attrs(str(attrs.get("Image"))).get("Config") or {}
        except HotfixError:
            image_config = {}
        image_env = set(image_config.get("Env") or [])
        return {item.split("=", 1)[1] for item in env if "=" in item and item not in image_env}

    def create_container(self, image: str, name: str) -> str:
        """Create (do not start) a throwaway container from ``image`` with its own config."""
        with _engine_errors(name):
            created = self.api.create_container(image=image, name=name)
        return str(created["Id"])

    def remove_orphaned_throwaways(self, *prefixes: str) -> list[str]:
        """Throwaway containers (named by ``processes.throwaway_name``) whose hotfix process
        died — killed mid-commit — are removed. Returns their names."""
        orphans = []
        for prefix in prefixes:
            with _engine_errors():
                rows = self.api.containers(all=True, filters={"name": f"^/{prefix}-"})
            orphans += [r for r in rows if orphaned_name((r.get("Names") or [""])[0])]
        for row in orphans:
            self.remove_container(row["Id"])
        return [(row.get("Names") or [row["Id"][:12]])[0].lstrip("/") for row in orphans]

    def put_files(self, container_id: str, files: list[FileContent]) -> None:
        """Put regular files (path, content, owner, mode, mtime from each stat) in one archive PUT."""
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for f in files:
                info = tarfile.TarInfo(normalize(f.stat.path).lstrip("/"))
                info.size = len(f.data)
                info.mode = f.stat.mode & 0o7777
                info.uid, info.gid = f.stat.uid or 0, f.stat.gid or 0
                info.mtime = f.stat.mtime or time.time()
                tar.addfile(info, io.BytesIO(f.data))
        with _engine_errors(container_id, "/"):
            self.api.put_archive(container_id, "/", buf.getvalue())

    def commit(
        self,
        container_id: str,
        *,
        repository: str | None = None,
        tag: str | None = None,
        conf: dict[str, Any] | None = None,
        changes: list[str] | None = None,
        message: str | None = None,
        author: str | None = None,
        pause: bool = True,
    ) -> str:
        """``docker commit``: the container's writable layer as a new image; returns its ID.

        ``conf`` (a container config) replaces the container's config in the image; without
        it the image takes the container's runtime config, as ``docker commit`` does.
        """
        with _engine_errors(container_id):
            result = self.api.commit(
                container_id,
                repository=repository,
                tag=tag,
                message=message,
                author=author,
                pause=pause,
                changes=changes,
                conf=conf,
            )
        return str(result["Id"])

    def tag_image(self, image_id: str, repository: str, tag: str) -> None:
        """Point ``repository:tag`` at ``image_id`` (moving the tag if it exists)."""
        with _engine_errors():
            self.api.tag(image_id, repository, tag, force=True)

    def remove_container(self, container_id: str) -> None:
        """Remove a container (and its anonymous volumes), running or not; gone already is fine."""
        try:
            with _engine_errors(container_id):
                self.api.remove_container(container_id, force=True, v=True)
        except ContainerNotFound:
            pass

    def run_container(self, image: str, name: str, ports: list[str]) -> ContainerDetails:
        """Start a container from ``image``, each of ``ports`` ("8001/tcp") on a random 127.0.0.1 port."""
        bindings = {port: ("127.0.0.1", None) for port in ports}
        with _engine_errors(name):
            host_config = self.api.create_host_config(port_bindings=bindings)
            created = self.api.create_container(
                image=image,
                name=name,
                ports=[_port_spec(p) for p in ports],
                host_config=host_config,
            )
            container_id = str(created["Id"])
            try:
                self.api.start(container_id)
            except docker.errors.APIError:
                self.api.remove_container(container_id, force=True, v=True)
                raise
        return self.inspect(container_id)

    def remove_image(self, ref: str) -> None:
        try:
            with _engine_errors():
                self.api.remove_image(ref, force=False, noprune=False)
        except (ContainerNotFound, FileNotFound):
            pass

    def push(self, ref: str) -> None:
        """Push an image to its registry (so the nodes of a multi-node swarm can pull it)."""
        with _engine_errors():
            for event in self.api.push(ref, stream=True, decode=True):
                if "error" in event:
                    raise Unavailable(f"push {ref}: {event['error']}")

    # --- Swarm services ---------------------------------------------------------------------

    def swarm_service(self, name: str) -> dict[str, Any]:
        try:
            with _engine_errors():
                attrs: dict[str, Any] = self.api.inspect_service(name)
        except (ContainerNotFound, FileNotFound):
            raise FileNotFound(f"no such Swarm service: {name!r} on engine {self.name}") from None
        return attrs

    def update_service_image(
        self, name: str, image: str, *, monitor: float, parallelism: int = 1
    ) -> None:
        """Start Swarm's own rolling update to ``image``: ``parallelism`` tasks at a time,
        each watched for ``monitor`` seconds, rolled back on failure."""
        current = self.swarm_service(name)
        spec = current["Spec"]
        template = dict(spec["TaskTemplate"])
        template["ContainerSpec"] = {**template["ContainerSpec"], "Image": image}
        monitor_ns = int(monitor * 1e9)
        update = {
            "Parallelism": parallelism,
            "Delay": 0,
            "FailureAction": "rollback",
            "Monitor": monitor_ns,
            "MaxFailureRatio": 0,
            "Order": "stop-first",
        }
        rollback = {
            "Parallelism": parallelism,
            "Delay": 0,
            "FailureAction": "pause",
            "Monitor": monitor_ns,
            "MaxFailureRatio": 0,
            "Order": "stop-first",
        }
        with _engine_errors():
            self.api.update_service(
                current["ID"],
                current["Version"]["Index"],
                task_template=template,
                name=spec.get("Name"),
                labels=spec.get("Labels"),
                mode=spec.get("Mode"),
                update_config=update,
                rollback_config=rollback,
                networks=template.get("Networks"),
                endpoint_spec=spec.get("EndpointSpec"),
            )

    def service_tasks(self, name: str) -> list[dict[str, Any]]:
        with _engine_errors():
            tasks: list[dict[str, Any]] = self.api.tasks(filters={"service": name})
        return tasks

    @contextmanager
    def _archive(
        self, container: ContainerInfo, path: str
    ) -> Iterator[tuple[tarfile.TarFile, _ForwardReader]]:
        """The ``GET …/archive`` stream as a tar read in order, and the stream itself, which
        stands right after the last header read (a content can be read from it directly);
        closing abandons the rest."""
        _check_archive_reach(container, path)
        self._remapped_ids()  # asked once, before the stream is open
        url = self.api._url("/containers/{0}/archive", container.id)
        with _engine_errors(container, path):
            # identity: requests asks for gzip by default, and dockerd then compresses every
            # archive (a 32 MB read took 1.6 s instead of 0.3 s).
            res = self.api._get(
                url, params={"path": path}, stream=True, headers={"Accept-Encoding": "identity"}
            )
            self.api._raise_for_status(res)
            try:
                stream = _ForwardReader(res.raw)
                with tarfile.open(fileobj=stream, mode="r:") as tar:  # type: ignore[call-overload]
                    yield tar, stream
            finally:
                res.close()


class _ForwardReader:
    """A response body that tarfile may seek forward in: skipped contents are read into
    one scratch buffer and dropped. tarfile's own stream mode ("r|") copies its buffer's
    remainder on every header (a 10,000-file listing: ~0.3 s of memcpy) and a 32 MB content
    through 10 KB pieces; its seekable mode reads only the header blocks it needs."""

    BUFFER = 64 * 1024  # headers come out of a buffer, not a call down the stack each
    SKIP_CHUNK = 256 * 1024

    def __init__(self, response: Any) -> None:
        # http.client's response under urllib3's (docker-py reaches it the same way for
        # attach): it undoes the chunked framing straight into the caller's buffer, so a
        # big read() is one allocation filled in place; urllib3's read() joins and copies
        # (a 32 MB content: ~50 ms more CPU). Identity was asked for: nothing to decode.
        self._raw = io.BufferedReader(getattr(response, "_fp", None) or response, self.BUFFER)
        self._pos = 0
        self._scratch = memoryview(bytearray(self.SKIP_CHUNK))

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read() if size is None or size < 0 else self._raw.read(size)
        self._pos += len(data)
        return data

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        target = offset if whence == io.SEEK_SET else self._pos + offset
        if whence not in (io.SEEK_SET, io.SEEK_CUR) or target < self._pos:
            raise io.UnsupportedOperation("the archive stream only seeks forward")
        while self._pos < target:
            got = self._raw.readinto(self._scratch[: min(target - self._pos, self.SKIP_CHUNK)])
            if not got:
                break  # the end: tarfile's next read finds it
            self._pos += got
        return self._pos


def _one_file_tar(info: tarfile.TarInfo, data: bytes) -> _Body:
    """A tar of one regular file: its header (PAX when needed), the data padded to a block,
    and the end-of-archive blocks — sent as they are, not copied through tarfile in 16 KB
    pieces nor joined (a 32 MB file: ~50 ms less)."""
    header = info.tobuf(tarfile.PAX_FORMAT, tarfile.ENCODING, "surrogateescape")
    padding = -len(data) % tarfile.BLOCKSIZE
    return _Body(header, data, tarfile.NUL * (padding + 2 * tarfile.BLOCKSIZE))


class _Body:
    """A request body sent part by part with its Content-Length: requests takes an
    iterable with ``__len__`` as a stream of known length, and urllib3 sends each part
    as it is."""

    def __init__(self, *parts: bytes) -> None:
        self.parts = parts

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.parts)

    def __len__(self) -> int:
        return sum(map(len, self.parts))

    def __bytes__(self) -> bytes:
        return b"".join(self.parts)


def _port_spec(port: str) -> int | tuple[int, str]:
    number, _, proto = port.partition("/")
    return (int(number), proto) if proto and proto != "tcp" else int(number)


# --- translating the Engine's answers ------------------------------------------------------


def _info_from_summary(row: dict[str, Any]) -> ContainerInfo:
    names = row.get("Names") or ["/" + row["Id"][:12]]
    status = row.get("Status") or ""
    health = None
    for word in ("healthy", "unhealthy", "health: starting"):
        if f"({word})" in status:
            health = word.replace("health: ", "")
    ports = [_port_text(p) for p in row.get("Ports") or [] if p.get("PublicPort")]
    return ContainerInfo(
        id=row["Id"],
        name=names[0].lstrip("/"),
        image=row.get("Image", ""),
        image_id=row.get("ImageID", ""),
        state=row.get("State", ""),
        health=health,
        labels=row.get("Labels") or {},
        ports=sorted(set(ports)),
    )


def _port_text(p: dict[str, Any]) -> str:
    return (
        f"{p.get('IP') or '0.0.0.0'}:{p['PublicPort']}->{p['PrivatePort']}/{p.get('Type', 'tcp')}"
    )


def _details_from_inspect(attrs: dict[str, Any]) -> ContainerDetails:
    state = attrs.get("State") or {}
    config = attrs.get("Config") or {}
    host_config = attrs.get("HostConfig") or {}
    health = (state.get("Health") or {}).get("Status")
    published: list[tuple[str, int, str]] = []
    # Live bindings while running; the configured ones when stopped (a restart brings them back).
    bindings = (
        (attrs.get("NetworkSettings") or {}).get("Ports") or host_config.get("PortBindings") or {}
    )
    for container_port, hosts in sorted(bindings.items()):
        for host in hosts or []:
            if host.get("HostPort"):
                published.append((host.get("HostIp") or "", int(host["HostPort"]), container_port))
    healthcheck = (config.get("Healthcheck") or {}).get("Test")
    if healthcheck and healthcheck[0] == "NONE":
        healthcheck = None
    info = ContainerInfo(
        id=attrs["Id"],
        name=attrs.get("Name", "").lstrip("/"),
        image=config.get("Image", ""),
        image_id=attrs.get("Image", ""),
        state=state.get("Status", ""),
        health=health,
        labels=config.get("Labels") or {},
        ports=[f"{ip or '0.0.0.0'}:{port}->{cport}" for ip, port, cport in published],
        pid=int(state.get("Pid") or 0),
        unarchivable=_unarchivable_mounts(attrs),
        overlay=_overlay_dirs(attrs),
    )
    return ContainerDetails(
        info=info,
        healthcheck=healthcheck,
        published=published,
        stop_timeout=config.get("StopTimeout"),
        exit_code=state.get("ExitCode"),
        read_only=bool(host_config.get("ReadonlyRootfs")),
    )


def _overlay_dirs(attrs: dict[str, Any]) -> OverlayDirs | None:
    driver = attrs.get("GraphDriver") or {}
    data = driver.get("Data") or {}
    if driver.get("Name") != "overlay2" or not data.get("UpperDir"):
        return None
    lowers = tuple(p for p in str(data.get("LowerDir") or "").split(":") if p)
    return OverlayDirs(str(data["UpperDir"]), lowers)


def _unarchivable_mounts(attrs: dict[str, Any]) -> tuple[str, ...]:
    """Where the archive API sees the image's directory, not what the container mounted."""
    tmpfs = set((attrs.get("HostConfig") or {}).get("Tmpfs") or {})
    tmpfs |= {m["Destination"] for m in attrs.get("Mounts") or [] if m.get("Type") == "tmpfs"}
    return tuple(sorted(tmpfs | {"/dev", "/proc", "/sys"}))


def _check_archive_reach(container: ContainerInfo, path: str) -> None:
    for mount in container.unarchivable:
        if path == mount or path.startswith(mount.rstrip("/") + "/"):
            raise NoPermissions(
                f"{container.name}:{path} is on the mount {mount} (tmpfs or kernel), which the "
                "Engine's archive API cannot reach; run hotfix as root on the engine's host "
                "(it then uses /proc/<pid>/root), or change the file another way"
            )


def size_refusal(where: str, size: int | None, limit: int) -> FileTooLarge:
    """The refusal of a file above the size limit (``size`` None: it grew past the limit
    while it was read)."""
    what = "grew past" if size is None else f"is {_mib(size)}, above"
    return FileTooLarge(
        f"{where} {what} the {_mib(limit)} limit (HOTFIX_MAX_FILE_SIZE); force to go ahead"
    )


def _mib(size: int) -> str:
    return f"{size / (1 << 20):.1f} MiB"


def _not_regular(where: str, kind: FileKind) -> HotfixError:
    if kind == "dir":
        return FileIsADirectory(f"{where} is a directory")
    return NoPermissions(f"{where} is a {kind}, not a regular file")


def _stat_from_header(path: str, raw: dict[str, Any]) -> FileStat:
    go_mode = int(raw.get("mode", 0))
    if go_mode & _GO_DIR:
        kind: FileKind = "dir"
    elif go_mode & _GO_SYMLINK:
        kind = "symlink"
    elif go_mode & _GO_PIPE:
        kind = "fifo"
    elif go_mode & _GO_SOCKET:
        kind = "socket"
    elif go_mode & _GO_DEVICE:
        kind = "device"
    else:
        kind = "file"
    mode = go_mode & 0o777
    if go_mode & _GO_SETUID:
        mode |= stat_module.S_ISUID
    if go_mode & _GO_SETGID:
        mode |= stat_module.S_ISGID
    if go_mode & _GO_STICKY:
        mode |= stat_module.S_ISVTX
    return FileStat(
        path=path,
        kind=kind,
        size=int(raw.get("size", 0)),
        mode=mode,
        mtime=_parse_go_time(str(raw.get("mtime", ""))),
        link_target=raw.get("linkTarget") or None,
    )


def _stat_from_tarinfo(path: str, member: tarfile.TarInfo) -> FileStat:
    return FileStat(
        path=path,
        kind=_TAR_KINDS.get(member.type, "other"),
        size=member.size,
        mode=member.mode & 0o7777,
        mtime=float(member.mtime),
        uid=member.uid,
        gid=member.gid,
        link_target=member.linkname or None,
    )


def _parse_go_time(text: str) -> float:
    """Parse RFC 3339 with nanoseconds ("2024-05-01T10:00:00.123456789Z")."""
    if not text:
        return 0.0
    main, _, rest = text.partition(".")
    frac = ""
    tz = "+00:00"
    if rest:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        frac, tz = rest[:digits], rest[digits:] or tz
    elif text.endswith("Z"):
        main = text[:-1]
    else:
        for sign in ("+", "-"):
            idx = main.rfind(sign, 19)
            if idx > 0:
                main, tz = main[:idx], main[idx:]
    if tz == "Z":
        tz = "+00:00"
    try:
        moment = datetime.fromisoformat(main + tz)
    except ValueError:
        return 0.0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp() + (float("0." + frac) if frac else 0.0)


# --- errors --------------------------------------------------------------------------------


def _reason(exc: BaseException) -> str:
    if isinstance(exc, docker.errors.APIError):
        return str(exc.explanation or exc)
    text = str(exc)
    if "Connection refused" in text or "No such file or directory" in text:
        return f"{text} — is dockerd running? (scripts/ensure-engine.sh starts one)"
    return text


@contextmanager
def _engine_errors(
    container: ContainerInfo | str = "", path: str = "", parent: str = ""
) -> Iterator[None]:
    """Translate docker-py and transport errors into HotfixErrors naming container and path."""
    name = container.name if isinstance(container, ContainerInfo) else container
    where = f"{name}:{path}" if path else name
    try:
        yield
    except HotfixError:
        raise
    except docker.errors.NotFound as exc:
        text = _reason(exc)
        if not path or "no such container" in text.lower():
            raise ContainerNotFound(f"no such container: {name or text}") from exc
        if parent and "could not find the file" in text.lower():
            raise FileNotFound(f"{where}: parent directory {parent} does not exist") from exc
        raise FileNotFound(f"{where}: no such file or directory") from exc
    except docker.errors.APIError as exc:
        text = _reason(exc)
        low = text.lower()
        if "read-only" in low or "read only" in low:
            raise NoPermissions(f"{where}: the container's root filesystem is read-only") from exc
        if "not a directory" in low:
            raise FileNotADirectory(f"{where}: {parent or 'a parent'} is not a directory") from exc
        if "too many links" in low:  # not FileNotFound: that would read as "absent"
            raise Unavailable(f"{where}: too many levels of symbolic links") from exc
        if "no such container" in low:
            raise ContainerNotFound(f"no such container: {name}") from exc
        if "is paused" in low:
            raise Unavailable(f"{where}: the container is paused ({text})") from exc
        if "permission denied" in low:
            raise NoPermissions(f"{where}: permission denied ({text})") from exc
        raise Unavailable(f"{where}: the engine refused: {text}") from exc
    except (requests.exceptions.RequestException, docker.errors.DockerException) as exc:
        raise Unavailable(f"cannot reach the Docker engine: {_reason(exc)}") from exc
    except (tarfile.TarError, OSError, urllib3.exceptions.HTTPError) as exc:
        # urllib3's errors: an archive stream cut off midway (read from the raw response)
        raise Unavailable(f"{where}: reading the engine's archive failed: {exc}") from exc


class _RootGone(Exception):
    """The container's process went away mid-operation: use the archive API instead."""


@contextmanager
def _local_errors(
    container: ContainerInfo, path: str, root: str, parent: str = ""
) -> Iterator[None]:
    """OS errors of the local path as the same HotfixErrors the archive path raises."""
    where = f"{container.name}:{path}"
    try:
        yield
    except OSError as exc:
        if not os.path.isdir(root):
            raise _RootGone from exc
        if isinstance(exc, localfs.NotADirectory) or exc.errno == errno.ENOTDIR:
            raise FileNotADirectory(f"{where}: {parent or 'a parent'} is not a directory") from exc
        if exc.errno == errno.ENOENT:
            if parent and not _local_exists(root, parent):
                raise FileNotFound(f"{where}: parent directory {parent} does not exist") from exc
            raise FileNotFound(f"{where}: no such file or directory") from exc
        if exc.errno == errno.EROFS:
            raise NoPermissions(f"{where}: the container's root filesystem is read-only") from exc
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise NoPermissions(f"{where}: permission denied ({exc.strerror})") from exc
        if exc.errno == errno.EISDIR:
            raise FileIsADirectory(f"{where} is a directory") from exc
        if exc.errno == errno.ELOOP:
            raise FileNotFound(f"{where}: too many levels of symbolic links") from exc
        if exc.errno == errno.ENOSPC:
            raise Unavailable(f"{where}: no space left on the container's filesystem") from exc
        raise Unavailable(f"{where}: {exc.strerror or exc}") from exc


def _local_exists(root: str, path: str) -> bool:
    try:
        os.close(localfs.open_dir(root, path))
    except OSError:
        return False
    return True


def local_root(info: ContainerInfo) -> str | None:
    """``/proc/<pid>/root`` of a running container on this host, when we may use it.

    Only as root, and only when the PID really is this container's (its cgroup names the
    container ID) and shares our user namespace mapping — with userns remapping, owners
    seen from the host differ from those in the container, and the archive API maps them.
    """
    if info.state != "running" or not info.pid or os.geteuid() != 0:
        return None
    root = f"/proc/{info.pid}/root"
    if (info.id, info.pid) not in _VERIFIED_PIDS:
        try:
            with open(f"/proc/{info.pid}/cgroup", encoding="utf-8") as fh:
                if info.id not in fh.read():
                    return None  # a PID from another namespace: not this container
            with open(f"/proc/{info.pid}/uid_map", encoding="utf-8") as fh:
                if fh.read().split() != ["0", "0", "4294967295"]:
                    return None
        except OSError:
            return None
        # Keyed by container ID and PID, a positive answer cannot go stale: a restarted
        # container gets a new PID, and another container is another key.
        _VERIFIED_PIDS.add((info.id, info.pid))
    return root if os.path.isdir(root) else None


_VERIFIED_PIDS: set[tuple[str, int]] = set()
