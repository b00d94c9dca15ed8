"""The probes of a twin: the production container's probes, pointed at the twin's own loopback.

A probe of a port the container publishes (``http://127.0.0.1:HOSTPORT/``) becomes one of the
container port on the twin's 127.0.0.1; HTTP and TCP probes run inside the twin's network
namespace (:mod:`hotfix.docker.netns`), ``healthcheck`` and ``exec:`` in the twin itself."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, replace

from hotfix.core.errors import UsageError
from hotfix.core.probes import (
    AllProbes,
    ContainerHooks,
    Probe,
    ProbeResult,
    parse_probe,
    with_expected_body,
)

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "0.0.0.0", "")
# Runs one check inside the twin's network namespace.
Enter = Callable[[Callable[[], ProbeResult]], ProbeResult]


def default_probe_text(
    healthcheck: bool, published: list[tuple[str, int, str]], exposed: list[str]
) -> str:
    """As going live picks it: the HEALTHCHECK, else HTTP GET / on the first published (else
    exposed) TCP port — the container's port, on the twin's loopback."""
    if healthcheck:
        return "healthcheck"
    ports = [p for _, _, p in published if p.endswith("/tcp")] or [
        p for p in exposed if p.endswith("/tcp")
    ]
    if not ports:
        raise UsageError(
            "the container publishes and exposes no TCP port and has no HEALTHCHECK: give a "
            "probe, e.g. --probe http://127.0.0.1:8001/ (the twin's own port)"
        )
    return f"http://127.0.0.1:{ports[0].split('/')[0]}/"


def twin_probe_text(text: str, published: list[tuple[str, int, str]], engine_host: str) -> str:
    """A probe given for the container, for its twin: a published host port becomes the
    container port, any host the twin's 127.0.0.1 (it has no other address to reach)."""
    text = text.strip()
    if not text.startswith(("http://", "https://", "tcp:")):
        return text
    hosts = (*LOOPBACK_NAMES, engine_host)
    if text.startswith("tcp:"):
        host, _, port_text = text[4:].rpartition(":")
        port = _container_port(
            int(port_text) if port_text.isdigit() else -1, host, hosts, published
        )
        return f"tcp:127.0.0.1:{port}"
    parts = urllib.parse.urlsplit(text)
    given = parts.port or (443 if parts.scheme == "https" else 80)
    port = _container_port(given, parts.hostname or "", hosts, published)
    return urllib.parse.urlunsplit(parts._replace(netloc=f"127.0.0.1:{port}"))


def _container_port(
    port: int, host: str, hosts: tuple[str, ...], published: list[tuple[str, int, str]]
) -> int:
    if host.strip("[]") in hosts:
        for _, host_port, container_port in published:
            if host_port == port and container_port.endswith("/tcp"):
                return int(container_port.split("/")[0])
    return port


def twin_probes(
    texts: list[str],
    expect_status: list[int] | None,
    expect_body: str | None,
    expect_body_regex: str | None,
) -> AllProbes:
    probes = [parse_probe(t, expect_status) for t in texts]
    return AllProbes(tuple(with_expected_body(probes, expect_body, expect_body_regex)))


@dataclass(frozen=True)
class InNamespace:
    """Probes whose network side (HTTP, TCP) runs through ``enter`` — a function that runs
    a check inside the twin's network namespace."""

    probes: AllProbes
    enter: Enter

    def __str__(self) -> str:
        return str(self.probes)

    def check(self, hooks: ContainerHooks | None = None) -> ProbeResult:
        first: ProbeResult | None = None
        for probe in self.probes.probes:
            result = self._one(probe, hooks)
            if not result.ok:
                prefix = f"{probe}: " if len(self.probes.probes) > 1 else ""
                return replace(result, detail=prefix + result.detail)
            if first is None or (first.status is None and result.status is not None):
                first = result
        assert first is not None
        return first

    def _one(self, probe: Probe, hooks: ContainerHooks | None) -> ProbeResult:
        if probe.kind in ("http", "tcp"):
            return self.enter(lambda: probe.check(hooks))
        return probe.check(hooks)
