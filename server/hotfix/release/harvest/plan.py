"""Harvest, step 2: what to do with each file, decided before anything is created.

Each file is seen three ways — the base (the checkpoint, or what the last harvest of this
container took), ours (the repository's at the start commit) and theirs (the container's,
live). :func:`decide` is the pure decision; :func:`plan_files` reads the three sides, runs
``git merge-file`` where both sides changed, and refuses the whole harvest on any conflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from hotfix.core.errors import Conflict
from hotfix.git.repo import MODE_EXEC, GitRepo, MergeResult
from hotfix.release.harvest.mapping import Mapped, check_repo_path
from hotfix.release.harvest.results import Action

if TYPE_CHECKING:
    from hotfix.core.progress import Progress
    from hotfix.service.results import Change
    from hotfix.store.state import StateStore

Verdict = Action | Literal["merge", "conflict"]


class HarvestConflict(Conflict):
    """The repository and the container changed the same lines: nothing was created."""

    def __init__(self, message: str, hunks: dict[str, str]) -> None:
        super().__init__(message)
        self.hunks = hunks


@dataclass(frozen=True)
class Sides:
    """One file three ways; a content None is absent, an exec bit None is unknown (absent)."""

    base: bytes | None
    base_exec: bool | None
    ours: bytes | None
    ours_exec: bool | None
    theirs: bytes | None
    theirs_exec: bool | None


@dataclass(frozen=True)
class Decision:
    verdict: Verdict  # "merge": both sides changed it, git merges; "conflict": see ``why``
    executable: bool
    binary: bool
    why: str = ""


@dataclass(frozen=True)
class Harvestable:
    """A changed file, mapped, with its live content and what an earlier harvest took of it."""

    change: Change
    mapped: Mapped
    live: bytes | None  # None: deleted in the container
    live_mode: int | None
    earlier: dict[str, Any] | None  # the earlier harvest's journal row for this file


@dataclass(frozen=True)
class FilePlan:
    file: Harvestable
    result: bytes | None  # None: remove from the repository
    action: Action
    executable: bool
    binary: bool


def decide(sides: Sides, at: str) -> Decision:
    """What the harvest does with one file; ``at`` names the repository's commit in reasons."""
    executable = executable_bit(sides)
    binary = any(is_binary(data) for data in (sides.theirs, sides.ours, sides.base))

    def verdict(what: Verdict, why: str = "") -> Decision:
        return Decision(what, executable, binary, why)

    ours, theirs, base = sides.ours, sides.theirs, sides.base
    if theirs is None:
        if ours is None:
            return verdict("unchanged")
        if ours == base:
            return verdict("deleted")
        return verdict(
            "conflict", f"deleted in the container, but the repository at {at} changed it"
        )
    if ours == theirs:
        mode_only = sides.ours_exec is not None and sides.ours_exec != executable
        return verdict("mode" if mode_only else "unchanged")
    if ours == base:
        return verdict("copied")
    if ours is None:
        return verdict(
            "conflict", f"changed in the container, but the repository at {at} does not have it"
        )
    if base is None:
        return verdict(
            "conflict",
            f"created in the container, and the repository at {at} has different content",
        )
    if binary:
        return verdict(
            "conflict",
            f"a binary file changed both in the repository at {at} and in the container; "
            "binary files are not merged",
        )
    return verdict("merge")


def executable_bit(sides: Sides) -> bool:
    """The exec bit, three ways: the container's when it changed it, else the repository's."""
    if sides.theirs_exec is None:
        return False
    if sides.ours_exec is None or sides.base_exec is None or sides.theirs_exec != sides.base_exec:
        return sides.theirs_exec
    return sides.ours_exec


def is_binary(data: bytes | None) -> bool:
    return bool(data) and b"\x00" in (data or b"")[:8192]


