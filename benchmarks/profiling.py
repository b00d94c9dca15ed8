"""cProfile of a hotfix variant that missed its target: where its time goes."""

from __future__ import annotations

import cProfile
import io
import pstats
import time

from benchmarks.case import Variant

BUDGET = 3.0  # seconds of profiled work per variant
MAX_CALLS = 30
LINES = 22


def profile(variant: Variant, median: float) -> str:
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
