"""Images: inspect, commit, tag, push, remove; and the throwaway containers that build and
check them (create, run, put files in, remove)."""

from __future__ import annotations

import io
import tarfile
import time
from typing import Any, Protocol

import docker.errors

from hotfix.core.errors import ContainerNotFound, FileNotFound, Unavailable
from hotfix.core.model import ContainerDetails, FileContent
from hotfix.core.paths import normalize
from hotfix.core.processes import orphaned_name
from hotfix.docker import podman
from hotfix.docker.errors import engine_errors


class _WithInspect(Protocol):
    api: Any

    def inspect(self, ref: str) -> ContainerDetails: ...


class ImagesMixin:
    api: Any  # docker-py's APIClient
    is_podman: bool  # InfoMixin's

    def comparable_config(self, config: dict[str, Any]) -> dict[str, Any]:
        """An image's config as a commit's outcome is compared with the original's: what
        the engine itself fills in on commit taken out (Podman's; dockerd fills nothing)."""
        return podman.comparable_config(config) if self.is_podman else config

    def image_attrs(self, ref: str) -> dict[str, Any]:
        with engine_errors():
            attrs: dict[str, Any] = self.api.inspect_image(ref)
        return attrs

    def find_image(self, ref: str) -> dict[str, Any] | None:
        """``docker image inspect`` of ``ref``, or None when the Engine has no such image."""
        try:
            return self.image_attrs(ref)
        except (ContainerNotFound, FileNotFound):
            return None

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
        if conf and self.is_podman:  # it ignores conf: labels go as changes
            changes = [*(changes or []), *podman.label_changes(conf)]
        with engine_errors(container_id):
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
        with engine_errors():
            self.api.tag(image_id, repository, tag, force=True)

    def remove_image(self, ref: str) -> None:
        try:
            with engine_errors():
                self.api.remove_image(ref, force=False, noprune=False)
        except (ContainerNotFound, FileNotFound):
            pass

    def push(self, ref: str) -> None:
        """Push an image to its registry (so the nodes of a multi-node swarm can pull it)."""
        with engine_errors():
            for event in self.api.push(ref, stream=True, decode=True):
                if "error" in event:
                    raise Unavailable(f"push {ref}: {event['error']}")

    # --- throwaway containers ---------------------------------------------------------------

    def create_container(self, image: str, name: str) -> str:
        """Create (do not start) a throwaway container from ``image`` with its own config."""
        with engine_errors(name):
            created = self.api.create_container(image=image, name=name)
        return str(created["Id"])

    def run_container(
        self: _WithInspect, image: str, name: str, ports: list[str]
    ) -> ContainerDetails:
        """Start a container from ``image``, each of ``ports`` ("8001/tcp") on a random 127.0.0.1 port."""
        bindings = {port: ("127.0.0.1", None) for port in ports}
        with engine_errors(name):
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
        with engine_errors(container_id, "/"):
            self.api.put_archive(container_id, "/", buf.getvalue())

    def remove_container(self, container_id: str) -> None:
        """Remove a container (and its anonymous volumes), running or not; gone already is fine."""
        try:
            with engine_errors(container_id):
                self.api.remove_container(container_id, force=True, v=True)
        except ContainerNotFound:
            pass

    def remove_orphaned_throwaways(self, *prefixes: str) -> list[str]:
        """Throwaway containers (named by ``processes.throwaway_name``) whose hotfix process
        died — killed mid-commit — are removed. Returns their names."""
        orphans = []
        for prefix in prefixes:
            # dockerd matches the name with its leading "/", Podman without it.
            with engine_errors():
                rows = self.api.containers(all=True, filters={"name": f"^/?{prefix}-"})
            orphans += [r for r in rows if orphaned_name((r.get("Names") or [""])[0])]
        for row in orphans:
            self.remove_container(row["Id"])
        return [(row.get("Names") or [row["Id"][:12]])[0].lstrip("/") for row in orphans]


def _port_spec(port: str) -> int | tuple[int, str]:
    number, _, proto = port.partition("/")
    return (int(number), proto) if proto and proto != "tcp" else int(number)
