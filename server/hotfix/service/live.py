"""Going live: restart (or signal) a container and probe it until healthy, reverting its
hotfixes when asked and it is not; or probe it without a restart.

:class:`GoingLive` is a part of :class:`hotfix.service.files.HotfixService`, which brings the
engine, the state store, the user and ``revert``."""

from __future__ import annotations

import time
from dataclasses import replace

from hotfix.core.errors import HotfixError, UsageError
from hotfix.core.model import ContainerDetails, ContainerInfo
from hotfix.core.probes import Probe, ProbeResult, parse_probe, wait_until_healthy
from hotfix.core.progress import NoProgress, Progress
from hotfix.core.redaction import redact
from hotfix.docker.engine import Engine
from hotfix.service.config import guard
from hotfix.service.results import RestartResult
from hotfix.store.state import StateStore, journal_fields

EXIT_CHECK_INTERVAL = 1.0  # seconds between looks at whether the container died


class GoingLive:
    engine: Engine
    store: StateStore
    user: str

    def revert(self, ref: str, path: str | None = None, *, force: bool = False) -> list[str]:
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

    def restart(
        self,
        ref: str,
        probe: str | None = None,
        *,
        signal: str | None = None,
        timeout: float = 60.0,
        revert_on_failure: bool = False,
        expect_status: list[int] | None = None,
        force: bool = False,
        progress: Progress | None = None,
    ) -> RestartResult:
        progress = progress or NoProgress()
        details = self.engine.inspect(ref)
        container = details.info
        action = f"signal {signal}" if signal else "restart"
        forced = guard(container, action, force)
        chosen = self.plan_probe(details, probe, expect_status)
        with self.store.journalled(
            catch=HotfixError,
            describe=lambda exc: self.redact(container.id, str(exc)),
            action="restart",
            user=self.user,
            **journal_fields(container),
            detail={
                "how": action,
                "probe": str(chosen),
                **({"forced_protected": True} if forced else {}),
            },
        ) as record:
            progress.report(f"{action} {container.name}")
            replan = probe is None
            outcome = self._bounce(
                container, signal, chosen, replan, expect_status, timeout, progress
            )
            record.outcome = "ok" if outcome.healthy else "failed"
            record.detail = {
                "healthy": outcome.healthy,
                "seconds": round(outcome.seconds, 3),
                "probe_result": self.redact(container.id, outcome.result.detail),
                "status": outcome.result.status,
            }
        if outcome.healthy or not revert_on_failure:
            return outcome
        progress.report(
            f"{container.name} unhealthy ({outcome.result.detail}); reverting to the checkpoint"
        )
        reverted = self.revert(container.id, force=force)
        again = self.restart(
            container.id,
            probe,
            signal=signal,
            timeout=timeout,
            expect_status=expect_status,
            force=force,
            progress=progress,
        )
        return replace(outcome, reverted=reverted, after_revert=again)

    def _bounce(
        self,
        container: ContainerInfo,
        signal: str | None,
        chosen: Probe,
        replan: bool,
        expect_status: list[int] | None,
        timeout: float,
        progress: Progress,
    ) -> RestartResult:
        """Restart (or signal) the container, then wait until the probe finds it healthy
        (``replan``: the probe planned anew from the restarted container)."""
        started = time.monotonic()
        if signal:
            self.engine.signal(container.id, signal)
        else:
            self.engine.restart(container.id)
            if replan:  # a port published without a fixed host port gets a new one
                chosen = self.plan_probe(self.engine.inspect(container.id), None, expect_status)
        remaining = max(0.0, timeout - (time.monotonic() - started))
        healthy, last, _, attempts = self.wait_healthy(
            container, chosen, remaining, progress, started
        )
        action = f"signal {signal}" if signal else "restart"
        seconds = time.monotonic() - started
        return RestartResult(container, action, str(chosen), healthy, seconds, last, attempts)

    def probe(
        self,
        ref: str,
        probe: str | None = None,
        *,
        timeout: float = 10.0,
        expect_status: list[int] | None = None,
        progress: Progress | None = None,
    ) -> RestartResult:
        """Wait until the container is healthy, without restarting it."""
        progress = progress or NoProgress()
        details = self.engine.inspect(ref)
        chosen = self.plan_probe(details, probe, expect_status)
        started = time.monotonic()
        healthy, last, waited, attempts = self.wait_healthy(
            details.info, chosen, timeout, progress, started
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
        return RestartResult(details.info, "probe", str(chosen), healthy, waited, last, attempts)

    def wait_healthy(
        self,
        container: ContainerInfo,
        probe: Probe,
        timeout: float,
        progress: Progress,
        started: float,
    ) -> tuple[bool, ProbeResult, float, int]:
        """Poll ``probe`` until healthy; stops early if the container exits.

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
