"""Harvest, step 3: the run — which branch on which commit, then a temporary worktree in
which the planned files are written, ``--test`` run and the commit made; then the branch is
created or advanced. The worktree is removed afterwards, also on failure. The whole run is
one journal row."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hotfix.core.errors import Cancelled, HotfixError, UsageError
from hotfix.core.model import ContainerInfo
from hotfix.core.progress import NoProgress
from hotfix.git.repo import GitRepo, TestRun, Worktree
from hotfix.release.harvest.mapping import PathMap, map_paths, parse_map
from hotfix.release.harvest.naming import BRANCH_PREFIX, branch_slug, commit_message
from hotfix.release.harvest.plan import FilePlan, Harvestable, plan_files
from hotfix.release.harvest.results import HarvestedFile, HarvestResult
from hotfix.store.state import JournalRecord, StateStore, first_line, journal_fields, version_of

if TYPE_CHECKING:
    from hotfix.core.progress import Progress
    from hotfix.release.workspace import Workspace
    from hotfix.service.results import Change

REVISION_LABEL = "org.opencontainers.image.revision"


class HarvestTestFailed(HotfixError):
    """``--test`` failed in the worktree: nothing was committed."""

    def __init__(self, message: str, test: TestRun) -> None:
        super().__init__(message)
        self.test = test


@dataclass(frozen=True)
class HarvestRequest:
    """What the caller asked for: ``hotfix harvest``'s options."""

    maps: tuple[PathMap, ...] = ()
    branch: str | None = None
    message: str | None = None
    test: str | None = None
    test_timeout: float | None = None


@dataclass(frozen=True)
class _Source:
    """What the harvest starts from: the container's changes, the repository, its base."""

    container: ContainerInfo
    changes: list[Change]
    repo: GitRepo
    workdir: str | None  # the image's WORKDIR, a hint for the mapping
    base: str
    base_source: str  # why that base, in words
    started: float  # time.monotonic() at the start, for the result's seconds


@dataclass(frozen=True)
class _Target:
    """The branch the commit goes to, and the commit it sits on."""

    name: str
    start: str
    new_branch: bool
    tracked: dict[str, int]  # the repository's files at ``start``, with their git modes
    earlier: dict[str, dict[str, Any]]  # continuing: the last harvest's files, by path
    notes: list[str]


def harvest(
    svc: Workspace,
    ref: str,
    repo_dir: str,
    *,
    maps: Sequence[str | PathMap] = (),
    branch: str | None = None,
    message: str | None = None,
    test: str | None = None,
    test_timeout: float | None = None,
    progress: Progress | None = None,
) -> HarvestResult:
    """Commit the container's hotfixed files to a ``hotfix-*`` branch of ``repo_dir``."""
    progress = progress or NoProgress()
    started = time.monotonic()
    request = HarvestRequest(
        maps=tuple(m if isinstance(m, PathMap) else parse_map(m) for m in maps),
        branch=branch,
        message=message,
        test=test,
        test_timeout=test_timeout,
    )
    source = _source(svc, ref, repo_dir, progress, started)
    with svc.store.journalled(
        describe=first_line,
        action="harvest",
        user=svc.user,
        **journal_fields(source.container),
        detail={
            "repo": str(source.repo.top),
            "base": source.base,
            "base_source": source.base_source,
        },
    ) as record:
        result = _harvest(svc, request, source, progress, record)
        record.detail = _journal_detail(result)
    return result


def _source(svc: Workspace, ref: str, repo_dir: str, progress: Progress, started: float) -> _Source:
    container = svc.engine.inspect(ref).info
    progress.report(f"{container.name}: reading the hotfixed files")
    changes = [c for c in svc.changes(container.id) if c.status != "unchanged"]
    if not changes:
        raise HotfixError(
            f"{container.name}: nothing to harvest — no file differs from its checkpoint "
            "(see `hotfix changes`)"
        )
    repo = GitRepo(repo_dir)
    config = svc.engine.image_attrs(container.image_id).get("Config") or {}
    labels: dict[str, str] = config.get("Labels") or {}
    base, base_source = choose_base(repo, labels)
    workdir = config.get("WorkingDir") or None
    return _Source(container, changes, repo, workdir, base, base_source, started)


