"""What the file use cases return: plain frozen dataclasses, read by the front ends and by
the release and fleet use cases (which never import the service itself)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

from hotfix.core.model import ContainerInfo, FileStat
from hotfix.core.probes import ProbeResult
from hotfix.store.state import Checkpoint

ChangeStatus = Literal["modified", "created", "deleted", "unchanged"]
RevertTarget = Literal["checkpoint", "last-good"]
REVERT_TARGETS: tuple[RevertTarget, ...] = ("checkpoint", "last-good")


@dataclass(frozen=True)
class ReadResult:
    container: ContainerInfo
    path: str  # the file read: a symlink's target when the given path was a link
    data: bytes
    version: str
    stat: FileStat


@dataclass(frozen=True)
class WriteResult:
    container: ContainerInfo
    path: str
    version: str
    previous_version: str | None
    checkpointed: bool  # this write took the path's checkpoint
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Change:
    container_id: str
    container_name: str
    path: str
    status: ChangeStatus
    checkpoint: Checkpoint
    container_exists: bool = True


@dataclass(frozen=True)
class CheckResult:
    """The pre-flight check run before going live."""

    command: str
    why: str  # "--check given", "label hotfix.check", "nginx's config test"
    exit_code: int
    output: str  # redacted; the last lines
    passed: bool


@dataclass(frozen=True)
class RestartResult:
    container: ContainerInfo
    action: str  # "restart" or "signal HUP"
    probe: str
    healthy: bool
    seconds: float  # from the restart/signal to healthy (or to giving up)
    result: ProbeResult
    attempts: int
    reverted: list[str] = field(default_factory=list)
    after_revert: RestartResult | None = None
    why: str | None = None  # why ``action`` was chosen ("uWSGI master detected"); None: a probe
    check: CheckResult | None = None  # the pre-flight check, when one ran
    refused: bool = False  # the check failed: nothing went live
    applied: bool | None = None  # the serving processes are new; None: not known or not asked
    reason: str | None = None  # "not applied: …", "check failed: …"
    notes: list[str] = field(default_factory=list)  # e.g. the proof skipped, and why
    probes: list[str] = field(default_factory=list)  # every probe given (all must pass)
    revert: RevertResult | None = None  # revert-on-failure: what each file went back to
    last_good: float | None = None  # unhealthy: when the container's last good went live


@dataclass(frozen=True)
class RevertedFile:
    """One path of a revert: what it went back to, or why that failed."""

    path: str
    to: RevertTarget  # what it was brought back to (or was to be)
    went_live_at: float | None = None  # ``to`` last-good: when that version went live
    fallback: bool = False  # last good asked, none known for this path: the checkpoint
    error: str | None = None  # the step failed, also when retried
    retried: bool = False  # it failed first and was tried again once the container ran

    @property
    def described_to(self) -> str:
        """ "last good (went live 02:41:07)", "checkpoint (no last good for it)", "checkpoint"."""
        if self.to == "last-good":
            when = time.strftime("%H:%M:%S", time.localtime(self.went_live_at or 0))
            return f"last good (went live {when})"
        return "checkpoint (no last good for it)" if self.fallback else "checkpoint"


@dataclass(frozen=True)
class FinalState:
    """The container after a revert and its restart: what the Engine and the probe say."""

    state: str  # running, exited, …
    health: str | None  # the HEALTHCHECK's status, if any
    healthy: bool  # the probe passed after the restart, and the container still runs
    detail: str  # the probe's last answer, or why there was none
    exit_code: int | None = None


@dataclass(frozen=True)
class RevertResult:
    container: ContainerInfo
    to: RevertTarget  # what was asked for
    files: list[RevertedFile] = field(default_factory=list)  # the paths changed (or failed)
    restart: RestartResult | None = None  # with a restart: the going live after it
    final: FinalState | None = None  # with a restart: the container at the end

    @property
    def reverted(self) -> list[str]:
        return [f.path for f in self.files if f.error is None]

    @property
    def failed(self) -> list[RevertedFile]:
        return [f for f in self.files if f.error is not None]

    @property
    def summary(self) -> str:
        """One line: what was reverted to, what failed, the final state."""
        done = [f for f in self.files if f.error is None]
        targets = {f.described_to for f in done}
        if not done:
            line = "reverted nothing"
        elif len(targets) == 1:
            line = f"reverted to {targets.pop()}"
        else:
            line = "reverted " + ", ".join(f"{f.path} to {f.described_to}" for f in done)
        if self.failed:
            line += f"; {len(self.failed)} step(s) failed: {self.failed[0].error}"
        if self.final:
            verdict = "healthy" if self.final.healthy else "UNHEALTHY"
            line += f"; final state: {self.final.state}, {verdict}"
        return line
