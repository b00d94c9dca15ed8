"""A hotfix and its stage: pure functions over what the state store and the Engine say.

A hotfix is the changed files of one container, as its checkpoints (the original) and the
journal's last file action on each (the fixed content) say. Its stage:

- ``live``: in the container only; ``harvested``: on a branch (a ``harvest`` row);
  ``imaged``: in a clean image (a ``commit-image`` row);
- ``reverted``: every file is back to its checkpoint;
- once the container is gone, its successors (:mod:`hotfix.lifecycle.successors`) decide:
  ``rolled-out`` when every one runs the hotfix's image and has the fixed content,
  ``in-image`` when every one has the fixed content from its own image (shipped), and
  ``lost`` when one lacks it — or when no container took its place.

A gone container's hotfix whose successors all hold it as a hotfix of their own (``reapply``,
``apply``) lives on as theirs: it is ``carried`` and not listed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from hotfix.lifecycle.successors import Who
from hotfix.store.state import Checkpoint, ContainerIdentity, JournalEntry

Stage = Literal["live", "harvested", "imaged", "rolled-out", "in-image", "reverted", "lost"]
STAGES: tuple[Stage, ...] = (
    "live",
    "harvested",
    "imaged",
    "rolled-out",
    "in-image",
    "reverted",
    "lost",
)
NEXT_STEP: dict[Stage, str] = {
    "live": "harvest",
    "harvested": "commit",
    "imaged": "rollout",
    "rolled-out": "",
    "in-image": "",
    "reverted": "",
    "lost": "reapply",
}
# Journal actions on one file, and the release actions a stage is read from.
FILE_ACTIONS = ("write", "delete", "revert", "recover", "checkpoint")
RELEASE_ACTIONS = ("harvest", "commit-image", "rollout", "reapply")


@dataclass(frozen=True)
class FileFix:
    path: str
    original: str | None  # the checkpoint's version; None: the hotfix created the file
    fixed: str | None  # the version the last file action left; None: deleted

    @property
    def changed(self) -> bool:
        return self.original != self.fixed


@dataclass(frozen=True)
class Hotfix:
    """One container's hotfix, from the state store alone."""

    container_id: str
    who: Who
    files: tuple[FileFix, ...]
    users: tuple[str, ...]
    first_time: float
    last_time: float
    branch: str | None = None  # harvested onto
    commit: str | None = None
    image: str | None = None  # the clean image's tag
    image_id: str | None = None
    predecessor: str | None = None  # the container it was reapplied from
    reapplied: bool = False  # carried onto another container by `hotfix reapply`

    @property
    def changed_files(self) -> tuple[FileFix, ...]:
        return tuple(f for f in self.files if f.changed)


@dataclass(frozen=True)
class Successor:
    """A container that took a gone one's place, and what it holds of the hotfix."""

    who: Who
    image_id: str
    versions: Mapping[str, str | None]  # path → its version there (None: absent)
    own_hotfix: bool  # it has checkpoints of its own for the hotfix's files

    def has(self, fix: Hotfix) -> bool:
        return all(self.versions.get(f.path) == f.fixed for f in fix.changed_files)


@dataclass(frozen=True)
class Judged:
    hotfix: Hotfix
    stage: Stage
    present: bool
    successors: tuple[Successor, ...] = ()
    carried: bool = False
    notes: tuple[str, ...] = field(default=())

    @property
    def next_step(self) -> str:
        return NEXT_STEP[self.stage]


@dataclass(frozen=True)
class HotfixStatus:
    """One line of `hotfix status`: a hotfix, or the identical hotfix of a replica set."""

    containers: list[str]
    container_ids: list[str]
    engine: str
    files: list[str]
    since: float  # its first save
    age_seconds: float
    users: list[str]
    stage: Stage
    next_step: str
    present: bool
    successors: list[str] = field(default_factory=list)
    branch: str | None = None
    commit: str | None = None
    image: str | None = None
    notes: list[str] = field(default_factory=list)


