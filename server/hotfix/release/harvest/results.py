"""What a harvest returns: per file and as a whole (frozen; views.py shows them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from hotfix.core.model import ContainerInfo
from hotfix.git.repo import TestRun

Action = Literal["copied", "merged", "deleted", "mode", "unchanged"]


@dataclass(frozen=True)
class HarvestedFile:
    path: str  # in the container
    repo_path: str  # relative to the repository's top level
    status: str  # the container's change: modified, created, deleted
    action: Action  # what the harvest did in the repository
    mapped_by: str
    executable: bool
    version: str | None  # the live content's version (None: deleted in the container)
    binary: bool = False
    blob: str | None = None  # the live content, kept in the state store (sha256)


@dataclass(frozen=True)
class HarvestResult:
    container: ContainerInfo
    image: str
    image_id: str
    repo: str
    branch: str | None  # None when there was nothing to commit
    new_branch: bool
    commit: str | None
    parent: str  # the commit the new one sits on (the base, or the branch's previous tip)
    base: str
    base_source: str
    files: list[HarvestedFile]
    test: TestRun | None
    diff: str
    seconds: float
    notes: list[str] = field(default_factory=list)
