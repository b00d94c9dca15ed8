"""`hotfix reapply`: carry a lost hotfix onto the container that took its place.

Through the ordinary save path (checkpoint first, conflict-checked by version): each file
of the gone container's hotfix is planned before anything is written — the fixed content
where the successor's file is still the original, a three-way replay of the change where it
differs, a refusal naming the hunk that does not fit. One journal row (``reapply``) links
the old container to the new one; a restart and probe follow when asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hotfix.core.errors import Conflict, FileNotFound, HotfixError, UsageError
from hotfix.core.model import ContainerInfo
from hotfix.core.patching import apply_patch, make_patch
from hotfix.core.progress import NoProgress, Progress
from hotfix.lifecycle.stages import FileFix, Hotfix, hotfixes
from hotfix.lifecycle.status import ServiceFor, place_of
from hotfix.service.files import HotfixService
from hotfix.service.results import RestartResult
from hotfix.store.state import StateStore, first_line, journal_fields

_ALREADY = "already there"


@dataclass(frozen=True)
class PlannedFile:
    path: str
    data: bytes | None  # None: delete it
    base: str | None  # the successor's version it is based on
    how: str  # "written as fixed", "patched (three-way)", "already there"


@dataclass
class ReapplyResult:
    old_container: str
    old_container_id: str
    container: ContainerInfo
    files: list[str]
    how: dict[str, str]
    health: RestartResult | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ReapplyRequest:
    old: str
    to: str | None = None
    restart: bool = False
    probe: list[str] | None = None
    timeout: float = 60.0
    signal: str | None = None  # with restart: send it instead of the chosen strategy


def reapply(
    store: StateStore,
    service_for: ServiceFor,
    request: ReapplyRequest,
    progress: Progress | None = None,
) -> ReapplyResult:
    progress = progress or NoProgress()
    fix = _lost_hotfix(store, service_for, request.old)
    svc = service_for(fix.who.engine)
    target = _target(svc, fix, request.to)
    progress.report(f"{fix.who.name} → {target.name}: checking {len(fix.changed_files)} file(s)")
    plan = [_plan(store, svc, fix, target, f) for f in fix.changed_files]
    with store.journalled(
        catch=HotfixError,
        describe=first_line,
        action="reapply",
        user=svc.user,
        **journal_fields(target),
        detail={
            "from": fix.container_id,
            "from_name": fix.who.name,
            "files": [p.path for p in plan],
        },
    ) as record:
        for planned in plan:
            _write(svc, target, planned)
        record.detail = {"how": {p.path: p.how for p in plan}}
    result = ReapplyResult(
        fix.who.name,
        fix.container_id,
        target,
        [p.path for p in plan],
        {p.path: p.how for p in plan},
    )
    if request.restart:
        progress.report(f"{target.name}: restarting and probing")
        result.health = svc.restart(
            target.id,
            request.probe,
            signal=request.signal,
            timeout=request.timeout,
            progress=progress,
        )
    return result


def _lost_hotfix(store: StateStore, service_for: ServiceFor, ref: str) -> Hotfix:
    """The hotfix of container ``ref`` (name or ID prefix): the latest one whose container is
    gone — a name's successor may hold a newer hotfix of its own — else the latest."""
    matching = sorted(
        (
            f
            for f in hotfixes(
                store.checkpoints(), store.lifecycle_journal(), store.container_identities()
            )
            if f.changed_files and (f.who.name == ref or f.container_id.startswith(ref))
        ),
        key=lambda f: f.last_time,
        reverse=True,
    )
    if not matching:
        raise UsageError(f"{ref}: no hotfix of a container of that name or ID is known")
    listed: dict[str, list[ContainerInfo]] = {}
    for fix in matching:
        engine = fix.who.engine
        if engine not in listed:
            listed[engine] = service_for(engine).containers(all=True)
        if not place_of(fix, listed[engine])[0]:
            return fix
    return matching[0]


def _target(svc: HotfixService, fix: Hotfix, to: str | None) -> ContainerInfo:
    if to:
        target = svc.container(to).info
        if target.id == fix.container_id:
            raise UsageError(f"{to} is the container that holds the hotfix; name its successor")
        return target
    present, found = place_of(fix, svc.containers(all=True))
    if present:
        raise UsageError(
            f"{fix.who.name} ({fix.container_id[:12]}) still exists and holds its hotfix; "
            "name the container to carry it to with --to"
        )
    if len(found) != 1:
        named = ", ".join(c.name for c in found) or "none"
        raise UsageError(
            f"{fix.who.name}: {len(found)} successors found ({named}); name one with --to"
        )
    return found[0]


def _plan(
    store: StateStore, svc: HotfixService, fix: Hotfix, target: ContainerInfo, f: FileFix
) -> PlannedFile:
    where = f"{target.name}:{f.path}"
    old = _kept(store, fix, f, f.original)
    new = _kept(store, fix, f, f.fixed)
    try:
        current = svc.read(target.id, f.path, force=True)
        data, base = current.data, current.version
    except FileNotFound:
        data, base = None, None
    if data == new:
        return PlannedFile(f.path, new, base, _ALREADY)
    if data == old:
        return PlannedFile(f.path, new, base, "written as fixed")
    if data is None or old is None or new is None:
        raise Conflict(f"{where}: the file was created or deleted on one side; cannot merge")
    merged = apply_patch(make_patch(f.path, old, new), data, where)
    return PlannedFile(f.path, merged, base, "patched (three-way)")


def _kept(store: StateStore, fix: Hotfix, f: FileFix, version: str | None) -> bytes | None:
    if version is None:
        return None
    try:
        return store.get_blob(version.removeprefix("sha256:"))
    except HotfixError as exc:
        raise HotfixError(
            f"{fix.who.name}:{f.path}: its content {version[:19]} was not kept "
            "(saved by an older hotfix); reapply it by hand"
        ) from exc


def _write(svc: HotfixService, target: ContainerInfo, planned: PlannedFile) -> None:
    if planned.how == _ALREADY:
        return
    if planned.data is None:
        svc.delete(target.id, planned.path)
        return
    svc.write(target.id, planned.path, planned.data, base_version=planned.base)
