"""Going live: check, then reload or restart a container (the strategy and the check are
chosen in :mod:`hotfix.service.golive`), prove its serving processes are new, and probe it until
healthy, reverting its hotfixes when asked and it is not; or probe it without a restart.

:class:`GoingLive` is a part of :class:`hotfix.service.files.HotfixService`, which brings the
engine, the state store and the user; the revert flow is :mod:`hotfix.service.reverting`'s."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from hotfix.core.errors import HotfixError, UsageError
from hotfix.core.model import ContainerDetails, ContainerInfo, FileContent
from hotfix.core.probes import (
    AllProbes,
    Checkable,
    Probe,
    ProbeResult,
    parse_probe,
    wait_until_healthy,
    with_expected_body,
)
from hotfix.core.progress import NoProgress, Progress
from hotfix.core.redaction import redact
from hotfix.docker.engine import Engine
from hotfix.service import lastgood
from hotfix.service.config import guard
from hotfix.service.golive import (
    CheckPlan,
    Proof,
    Strategy,
    choose_check,
    choose_strategy,
    detect_server,
    wait_until_new,
)
from hotfix.service.hints import restart_with_hints
from hotfix.service.processes import ProcessesUnknown
from hotfix.service.processes import Source as ProcessSource
from hotfix.service.results import CheckResult, RestartResult, RevertResult, RevertTarget
from hotfix.store.state import StateStore, journal_fields

EXIT_CHECK_INTERVAL = 1.0  # seconds between looks at whether the container died
FAIL_AFTER_5XX = 3  # HTTP 5xx answers in a row, once the step settled, that end the wait
RESTART_SETTLE = 5.0  # seconds after a restart for its processes to show as new
CHECK_OUTPUT_CHARS = 2000  # of a check's output, the end kept (where the error usually is)


@dataclass(frozen=True)
class ProbeWanted:
    """The probes asked for: texts (None: the default probe) and what they must answer."""

    probe: str | list[str] | None
    expect_status: list[int] | None = None
    expect_body: str | None = None
    expect_body_regex: str | None = None


@dataclass(frozen=True)
class HowWanted:
    """How the caller asked to go live: overrides of the strategy and of the check."""

    signal: str | None = None
    restart: bool = False
    check: str | None = None
    no_check: bool = False


class GoingLive:
    engine: Engine
    store: StateStore
    user: str

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
        raise NotImplementedError  # :class:`hotfix.service.reverting.Reverting`'s

    def _live(
        self, container: ContainerInfo, path: str, *, force: bool = False
    ) -> tuple[str, FileContent | None]:
        raise NotImplementedError  # the file use cases'

    def plan_probe(
        self, details: ContainerDetails, text: str | None, expect: list[int] | None = None
    ) -> Probe:
        """The probe given, else the container's HEALTHCHECK, else HTTP GET / on its first published port."""
        if text:
            return parse_probe(text, expect)
        if details.healthcheck:
            return parse_probe("healthcheck")
        tcp_ports = [p for p in details.published if p[2].endswith("/tcp")]
        if not tcp_ports:
            raise UsageError(
                f"{details.info.name} publishes no port and has no HEALTHCHECK: "
                "give a probe, e.g. --probe http://127.0.0.1:8001/ or --probe tcp:HOST:PORT"
            )
        host_ip, port, _ = tcp_ports[0]
        host = host_ip if host_ip not in ("", "0.0.0.0", "::") else self.engine.host_address
        if ":" in host:
            host = f"[{host}]"
        return parse_probe(f"http://{host}:{port}/", expect)

    def plan_probes(self, details: ContainerDetails, wanted: ProbeWanted) -> AllProbes:
        """Every probe given (all must pass), else the one :meth:`plan_probe` picks; with the
        body the HTTP ones must answer."""
        texts = [wanted.probe] if isinstance(wanted.probe, str) else list(wanted.probe or [])
        planned = [self.plan_probe(details, t, wanted.expect_status) for t in texts if t.strip()]
        if not planned:
            planned = [self.plan_probe(details, None, wanted.expect_status)]
        probes = with_expected_body(planned, wanted.expect_body, wanted.expect_body_regex)
        return AllProbes(tuple(probes))

    def restart(
        self,
        ref: str,
        probe: str | list[str] | None = None,
        *,
        signal: str | None = None,
        restart: bool = False,
        check: str | None = None,
        no_check: bool = False,
        expect_body: str | None = None,
        expect_body_regex: str | None = None,
        timeout: float = 60.0,
        revert_on_failure: bool = False,
        expect_status: list[int] | None = None,
        force: bool = False,
        progress: Progress | None = None,
    ) -> RestartResult:
        """Go live: check, reload or restart (:mod:`hotfix.service.golive` chooses), prove the
        serving processes are new, then probe until healthy; revert and go again when asked."""
        wanted = ProbeWanted(probe, expect_status, expect_body, expect_body_regex)
        how = HowWanted(signal, restart, check, no_check)
        progress = progress or NoProgress()
        outcome = self._restart_once(ref, wanted, how, timeout, force, progress)
        if outcome.healthy:
            return outcome
        good_at = lastgood.latest(self.store, outcome.container.id)
        if outcome.refused or not revert_on_failure:
            return replace(outcome, last_good=good_at)
        to = "the last good version" if good_at is not None else "the checkpoint"
        progress.report(
            f"{outcome.container.name} unhealthy ({outcome.result.detail}); reverting to {to}"
        )
        done = self._revert_and_go_live(
            outcome.container.id, None, "last-good", wanted, how, timeout, force, progress
        )
        return replace(
            outcome,
            reverted=done.reverted,
            after_revert=done.restart,
            revert=replace(done, restart=None),
            last_good=good_at,
        )

    def _restart_once(
        self,
        ref: str,
        wanted: ProbeWanted,
        how: HowWanted,
        timeout: float,
        force: bool,
        progress: Progress,
        *,
        record_good: bool = True,
    ) -> RestartResult:
        """One going-live step, journalled; ending healthy, what went live becomes each
        checkpointed path's last good version (unless ``record_good`` is False)."""
        details = self.engine.inspect(ref)
        container = details.info
        strategy, check, notes = self._plan_going_live(container, how)
        forced = guard(container, strategy.how, force)
        chosen = self.plan_probes(details, wanted)
        taken = lastgood.snapshot(self.store, container, self._live) if record_good else []
        with self.store.journalled(
            catch=HotfixError,
            describe=lambda exc: self.redact(container.id, str(exc)),
            action="restart",
            user=self.user,
            **journal_fields(container),
            detail={
                "how": strategy.how,
                "why": strategy.why,
                "probe": str(chosen),
                **({"check": check.command} if check else {}),
                **({"forced_protected": True} if forced else {}),
            },
        ) as record:
            progress.report(f"{strategy.how} {container.name} ({strategy.why})")
            replan = wanted.probe is None or wanted.probe == []
            outcome = self._go_live(
                container, strategy, check, chosen, replan, wanted, timeout, progress
            )
            outcome = replace(outcome, notes=notes + outcome.notes)
            record.outcome = "ok" if outcome.healthy else "failed"
            record.detail = self._journal_detail(container, outcome)
            if outcome.healthy and taken:
                lastgood.record(self.store, container, taken, record.id)
                record.detail["last_good"] = [item.path for item in taken]
        return outcome

    def _plan_going_live(
        self, container: ContainerInfo, how: HowWanted
    ) -> tuple[Strategy, CheckPlan | None, list[str]]:
        """The strategy and the pre-flight check, from the options, the labels and the
        container's processes."""
        notes: list[str] = []
        detected, unknown = None, ""
        try:
            detected = detect_server(ProcessSource(self.engine).list(container))
        except ProcessesUnknown as exc:
            unknown = str(exc)
        strategy = choose_strategy(
            container, detected, restart=how.restart, signal=how.signal, unknown=unknown
        )
        check = choose_check(container, strategy.server, check=how.check, no_check=how.no_check)
        if check and container.state != "running":
            notes.append(f"check {check.command} skipped: {container.name} is {container.state}")
            check = None
        return strategy, check, notes

    def _go_live(
        self,
        container: ContainerInfo,
        strategy: Strategy,
        check: CheckPlan | None,
        chosen: AllProbes,
        replan: bool,
        wanted: ProbeWanted,
        timeout: float,
        progress: Progress,
    ) -> RestartResult:
        """Check, restart or signal, prove the serving processes are new, then probe."""
        started = time.monotonic()
        base = RestartResult(
            container,
            strategy.how,
            str(chosen),
            False,
            0.0,
            ProbeResult(False, "not probed"),
            0,
            why=strategy.why,
            probes=[str(p) for p in chosen.probes],
        )
        checked = self._run_check(container, check) if check else None
        if checked and not checked.passed:
            reason = (
                f"check failed: {checked.command} exited {checked.exit_code}; nothing went live"
            )
            return replace(base, check=checked, refused=True, reason=reason)
        proof, hints = self._step(container, strategy, timeout, progress)
        if replan and not strategy.signal:  # a port published without a fixed host port moves
            chosen = self.plan_probes(self.engine.inspect(container.id), wanted)
            base = replace(base, probe=str(chosen), probes=[str(p) for p in chosen.probes])
        notes = hints + ([proof.reason] if proof.applied is None else [])
        if proof.applied is False:
            seconds = time.monotonic() - started
            failed = ProbeResult(False, proof.reason)
            return replace(
                base,
                check=checked,
                applied=False,
                reason=proof.reason,
                seconds=seconds,
                result=failed,
                notes=hints,
            )
        remaining = max(0.0, timeout - (time.monotonic() - started))
        healthy, last, _, attempts = self.wait_healthy(
            container, chosen, remaining, progress, started, fail_after_5xx=FAIL_AFTER_5XX
        )
        seconds = time.monotonic() - started
        return replace(
            base,
            healthy=healthy,
            seconds=seconds,
            result=last,
            attempts=attempts,
            check=checked,
            applied=proof.applied,
            notes=notes,
        )

    def _step(
        self, container: ContainerInfo, strategy: Strategy, timeout: float, progress: Progress
    ) -> tuple[Proof, list[str]]:
        """Restart or signal the container; then wait until the processes that serve it
        started after that moment (old workers gone), at most the server's settle time.
        Also the hints of where the Engine cost time (a stop signal nobody handled)."""
        source = ProcessSource(self.engine)
        since = source.now(container)
        hints: list[str] = []
        if strategy.signal:
            self.engine.signal(container.id, strategy.signal)
        else:
            hints = restart_with_hints(self.engine, container.id)
        server = strategy.server
        if strategy.signal and server is None:  # what a reload renews is the server's own affair
            reason = f"no known server: cannot tell whether {strategy.how} was applied"
            return Proof(None, reason), hints
        settle = min(timeout, server.settle if server else RESTART_SETTLE)
        hint = server.hint if server and strategy.signal else ""
        # A restart gives the container a new PID 1, so each look inspects it again; a signal
        # keeps it, and an inspect per look would cost more than the look.
        if strategy.signal:
            look = lambda: source.list(container)  # noqa: E731
        else:
            look = lambda: source.list(self.engine.inspect(container.id).info)  # noqa: E731
        return wait_until_new(
            look,
            since,
            settle,
            progress.cancelled,
            hint,
        ), hints

    def _run_check(self, container: ContainerInfo, check: CheckPlan) -> CheckResult:
        code, output = self.engine.exec(container.id, list(check.argv))
        text = self.redact(container.id, output.decode("utf-8", "replace")).strip()
        return CheckResult(check.command, check.why, code, text[-CHECK_OUTPUT_CHARS:], code == 0)

    def _journal_detail(
        self, container: ContainerInfo, outcome: RestartResult
    ) -> dict[str, object]:
        detail: dict[str, object] = {
            "how": outcome.action,
            "why": outcome.why,
            "healthy": outcome.healthy,
            "seconds": round(outcome.seconds, 3),
            "probe_result": self.redact(container.id, outcome.result.detail),
            "status": outcome.result.status,
        }
        if outcome.check:
            detail["check"] = {"command": outcome.check.command, "exit": outcome.check.exit_code}
        if outcome.applied is not None:
            detail["applied"] = outcome.applied
        if outcome.reason:
            detail["reason"] = self.redact(container.id, outcome.reason)
        if outcome.notes:
            detail["notes"] = [self.redact(container.id, note) for note in outcome.notes]
        return detail

    def probe(
        self,
        ref: str,
        probe: str | list[str] | None = None,
        *,
        timeout: float = 10.0,
        expect_status: list[int] | None = None,
        expect_body: str | None = None,
        expect_body_regex: str | None = None,
        progress: Progress | None = None,
    ) -> RestartResult:
        """Wait until the container is healthy, without restarting it."""
        progress = progress or NoProgress()
        details = self.engine.inspect(ref)
        wanted = ProbeWanted(probe, expect_status, expect_body, expect_body_regex)
        chosen = self.plan_probes(details, wanted)
        started = time.monotonic()
        healthy, last, waited, attempts = self.wait_healthy(
            details.info, chosen, timeout, progress, started, fail_after_5xx=FAIL_AFTER_5XX
        )
        self.store.journal_add(
            action="probe",
            user=self.user,
            outcome="ok" if healthy else "failed",
            **journal_fields(details.info),
            detail={
                "probe": str(chosen),
                "healthy": healthy,
                "seconds": round(waited, 3),
                "probe_result": self.redact(details.info.id, last.detail),
                "status": last.status,
            },
        )
        probes = [str(p) for p in chosen.probes]
        return RestartResult(
            details.info, "probe", str(chosen), healthy, waited, last, attempts, probes=probes
        )

    def wait_healthy(
        self,
        container: ContainerInfo,
        probe: Checkable,
        timeout: float,
        progress: Progress,
        started: float,
        fail_after_5xx: int = 0,
    ) -> tuple[bool, ProbeResult, float, int]:
        """Poll ``probe`` until healthy; stops early if the container exits, or (with
        ``fail_after_5xx``) after that many HTTP 5xx answers in a row.

        Returns (healthy, last result, seconds waited, attempts); progress shows the time
        since ``started`` (a ``time.monotonic()`` value)."""
        hooks = _ContainerHooks(self.engine, container.id)

        def on_attempt(result: ProbeResult, waited: float) -> None:
            progress.report(f"{probe}: {result.detail} ({time.monotonic() - started:.1f} s)")

        return wait_until_healthy(
            probe,
            timeout,
            hooks,
            on_attempt=on_attempt,
            is_cancelled=progress.cancelled,
            still_running=hooks.exit_reason,
            fail_after_5xx=fail_after_5xx,
        )

    def redact(self, container_id: str, text: str) -> str:
        """``text`` for the journal: the container's run-time environment values redacted
        (a probe's output or the container's last log lines may print them)."""
        return redact(text, self.engine.runtime_env_values(container_id))


class _ContainerHooks:
    """Container access for probes, and an early stop when the container dies."""

    def __init__(self, engine: Engine, container_id: str) -> None:
        self.engine = engine
        self.container_id = container_id
        self._last_state_check = 0.0

    def health(self) -> str | None:
        return self.engine.inspect(self.container_id).info.health

    def exec(self, argv: list[str]) -> tuple[int, bytes]:
        return self.engine.exec(self.container_id, argv)

    def exit_reason(self) -> str | None:
        now = time.monotonic()
        if now - self._last_state_check < EXIT_CHECK_INTERVAL:
            return None
        self._last_state_check = now
        details = self.engine.inspect(self.container_id)
        if details.info.state in ("exited", "dead"):
            tail = self.engine.logs_tail(self.container_id, 5).strip().replace("\n", " | ")
            return f"container {details.info.state} with code {details.exit_code}; last log: {tail}"
        return None
