"""Timing: repetitions with time.perf_counter, median and p95, variants interleaved.

Variants of one group are run round-robin (A B C, B C A, C A B, …) so that a noisy
neighbour on the machine slows every variant alike and the ratios stay fair.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Stats:
    samples: tuple[float, ...]  # seconds, in the order taken

    @property
    def n(self) -> int:
        return len(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        return percentile(self.samples, 95)

    @property
    def min(self) -> float:
        return min(self.samples)


def percentile(samples: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile: with few samples the p95 is the slowest one."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Timed:
    """One variant's outcome: its samples, or why it could not run."""

    samples: list[float]
    error: str | None = None


Step = Callable[[], object]


def time_call(fn: Step) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def round_robin(
    steps: Sequence[tuple[Step | None, Step, Step | None]], reps: int, warmup: int
) -> list[Timed]:
    """Time each (setup, fn, after) ``reps`` times after ``warmup`` untimed rounds.

    Only ``fn`` is timed. A variant that raises stops there; its error is kept.
    """
    timed = [Timed([]) for _ in steps]
    for round_no in range(warmup + reps):
        offset = round_no % len(steps)
        for index in [*range(offset, len(steps)), *range(offset)]:
            if timed[index].error is not None:
                continue
            setup, fn, after = steps[index]
            try:
                if setup:
                    setup()
                elapsed = time_call(fn)
                if after:
                    after()
            except Exception as exc:
                timed[index].error = f"{type(exc).__name__}: {exc}".strip()[:300]
                continue
            if round_no >= warmup:
                timed[index].samples.append(elapsed)
    return timed


class Breakdown:
    """Where a multi-step variant's time goes: each named step timed on every run."""

    def __init__(self) -> None:
        self.steps: dict[str, list[float]] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.steps.setdefault(name, []).append(time.perf_counter() - started)

    def add(self, name: str, seconds: float) -> None:
        self.steps.setdefault(name, []).append(seconds)

    def medians(self) -> dict[str, float]:
        return {name: statistics.median(values) for name, values in self.steps.items()}
