"""Where every hotfix is on its way from live to shipped: the stages of
:mod:`hotfix.lifecycle.stages` judged against the engines' containers now.

One container list per engine; the files of a gone container's successors are read only
then (they decide ``lost``, ``in-image`` and ``rolled-out``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from hotfix.core.errors import FileNotFound, HotfixError
from hotfix.core.model import ContainerInfo
from hotfix.lifecycle.stages import (
    Hotfix,
    HotfixStatus,
    Judged,
    Stage,
    Successor,
    hotfixes,
    judge,
)
from hotfix.lifecycle.successors import Who, replica_key, successors
from hotfix.service.files import HotfixService
from hotfix.store.state import StateStore

ServiceFor = Callable[[str], HotfixService]


def who_of(info: ContainerInfo) -> Who:
    return Who(info.id, info.engine, info.name, info.image, dict(info.labels))


def survey(
    store: StateStore, service_for: ServiceFor, engines: Iterable[str] | None = None
) -> list[Judged]:
    """Every hotfix judged, on the named engines (None: every engine a hotfix lives on)."""
    fixes = hotfixes(store.checkpoints(), store.lifecycle_journal(), store.container_identities())
    wanted = set(engines) if engines is not None else {f.who.engine for f in fixes}
    listed: dict[str, list[ContainerInfo]] = {}
    judged = []
    for fix in fixes:
        engine = fix.who.engine
        if engine not in wanted:
            continue
        if engine not in listed:
            listed[engine] = service_for(engine).containers(all=True)
        judged.append(judge_one(store, service_for(engine), fix, listed[engine]))
    return judged


def judge_one(
    store: StateStore, svc: HotfixService, fix: Hotfix, containers: list[ContainerInfo]
) -> Judged:
    present, found = place_of(fix, containers)
    if present or not fix.changed_files:
        return judge(fix, present)
    return judge(fix, False, [_successor(store, svc, fix, info) for info in found])


def place_of(fix: Hotfix, containers: list[ContainerInfo]) -> tuple[bool, list[ContainerInfo]]:
    """Whether the hotfix's container is still in place, and else its successors. A stopped
    container whose place a running successor took (an old Swarm task, kept by the task
    history) is replaced, not present; of several successors the running ones count."""
    own = next((c for c in containers if c.id == fix.container_id), None)
    matched = {w.id for w in successors(fix.who, (who_of(c) for c in containers))}
    found = [c for c in containers if c.id in matched]
    running = [c for c in found if c.state == "running"]
    if own is not None and (own.state == "running" or not running):
        return True, []
    return False, running or found


def _successor(
    store: StateStore, svc: HotfixService, fix: Hotfix, info: ContainerInfo
) -> Successor:
    versions: dict[str, str | None] = {}
    for f in fix.changed_files:
        try:
            versions[f.path] = svc.read(info.id, f.path, force=True).version
        except FileNotFound:
            versions[f.path] = None
        except HotfixError:
            versions[f.path] = "unreadable"
    own = all(store.get_checkpoint(info.id, f.path) for f in fix.changed_files)
    return Successor(who_of(info), info.image_id, versions, own)


def statuses(judged: Iterable[Judged], now: float | None = None) -> list[HotfixStatus]:
    """The lines of `hotfix status`: carried hotfixes left out, identical replicas as one."""
    now = time.time() if now is None else now
    groups: dict[tuple[object, ...], list[Judged]] = {}
    for j in judged:
        if j.carried:
            continue
        key = replica_key(j.hotfix.who) or ("container", j.hotfix.container_id)
        files = tuple((f.path, f.original, f.fixed) for f in j.hotfix.changed_files)
        groups.setdefault((key, files, j.stage, j.present), []).append(j)
    return [_line(members, now) for members in groups.values()]


def _line(members: list[Judged], now: float) -> HotfixStatus:
    first = members[0]
    fix = first.hotfix
    since = min(m.hotfix.first_time for m in members)
    users = sorted({u for m in members for u in m.hotfix.users})
    return HotfixStatus(
        containers=[m.hotfix.who.name for m in members],
        container_ids=[m.hotfix.container_id for m in members],
        engine=fix.who.engine,
        files=[f.path for f in (fix.changed_files or fix.files)],
        since=since,
        age_seconds=round(now - since, 1),
        users=users,
        stage=first.stage,
        next_step=first.next_step,
        present=first.present,
        successors=sorted({s.who.name for m in members for s in m.successors}),
        branch=fix.branch,
        commit=fix.commit,
        image=fix.image,
        notes=[n for m in members for n in m.notes],
    )


def select(lines: list[HotfixStatus], container: str | None) -> list[HotfixStatus]:
    """The lines about one container (name or ID prefix), its successors included."""
    if not container:
        return lines
    return [
        line
        for line in lines
        if container in line.containers
        or container in line.successors
        or any(cid.startswith(container) for cid in line.container_ids)
    ]


def stage_by_container(judged: Iterable[Judged]) -> dict[str, Stage]:
    """Each container's hotfix stage, for `hotfix ps`: a present container's own, and a
    gone one's on each of its successors (``lost`` on the one that runs without it)."""
    stages: dict[str, Stage] = {}
    for j in judged:
        if j.present:
            stages[j.hotfix.container_id] = j.stage
        elif not j.carried:
            for s in j.successors:
                if j.stage != "lost" or not s.has(j.hotfix):
                    stages.setdefault(s.who.id, j.stage)
    return stages


def lacking(judged: Iterable[Judged]) -> list[tuple[str, str, str]]:
    """(successor, path, the gone container that had the fix) for every file a successor of a
    lost hotfix runs without."""
    found = []
    for j in judged:
        if j.stage != "lost":
            continue
        for s in j.successors:
            for f in j.hotfix.changed_files:
                if s.versions.get(f.path) != f.fixed:
                    found.append((s.who.name, f.path, j.hotfix.who.name))
    return found


def predecessors(store: StateStore, container_id: str, name: str) -> list[str]:
    """The IDs of the containers before this one: those of the same name that were
    hotfixed, and those a hotfix was reapplied from onto it — oldest first."""
    identities = store.container_identities()
    found = {cid for cid, who in identities.items() if who.name == name and cid != container_id}
    for entry in store.lifecycle_journal():
        source = entry.detail.get("from")
        if entry.action == "reapply" and entry.container_id == container_id and source:
            found.add(str(source))
    return sorted(found, key=lambda cid: identities[cid].recorded_at if cid in identities else 0)
