"""The engines a user can name: ``default`` and every docker context.

``default`` is what the docker CLI would use: ``DOCKER_HOST`` (with ``DOCKER_TLS_VERIFY``
and ``DOCKER_CERT_PATH``) when set, else the current docker context, else the local
socket. Any other name is a docker context (``docker context create NAME --docker
host=…``): unix sockets, TCP with TLS, and ``ssh://`` (through the ``ssh`` binary).
Contexts are read through docker-py's ContextAPI, which honours ``DOCKER_CONFIG``.
"""

from __future__ import annotations

import os
import threading

import docker
import docker.errors
from docker.context import ContextAPI

from hotfix.engine import Engine
from hotfix.errors import Unavailable, UsageError

DEFAULT = "default"


class Engines:
    """Named engines, each connected once and reused."""

    def __init__(self) -> None:
        self._engines: dict[str, Engine] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        try:
            contexts = [c.Name for c in ContextAPI.contexts() if c.Name != DEFAULT]
        except docker.errors.DockerException:
            contexts = []
        return [DEFAULT, *sorted(contexts)]

    def get(self, name: str | None = None) -> Engine:
        name = name or DEFAULT
        with self._lock:
            if name not in self._engines:
                self._engines[name] = Engine(_connect(name), name=name)
            return self._engines[name]

    def all(self) -> list[Engine]:
        """Every engine that answers; an unreachable context is skipped, not fatal."""
        found = []
        for name in self.names():
            try:
                engine = self.get(name)
                engine.client.ping()
            except (Unavailable, docker.errors.DockerException, OSError):
                continue
            found.append(engine)
        return found


def _connect(name: str) -> docker.DockerClient:
    try:
        if name == DEFAULT:
            if os.environ.get("DOCKER_HOST"):
                return docker.from_env()
            current = ContextAPI.get_current_context()
            if current is None or current.Name == DEFAULT:
                return docker.from_env()
            return _client_for_context(current)
        context = ContextAPI.get_context(name)
    except docker.errors.DockerException as exc:
        raise Unavailable(f"engine {name!r}: {exc}") from exc
    if context is None:
        raise UsageError(
            f"unknown engine {name!r}: use 'default' or a docker context "
            f"({', '.join(Engines().names())})"
        )
    return _client_for_context(context)


def _client_for_context(context: object) -> docker.DockerClient:
    host = getattr(context, "Host", None)
    tls = getattr(context, "TLSConfig", None)
    name = getattr(context, "Name", "?")
    try:
        return docker.DockerClient(
            base_url=host, tls=tls or False, use_ssh_client=str(host).startswith("ssh://")
        )
    except docker.errors.DockerException as exc:
        raise Unavailable(f"engine {name!r} ({host}): {exc}") from exc