def choose_base(repo: GitRepo, labels: dict[str, str]) -> tuple[str, str]:
    """The image's revision label when the repository has that commit, else HEAD (and why)."""
    head = repo.resolve("HEAD") or ""
    where = repo.current_branch() or "detached"
    rev = (labels.get(REVISION_LABEL) or "").strip()
    if rev and re.fullmatch(r"[0-9a-fA-F]{4,64}", rev):
        sha = repo.resolve(rev)
        if sha:
            return sha, f"the image's {REVISION_LABEL} label"
        return (
            head,
            f"HEAD of {where}: the image's {REVISION_LABEL} {rev[:12]} is not in the repository",
        )
    if rev:
        return head, f"HEAD of {where}: the image's {REVISION_LABEL} {rev!r} is not a commit id"
    return head, f"HEAD of {where}: the image has no {REVISION_LABEL} label"


def previous_harvest(store: StateStore, container_id: str, repo_top: str) -> dict[str, Any] | None:
    """The detail of the last successful harvest of this container into this repository."""
    for entry in reversed(store.journal(container_id)):
        if entry.action != "harvest" or entry.outcome != "ok":
            continue
        detail = entry.detail
        if detail.get("repo") == repo_top and detail.get("branch") and detail.get("commit"):
            return detail
    return None


def _harvest(
    svc: Workspace,
    request: HarvestRequest,
    source: _Source,
    progress: Progress,
    record: JournalRecord,
) -> HarvestResult:
    target = _target(svc.store, request, source)
    files = _harvestable(svc, request, source, target, progress)
    plans = plan_files(source.repo, target.start, target.tracked, files, svc.store, progress)
    harvested = [_harvested(p, svc.store) for p in plans]
    to_commit = [p for p in plans if p.action != "unchanged"]
    if not to_commit:
        return _nothing_to_commit(source, target, harvested)
    text = commit_message(
        message=request.message,
        container_name=source.container.name,
        container_id=source.container.id,
        image=source.container.image,
        image_id=source.container.image_id,
        files=[f for f in harvested if f.action != "unchanged"],
        base=target.start,
        base_source=source.base_source if target.new_branch else f"continuing {target.name}",
    )
    _check_cancel(progress)
    commit, test_run = _commit(source.repo, target, to_commit, text, request, progress, record)
    if target.new_branch:
        source.repo.create_branch(target.name, commit)
    else:
        source.repo.advance_branch(target.name, commit, target.start)
    return _result(source, target, harvested, commit, test_run)


def _target(store: StateStore, request: HarvestRequest, source: _Source) -> _Target:
    """Continue this container's earlier harvest branch, else a new ``hotfix-<slug>``."""
    repo, container = source.repo, source.container
    before = previous_harvest(store, container.id, str(repo.top))
    wanted = BRANCH_PREFIX + branch_slug(
        request.branch, request.message, [c.path for c in source.changes]
    )
    if (
        before
        and repo.branch_tip(str(before["branch"]))
        and (request.branch is None or before["branch"] in (wanted, request.branch))
    ):
        return _continued(repo, container, before, source.base)
    name = repo.unique_branch(wanted)
    if not repo.valid_branch(name):
        raise UsageError(f"{name!r} is not a valid branch name; give --branch NAME")
    notes = [f"branch {wanted} exists already; using {name}"] if name != wanted else []
    return _Target(name, source.base, True, repo.tracked(source.base), {}, notes)


def _continued(
    repo: GitRepo, container: ContainerInfo, before: dict[str, Any], base: str
) -> _Target:
    name = str(before["branch"])
    start = repo.branch_tip(name) or base
    notes = [f"continuing {name} (harvested before from {container.name})"]
    if start != before.get("commit"):
        notes.append(
            f"{name} has commits since that harvest; the container's changes are merged onto it"
        )
    holder = repo.checked_out_in(name)
    if holder:
        raise UsageError(
            f"branch {name} is checked out in {holder}; moving it would change that working "
            "tree under you — switch it to another branch, or give --branch NEW"
        )
    earlier = {f["path"]: f for f in before.get("files") or []}
    return _Target(name, start, False, repo.tracked(start), earlier, notes)


def _harvestable(
    svc: Workspace,
    request: HarvestRequest,
    source: _Source,
    target: _Target,
    progress: Progress,
) -> list[Harvestable]:
    """Each changed file with its live content, mapped to its repository path."""
    live: dict[str, tuple[bytes | None, int | None]] = {}
    for c in source.changes:
        _check_cancel(progress)
        if c.status == "deleted":
            live[c.path] = (None, None)
        else:
            read = svc.read(source.container.id, c.path)
            live[c.path] = (read.data, read.stat.mode)
    files = [(c.path, c.checkpoint.present or c.path in target.earlier) for c in source.changes]
    known = {p: str(f["repo_path"]) for p, f in target.earlier.items() if f.get("repo_path")}
    progress.report(f"mapping {len(files)} file(s) to {source.repo.top}")
    mapping = map_paths(files, target.tracked.keys(), source.workdir, request.maps, known)
    return [
        Harvestable(c, mapping[c.path], *live[c.path], target.earlier.get(c.path))
        for c in source.changes
    ]


