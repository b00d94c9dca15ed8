"""Trying a fix in a throwaway twin before it goes live (``hotfix try``).

The twin is the container's image, its changes and its config, isolated (no network but its
own loopback, none of its mounts; :mod:`hotfix.docker.twins`), with the new content put in.
It is started, the check runs in it, its processes must have started and the probes pass on
its own 127.0.0.1 — the same proof as going live — and it is removed. The production
container is only read. With ``then_apply`` a healthy fix is saved (checkpoint, conflict
check against the versions the try started from) and goes live (:mod:`hotfix.service.live`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from hotfix.core import validation
from hotfix.core.errors import (
    Conflict,
    FileNotFound,
    HotfixError,
    UsageError,
    ValidationFailed,
)
from hotfix.core.model import ContainerDetails, ContainerInfo, FileContent, FileStat
from hotfix.core.paths import normalize
from hotfix.core.probes import AllProbes, ProbeResult
from hotfix.core.processes import throwaway_name
from hotfix.core.progress import NoProgress, Progress
from hotfix.docker.netns import netns_path, run_in_netns
from hotfix.docker.twins import TWIN_PREFIX, TwinSpec, twin_spec
from hotfix.service.golive import KnownServer, choose_check, detect_server
from hotfix.service.live import CHECK_OUTPUT_CHARS, FAIL_AFTER_5XX
from hotfix.service.processes import ProcessesUnknown
from hotfix.service.processes import Source as ProcessSource
from hotfix.service.results import CheckResult, RestartResult, WriteResult
from hotfix.service.twinprobes import (
    Enter,
    InNamespace,
    default_probe_text,
    twin_probe_text,
    twin_probes,
)
from hotfix.store.state import journal_fields

if TYPE_CHECKING:
    from hotfix.service.files import HotfixService

LOG_LINES = 20  # of a twin that failed, its last log lines
STARTED_WAIT = 5.0  # seconds for the twin's processes to show up


@dataclass(frozen=True)
class TryFile:
    path: str
    data: bytes


@dataclass(frozen=True)
class TryOptions:
    probes: list[str] = field(default_factory=list)
    expect_status: list[int] | None = None
    expect_body: str | None = None
    expect_body_regex: str | None = None
    check: str | None = None
    network: str = "none"
    with_volumes: bool = False
    keep: bool = False
    timeout: float = 60.0
    force: bool = False  # past validation (a syntax error), as write --force
    then_apply: bool = False
    restart: bool = False
    signal: str | None = None


@dataclass(frozen=True)
class TryResult:
    container: ContainerInfo
    twin: str  # the twin's name (removed by now unless kept)
    verdict: str  # "healthy", "unhealthy", "refused" (the check failed)
    seconds: float  # from the start of the try to the verdict
    paths: list[str]
    versions: dict[str, str | None]  # the production versions the try started from
    network: str
    probe: str
    result: ProbeResult
    attempts: int = 0
    check: CheckResult | None = None
    reason: str | None = None
    log: str = ""  # the twin's last log lines, on failure (redacted)
    kept: bool = False
    dropped_mounts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    applied: list[WriteResult] = field(default_factory=list)
    live: RestartResult | None = None

    @property
    def healthy(self) -> bool:
        return self.verdict == "healthy"


@dataclass
class _Live:
    """A production file as the try found it."""

    content: FileContent
    version: str | None


class TwinTrial:
    """One ``hotfix try`` on one engine, through the service (reads, saves, going live)."""

    def __init__(self, svc: HotfixService) -> None:
        self.svc = svc
        self.engine = svc.engine

    def run(
        self,
        ref: str,
        files: list[TryFile],
        options: TryOptions,
        progress: Progress | None = None,
    ) -> TryResult:
        progress = progress or NoProgress()
        started = time.monotonic()
        swept = self.engine.remove_orphaned_throwaways(TWIN_PREFIX)
        details = self.engine.inspect(ref)
        container = details.info
        self._validate(container, files, options.force)
        lives = {f.path: self._live(container, f) for f in files}
        attrs = self.engine.container_attrs(container.id)
        probes = self._probes(details, attrs, options)
        spec = twin_spec(
            attrs,
            throwaway_name(TWIN_PREFIX, container.name),
            network=options.network,
            with_volumes=options.with_volumes,
        )
        outcome = self._journalled_try(container, spec, lives, probes, options, progress, started)
        notes = [f"removed the twin {name} a killed try left" for name in swept]
        outcome = replace(outcome, notes=notes + outcome.notes)
        if options.then_apply and outcome.healthy:
            outcome = self._apply(outcome, lives, options, progress)
        return outcome

    # --- before the twin --------------------------------------------------------------------

    def _validate(self, container: ContainerInfo, files: list[TryFile], force: bool) -> None:
        if force:
            return
        for f in files:
            problems = validation.check(normalize(f.path), f.data)
            if problems:
                raise ValidationFailed(
                    f"{container.name}:{f.path} not tried: {problems[0]} (force to try anyway)"
                )

    def _live(self, container: ContainerInfo, f: TryFile) -> _Live:
        """The new content with the live file's owner and mode (a symlink's target is what
        is tried), and the version it replaces; a new file: root's, 0644."""
        path = normalize(f.path)
        try:
            read = self.svc.read(container.id, path, force=True)
        except FileNotFound:
            stat = FileStat(path, "file", len(f.data), 0o644, time.time(), 0, 0)
            return _Live(FileContent(f.data, stat), None)
        stat = replace(read.stat, path=read.path, size=len(f.data), mtime=time.time())
        return _Live(FileContent(f.data, stat), read.version)

    def _probes(
        self, details: ContainerDetails, attrs: dict[str, Any], options: TryOptions
    ) -> AllProbes:
        exposed = list(((attrs.get("Config") or {}).get("ExposedPorts") or {}).keys())
        texts = [t for t in options.probes if t.strip()] or [
            default_probe_text(bool(details.healthcheck), details.published, exposed)
        ]
        host = self.engine.host_address
        texts = [twin_probe_text(t, details.published, host) for t in texts]
        return twin_probes(
            texts, options.expect_status, options.expect_body, options.expect_body_regex
        )

    # --- the twin ---------------------------------------------------------------------------

    def _journalled_try(
        self,
        container: ContainerInfo,
        spec: TwinSpec,
        lives: dict[str, _Live],
        probes: AllProbes,
        options: TryOptions,
        progress: Progress,
        started: float,
    ) -> TryResult:
        paths = [live.content.stat.path for live in lives.values()]
        versions = {live.content.stat.path: live.version for live in lives.values()}
        base = TryResult(
            container, spec.name, "unhealthy", 0.0, paths, versions, options.network,
            str(probes), ProbeResult(False, "not probed"), dropped_mounts=spec.dropped_mounts,
            kept=options.keep,
        )  # fmt: skip
        with self.svc.store.journalled(
            catch=HotfixError,
            describe=lambda exc: self.svc.redact(container.id, str(exc)),
            action="try",
            user=self.svc.user,
            **journal_fields(container, paths[0] if len(paths) == 1 else None),
            version_before=versions[paths[0]] if len(paths) == 1 else None,
            detail=self._journal_start(spec, base),
        ) as record:
            outcome = self._in_twin(container, spec, lives, probes, options, progress, base)
            outcome = replace(outcome, seconds=time.monotonic() - started)
            record.outcome = "ok" if outcome.healthy else "failed"
            record.detail = self._journal_detail(outcome)
        return outcome

    def _in_twin(
        self,
        container: ContainerInfo,
        spec: TwinSpec,
        lives: dict[str, _Live],
        probes: AllProbes,
        options: TryOptions,
        progress: Progress,
        base: TryResult,
    ) -> TryResult:
        """Create, fill and start the twin, prove it; remove it unless kept."""
        progress.report(f"creating the twin {spec.name}")
        twin_id = self.engine.create_twin(spec)
        try:
            copied = self.engine.copy_changes(
                container, twin_id, set(base.paths), whiteouts_here=self.engine.is_local
            )
            if spec.volume_copies:
                self.engine.copy_trees(container.id, twin_id, spec.volume_copies)
            self.engine.put_contents(twin_id, [live.content for live in lives.values()])
            progress.report(f"starting the twin ({copied.copied} changed paths copied)")
            self.engine.start_container(twin_id)
            outcome = self._prove(container, twin_id, probes, options, progress, base)
            if options.keep:
                outcome = replace(outcome, twin=self.engine.keep_twin(twin_id, spec.name))
            return replace(outcome, notes=copied.notes + outcome.notes)
        finally:
            if not options.keep:
                self.engine.remove_container(twin_id)

    def _prove(
        self,
        container: ContainerInfo,
        twin_id: str,
        probes: AllProbes,
        options: TryOptions,
        progress: Progress,
        base: TryResult,
    ) -> TryResult:
        """Processes started, the check passed, every probe passed: healthy."""
        twin = self.engine.inspect(twin_id).info
        started = time.monotonic()
        server, notes = self._started(twin)
        now = self.engine.inspect(twin_id)
        if now.info.state in ("exited", "dead"):  # nothing to check or probe
            reason = f"the twin exited with code {now.exit_code} as it started"
            return self._failed(container, twin_id, base, "unhealthy", reason, notes)
        check = choose_check(twin, server, check=options.check)
        if check:
            code, output = self.engine.exec(twin_id, list(check.argv))
            text = self.svc.redact(container.id, output.decode("utf-8", "replace")).strip()
            checked = CheckResult(
                check.command, check.why, code, text[-CHECK_OUTPUT_CHARS:], code == 0
            )
            base = replace(base, check=checked)
            if not checked.passed:
                reason = f"check failed: {checked.command} exited {code}; nothing went live"
                return self._failed(container, twin_id, base, "refused", reason, notes)
        checkable = InNamespace(probes, self._enter(twin))
        healthy, last, _, attempts = self.svc.wait_healthy(
            twin, checkable, options.timeout, progress, started, fail_after_5xx=FAIL_AFTER_5XX
        )
        base = replace(base, result=last, attempts=attempts)
        if not healthy:
            return self._failed(container, twin_id, base, "unhealthy", last.detail, notes)
        return replace(base, verdict="healthy", notes=notes)

    def _started(self, twin: ContainerInfo) -> tuple[KnownServer | None, list[str]]:
        """Wait until the twin runs processes; the known server among them, if any."""
        deadline = time.monotonic() + STARTED_WAIT
        source = ProcessSource(self.engine)
        while True:
            try:
                listing = source.list(self.engine.inspect(twin.id).info)
            except ProcessesUnknown as exc:
                return None, [f"cannot tell which processes started: {exc}"]
            detected = detect_server(listing)
            if listing.processes or time.monotonic() > deadline:
                return (detected.server if detected else None), []
            time.sleep(0.05)

    def _enter(self, twin: ContainerInfo) -> Enter:
        """How the network probes reach the twin's loopback: its namespace, entered from
        here; an engine elsewhere has no namespace here to enter (exec: and healthcheck work)."""
        if not self.engine.is_local:

            def refuse(work: Callable[[], ProbeResult]) -> ProbeResult:
                raise UsageError(
                    f"{twin.name}: http/tcp probes of a twin need the engine on this host (they "
                    "enter its network namespace); on a remote engine use exec: or healthcheck"
                )

            return refuse
        path = netns_path(self.engine.twin_pid(twin.id))
        return lambda work: run_in_netns(path, work)

    def _failed(
        self,
        container: ContainerInfo,
        twin_id: str,
        base: TryResult,
        verdict: str,
        reason: str,
        notes: list[str],
    ) -> TryResult:
        log = self.engine.logs_tail(twin_id, LOG_LINES)
        return replace(
            base,
            verdict=verdict,
            reason=self.svc.redact(container.id, reason),
            log=self.svc.redact(container.id, log).rstrip(),
            notes=notes,
        )

    # --- after a healthy verdict ------------------------------------------------------------

    def _apply(
        self, outcome: TryResult, lives: dict[str, _Live], options: TryOptions, progress: Progress
    ) -> TryResult:
        """Save the tried content (every version checked before any is written), then go live."""
        container = outcome.container
        for live in lives.values():
            path = live.content.stat.path
            now = self._version_now(container, path)
            if now != live.version:
                raise Conflict(
                    f"{container.name}:{path} changed since the try started; nothing saved "
                    "(try again on the new version)"
                )
        progress.report(f"healthy in the twin; saving to {container.name}")
        written = [
            self.svc.write(
                container.id,
                live.content.stat.path,
                live.content.data,
                base_version=live.version,
                force=options.force,
            )
            for live in lives.values()
        ]
        going = self.svc.restart(
            container.id,
            options.probes or None,
            signal=options.signal,
            restart=options.restart,
            expect_status=options.expect_status,
            expect_body=options.expect_body,
            expect_body_regex=options.expect_body_regex,
            timeout=options.timeout,
            force=options.force,
            progress=progress,
        )
        return replace(outcome, applied=written, live=going)

    def _version_now(self, container: ContainerInfo, path: str) -> str | None:
        try:
            return self.svc.read(container.id, path, force=True).version
        except FileNotFound:
            return None

    # --- the journal ------------------------------------------------------------------------

    def _journal_start(self, spec: TwinSpec, base: TryResult) -> dict[str, Any]:
        return {
            "twin": spec.name,
            "paths": base.paths,
            "versions": base.versions,
            "network": base.network,
            "probe": base.probe,
            "mounts_dropped": len(spec.dropped_mounts),
            "volumes_copied": spec.volume_copies,
        }

    def _journal_detail(self, outcome: TryResult) -> dict[str, Any]:
        detail: dict[str, Any] = {
            "twin": outcome.twin,
            "paths": outcome.paths,
            "versions": outcome.versions,
            "network": outcome.network,
            "probe": outcome.probe,
            "verdict": outcome.verdict,
            "seconds": round(outcome.seconds, 3),
            "probe_result": self.svc.redact(outcome.container.id, outcome.result.detail),
            "kept": outcome.kept,
        }
        if outcome.check:
            detail["check"] = {"command": outcome.check.command, "exit": outcome.check.exit_code}
        if outcome.reason:
            detail["reason"] = outcome.reason
        return detail
