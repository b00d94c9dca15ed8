"""Hints where the Engine's own behaviour costs time, said where the time was spent.

A restart stops the container with its stop signal (SIGTERM unless the image sets
``STOPSIGNAL``) and kills it only after the stop timeout (10 s unless set). A PID 1 that
ignores the signal — a shell, a ``node`` or ``sleep`` run as PID 1 without ``--init`` —
makes every restart wait out that timeout, which looks like a slow service, not like a
signal nobody handled. The Engine does not say that it killed the process (the exit code
is reset by the start), so the hint is read from the time the restart took.
"""

from __future__ import annotations

import time

from hotfix.docker.engine import Engine

DOCKER_STOP_TIMEOUT = 10  # seconds the Engine waits after the stop signal, unless set
# A stop that was answered takes well under a second here; one this close to the timeout
# was not answered (measured: 10.4 s for a restart whose PID 1 ignores SIGTERM).
TIMEOUT_SLACK = 0.25  # seconds
SHORTEST_TIMEOUT = 1  # a 0 s timeout kills at once: nothing to hint


def slow_stop_hints(
    restart_seconds: float, stop_timeout: int | None = None, stop_signal: str | None = None
) -> list[str]:
    """A hint when a restart took its whole stop timeout: the container's PID 1 ignored
    the stop signal and was killed. ``stop_timeout`` and ``stop_signal`` as inspect gives
    them (None: the Engine's defaults, 10 s and SIGTERM)."""
    timeout = DOCKER_STOP_TIMEOUT if stop_timeout is None else stop_timeout
    if timeout < SHORTEST_TIMEOUT or restart_seconds < timeout - TIMEOUT_SLACK:
        return []
    signal = stop_signal or "SIGTERM"
    if not signal.upper().startswith("SIG") and not signal.isdigit():
        signal = "SIG" + signal.upper()
    return [
        f"waited {timeout} s for {signal}: the container's PID 1 ignored it and was killed; "
        f"consider --signal (a reload), or a STOPSIGNAL the server handles, or --init"
    ]


def restart_with_hints(
    engine: Engine, container_id: str, stop_timeout: int | None = None
) -> list[str]:
    """Restart the container (as ``Engine.restart``, whose stop timeout is the Engine's
    default unless given); the hints its duration gives. The container is inspected only
    when the restart took long enough to need a look."""
    started = time.monotonic()
    engine.restart(container_id, stop_timeout)
    seconds = time.monotonic() - started
    timeout = DOCKER_STOP_TIMEOUT if stop_timeout is None else stop_timeout
    if seconds < timeout - TIMEOUT_SLACK:
        return []
    return slow_stop_hints(seconds, timeout, engine.inspect(container_id).stop_signal)
