"""cProfile of a hotfix variant that missed its target: where its time goes."""

from __future__ import annotations

import contextlib
import cProfile
import io
import pstats
import threading
import time
from collections.abc import Callable
from typing import Any

from benchmarks.case import Variant

BUDGET = 3.0  # seconds of profiled work per variant
MAX_CALLS = 30
LINES = 22


def profile(variant: Variant, median: float) -> str:
    if variant.profiler is not None:
        return variant.profiler(variant, median)
    calls = max(1, min(MAX_CALLS, int(BUDGET / max(median, 1e-4))))
    prof = cProfile.Profile()
    started = time.perf_counter()
    for _ in range(calls):
        if variant.setup:
            variant.setup()
        prof.enable()
        variant.fn()
        prof.disable()
        if variant.after:
            variant.after()
    elapsed = time.perf_counter() - started
    out = io.StringIO()
    out.write(f"{calls} calls profiled ({elapsed:.2f} s with setup); main thread only.\n")
    stats = pstats.Stats(prof, stream=out).strip_dirs()
    out.write("\n-- by cumulative time --\n")
    stats.sort_stats("cumulative").print_stats(LINES)
    out.write("\n-- by own time --\n")
    stats.sort_stats("tottime").print_stats(12)
    return _compact(out.getvalue())


def _compact(text: str) -> str:
    keep = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith(("Ordered by", "List reduced")):
            continue
        keep.append(line.rstrip())
    return "\n".join(keep)


def attribute(
    variant: Variant, median: float, parts: dict[str, tuple[object, str]], calls: int = 5
) -> str:
    """Time spent in named methods, summed over all threads (cProfile sees one thread).

    ``parts`` maps a label to (object, method name); each method is wrapped for the
    duration and restored after. A sum above the wall time means the parts overlapped
    across threads; a part whose share grows with the thread count is contended.
    """
    spent: dict[str, float] = dict.fromkeys(parts, 0.0)
    counts: dict[str, int] = dict.fromkeys(parts, 0)
    lock = threading.Lock()
    originals = {label: getattr(obj, name) for label, (obj, name) in parts.items()}
    # a module's function or an instance's own attribute is put back; a method found on
    # the class is uncovered again by removing the instance attribute set over it
    own = {label: name in vars(obj) for label, (obj, name) in parts.items()}

    def timed(label: str) -> Callable[..., Any]:
        original = originals[label]

        def call(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                with lock:
                    spent[label] += time.perf_counter() - started
                    counts[label] += 1

        return call

    wall = 0.0
    try:
        for label, (obj, name) in parts.items():
            setattr(obj, name, timed(label))
        for _ in range(calls):
            if variant.setup:
                variant.setup()
            started = time.perf_counter()
            variant.fn()
            wall += time.perf_counter() - started
            if variant.after:
                variant.after()
    finally:
        for label, (obj, name) in parts.items():
            if own[label]:
                setattr(obj, name, originals[label])
            else:
                with contextlib.suppress(AttributeError):
                    delattr(obj, name)
    lines = [
        f"{calls} runs, wall {wall / calls * 1e3:.1f} ms per run (median when measured "
        f"{median * 1e3:.1f} ms); time inside each part, summed over threads, per run:"
    ]
    for label in sorted(parts, key=lambda k: -spent[k]):
        lines.append(
            f"  {label:38} {spent[label] / calls * 1e3:8.1f} ms  ({counts[label] // calls} calls)"
        )
    return "\n".join(lines)
