"""What a benchmark case is: groups of variants timed side by side, and targets over them.

A :class:`Case` yields :class:`Group` s (its containers stay up while a group is measured);
each group's variants are timed round-robin; a :class:`Target` compares two measurements
(a ratio, an overhead in ms, an absolute bound, or "it works at all").
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from benchmarks.timing import Stats, Step

if TYPE_CHECKING:
    from benchmarks.context import Context


@dataclass
class Variant:
    key: str  # unique in the run, e.g. "read.4KB.core.fast"
    label: str  # shown in the table
    fn: Step  # the timed work
    setup: Step | None = None  # untimed, before each repetition
    after: Step | None = None  # untimed, after each repetition
    profile: bool = False  # in-process hotfix code: profile it when a target on it misses
    note: str = ""
    # how to profile it instead of cProfile (e.g. work spread over threads): text out
    profiler: Callable[[Variant, float], str] | None = None


@dataclass
class Group:
    title: str  # "read 4 KB"
    variants: list[Variant]
    baseline: str  # key of the variant the "× baseline" column divides by
    reps: int
    warmup: int = 1
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Measurement:
    key: str
    label: str
    group: str
    stats: Stats | None
    error: str | None = None
    baseline: str | None = None  # key of the group's baseline
    note: str = ""


Kind = Literal["ratio", "overhead", "absolute", "works"]
Status = Literal["PASS", "MISS", "n/a"]


@dataclass(frozen=True)
class Target:
    text: str  # "read ≤ 1.0× docker cp"
    subject: str  # measurement key
    kind: Kind
    limit: float = 0.0  # a ratio, or seconds for "overhead" and "absolute"
    baseline: str | None = None  # measurement key (ratio, overhead)

    def needs(self) -> list[str]:
        return [self.subject] + ([self.baseline] if self.baseline else [])

    def evaluate(self, results: Mapping[str, Measurement]) -> Verdict:
        subject = results.get(self.subject)
        base = results.get(self.baseline) if self.baseline else None
        if self.kind == "works":
            ok = subject is not None and subject.stats is not None
            shown = "works" if ok else f"fails: {subject.error if subject else 'not measured'}"
            return Verdict(self, None, shown, "PASS" if ok else "MISS")
        if subject is None or subject.stats is None or (self.baseline and not _ok(base)):
            why = _why_missing(subject, base)
            return Verdict(self, None, why, "n/a")
        s = subject.stats.median
        if self.kind == "absolute":
            return Verdict(self, s, fmt_seconds(s), "PASS" if s <= self.limit else "MISS")
        assert base is not None and base.stats is not None
        b = base.stats.median
        if self.kind == "ratio":
            ratio = s / b
            return Verdict(self, ratio, f"{ratio:.2f}×", "PASS" if ratio <= self.limit else "MISS")
        extra = s - b
        sign = "+" if extra >= 0 else "−"
        shown = f"{sign}{fmt_seconds(abs(extra))}"
        return Verdict(self, extra, shown, "PASS" if extra <= self.limit else "MISS")


@dataclass(frozen=True)
class Verdict:
    target: Target
    value: float | None
    shown: str
    status: Status


def _ok(m: Measurement | None) -> bool:
    return m is not None and m.stats is not None


def _why_missing(subject: Measurement | None, base: Measurement | None) -> str:
    for m in (subject, base):
        if m is not None and m.error:
            return f"{m.label}: {m.error}"
    return "not measured"


def fmt_breakdown(medians: Mapping[str, float]) -> str:
    """ "write 9 ms → restart 1.4 s → …" (medians per step)."""
    return " → ".join(f"{name} {fmt_seconds(s)}" for name, s in medians.items())


def fmt_seconds(s: float) -> str:
    if s < 0.001:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms" if s < 0.1 else f"{s * 1e3:.0f} ms"
    return f"{s:.2f} s"


class Case(ABC):
    """One benchmark case: what is measured, against which baseline."""

    name: str  # short id, used by --only
    title: str
    baseline: str  # what hotfix is compared with

    @abstractmethod
    def groups(self, ctx: Context) -> Iterator[Group]:
        """Set up, yield groups to measure, tear down (a generator: cleanup in finally)."""

    def notes(self, ctx: Context) -> list[str]:
        """Remarks for the results, known once the case ran."""
        return []


CaseFactory = Callable[[], Case]
