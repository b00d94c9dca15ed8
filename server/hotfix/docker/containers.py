"""Containers: list, inspect and resolve them; restart, signal, exec, logs, processes."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, Protocol

from hotfix.core.errors import AmbiguousContainer, ContainerNotFound, HotfixError
from hotfix.core.model import ContainerDetails, ContainerInfo
from hotfix.core.paths import check_utf8
from hotfix.docker import podman
from hotfix.docker.answers import details_from_inspect, info_from_summary
from hotfix.docker.containerwatch import ContainerWatch
from hotfix.docker.errors import engine_errors


class _WithImages(Protocol):
    @property
    def is_podman(self) -> bool: ...
    def container_attrs(self, ref: str) -> dict[str, Any]: ...
    def image_attrs(self, ref: str) -> dict[str, Any]: ...
    def engine_env(self, attrs: dict[str, Any]) -> frozenset[str]: ...


class ContainersMixin:
    api: Any  # docker-py's APIClient
    name: str
    is_podman: bool  # InfoMixin's
    _watch: ContainerWatch | None

    def list_containers(self, all: bool = True) -> list[ContainerInfo]:
        with engine_errors():
            rows = self.api.containers(all=all)
        return [replace(info_from_summary(row), engine=self.name) for row in rows]

    def inspect(self, ref: str) -> ContainerDetails:
        """Resolve a container by name, full ID or unique ID prefix."""
        if not ref:
            raise ContainerNotFound("no container given")
        check_utf8(ref, "container")
        try:
            with engine_errors():
                attrs = self.api.inspect_container(ref)
                if self.is_podman and podman.health_due(attrs, time.time()):
                    attrs = podman.run_health_check(self.api, attrs)
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
        except HotfixError as exc:  # dockerd: "multiple IDs found"; Podman: AmbiguousContainer
            if "multiple" in str(exc).lower() or "ambiguous" in str(exc).lower():
                raise self._ambiguous(ref) from None
            raise
        details = details_from_inspect(attrs)
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

    def events_generation(self) -> int | None:
        """A number that changes with every container event (create, start, destroy, …), or
        None when this engine does not watch its events: then anything may have changed."""
        return self._watch.watched_generation() if self._watch is not None else None

    def listing_generation(self) -> int | None:
        """A number that changes with every event that may change :meth:`list_containers`'
        answer (health changes too), or None when this engine does not watch its events."""
        return self._watch.listing_generation() if self._watch is not None else None

    def _ambiguous(self, ref: str) -> AmbiguousContainer:
        matches = [c for c in self.list_containers() if c.id.startswith(ref)]
        names = ", ".join(f"{c.name} ({c.short_id})" for c in matches[:10])
        return AmbiguousContainer(
            f"container ID prefix {ref!r} is ambiguous: matches {names}; give more of the ID or a name"
        )

    def container_attrs(self, ref: str) -> dict[str, Any]:
        """The raw ``docker inspect`` of a container (runtime config included)."""
        with engine_errors(ref):
            attrs: dict[str, Any] = self.api.inspect_container(ref)
        return attrs

    def runtime_env_values(self: _WithImages, container_id: str) -> set[str]:
        """Values of the environment the container was given at run time (not its image's):
        the secrets to keep out of the journal and the report; none when it is gone."""
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
        image_env |= self.engine_env(attrs)  # what the engine sets is no one's secret
        return {item.split("=", 1)[1] for item in env if "=" in item and item not in image_env}

    def engine_env(self: _WithImages, attrs: dict[str, Any]) -> frozenset[str]:
        """The environment entries the engine itself sets in a container (its inspect
        ``attrs``): Podman's, none for dockerd. Not given at run time."""
        return podman.own_env(str(attrs.get("Id") or "")) if self.is_podman else frozenset()

    def restart(self, container_id: str, stop_timeout: int | None = None) -> None:
        with engine_errors(container_id):
            if stop_timeout is None:
                self.api.restart(container_id)
            else:
                self.api.restart(container_id, timeout=stop_timeout)

    def signal(self, container_id: str, signal: str) -> None:
        with engine_errors(container_id):
            self.api.kill(container_id, signal=signal)

    def exec(self, container_id: str, argv: list[str], timeout: float = 30) -> tuple[int, bytes]:
        """Run an argv list (no shell) in the container: ``exec:`` probes, and a delete
        where the archive API is the only way in."""
        with engine_errors(container_id):
            created = self.api.exec_create(container_id, argv, stdout=True, stderr=True)
            output = self.api.exec_start(created["Id"])
            code = self.api.exec_inspect(created["Id"]).get("ExitCode")
        return (code if code is not None else -1), output or b""

    def top(self, container_id: str, ps_args: str | None = None) -> list[list[str]]:
        """The container's processes as the Engine's ``top`` lists them (the engine runs
        ``ps ps_args`` on its host): the titles row first, then one row per process."""
        with engine_errors(container_id):
            answer = self.api.top(container_id, ps_args=ps_args)
        titles = [str(t) for t in answer.get("Titles") or []]
        return [titles, *([str(v) for v in row] for row in answer.get("Processes") or [])]

    def logs_tail(self, container_id: str, lines: int = 10) -> str:
        with engine_errors(container_id):
            data: bytes = self.api.logs(container_id, tail=lines)
        return data.decode("utf-8", "replace")
