"""The engines a user can name: ``default`` and every docker context.

``default`` is what the docker CLI would use: ``DOCKER_HOST`` (with ``DOCKER_TLS_VERIFY``
and ``DOCKER_CERT_PATH``) when set, else the current docker context, else the local
socket. Any other name is a docker context (``docker context create NAME --docker
host=…``): unix sockets, TCP with TLS, and ``ssh://`` (through the ``ssh`` binary).
Contexts are read through docker-py's ContextAPI, which honours ``DOCKER_CONFIG``.

``podman`` (unless a docker context has that name) is Podman's service where Podman's own
tools look for it: ``CONTAINER_HOST``, else its rootful socket ``/run/podman/podman.sock``.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from hotfix.core.errors import Unavailable, UsageError

# docker-py (with requests, and paramiko through its ssh transport) is most of a CLI
# process's start-up: it is imported where an engine is first needed, so that importing
# this module for DEFAULT, `hotfix --help` and usage errors cost none of it.
if TYPE_CHECKING:
    import docker

    from hotfix.docker.engine import Engine

DEFAULT = "default"
PODMAN = "podman"
PODMAN_SOCKET = "/run/podman/podman.sock"  # `podman system service`'s default, rootful
MAX_POOL_SIZE = 32  # connections per engine: apply writes to up to 16 replicas at once


class Engines:
    """Named engines, each connected once and reused."""

    def __init__(self, watch: bool = False) -> None:
        """``watch``: engines keep resolved containers while their event stream is quiet
        (for long-lived processes; see :mod:`hotfix.docker.containerwatch`)."""
        self._engines: dict[str, Engine] = {}
        self._lock = threading.Lock()
        self._watch = watch

    def names(self) -> list[str]:
        import docker.errors
        from docker.context import ContextAPI

        try:
            contexts = [c.Name for c in ContextAPI.contexts() if c.Name != DEFAULT]
        except docker.errors.DockerException:
            contexts = []
        if PODMAN not in contexts and podman_host():
            contexts.append(PODMAN)
        return [DEFAULT, *sorted(contexts)]

    def get(self, name: str | None = None) -> Engine:
        from hotfix.docker.engine import Engine

        name = name or DEFAULT
        with self._lock:
            if name not in self._engines:
                self._engines[name] = Engine(connect(name), name=name, watch=self._watch)
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
                source = "DOCKER_HOST" if os.environ.get("DOCKER_HOST") else "the default socket"
                return _client(name, source, **docker.utils.kwargs_from_env())
            return _client(
                name,
                f"docker context {current.Name!r}",
                base_url=current.Host,
                tls=current.TLSConfig or False,
            )
        context = ContextAPI.get_context(name)
    except docker.errors.DockerException as exc:
        raise Unavailable(f"engine {name!r}: {exc}") from exc
    if context is None and name == PODMAN and (host := podman_host()):
        source = "CONTAINER_HOST" if os.environ.get("CONTAINER_HOST") else "Podman's socket"
        return _client(name, source, base_url=host)
    if context is None and name == PODMAN:
        raise UsageError(
            f"engine {PODMAN!r}: CONTAINER_HOST is unset and {PODMAN_SOCKET} does not exist "
            "(start `podman system service`, or set CONTAINER_HOST to its socket)"
        )
    if context is None:
        raise UsageError(
            f"unknown engine {name!r}: use 'default' or a docker context "
            f"({', '.join(Engines().names())})"
        )
    return _client(
        name, f"docker context {name!r}", base_url=context.Host, tls=context.TLSConfig or False
    )


def podman_host() -> str | None:
    """Where the engine named ``podman`` is: ``CONTAINER_HOST`` (Podman's own setting),
    else Podman's rootful socket when it exists."""
    host = os.environ.get("CONTAINER_HOST", "").strip()
    if host:
        return host
    return f"unix://{PODMAN_SOCKET}" if os.path.exists(PODMAN_SOCKET) else None


def _client(name: str, source: str, **kwargs: Any) -> docker.DockerClient:
    """``source`` says where the address came from, for the message when it does not answer."""
    import docker
    import docker.errors
    import requests.exceptions
    from docker.constants import DEFAULT_UNIX_SOCKET, MINIMUM_DOCKER_API_VERSION

    base_url = str(kwargs.get("base_url") or "")
    # ssh:// through the ssh binary (the user's keys, agent and config), never paramiko.
    kwargs["use_ssh_client"] = base_url.lower().startswith("ssh://")
    kwargs["max_pool_size"] = MAX_POOL_SIZE
    try:
        # The API version from /_ping's header, as the docker CLI asks it: docker-py's
        # "auto" asks GET /version, which gathers all the engine's details.
        probe = docker.APIClient(version=MINIMUM_DOCKER_API_VERSION, **kwargs)
        # The environment is ignored with TLS: requests lets REQUESTS_CA_BUNDLE /
        # CURL_CA_BUNDLE replace the engine's own CA. On a unix socket or ssh no proxy
        # applies, and requests would scan for one on every call.
        trust_env = not kwargs.get("tls") and not str(probe.base_url).startswith("http+docker://")
        probe.trust_env = trust_env
        try:
            version, libpod = _ping_answer(probe)
        finally:
            probe.close()
        client = docker.DockerClient(version=version, **kwargs)
        client.api.trust_env = trust_env
        # Read by Engine.is_podman: an engine without Podman's header needs no /version.
        setattr(client.api, "hotfix_libpod", libpod)  # noqa: B010 (docker-py's type has no such field)
        return client
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        address = base_url or DEFAULT_UNIX_SOCKET.replace("http+unix://", "unix://")
        raise Unavailable(unreachable_message(name, address, source, exc)) from exc


def unreachable_message(name: str, address: str, source: str, exc: BaseException) -> str:
    """One line for an engine that did not answer: which engine, at which address, why (the
    root cause, not docker-py's and urllib3's wrappers of it), and what to check.

    ``source`` is where the address came from: "DOCKER_HOST", "docker context 'x'", or
    "the default socket"."""
    cause = _root_cause(exc)
    if source == "the default socket":
        check = "is dockerd running? (DOCKER_HOST is unset and the docker context is 'default')"
    else:
        daemon = "`podman system service`" if name == PODMAN else "dockerd"
        check = f"is {daemon} running, and does {source} point at it?"
    if address.lower().startswith("ssh://") and isinstance(cause, OSError):
        import urllib.parse

        url = urllib.parse.urlsplit(address)
        port = f"-p {url.port} " if url.port else ""
        user = f"{url.username}@" if url.username else ""
        why = f"ssh: {cause}"
        check = f"does `ssh {port}{user}{url.hostname} docker version` work? (ssh's own message is on stderr)"
    elif isinstance(cause, FileNotFoundError):
        why = "no such socket"
    elif isinstance(cause, ConnectionRefusedError):
        why = "connection refused"
    elif isinstance(cause, PermissionError):
        why = "permission denied"
        check = "may this user use it? (root, or a member of its group, usually docker)"
    elif isinstance(cause, TimeoutError) or "timeout" in type(cause).__name__.lower():
        why = "no answer in time"
    elif isinstance(cause, OSError) and cause.strerror:
        why = cause.strerror.lower()
    else:  # it answered, but not as an engine should (TLS, HTTP error, API version…)
        return f"engine {name!r} ({address}): {exc}"
    return f"engine {name!r} is not reachable at {address} ({why}): {check}"


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost exception of a chain (``raise … from``, or raised while handling)."""
    seen = {id(exc)}
    while True:
        inner = exc.__cause__ or exc.__context__
        if inner is None or id(inner) in seen:
            return exc
        seen.add(id(inner))
        exc = inner


def _api_version(probe: docker.APIClient) -> str:
    """The engine's API version, from its /_ping's Api-Version header (engines since API
    1.25 send it), else from /version."""
    return _ping_answer(probe)[0]


def _ping_answer(probe: docker.APIClient) -> tuple[str, bool]:
    """The engine's API version (see :func:`_api_version`), and whether /_ping's answer has
    Podman's header."""
    response = probe.get(f"{probe.base_url}/_ping", timeout=probe.timeout)
    response.raise_for_status()
    from hotfix.docker.podman import is_podman

    libpod = is_podman(response.headers)
    version = response.headers.get("Api-Version") or str(
        probe.version(api_version=False)["ApiVersion"]
    )
    return version, libpod
