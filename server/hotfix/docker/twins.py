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
import io
import os
import stat
import tarfile
import tempfile
from dataclasses import dataclass, field
from typing import IO, Any

from hotfix.core.errors import HotfixError, UsageError
from hotfix.core.model import FileContent
from hotfix.core.paths import normalize
from hotfix.docker.archive import ForwardReader
from hotfix.docker.errors import engine_errors

TWIN_PREFIX = "hotfix-twin"
TWIN_LABEL = "hotfix.twin.of"  # the production container's ID
TWIN_OWNER_LABEL = "hotfix.twin.owner-pid"
# A twin is never part of a Compose project or a Swarm service.
STRIPPED_LABEL_PREFIXES = ("com.docker.compose.", "com.docker.swarm.", "com.docker.stack.")
NETWORKS = ("none", "same")
DIFF_DELETED = 2  # the Engine's container diff: 0 changed, 1 added, 2 deleted
SPOOL_IN_MEMORY = 16 * 1024 * 1024  # a bigger tar of changes goes to a temp file


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

    def start_container(self, container_id: str) -> None:
        with engine_errors(container_id):
            self.api.start(container_id)

    def twin_pid(self, container_id: str) -> int:
        """The twin's PID 1 on the engine's host (0 when it is not running)."""
        with engine_errors(container_id):
            attrs = self.api.inspect_container(container_id)
        return int((attrs.get("State") or {}).get("Pid") or 0)

    def copy_changes(
        self, source_id: str, twin_id: str, skip: set[str], whiteouts_here: bool
    ) -> CopiedChanges:
        """Put the source container's diff in the (created) twin: changed and added entries
        through one archive PUT; deletions as whiteouts in the twin's upper directory when
        ``whiteouts_here`` (the engine's overlay2 is on this host). ``skip``: paths the try
        writes anyway."""
        with engine_errors(source_id):
            diff = self.api.diff(source_id) or []
        changed = [str(d["Path"]) for d in diff if d["Kind"] != DIFF_DELETED]
        deleted = [str(d["Path"]) for d in diff if d["Kind"] == DIFF_DELETED]
        copied = self._put_entries(source_id, twin_id, [p for p in changed if p not in skip])
        deleted = [p for p in deleted if p not in skip]
        if not deleted:
            return CopiedChanges(copied, 0)
        if not whiteouts_here:
            note = f"{len(deleted)} path(s) the container deleted are still in the twin (remote engine)"
            return CopiedChanges(copied, 0, [note])
        upper = self._upper_dir(twin_id)
        missed = [p for p in deleted if not _whiteout(upper, p)]
        notes = [f"deletion of {p} not reproduced in the twin" for p in missed[:5]]
        return CopiedChanges(copied, len(deleted) - len(missed), notes)

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

    def _upper_dir(self, container_id: str) -> str:
        with engine_errors(container_id):
            attrs = self.api.inspect_container(container_id)
        driver = attrs.get("GraphDriver") or {}
        return str((driver.get("Data") or {}).get("UpperDir") or "")


def _whiteout(upper: str, path: str) -> bool:
    """An overlay whiteout (a 0/0 character device) for ``path`` in the upper directory,
    walked by descriptor without following a link: the names came from the container."""
    if not upper or not os.path.isabs(upper):
        return False
    parts = [p for p in normalize(path).split("/") if p]
    if not parts:
        return False
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(upper, flags)
    except OSError:
        return False
    try:
        for part in parts[:-1]:
            child = os.open(part, flags, dir_fd=fd)
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
