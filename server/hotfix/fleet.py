"""Use cases over several containers: replicas, several engines, Swarm rollout.

A hotfix made in one container is carried to its replicas as a patch (checkpoint →
live), each target checkpointed first and refused if its file is not what the source's
checkpoint was. ``--rolling`` restarts and probes one target at a time and stops at the
first failure, reverting that target — so a bad fix never takes down every replica.

Applying is idempotent: a target whose files already are the source's (content, owner, mode),
that went live since they were written and whose probe passes is ``already fixed`` — neither
written nor restarted. The apply warns when the source's own change never went live healthy.

Targets may live on different engines; each gets the :class:`HotfixService` of its own
engine, all sharing one state store.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Final, Literal

from hotfix.core.errors import Conflict, HotfixError, UsageError
from hotfix.core.model import ContainerInfo, FileStat
from hotfix.core.patching import apply_patch, make_patch
from hotfix.core.progress import NoProgress, Progress
from hotfix.docker.engines import DEFAULT, Engines
from hotfix.service.files import HotfixService
from hotfix.service.results import RestartResult
from hotfix.store.state import StateStore, first_line, version_of

MAX_PARALLEL_WRITES = 16
ALREADY_FIXED_PROBE = 3.0  # seconds a target at the fix has to pass its probe before a restart
ALREADY_FIXED: Final = "already fixed"
_ALREADY_DONE = "already-done"
SWARM_SERVICE = "com.docker.swarm.service.name"
COMPOSE_PROJECT = "com.docker.compose.project"
COMPOSE_SERVICE = "com.docker.compose.service"


@dataclass(frozen=True)
class Target:
    """A container on a named engine, written ``[ENGINE/]CONTAINER`` on the command line."""

    engine: str
    container: str

    @classmethod
    def parse(cls, text: str, default_engine: str = DEFAULT) -> Target:
        engine, sep, container = text.rpartition("/")
        if not container:
            raise UsageError(f"{text!r}: expected [ENGINE/]CONTAINER")
        return cls(engine if sep else default_engine, container)

    @classmethod
    def of(cls, info: ContainerInfo) -> Target:
        return cls(info.engine, info.name)

    def __str__(self) -> str:
        return self.container if self.engine == DEFAULT else f"{self.engine}/{self.container}"


@dataclass(frozen=True)
class FileChange:
    """One file's change in the source container, as the patch and the whole new content."""

    path: str
    old: bytes | None  # the source's checkpoint; None: the hotfix created the file
    new: bytes | None  # the source's live content; None: the hotfix deleted the file
    patch: str
    owner: tuple[int | None, int | None, int] | None = None  # the source's (uid, gid, mode)


TargetStatus = Literal[
    "fixed", "already fixed", "written", "reverted", "untouched", "conflict", "failed"
]


@dataclass
class TargetOutcome:
    target: Target
    status: TargetStatus
    files: list[str] = field(default_factory=list)
    detail: str = ""
    health: RestartResult | None = None


@dataclass
class ApplyResult:
    source: Target
    files: list[str]
    rolling: bool
    outcomes: list[TargetOutcome]
    seconds: float
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(o.status in ("fixed", ALREADY_FIXED, "written") for o in self.outcomes)


@dataclass(frozen=True)
class DiffGroup:
    """One distinct diff and the replicas that have exactly it."""

    diff: str
    targets: list[Target]


