"""Twins: a throwaway copy of a container — its image, its changes (the Engine's container
diff), its config — created isolated, to try new content in before it goes live.

The twin spec (:func:`twin_spec`) is a pure function of the container's inspect. Its changed
files travel through the archive API (``GET`` from the container, one ``PUT`` into the
twin); a deletion becomes an overlay whiteout in the twin's upper directory (local engine),
so no ``docker commit`` of the whole container is needed. The owner goes in the name (like
the other throwaway containers) and in a label, so a later run removes a dead run's twins.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
import tarfile
import tempfile
from dataclasses import dataclass, field
from typing import IO, Any

from hotfix.core.errors import HotfixError, UsageError
from hotfix.core.model import ContainerInfo, FileContent, OverlayDirs
from hotfix.core.paths import normalize
from hotfix.docker.archive import ForwardReader
from hotfix.docker.errors import engine_errors
from hotfix.docker.localfs import overlay_changes

TWIN_PREFIX = "hotfix-twin"
TWIN_LABEL = "hotfix.twin.of"  # the production container's ID
TWIN_OWNER_LABEL = "hotfix.twin.owner-pid"
# A twin is never part of a Compose project or a Swarm service.
STRIPPED_LABEL_PREFIXES = ("com.docker.compose.", "com.docker.swarm.", "com.docker.stack.")
NETWORKS = ("none", "same")
DIFF_CHANGED, DIFF_ADDED, DIFF_DELETED = 0, 1, 2  # the Engine's container diff's kinds
SPOOL_IN_MEMORY = 16 * 1024 * 1024  # a bigger tar of changes goes to a temp file
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True)
class TwinSpec:
    """What :meth:`TwinsMixin.create_twin` creates: the container's config, isolated."""

    image: str
    name: str
    config: dict[str, Any]  # create_container's arguments (no host config)
    host_config: dict[str, Any]  # create_host_config's arguments
    dropped_mounts: list[str] = field(default_factory=list)  # "bind /src -> /dst", …
    volume_copies: list[str] = field(default_factory=list)  # destinations copied in


@dataclass(frozen=True)
class CopiedChanges:
    """What of the container's diff reached the twin."""

    copied: int  # changed or added entries put in
    deleted: int  # deletions reproduced as whiteouts
    notes: list[str] = field(default_factory=list)


def twin_labels(labels: dict[str, str], container_id: str, owner_pid: int) -> dict[str, str]:
    """The container's labels without Compose's and Swarm's, marked as a twin of it."""
    kept = {k: v for k, v in labels.items() if not k.startswith(STRIPPED_LABEL_PREFIXES)}
    return {**kept, TWIN_LABEL: container_id, TWIN_OWNER_LABEL: str(owner_pid)}


def twin_spec(
    attrs: dict[str, Any],
    name: str,
    *,
    network: str = "none",
    with_volumes: bool = False,
    owner_pid: int | None = None,
) -> TwinSpec:
    """The twin of the container ``attrs`` (its ``docker inspect``): image, entrypoint, cmd,
    env, user, workdir, healthcheck, labels (marked); no published port, no mount of it;
    network ``none`` (its own loopback only) unless ``same`` is asked for."""
    if network not in NETWORKS:
        raise UsageError(f"--network {network!r}: use none (the default) or same")
    config = attrs.get("Config") or {}
    host = attrs.get("HostConfig") or {}
    mounts = attrs.get("Mounts") or []
    copies = sorted(str(m["Destination"]) for m in mounts) if with_volumes else []
    labels = twin_labels(
        dict(config.get("Labels") or {}), str(attrs["Id"]), owner_pid or os.getpid()
    )
    create = {
        "image": str(attrs["Image"]),
        "name": name,
        "entrypoint": config.get("Entrypoint"),
        "command": config.get("Cmd"),
        "environment": list(config.get("Env") or []),
        "user": config.get("User") or "",
        "working_dir": config.get("WorkingDir") or None,
        "labels": labels,
        "healthcheck": config.get("Healthcheck"),
        "stop_signal": config.get("StopSignal"),
        "tty": bool(config.get("Tty")),
        "volumes": copies or None,  # anonymous volumes, filled from the container's
    }
    host_config = {
        "network_mode": str(host.get("NetworkMode") or "default") if network == "same" else "none",
        "init": host.get("Init"),
        "cap_add": host.get("CapAdd"),
        "cap_drop": host.get("CapDrop"),
        "tmpfs": host.get("Tmpfs"),
    }
    dropped = [
        f"{m.get('Type')} {m.get('Name') or m.get('Source')} -> {m.get('Destination')}"
        for m in mounts
    ]
    return TwinSpec(
        str(attrs["Image"]),
        name,
        {k: v for k, v in create.items() if v is not None},
        {k: v for k, v in host_config.items() if v is not None},
        dropped,
        copies,
    )