def _harvested(plan: FilePlan, store: StateStore) -> HarvestedFile:
    change, live = plan.file.change, plan.file.live
    return HarvestedFile(
        path=change.path,
        repo_path=plan.file.mapped.repo_path,
        status=change.status,
        action=plan.action,
        mapped_by=plan.file.mapped.how,
        executable=plan.executable,
        version=version_of(live) if live is not None else None,
        binary=plan.binary,
        blob=store.put_blob(live) if live is not None else None,
    )


def _commit(
    repo: GitRepo,
    target: _Target,
    plans: list[FilePlan],
    message: str,
    request: HarvestRequest,
    progress: Progress,
    record: JournalRecord,
) -> tuple[str, TestRun | None]:
    """In a temporary worktree at the start commit: the files, ``--test``, the commit."""
    progress.report(f"creating a worktree at {target.start[:12]}")
    test_run: TestRun | None = None
    with repo.worktree(target.start) as wt:
        for p in plans:
            if p.result is None:
                wt.remove(p.file.mapped.repo_path)
            else:
                wt.put(p.file.mapped.repo_path, p.result, p.executable)
        if request.test:
            _check_cancel(progress)
            progress.report(f"running the tests: {request.test}")
            test_run = _run_test(wt, request.test, request.test_timeout, target, record)
        progress.report("committing")
        if not wt.has_staged_changes():
            raise HotfixError(f"nothing to commit in {repo.top} (the worktree shows no change)")
        return wt.commit(message), test_run


def _run_test(
    wt: Worktree, test: str, timeout: float | None, target: _Target, record: JournalRecord
) -> TestRun:
    test_run = wt.run(test, timeout)
    if test_run.ok:
        return test_run
    record.failure_detail["test"] = {"command": test_run.command, "exit_code": test_run.exit_code}
    tail = test_run.output.splitlines()[-200:]
    raise HarvestTestFailed(
        f"--test {test!r} failed (exit {test_run.exit_code}) in the harvest worktree; "
        f"nothing committed, branch {target.name} "
        + ("not created" if target.new_branch else "not moved")
        + ". Its output:\n"
        + "\n".join(tail),
        test_run,
    )


def _nothing_to_commit(
    source: _Source, target: _Target, harvested: list[HarvestedFile]
) -> HarvestResult:
    note = (
        f"the repository at {target.start[:12]} already has the container's content; "
        "nothing committed"
    )
    return HarvestResult(
        container=source.container,
        image=source.container.image,
        image_id=source.container.image_id,
        repo=str(source.repo.top),
        branch=None if target.new_branch else target.name,
        new_branch=False,
        commit=None if target.new_branch else target.start,
        parent=target.start,
        base=source.base,
        base_source=source.base_source,
        files=harvested,
        test=None,
        diff="",
        seconds=time.monotonic() - source.started,
        notes=[*target.notes, note],
    )


def _result(
    source: _Source,
    target: _Target,
    harvested: list[HarvestedFile],
    commit: str,
    test_run: TestRun | None,
) -> HarvestResult:
    return HarvestResult(
        container=source.container,
        image=source.container.image,
        image_id=source.container.image_id,
        repo=str(source.repo.top),
        branch=target.name,
        new_branch=target.new_branch,
        commit=commit,
        parent=target.start,
        base=source.base,
        base_source=source.base_source,
        files=harvested,
        test=test_run,
        diff=source.repo.diff(target.start, commit),
        seconds=time.monotonic() - source.started,
        notes=target.notes,
    )


def _journal_detail(result: HarvestResult) -> dict[str, Any]:
    test = result.test
    return {
        "branch": result.branch,
        "commit": result.commit,
        "parent": result.parent,
        "new_branch": result.new_branch,
        "files": [
            {
                "path": f.path,
                "repo_path": f.repo_path,
                "status": f.status,
                "action": f.action,
                "version": f.version,
                "executable": f.executable,
                "blob": f.blob,
            }
            for f in result.files
        ],
        "test": (
            {
                "command": test.command,
                "exit_code": test.exit_code,
                "seconds": round(test.seconds, 3),
            }
            if test
            else None
        ),
        "seconds": round(result.seconds, 3),
    }


def _check_cancel(progress: Progress) -> None:
    if progress.cancelled():
        raise Cancelled("harvest cancelled; nothing was committed")
