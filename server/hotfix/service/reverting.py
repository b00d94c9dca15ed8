"""Revert: each hotfixed path back to its checkpoint or its last good version, a revert that
always finishes, and revert-then-go-live (revert-on-failure, the editor's Revert and Restart,
a rolling apply's revert).

A step that fails (a created file cannot be deleted while the container is stopped) does not
stop the others; with a restart, the failed steps are tried again once the container runs, and
the result ends with the container's real state. :class:`Reverting` is a part of
:class:`hotfix.service.files.HotfixService`, which brings the file helpers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

from hotfix.core.errors import HotfixError
from hotfix.core.model import ContainerInfo, FileContent
from hotfix.core.progress import NoProgress, Progress
from hotfix.service import lastgood
from hotfix.service.config import guard
from hotfix.service.live import GoingLive, HowWanted, ProbeWanted
from hotfix.service.results import (
    FinalState,
    RestartResult,
    RevertedFile,
    RevertResult,
    RevertTarget,
)
from hotfix.store.state import Checkpoint, first_line


class Reverting(GoingLive):
    # --- the file helpers, :class:`hotfix.service.files.HotfixService`'s ----------------------

    def _checkpoints_for(self, container: ContainerInfo, path: str | None) -> list[Checkpoint]:
        raise NotImplementedError

    def _settle_path(self, container: ContainerInfo, path: str) -> list[str]:
        raise NotImplementedError

    def _write_file(
        self,
        action: str,
        container: ContainerInfo,
        path: str,
        data: bytes,
        previous: FileContent | None,
        *,
        uid: int,
        gid: int,
        mode: int,
        forced: bool,
        version: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        raise NotImplementedError

    def _journalled(
        self,
        action: str,
        container: ContainerInfo,
        path: str,
        work: Callable[[], object],
        *,
        before: str | None,
        after: str | None,
        forced: bool = False,
        intent: Any = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        raise NotImplementedError

    # --- revert -------------------------------------------------------------------------------

    def revert(self, ref: str, path: str | None = None, *, force: bool = False) -> list[str]:
        """Bring files back to their checkpoints (content, owner, mode); returns the paths
        changed. Every path is tried; the first failure is raised after the others."""
        container = self.engine.resolve(ref)
        forced = guard(container, "revert", force)
        files, errors = self._revert_paths(container, [path], "checkpoint", forced)
        if errors:
            raise errors[0]
        return [f.path for f in files]

    def revert_files(
        self,
        ref: str,
        paths: str | list[str] | None = None,
        *,
        to: RevertTarget = "checkpoint",
        force: bool = False,
    ) -> RevertResult:
        """Bring the paths (all checkpointed paths when None) back to ``to``: the checkpoint,
        or each path's last good version (its checkpoint when it has none). Every path is
        tried; a failed one is in the result with its error."""
        container = self.engine.resolve(ref)
        forced = guard(container, "revert", force)
        wanted: list[str | None] = [paths] if paths is None or isinstance(paths, str) else [*paths]
        files, _ = self._revert_paths(container, wanted, to, forced)
        return RevertResult(container, to, files)

    def revert_and_restart(
        self,
        ref: str,
        paths: str | list[str] | None = None,
        *,
        to: RevertTarget = "last-good",
        probe: str | list[str] | None = None,
        signal: str | None = None,
        restart: bool = False,
        timeout: float = 60.0,
        expect_status: list[int] | None = None,
        force: bool = False,
        progress: Progress | None = None,
    ) -> RevertResult:
        """Revert (to the last good version by default), then go live and probe, whatever a
        step of the revert did; the failed steps are tried again once the container runs.
        What a rolling apply and the editor's Revert and Restart call."""
        container = self.engine.resolve(ref)
        wanted = ProbeWanted(probe, expect_status)
        how = HowWanted(signal, restart)
        return self._revert_and_go_live(
            container.id, paths, to, wanted, how, timeout, force, progress or NoProgress()
        )

    def _revert_and_go_live(
        self,
        container_id: str,
        paths: str | list[str] | None,
        to: RevertTarget,
        wanted: ProbeWanted,
        how: HowWanted,
        timeout: float,
        force: bool,
        progress: Progress,
    ) -> RevertResult:
        reverted = self.revert_files(container_id, paths, to=to, force=force)
        for failed in reverted.failed:
            progress.report(f"revert of {failed.path} failed ({failed.error}); restarting anyway")
        # With a step failed, the files are not yet what went back: recorded once retried.
        go = partial(self._go_live_guarded, container_id, wanted, how, timeout, force, progress)
        again, error = go(not reverted.failed)
        if reverted.failed:
            reverted = self._retry_failed(reverted, force, progress)
            retried_ok = any(f.retried and f.error is None for f in reverted.files)
            if retried_ok and (again is None or not again.healthy):
                again, error = go(not reverted.failed)  # the retried step may be what it needed
            elif again is not None and again.healthy and not reverted.failed:
                taken = lastgood.snapshot(self.store, reverted.container, self._live)
                lastgood.record(self.store, reverted.container, taken, None)
        final = self._final_state(container_id, again, error)
        return replace(reverted, restart=again, final=final)

    def _go_live_guarded(
        self,
        container_id: str,
        wanted: ProbeWanted,
        how: HowWanted,
        timeout: float,
        force: bool,
        progress: Progress,
        record_good: bool,
    ) -> tuple[RestartResult | None, str | None]:
        """Go live; a failure to restart is an outcome here (the final state tells the rest)."""
        try:
            outcome = self._restart_once(
                container_id, wanted, how, timeout, force, progress, record_good=record_good
            )
        except HotfixError as exc:
            return None, self.redact(container_id, first_line(exc))
        return outcome, None

    def _retry_failed(self, done: RevertResult, force: bool, progress: Progress) -> RevertResult:
        """Try the failed steps again, with the container as it is now (running, if the
        restart went well: what a stopped container could not do, it can now)."""
        container = self.engine.inspect(done.container.id).info
        forced = guard(container, "revert", force)
        files = []
        for item in done.files:
            if item.error is None:
                files.append(item)
                continue
            progress.report(
                f"retrying the revert of {item.path} ({container.name} {container.state})"
            )
            again, _ = self._revert_paths(container, [item.path], done.to, forced)
            files.append(
                replace(again[0], retried=True)
                if again
                else replace(item, error=None, retried=True)
            )
        return replace(done, container=container, files=files)

    def _revert_paths(
        self,
        container: ContainerInfo,
        paths: list[str | None],
        to: RevertTarget,
        forced: bool,
    ) -> tuple[list[RevertedFile], list[HotfixError]]:
        """Revert each checkpoint of ``paths`` (None: all of them), going on past a failure."""
        checkpoints = [cp for path in paths for cp in self._checkpoints_for(container, path)]
        files: list[RevertedFile] = []
        errors: list[HotfixError] = []
        for cp in checkpoints:
            good = self.store.get_last_good(container.id, cp.path)
            source = lastgood.choose(cp, good, to)
            done = RevertedFile(cp.path, source.to, source.went_live_at, source.fallback)
            try:
                changed = self._revert_one(container, cp.path, source, forced)
            except HotfixError as exc:
                errors.append(exc)
                files.append(replace(done, error=self.redact(container.id, first_line(exc))))
                continue
            if changed:
                files.append(done)
        return files, errors

    def _revert_one(
        self, container: ContainerInfo, path: str, source: lastgood.Source, forced: bool
    ) -> bool:
        """Bring one path back to ``source``; False when it is there already."""
        extra: dict[str, Any] = {"to": source.to}
        if source.went_live_at is not None:
            extra["went_live_at"] = source.went_live_at
        if source.fallback:
            extra["fallback"] = "no last good: the checkpoint"
        with self.store.path_lock(container.id, path):
            self._settle_path(container, path)
            _, live = self._live(container, path)
            if _already(source, live):
                return False
            if source.present:
                data = self.store.get_blob(source.blob or "")
                uid, gid = source.uid or 0, source.gid or 0
                mode = source.mode if source.mode is not None else 0o644
                self._write_file(
                    "revert", container, path, data, live, uid=uid, gid=gid, mode=mode,
                    forced=forced, extra=extra,
                )  # fmt: skip
                return True
            self._journalled(  # absent then: the hotfix created it
                "revert",
                container,
                path,
                partial(self.engine.delete, container, path),
                before=live.version if live else None,
                after=None,
                forced=forced,
                extra=extra,
            )
        return True

    def _final_state(
        self, container_id: str, outcome: RestartResult | None, error: str | None
    ) -> FinalState:
        """The container as the Engine sees it now, with the probe's verdict of the restart."""
        details = self.engine.inspect(container_id)
        state = details.info.state
        if outcome is None:
            detail = f"not restarted: {error}"
        else:
            detail = outcome.reason or outcome.result.detail
        healthy = outcome is not None and outcome.healthy and state == "running"
        exit_code = details.exit_code if state in ("exited", "dead") else None
        return FinalState(state, details.info.health, healthy, detail, exit_code)


def _already(source: lastgood.Source, live: FileContent | None) -> bool:
    """Whether the live file is ``source`` already: content, and mode and owner where known."""
    if live is None or not source.present:
        return live is None and not source.present
    if live.version != source.version:
        return False
    st = live.stat
    wanted = (source.mode, source.uid, source.gid)
    return all(w is None or w == h for w, h in zip(wanted, (st.mode, st.uid, st.gid), strict=True))