class TwinsMixin:
    api: Any  # docker-py's APIClient

    def create_twin(self, spec: TwinSpec) -> str:
        """Create (do not start) the twin; returns its ID."""
        with engine_errors(spec.name):
            host_config = self.api.create_host_config(**spec.host_config)
            created = self.api.create_container(**spec.config, host_config=host_config)
        return str(created["Id"])

    def keep_twin(self, container_id: str, name: str) -> str:
        """Rename a twin the user keeps so no later sweep takes it for a dead run's; its new name."""
        kept = f"{name}-kept"
        with engine_errors(container_id):
            self.api.rename(container_id, kept)
        return kept

    def start_container(self, container_id: str) -> None:
        with engine_errors(container_id):
            self.api.start(container_id)

    def twin_pid(self, container_id: str) -> int:
        """The twin's PID 1 on the engine's host (0 when it is not running)."""
        with engine_errors(container_id):
            attrs = self.api.inspect_container(container_id)
        return int((attrs.get("State") or {}).get("Pid") or 0)

    def copy_changes(
        self, source: ContainerInfo, twin_id: str, skip: set[str], whiteouts_here: bool
    ) -> CopiedChanges:
        """Put the source container's diff in the (created) twin: changed and added entries
        through one archive PUT; deletions as whiteouts in the twin's upper directory when
        ``whiteouts_here`` (the engine's overlay2 is on this host). ``skip``: paths the try
        writes anyway."""
        diff = self._diff(source, whiteouts_here)
        changed = [str(d["Path"]) for d in diff if d["Kind"] == DIFF_ADDED]
        changed += _changed_leaves(diff)
        copied = self._put_entries(source.id, twin_id, [p for p in changed if p not in skip])
        deleted = [str(d["Path"]) for d in diff if d["Kind"] == DIFF_DELETED]
        deleted = [p for p in deleted if p not in skip]
        if not deleted:
            return CopiedChanges(copied, 0)
        if not whiteouts_here:
            note = f"{len(deleted)} path(s) the container deleted are still in the twin (remote engine)"
            return CopiedChanges(copied, 0, [note])
        layers = self._layers(twin_id)
        missed = [p for p in deleted if not _whiteout(layers, p)]
        notes = [f"deletion of {p} not reproduced in the twin" for p in missed[:5]]
        return CopiedChanges(copied, len(deleted) - len(missed), notes)

    def _diff(self, source: ContainerInfo, here: bool) -> list[dict[str, Any]]:
        """The container diff as the Engine lists it (Path, Kind); read from overlay2's
        directories when they are on this host — milliseconds where the Engine's diff takes
        half a second."""
        if here and source.overlay is not None:
            with contextlib.suppress(OSError):
                return _overlay_diff(source.overlay)
        with engine_errors(source.id):
            answer: list[dict[str, Any]] = self.api.diff(source.id) or []
        return answer

    def copy_trees(self, source_id: str, twin_id: str, paths: list[str]) -> None:
        """Copy whole directories (volume contents) from the source into the twin."""
        for path in paths:
            with engine_errors(source_id, path):
                stream, _ = self.api.get_archive(source_id, path)
                with tempfile.TemporaryFile() as spool:
                    for chunk in stream:
                        spool.write(chunk)
                    spool.seek(0)
                    parent = os.path.dirname(normalize(path)) or "/"
                    self.api.put_archive(twin_id, parent, spool)

    def put_contents(self, container_id: str, files: list[FileContent]) -> None:
        """Regular files (path, content, owner, mode from each stat) in one archive PUT."""
        with tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY) as spool:
            with tarfile.open(fileobj=spool, mode="w", format=tarfile.PAX_FORMAT) as tar:
                for f in files:
                    info = tarfile.TarInfo(normalize(f.stat.path).lstrip("/"))
                    info.size, info.mode = len(f.data), f.stat.mode & 0o7777
                    info.uid, info.gid = f.stat.uid or 0, f.stat.gid or 0
                    info.mtime = f.stat.mtime
                    tar.addfile(info, io.BytesIO(f.data))
            spool.seek(0)
            with engine_errors(container_id, "/"):
                self.api.put_archive(container_id, "/", spool.read())

    def twins(self, of: str | None = None) -> list[dict[str, Any]]:
        """Twin containers (all, or of one container): docker-py's summary rows."""
        label = f"{TWIN_LABEL}={of}" if of else TWIN_LABEL
        with engine_errors():
            rows: list[dict[str, Any]] = self.api.containers(all=True, filters={"label": label})
        return rows

    def _put_entries(self, source_id: str, twin_id: str, paths: list[str]) -> int:
        """Each path's own entry (a directory without its contents) from the source, as one
        tar into the twin. Returns how many."""
        if not paths:
            return 0
        count = 0
        with tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY) as spool:
            with tarfile.open(fileobj=spool, mode="w", format=tarfile.PAX_FORMAT) as out:
                for path in paths:
                    count += self._copy_entry(source_id, path, out)
            spool.seek(0)
            with engine_errors(twin_id, "/"):
                self.api.put_archive(twin_id, "/", spool.read())
        return count

    def _copy_entry(self, source_id: str, path: str, out: tarfile.TarFile) -> int:
        """The first member of ``GET …/archive?path=PATH`` (the path itself, a directory
        without its contents) into ``out``; 0 when it is gone since the diff was taken."""
        url = self.api._url("/containers/{0}/archive", source_id)
        try:
            with engine_errors(source_id, path):
                response = self.api._get(
                    url, params={"path": path}, stream=True, headers={"Accept-Encoding": "identity"}
                )
                self.api._raise_for_status(response)
        except HotfixError:
            return 0
        try:
            stream: IO[bytes] = ForwardReader(response.raw)  # type: ignore[assignment]
            with tarfile.open(fileobj=stream, mode="r:") as tar:
                member = tar.next()
                if member is None:
                    return 0
                member.name = normalize(path).lstrip("/")
                out.addfile(member, tar.extractfile(member) if member.isreg() else None)
        finally:
            response.close()
        return 1

    def _layers(self, container_id: str) -> tuple[str, list[str]]:
        """The twin's overlay2 directories: its upper, and its image layers top first."""
        with engine_errors(container_id):
            attrs = self.api.inspect_container(container_id)
        data = (attrs.get("GraphDriver") or {}).get("Data") or {}
        lowers = [d for d in str(data.get("LowerDir") or "").split(":") if os.path.isabs(d)]
        return str(data.get("UpperDir") or ""), lowers


