"""Run the benchmarks: ``python -m benchmarks.run [--quick] [--only CASE …]``.

Writes ``benchmarks/results.md`` and ``results.json``; with --quick,
``build/benchmarks/results-quick.md`` and ``.json`` (git-ignored: quick numbers are not kept).
Every container it starts is labelled ``hotfix.bench=1`` and removed at the end, also
when a case fails or the run is interrupted.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from benchmarks import machine, profiling
from benchmarks.case import Case, Group, Measurement, Target
from benchmarks.cases import all_cases
from benchmarks.context import Config, Context, closing_groups
from benchmarks.report import CaseResult, GroupResult, RunResult, load, render_markdown, write
from benchmarks.timing import Stats, round_robin

HERE = Path(__file__).resolve().parent


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    names = [c.name for c in all_cases()]
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    p.add_argument("--quick", action="store_true", help="few repetitions, small sizes (CI)")
    p.add_argument("--only", nargs="+", choices=names, metavar="CASE", help=f"of {names}")
    p.add_argument("--out", type=Path, help="directory for the results (default: see above)")
    p.add_argument(
        "--profile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="cProfile hotfix variants that miss a target (default: on in the full mode)",
    )
    p.add_argument("--curl-interval", type=float, default=None, help="seconds (default 0.1)")
    p.add_argument(
        "--merge",
        action="store_true",
        help="with --only: replace those cases in the existing results, keep the others",
    )
    p.add_argument(
        "--render",
        type=Path,
        metavar="RESULTS.json",
        help="only write the Markdown again from a results JSON (no measuring)",
    )
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render:
        md = args.render.with_suffix(".md")
        md.write_text(render_markdown(load(args.render)), encoding="utf-8")
        print(f"wrote {md}")
        return 0
    config = Config.for_mode(args.quick, args.profile)
    config.only = args.only or []
    if args.curl_interval:
        config.curl_interval = args.curl_interval
    _stop_on_signals()
    started_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    t0 = time.monotonic()
    ctx = Context(config)
    try:
        ctx.log(f"{'quick' if config.quick else 'full'} run; preparing images")
        ctx.prepare()
        described = machine.describe(ctx.client, machine.compile_hotfix())
        results = [run_case(ctx, case) for case in selected(config)]
    finally:
        ctx.log("removing the containers and images of this run")
        ctx.close()
    run = RunResult(
        "quick" if config.quick else "full",
        started_at,
        time.monotonic() - t0,
        described,
        _settings(config),
        results,
    )
    out = args.out or (HERE.parent / "build" / "benchmarks" if config.quick else HERE)
    out.mkdir(parents=True, exist_ok=True)
    stem = "results-quick" if config.quick else "results"
    if args.merge and (out / f"{stem}.json").exists():
        run = merge(load(out / f"{stem}.json"), run)
    md, js = write(run, out, stem)
    print(md.read_text(encoding="utf-8"))
    ctx.log(f"wrote {md} and {js}")
    return 1 if any(c.error for c in results) else 0


def merge(old: RunResult, new: RunResult) -> RunResult:
    """``old`` with the cases of ``new`` put in place of (or after) those of the same name."""
    fresh = {c.name: c for c in new.cases}
    cases = [fresh.pop(c.name, c) for c in old.cases] + list(fresh.values())
    rerun = {**old.settings.get("rerun", {}), **{c.name: new.started for c in new.cases}}
    settings = {**old.settings, "rerun": rerun}
    return RunResult(old.mode, old.started, old.seconds, old.machine, settings, cases)


def selected(config: Config) -> list[Case]:
    return [c for c in all_cases() if not config.only or c.name in config.only]


def run_case(ctx: Context, case: Case) -> CaseResult:
    ctx.log(f"case {case.name}: {case.title}")
    result = CaseResult(case.name, case.title, case.baseline)
    measured: dict[str, Measurement] = {}
    pending: list[Target] = []
    started = time.monotonic()
    try:
        with closing_groups(case.groups(ctx)) as groups:
            for group in groups:
                result.groups.append(measure(ctx, group, measured))
                pending += group.targets
                pending = judge(ctx, group, pending, measured, result)
    except Exception as exc:  # one case failing must not lose the others
        result.error = f"{type(exc).__name__}: {exc}"
        ctx.log(f"case {case.name} failed: {result.error}")
    result.verdicts += [t.evaluate(measured) for t in pending]
    result.notes = case.notes(ctx)
    result.seconds = time.monotonic() - started
    return result


def measure(ctx: Context, group: Group, measured: dict[str, Measurement]) -> GroupResult:
    ctx.log(f"  {group.title}: {len(group.variants)} variants × {group.reps} (+{group.warmup})")
    steps = [(v.setup, v.fn, v.after) for v in group.variants]
    timed = round_robin(steps, group.reps, group.warmup)
    rows = []
    for v, t in zip(group.variants, timed, strict=True):
        stats = Stats(tuple(t.samples)) if t.samples and not t.error else None
        m = Measurement(v.key, v.label, group.title, stats, t.error, group.baseline, v.note)
        measured[v.key] = m
        rows.append(m)
        shown = f"{stats.median * 1e3:9.2f} ms" if stats else f"cannot: {t.error}"
        ctx.log(f"    {v.label:55} {shown}")
    return GroupResult(group.title, group.baseline, rows, list(group.notes))


def judge(
    ctx: Context,
    group: Group,
    pending: list[Target],
    measured: Mapping[str, Measurement],
    result: CaseResult,
) -> list[Target]:
    """Evaluate the targets whose measurements all exist; profile misses; return the rest."""
    waiting = []
    variants = {v.key: v for v in group.variants}
    for target in pending:
        if not all(k in measured for k in target.needs()):
            waiting.append(target)
            continue
        verdict = target.evaluate(measured)
        result.verdicts.append(verdict)
        ctx.log(f"  {verdict.status:4} {target.text}: {verdict.shown}")
        variant = variants.get(target.subject)
        subject = measured[target.subject]
        if (
            verdict.status == "MISS"
            and ctx.config.profile
            and variant is not None
            and variant.profile
            and subject.stats is not None
            and target.subject not in result.profiles
        ):
            result.profiles[target.subject] = profiling.profile(variant, subject.stats.median)
    return waiting


def _settings(config: Config) -> dict[str, object]:
    return {
        "file_sizes": config.file_sizes,
        "file_reps": {str(k): v for k, v in config.file_reps.items()},
        "dir_sizes": config.dir_sizes,
        "dir_reps": {str(k): v for k, v in config.dir_reps.items()},
        "restart_reps": config.restart_reps,
        "incident_reps": config.incident_reps,
        "replicas": config.replicas,
        "fanout_reps": config.fanout_reps,
        "curl_interval_s": config.curl_interval,
        "only": config.only,
    }


def _stop_on_signals() -> None:
    """SIGTERM/SIGHUP unwind like Ctrl-C, so the finally blocks remove the containers."""

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop)


if __name__ == "__main__":
    sys.exit(main())
