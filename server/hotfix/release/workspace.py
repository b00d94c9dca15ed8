"""What the release use cases need of the file use cases, as a protocol: harvest, imaging
and the report take a ``Workspace`` (the service is one) instead of importing the service,
so the release side depends only on the service's results, never on its internals."""

from __future__ import annotations

from typing import Protocol

from hotfix.core.model import ContainerDetails, ContainerInfo
from hotfix.core.probes import Probe, ProbeResult
from hotfix.core.progress import Progress
from hotfix.docker.engine import Engine
from hotfix.service.results import Change, ReadResult
from hotfix.store.state import JournalEntry, StateStore


class Workspace(Protocol):
    engine: Engine
    store: StateStore
    user: str

    def changes(self, ref: str | None = None, include_unchanged: bool = False) -> list[Change]: ...

    def read(self, ref: str, path: str, *, force: bool = False) -> ReadResult: ...

    def diff(self, ref: str, path: str | None = None) -> str: ...

    def journal(self, ref: str | None = None, limit: int | None = None) -> list[JournalEntry]: ...

    def plan_probe(
        self, details: ContainerDetails, text: str | None, expect: list[int] | None = None
    ) -> Probe: ...

    def wait_healthy(
        self,
        container: ContainerInfo,
        probe: Probe,
        timeout: float,
        progress: Progress,
        started: float,
    ) -> tuple[bool, ProbeResult, float, int]: ...

    def redact(self, container_id: str, text: str) -> str: ...
