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
from typing import TYPE_CHECKING, Any

from hotfix.errors import Unavailable, UsageError

# docker-py (with requests, and paramiko through its ssh transport) is most of a CLI
# process's start-up: it is imported where an engine is first needed, so that importing
# this module for DEFAULT, `hotfix --help` and usage errors cost none of it.
if TYPE_CHECKING:
    import docker

    from hotfix.engine import Engine

DEFAULT = "default"
MAX_POOL_SIZE = 32  # connections per engine: apply writes to up to 16 replicas at once


class Engines:
    """Named engines, each connected once and reused."""

    def __init__(self) -> None:
        self._engines: dict[str, Engine] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        import docker.errors
        from docker.context import ContextAPI

        try:
            contexts = [c.Name for c in ContextAPI.contexts() if c.Name != DEFAULT]
        except docker.errors.DockerException:
            contexts = []
        return [DEFAULT, *sorted(contexts)]

    def get(self, name: str | None = None) -> Engine:
        from hotfix.engine import Engine

        name = name or DEFAULT
        with self._lock:
            if name not in self._engines:
                self._engines[name] = Engine(connect(name), name=name)
            return self._engines[name]

    def all(self) -> list[Engine]:
        """Every engine that answers, once each: two contexts may reach the same daemon
        (its socket and its TLS port). An unreachable context is skipped, not fatal."""
        import docker.errors

        found: dict[str, Engine] = {}
        for name in self.names():
            try:
                engine = self.get(name)
                daemon = engine.client.info()["ID"]
            except (Unavailable, docker.errors.DockerException, OSError, KeyError):
                continue
            found.setdefault(daemon, engine)
        return list(found.values())


def connect(name: str) -> docker.DockerClient:
    """A docker-py client for a named engine, configured as hotfix uses it (TLS immune to
    REQUESTS_CA_BUNDLE, no proxy scan on unix sockets, a pool for fan-out)."""
    import docker.errors
    import docker.utils
    from docker.context import ContextAPI

    try:
        if name == DEFAULT:
            current = None if os.environ.get("DOCKER_HOST") else ContextAPI.get_current_context()
            if current is None or current.Name == DEFAULT:
                return _client(name, **docker.utils.kwargs_from_env())
            return _client(name, base_url=current.Host, tls=current.TLSConfig or False)
        context = ContextAPI.get_context(name)
    except docker.errors.DockerException as exc:
        raise Unavailable(f"engine {name!r}: {exc}") from exc
    if context is None:
        raise UsageError(
            f"unknown engine {name!r}: use 'default' or a docker context "
            f"({', '.join(Engines().names())})"
        )
    return _client(name, base_url=context.Host, tls=context.TLSConfig or False)


def _client(name: str, **kwargs: Any) -> docker.DockerClient:
    import docker
    import docker.errors
    from docker.constants import MINIMUM_DOCKER_API_VERSION

    base_url = str(kwargs.get("base_url") or "")
    kwargs["use_ssh_client"] = base_url.startswith("ssh://")
    kwargs["max_pool_size"] = MAX_POOL_SIZE
    try:
        if not kwargs.get("tls"):
            client = docker.DockerClient(**kwargs)
            if str(client.api.base_url).startswith("http+docker://"):
                # A unix socket or ssh: no proxy applies, and requests would otherwise
                # scan the environment for one on every call (~1.4 ms each).
                client.api.trust_env = False
            return client
        # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE replace the engine's own CA
        # (psf/requests#3829), and docker-py asks the engine's API version inside its
        # constructor: ask first with the environment ignored, then build the client.
        probe = docker.APIClient(version=MINIMUM_DOCKER_API_VERSION, **kwargs)
        probe.trust_env = False
        version = probe.version(api_version=False)["ApiVersion"]
        probe.close()
        client = docker.DockerClient(version=version, **kwargs)
        client.api.trust_env = False
        return client
    except docker.errors.DockerException as exc:
        raise Unavailable(f"engine {name!r} ({base_url or 'DOCKER_HOST'}): {exc}") from exc