class Fleet:
    def __init__(self, engines: Engines, store: StateStore, user: str | None = None) -> None:
        self.engines = engines
        self.store = store
        self.user = user
        self._services: dict[str, HotfixService] = {}

    def service(self, engine: str) -> HotfixService:
        if engine not in self._services:
            self._services[engine] = HotfixService(self.engines.get(engine), self.store, self.user)
        return self._services[engine]

    # --- discovery ----------------------------------------------------------------------------

    def replicas(
        self, source: Target, *, same_image: bool = False, all_engines: bool = False
    ) -> list[Target]:
        """The source's replicas (source excluded): same Compose service, same Swarm service,
        or — opt-in — same image. Searched on the source's engine, or on every engine."""
        info = self.service(source.engine).container(source.container).info
        key = _replica_key(info, same_image)
        if key is None:
            raise UsageError(
                f"{source} belongs to no Compose or Swarm service; name the targets with --to, "
                "or match by image with --same-image"
            )
        engines = self.engines.all() if all_engines else [self.engines.get(source.engine)]
        found = []
        for engine in engines:
            for candidate in engine.list_containers(all=False):
                if candidate.id != info.id and _replica_key(candidate, same_image) == key:
                    found.append(Target.of(candidate))
        return sorted(found, key=str)

    # --- apply --------------------------------------------------------------------------------

    def apply(
        self,
        source: Target,
        targets: list[Target],
        *,
        rolling: bool = False,
        probe: str | None = None,
        signal: str | None = None,
        timeout: float = 60.0,
        force: bool = False,
        progress: Progress | None = None,
    ) -> ApplyResult:
        progress = progress or NoProgress()
        started = time.monotonic()
        if not targets:
            raise UsageError(f"no targets to apply {source}'s change to")
        changes = self.source_changes(source)
        files = [c.path for c in changes]
        warnings = self.source_warnings(source, files)
        if rolling:
            outcomes = self._apply_rolling(
                targets, changes, probe, signal, timeout, force, progress
            )
        else:
            outcomes = self._apply_parallel(targets, changes, probe, timeout, force, progress)
        seconds = time.monotonic() - started
        result = ApplyResult(source, files, rolling, outcomes, seconds, warnings)
        self._journal_apply(result)
        return result

    def source_warnings(self, source: Target, files: list[str]) -> list[str]:
        """A change that never went live healthy on its source is carried unproven."""
        container = self.service(source.engine).container(source.container).info
        if self.store.went_live_after_write(container.id, files):
            return []
        return [
            f"{source}'s change never went live healthy (no restart or reload proven healthy "
            f"since its last write of {', '.join(files)}): the replicas get an untried fix"
        ]

    def source_changes(self, source: Target) -> list[FileChange]:
        svc = self.service(source.engine)
        changes = svc.changes(source.container)
        if not changes:
            raise UsageError(f"nothing to apply: no file of {source} differs from its checkpoint")
        found = []
        for change in changes:
            cp, old = svc.checkpoint_content(source.container, change.path)
            old_content = old if cp.present else None
            live = None if change.status == "deleted" else svc.read(source.container, change.path)
            new = live.data if live else None
            owner = (live.stat.uid, live.stat.gid, live.stat.mode) if live else None
            patch = make_patch(change.path, old_content, new)
            found.append(FileChange(change.path, old_content, new, patch, owner))
        return found

    def _apply_parallel(
        self,
        targets: list[Target],
        changes: list[FileChange],
        probe: str | None,
        timeout: float,
        force: bool,
        progress: Progress,
    ) -> list[TargetOutcome]:
        done = 0

        def one(target: Target) -> TargetOutcome:
            nonlocal done
            outcome = self._write_target(target, changes, force)
            if outcome.status == ALREADY_FIXED:
                self._confirm_fixed(outcome, probe, timeout, NoProgress(), "restart it")
            done += 1
            progress.report(
                f"{target}: {outcome.status} ({done}/{len(targets)})", _pct(done, targets)
            )
            return outcome

        workers = min(MAX_PARALLEL_WRITES, len(targets))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(one, targets))

    def _apply_rolling(
        self,
        targets: list[Target],
        changes: list[FileChange],
        probe: str | None,
        signal: str | None,
        timeout: float,
        force: bool,
        progress: Progress,
    ) -> list[TargetOutcome]:
        outcomes: list[TargetOutcome] = []

        def restart(svc: HotfixService, target: Target) -> RestartResult:
            return svc.restart(
                target.container, probe, signal=signal, timeout=timeout, progress=progress
            )

        for index, target in enumerate(targets):
            progress.report(f"{target}: writing ({index + 1}/{len(targets)})", _pct(index, targets))
            outcome = self._write_target(target, changes, force)
            outcomes.append(outcome)
            if outcome.status == ALREADY_FIXED:
                self._confirm_fixed(outcome, probe, timeout, progress, "going live")
                if outcome.status == ALREADY_FIXED:
                    continue  # at the fix, live and healthy: no write, no restart
            if outcome.status != "written":
                break  # a conflict or failure stops the roll-out before anything restarts
            progress.report(f"{target}: restarting and probing", _pct(index, targets))
            svc = self.service(target.engine)
            try:
                health = restart(svc, target)
            except HotfixError as exc:
                outcome.status, outcome.detail = "failed", str(exc)
                break
            outcome.health = health
            if health.healthy:
                outcome.status = "fixed"
                continue
            progress.report(f"{target}: unhealthy ({health.result.detail}); reverting")
            back = svc.revert_and_restart(
                target.container,
                outcome.files,
                to="last-good",
                probe=probe,
                signal=signal,
                timeout=timeout,
                progress=progress,
            )
            outcome.status = "reverted"
            outcome.detail = f"unhealthy after the change: {health.result.detail}; {back.summary}"
            break
        touched = {o.target for o in outcomes}
        outcomes += [TargetOutcome(t, "untouched") for t in targets if t not in touched]
        return outcomes

    def _write_target(
        self, target: Target, changes: list[FileChange], force: bool
    ) -> TargetOutcome:
        """Check every file of one target first, then write them: a conflict writes nothing.
        A target whose every file is already the source's comes back ``already fixed``, for
        :meth:`_confirm_fixed` to confirm."""
        svc = self.service(target.engine)
        written = 0
        try:
            planned = [self._plan_file(svc, target, change, force) for change in changes]
            for path, new, base in planned:
                if base == _ALREADY_DONE:
                    continue
                if new is None:
                    svc.delete(target.container, path)
                else:
                    svc.write(target.container, path, new, base_version=base, force=force)
                written += 1
        except Conflict as exc:
            return TargetOutcome(target, "conflict", detail=str(exc))
        except HotfixError as exc:
            return TargetOutcome(target, "failed", detail=str(exc))
        status: TargetStatus = "written" if written else ALREADY_FIXED
        return TargetOutcome(target, status, files=[c.path for c in changes])

    def _confirm_fixed(
        self,
        outcome: TargetOutcome,
        probe: str | None,
        timeout: float,
        progress: Progress,
        otherwise: str,
    ) -> None:
        """A target at the fix stays ``already fixed`` only when it went live since its files
        were written (if hotfix wrote them) and its probe passes; else it is ``written``,
        with why and ``otherwise`` (what comes next) in its detail."""
        target = outcome.target
        svc = self.service(target.engine)
        reason = ""
        try:
            container = svc.container(target.container).info
            if self.store.went_live_after_write(container.id, outcome.files) is False:
                reason = "its files were written but never went live healthy since"
            else:
                progress.report(f"{target}: at the fix already; probing")
                wait = min(timeout, ALREADY_FIXED_PROBE)
                outcome.health = svc.probe(container.id, probe, timeout=wait, progress=progress)
                if not outcome.health.healthy:
                    reason = f"its probe fails ({outcome.health.result.detail})"
        except HotfixError as exc:
            reason = f"cannot probe it ({first_line(exc)})"
        if reason:
            outcome.status = "written"
            outcome.detail = f"at the fix already, but {reason}: {otherwise}"

    def _plan_file(
        self, svc: HotfixService, target: Target, change: FileChange, force: bool
    ) -> tuple[str, bytes | None, str | None]:
        """(path, content to write or None to delete, the version it is based on)."""
        where = f"{target}:{change.path}"
        try:
            current = svc.read(target.container, change.path)
            data, base, stat = current.data, current.version, current.stat
        except HotfixError as exc:
            if exc.code != "FileNotFound":
                raise
            data, base, stat = None, None, None
        if data == change.old:
            return change.path, change.new, base
        if data == change.new:
            # Already has the change: writing it again would checkpoint the fixed content.
            _check_owner(where, change, stat, force)
            return change.path, change.new, _ALREADY_DONE
        if not force:
            expected = version_of(change.old)[:19] if change.old is not None else "absent"
            raise Conflict(
                f"{where} is not what the source's checkpoint was ({expected}); "
                "it has changes of its own — --force applies the patch anyway"
            )
        if data is None or change.new is None or change.old is None:
            raise Conflict(f"{where}: cannot patch a file that is created or deleted here")
        return change.path, apply_patch(change.patch, data, where), base

    def _journal_apply(self, result: ApplyResult) -> None:
        self.store.journal_add(
            action="apply",
            user=self.user or "",
            outcome="ok" if result.ok else "failed",
            container_name=str(result.source),
            detail={
                "files": result.files,
                "rolling": result.rolling,
                "targets": {str(o.target): o.status for o in result.outcomes},
                **({"warnings": result.warnings} if result.warnings else {}),
            },
        )

    # --- diff and revert across replicas ------------------------------------------------------

    def diff_groups(self, targets: Iterable[Target], path: str | None = None) -> list[DiffGroup]:
        """Each distinct diff once, with the replicas that have it (identical changes as one)."""
        groups: dict[str, list[Target]] = {}
        for target in targets:
            diff = self.service(target.engine).diff(target.container, path)
            groups.setdefault(diff, []).append(target)
        return [DiffGroup(diff, members) for diff, members in groups.items()]

    def check_identical(self, source: Target, replicas: list[Target]) -> list[Target]:
        """Before harvesting one container for a set of replicas: their changes must be the
        same change (replicas that changed nothing are fine). Returns those that changed."""
        groups = [g for g in self.diff_groups([source, *replicas]) if g.diff]
        if len(groups) > 1:
            listing = "; ".join(", ".join(map(str, g.targets)) for g in groups)
            raise Conflict(
                f"the replicas hold {len(groups)} different changes ({listing}): harvest them "
                "one by one, or make them agree with `hotfix apply`"
            )
        if groups and source not in groups[0].targets:
            raise UsageError(
                f"{source} has no change of its own; name a replica that has it: "
                + ", ".join(map(str, groups[0].targets))
            )
        return groups[0].targets if groups else []

    def revert_all(
        self, targets: Iterable[Target], path: str | None = None
    ) -> dict[Target, list[str]]:
        return {t: self.service(t.engine).revert(t.container, path) for t in targets}


