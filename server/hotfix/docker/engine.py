"""Docker access: one Engine, reached through docker-py, in the style of docker-py's own
API mixins — one part per resource, each calling down to the client, never up:

- :mod:`~hotfix.docker.containers`: list, inspect, resolve, restart, signal, exec, logs;
- :mod:`~hotfix.docker.images`: images and the throwaway containers that make them;
- :mod:`~hotfix.docker.swarm`: Swarm services;
- :mod:`~hotfix.docker.info`: where the engine runs, its clock, its user namespace;
- :mod:`~hotfix.docker.twins`: throwaway twins of a container, to try a fix in;
- :mod:`~hotfix.docker.files`: a container's files, through one of two back ends,
  :mod:`~hotfix.docker.local` (``/proc/<pid>/root``) or :mod:`~hotfix.docker.archive`
  (the archive API), chosen once per container by :meth:`Engine.files`.

Errors from the Engine become :mod:`hotfix.core.errors` that name the container and path
(:mod:`hotfix.docker.errors`). Nothing here knows about checkpoints, versions or git: that
is the service's job.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

import docker
import docker.errors

from hotfix.core.errors import Unavailable
from hotfix.core.model import ContainerInfo, DirEntry, FileContent, FileStat
from hotfix.docker import podman
from hotfix.docker.archive import ArchiveFiles
from hotfix.docker.containers import ContainersMixin
from hotfix.docker.containerwatch import ContainerWatch
from hotfix.docker.errors import reason
from hotfix.docker.files import (
    MAX_SYMLINK_HOPS,
    ChangeListing,
    FileBackend,
    WalkLimit,
    size_refusal,
)
from hotfix.docker.images import ImagesMixin
from hotfix.docker.info import InfoMixin
from hotfix.docker.local import LocalFiles, local_root
from hotfix.docker.swarm import SwarmMixin
from hotfix.docker.twins import TwinsMixin

logger = logging.getLogger(__name__)

__all__ = ["MAX_SYMLINK_HOPS", "Engine", "FileBackend", "local_root", "size_refusal"]


class Engine(ContainersMixin, ImagesMixin, SwarmMixin, InfoMixin, TwinsMixin):
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
        self._info = None
        self._podman: bool | None = None
        self._said: set[str] = set()  # one-line notes given once per engine
        # Long-lived processes keep resolved containers while the event stream is quiet.
        self._watch = (
            ContainerWatch(lambda: self.events({"type": "container"}), name) if watch else None
        )

    @classmethod
    def from_env(cls) -> Engine:
        try:
            client = docker.from_env()
        except docker.errors.DockerException as exc:
            raise Unavailable(f"cannot reach the Docker engine: {reason(exc)}") from exc
        return cls(client)

    def events(self, filters: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The Engine's event stream (decoded), with Docker's names and filter semantics."""
        if self.is_podman:
            return podman.events(lambda sent: self.api.events(decode=True, filters=sent), filters)
        return iter(self.api.events(decode=True, filters=filters))

    # --- files ------------------------------------------------------------------------------

    def files(self, container: ContainerInfo) -> FileBackend:
        """The container's files: the local fast path where it applies, else the archive API."""
        archive = self._archive(container)
        root = self._local_root(container)
        return LocalFiles(container, root, archive) if root else archive

    def _archive(self, container: ContainerInfo) -> ArchiveFiles:
        if self.is_podman:
            return podman.PodmanArchiveFiles(
                self.api, container, self.remapped_ids, self.exec, layers_here=self.is_local
            )
        return ArchiveFiles(self.api, container, self.remapped_ids, self.exec)

    def _local_root(self, container: ContainerInfo) -> str | None:
        if not (self.local_fs and self.is_local):
            return None
        root = local_root(container)
        if root is None and self.is_podman and (why := podman.no_fast_path(container)):
            self._say_once(f"engine {self.name}: {why}; files go through the archive API")
        return root

    def _say_once(self, message: str) -> None:
        if message not in self._said:
            self._said.add(message)
            logger.warning("%s", message)

    # The file operations of :class:`FileBackend`, by container (what the service calls).

    def writes_atomically(self, container: ContainerInfo) -> bool:
        return self.files(container).writes_atomically

    def stat(self, container: ContainerInfo, path: str) -> FileStat:
        return self.files(container).stat(path)

    def stat_full(self, container: ContainerInfo, path: str) -> FileStat:
        return self.files(container).stat_full(path)

    def read(self, container: ContainerInfo, path: str, max_size: int | None = None) -> FileContent:
        return self.files(container).read(path, max_size)

    def list_dir(self, container: ContainerInfo, path: str) -> list[DirEntry]:
        return self.files(container).list_dir(path)

    def write(
        self, container: ContainerInfo, path: str, data: bytes, *, uid: int, gid: int, mode: int
    ) -> float:
        return self.files(container).write(path, data, uid=uid, gid=gid, mode=mode)

    def mkdir(self, container: ContainerInfo, path: str, *, uid: int, gid: int, mode: int) -> None:
        self.files(container).mkdir(path, uid=uid, gid=gid, mode=mode)

    def delete(self, container: ContainerInfo, path: str) -> None:
        self.files(container).delete(path)

    def container_diff(
        self, container: ContainerInfo, limit: WalkLimit | None = None
    ) -> ChangeListing:
        listing = self.files(container).changes(limit)
        return podman.without_engine_files(listing) if self.is_podman else listing

    def changed_paths(self, container: ContainerInfo) -> list[str]:
        """Every path of the container's diff against its image (no limit)."""
        return self.container_diff(container).paths