def _overlay_diff(dirs: OverlayDirs) -> list[dict[str, Any]]:
    listing = overlay_changes(dirs)
    upper = os.open(dirs.upper, _DIR_FLAGS)
    try:
        return [
            {"Path": p, "Kind": DIFF_ADDED if p in listing.added else _upper_kind(upper, p)}
            for p in listing.paths
        ]
    finally:
        os.close(upper)


def _upper_kind(upper: int, path: str) -> int:
    """Changed, or deleted: a whiteout in the writable layer, or no entry there at all (an
    entry of the image's that an opaque directory hides)."""
    parts = [p for p in path.split("/") if p]
    fd = os.dup(upper)
    try:
        for part in parts[:-1]:
            child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
        st = os.stat(parts[-1], dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return DIFF_DELETED
    finally:
        os.close(fd)
    whiteout = stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    return DIFF_DELETED if whiteout else DIFF_CHANGED


def _changed_leaves(diff: list[dict[str, Any]]) -> list[str]:
    """The changed entries that are no parent of another entry of the diff: a directory the
    image has is listed as changed for what changed under it, and a GET of it would make
    the Engine start a tar of all it holds (``/usr``) for the one header wanted."""
    paths = sorted(str(d["Path"]) for d in diff)
    parents = {os.path.dirname(p) for p in paths}
    return [str(d["Path"]) for d in diff if d["Kind"] == DIFF_CHANGED and d["Path"] not in parents]


def _whiteout(layers: tuple[str, list[str]], path: str) -> bool:
    """An overlay whiteout (a 0/0 character device) for ``path`` in the twin's upper
    directory; a parent it lacks is made there as the image has it (owner, mode). Walked by
    descriptor without following a link: the names came from the container."""
    upper, lowers = layers
    parts = [p for p in normalize(path).split("/") if p]
    if not parts or not os.path.isabs(upper):
        return False
    try:
        fd = os.open(upper, _DIR_FLAGS)
    except OSError:
        return False
    try:
        for depth, part in enumerate(parts[:-1]):
            if not _exists(fd, part):
                _mkdir_as_below(fd, part, lowers, parts[: depth + 1])
            child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
        with contextlib.suppress(FileNotFoundError):
            os.unlink(parts[-1], dir_fd=fd)
        os.mknod(parts[-1], stat.S_IFCHR | 0o000, os.makedev(0, 0), dir_fd=fd)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def _exists(fd: int, name: str) -> bool:
    try:
        os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def _mkdir_as_below(fd: int, name: str, lowers: list[str], parts: list[str]) -> None:
    """Make directory ``name`` under ``fd`` with the owner and mode of the topmost image
    layer's ``/parts…``, so the merged view shows the image's directory unchanged."""
    for lower in lowers:
        with contextlib.suppress(OSError):
            below = os.open(lower, _DIR_FLAGS)
            try:
                for part in parts[:-1]:
                    child = os.open(part, _DIR_FLAGS, dir_fd=below)
                    os.close(below)
                    below = child
                st = os.stat(parts[-1], dir_fd=below, follow_symlinks=False)
            finally:
                os.close(below)
            if stat.S_ISDIR(st.st_mode):
                os.mkdir(name, 0o700, dir_fd=fd)
                os.chown(name, st.st_uid, st.st_gid, dir_fd=fd, follow_symlinks=False)
                os.chmod(name, stat.S_IMODE(st.st_mode), dir_fd=fd)
                return
    raise FileNotFoundError(errno.ENOENT, "no such directory in the image", "/".join(parts))