def _check_owner(where: str, change: FileChange, stat: FileStat | None, force: bool) -> None:
    """A file with the fix's content but another owner or mode than the source's is not at the
    fix; writing the content again would keep its own owner and mode, so it is a conflict."""
    if stat is None or change.owner is None or force:
        return
    uid, gid, mode = change.owner
    differs = [
        f"{what} {mine} (the source's {theirs})"
        for what, mine, theirs in (
            ("uid", stat.uid, uid),
            ("gid", stat.gid, gid),
            ("mode", oct(stat.mode), oct(mode)),
        )
        if mine is not None and theirs is not None and mine != theirs
    ]
    if differs:
        raise Conflict(
            f"{where} has the fix's content but {', '.join(differs)}; "
            "set them by hand, or --force to leave them"
        )


def _replica_key(info: ContainerInfo, same_image: bool) -> tuple[str, ...] | None:
    labels = info.labels
    if labels.get(SWARM_SERVICE):
        return ("swarm", info.engine, labels[SWARM_SERVICE])
    if labels.get(COMPOSE_PROJECT) and labels.get(COMPOSE_SERVICE):
        return ("compose", labels[COMPOSE_PROJECT], labels[COMPOSE_SERVICE])
    if same_image:
        return ("image", info.image)
    return None


def _pct(done: int, items: list[Target]) -> int:
    return int(100 * done / max(1, len(items)))