def hotfixes(
    checkpoints: Iterable[Checkpoint],
    journal: Iterable[JournalEntry],
    identities: Mapping[str, ContainerIdentity],
) -> list[Hotfix]:
    """Every container's hotfix, from its checkpoints and its journal rows."""
    rows: dict[str, list[JournalEntry]] = {}
    for entry in journal:
        if entry.container_id and entry.outcome == "ok":
            rows.setdefault(entry.container_id, []).append(entry)
    by_container: dict[str, list[Checkpoint]] = {}
    for cp in checkpoints:
        by_container.setdefault(cp.container_id, []).append(cp)
    found = [
        _hotfix(cid, cps, rows.get(cid, []), identities.get(cid))
        for cid, cps in sorted(by_container.items())
    ]
    carried = {f.predecessor for f in found if f.predecessor}
    return [replace(f, reapplied=True) if f.container_id in carried else f for f in found]


def _hotfix(
    container_id: str,
    checkpoints: list[Checkpoint],
    rows: list[JournalEntry],
    identity: ContainerIdentity | None,
) -> Hotfix:
    last: dict[str, str | None] = {}
    users: list[str] = []
    times: list[float] = []
    for entry in rows:
        if entry.path and entry.action in FILE_ACTIONS:
            after = entry.version_before if entry.action == "checkpoint" else entry.version_after
            last[entry.path] = after
            if entry.action != "checkpoint":
                times.append(entry.time)
                if entry.user not in users:
                    users.append(entry.user)
    files = tuple(FileFix(cp.path, cp.version, last.get(cp.path, cp.version)) for cp in checkpoints)
    first = checkpoints[0]
    who = Who(
        container_id,
        identity.engine if identity else "default",
        identity.name if identity else first.container_name,
        identity.image if identity else first.image,
        identity.labels if identity else {},
    )
    created = min(cp.created_at for cp in checkpoints)
    return Hotfix(
        container_id,
        who,
        files,
        tuple(users),
        min(times, default=created),
        max(times, default=created),
        **_release_facts(rows),
    )


def _release_facts(rows: list[JournalEntry]) -> dict[str, Any]:
    """What harvest, commit-image and reapply rows of the container recorded, the last of each."""
    facts: dict[str, Any] = {}
    for entry in rows:
        if entry.action == "harvest":
            facts["branch"] = entry.detail.get("branch")
            facts["commit"] = entry.detail.get("commit")
        elif entry.action == "commit-image":
            facts["image"] = entry.detail.get("tag")
            facts["image_id"] = entry.detail.get("image_id")
        elif entry.action == "reapply":
            facts["predecessor"] = entry.detail.get("from")
    return facts


def judge(fix: Hotfix, present: bool, successors: Iterable[Successor] = ()) -> Judged:
    """The stage of one hotfix: ``present`` says whether its container still exists."""
    found = tuple(successors)
    if not fix.changed_files:
        return Judged(fix, "reverted", present, found)
    if present:
        return Judged(fix, _release_stage(fix), present, found)
    if fix.reapplied:  # it lives on as the hotfix of the container it was reapplied onto
        return Judged(fix, _release_stage(fix), present, found, carried=True)
    if not found:
        return Judged(fix, "lost", present, found, notes=("no container took its place",))
    lacking = [s for s in found if not s.has(fix)]
    if lacking:
        names = ", ".join(s.who.name for s in lacking)
        return Judged(fix, "lost", present, found, notes=(f"{names} runs without it",))
    if all(s.own_hotfix for s in found):
        return Judged(fix, _release_stage(fix), present, found, carried=True)
    if fix.image and all(_runs_image(s, fix) for s in found):
        return Judged(fix, "rolled-out", present, found)
    return Judged(fix, "in-image", present, found)


def _release_stage(fix: Hotfix) -> Stage:
    if fix.image:
        return "imaged"
    if fix.branch:
        return "harvested"
    return "live"


def _runs_image(successor: Successor, fix: Hotfix) -> bool:
    image = successor.who.image.split("@", 1)[0]
    return image == fix.image or (bool(fix.image_id) and successor.image_id == fix.image_id)