def plan_files(
    repo: GitRepo,
    start: str,
    tracked: dict[str, int],
    files: list[Harvestable],
    store: StateStore,
    progress: Progress,
) -> list[FilePlan]:
    """Every file's new content on ``start`` — or HarvestConflict listing every conflict."""
    at = start[:12]
    plans: list[FilePlan] = []
    conflicts: dict[str, str] = {}
    for f in files:
        check_repo_path(f.change.path, f.mapped.repo_path, tracked)
        sides = _sides(repo, start, tracked, f, store)
        decision = decide(sides, at)
        where = f"{f.mapped.repo_path} (from {f.change.path})"
        if decision.verdict == "conflict":
            conflicts[where] = decision.why
        elif decision.verdict == "merge":
            progress.report(f"merging {f.mapped.repo_path}")
            merged = _merge(repo, sides, f, at)
            if merged.conflicts:
                conflicts[where] = conflict_hunks(merged.data)
            else:
                plans.append(FilePlan(f, merged.data, "merged", *_bits(decision)))
        else:
            plans.append(FilePlan(f, f.live, decision.verdict, *_bits(decision)))
    if conflicts:
        raise _refused(conflicts, at)
    return plans


def _bits(decision: Decision) -> tuple[bool, bool]:
    return decision.executable, decision.binary


def _sides(
    repo: GitRepo, start: str, tracked: dict[str, int], f: Harvestable, store: StateStore
) -> Sides:
    mode_in_repo = tracked.get(f.mapped.repo_path)
    ours = repo.read(start, f.mapped.repo_path) if mode_in_repo is not None else None
    base, base_exec = _base(f, store)
    return Sides(
        base=base,
        base_exec=base_exec,
        ours=ours,
        ours_exec=mode_in_repo == MODE_EXEC if mode_in_repo is not None else None,
        theirs=f.live,
        theirs_exec=bool((f.live_mode or 0) & 0o111) if f.live is not None else None,
    )


def _base(f: Harvestable, store: StateStore) -> tuple[bytes | None, bool | None]:
    """The checkpoint's content — or, continuing a branch, what the last harvest took."""
    if f.earlier is not None:
        blob = f.earlier.get("blob")
        data = store.get_blob(str(blob)) if blob else None
        return data, bool(f.earlier.get("executable")) if data is not None else None
    cp = f.change.checkpoint
    data = store.get_blob(cp.blob) if cp.present and cp.blob else None
    return data, bool((cp.mode or 0) & 0o111) if cp.present else None


def _merge(repo: GitRepo, sides: Sides, f: Harvestable, at: str) -> MergeResult:
    # decide() asks for a merge only when all three sides are present: ``or b""`` never applies.
    labels = (
        f"repository {f.mapped.repo_path} at {at}",
        "checkpoint",
        f"container {f.change.path}",
    )
    return repo.merge3(sides.base or b"", sides.ours or b"", sides.theirs or b"", labels)


def _refused(conflicts: dict[str, str], at: str) -> HarvestConflict:
    text = "\n".join(f"--- {where}:\n{hunks}" for where, hunks in conflicts.items())
    return HarvestConflict(
        f"harvest refused: {len(conflicts)} file(s) conflict between the repository "
        f"({at}) and the container; nothing was created. Resolve it in the repository "
        f"(or the container), then harvest again.\n{text}",
        conflicts,
    )


def conflict_hunks(merged: bytes, context: int = 2) -> str:
    """The conflicting regions of ``git merge-file`` output, with line numbers and context."""
    lines = merged.decode("utf-8", "replace").splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        if lines[i].startswith("<<<<<<< "):
            start = i
            end = i
            while end < len(lines) and not lines[end].startswith(">>>>>>> "):
                end += 1
            lo = max(0, start - context)
            hi = min(len(lines), end + 1 + context)
            out.append(f"@@ merged lines {lo + 1}-{hi} @@")
            out += [f"  {line}" for line in lines[lo:hi]]
            i = end + 1
        else:
            i += 1
    return "\n".join(out)