# --- Swarm rollout ----------------------------------------------------------------------------

RolloutState = Literal["completed", "rolled back", "paused", "timed out"]
_FINAL_UPDATE_STATES: dict[str, RolloutState] = {
    "completed": "completed",
    "rollback_completed": "rolled back",
    "paused": "paused",
    "rollback_paused": "paused",
}


@dataclass(frozen=True)
class TaskReport:
    slot: int | None
    state: str
    image: str
    container_id: str | None
    message: str


@dataclass(frozen=True)
class RolloutResult:
    service: str
    image: str
    previous_image: str
    state: RolloutState
    message: str
    seconds: float
    tasks: list[TaskReport]

    @property
    def converged(self) -> bool:
        return self.state == "completed" and all(
            t.state == "running" and _same_image(t.image, self.image) for t in self.tasks
        )


def rollout(
    fleet: Fleet,
    service: str,
    image: str,
    *,
    engine: str = DEFAULT,
    push: bool = False,
    monitor: float = 5.0,
    timeout: float = 300.0,
    progress: Progress | None = None,
) -> RolloutResult:
    """Swarm's own rolling update (one task at a time, watched, rolled back on failure)."""
    progress = progress or NoProgress()
    target = fleet.engines.get(engine)
    before = target.swarm_service(service)
    previous = before["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
    replicas = (before["Spec"].get("Mode", {}).get("Replicated") or {}).get("Replicas", 0)
    if push:
        progress.report(f"pushing {image}")
        target.push(image)
    started = time.monotonic()
    target.update_service_image(service, image, monitor=monitor)
    state: RolloutState = "timed out"
    message = ""
    while time.monotonic() - started < timeout:
        if progress.cancelled():
            break
        status = target.swarm_service(service).get("UpdateStatus") or {}
        message = status.get("Message", "")
        if status.get("State") in _FINAL_UPDATE_STATES:
            state = _FINAL_UPDATE_STATES[status["State"]]
            break
        moved = sum(
            1 for t in _running_tasks(target.service_tasks(service)) if _same_image(t.image, image)
        )
        progress.report(
            f"{service}: {status.get('State', 'starting')} — {moved}/{replicas} tasks on {image}"
        )
        time.sleep(0.5)
    result = RolloutResult(
        service,
        image,
        previous,
        state,
        message,
        time.monotonic() - started,
        _running_tasks(target.service_tasks(service)),
    )
    fleet.store.journal_add(
        action="rollout",
        user=fleet.user or "",
        outcome="ok" if result.converged else "failed",
        container_name=service,
        image=image,
        detail={"engine": engine, "previous": previous, "state": state, "message": message},
    )
    return result


def _running_tasks(tasks: list[dict[str, object]]) -> list[TaskReport]:
    reports = []
    for task in tasks:
        if task.get("DesiredState") != "running":
            continue
        status = task.get("Status") or {}
        spec = task.get("Spec") or {}
        assert isinstance(status, dict) and isinstance(spec, dict)
        reports.append(
            TaskReport(
                slot=slot if isinstance(slot := task.get("Slot"), int) else None,
                state=str(status.get("State", "")),
                image=str((spec.get("ContainerSpec") or {}).get("Image", "")),
                container_id=(status.get("ContainerStatus") or {}).get("ContainerID"),
                message=str(status.get("Err") or status.get("Message") or ""),
            )
        )
    return sorted(reports, key=lambda t: t.slot or 0)


def _same_image(task_image: str, image: str) -> bool:
    """Swarm may pin a reference to a digest (``name:tag@sha256:…``)."""
    return task_image == image or task_image.split("@", 1)[0] == image
