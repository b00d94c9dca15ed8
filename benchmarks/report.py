"""results.md and results.json: the machine, the targets with PASS/MISS, every figure."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.case import Measurement, Target, Verdict, fmt_seconds


@dataclass
class GroupResult:
    title: str
    baseline: str
    measurements: list[Measurement]
    notes: list[str] = field(default_factory=list)


@dataclass
class CaseResult:
    name: str
    title: str
    baseline: str
    groups: list[GroupResult] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    profiles: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0


@dataclass
class RunResult:
    mode: str  # "quick" or "full"
    started: str
    seconds: float
    machine: dict[str, Any]
    settings: dict[str, Any]
    cases: list[CaseResult]


def limit_text(t: Target) -> str:
    if t.kind == "ratio":
        return f"≤ {t.limit:.1f}×"
    if t.kind == "overhead":
        return f"≤ +{fmt_seconds(t.limit)}"
    if t.kind == "absolute":
        return f"≤ {fmt_seconds(t.limit)}"
    return "works"


def _median(m: Measurement | None) -> str:
    if m is None:
        return "—"
    return fmt_seconds(m.stats.median) if m.stats else "cannot"


def render_markdown(run: RunResult) -> str:
    by_key = {m.key: m for c in run.cases for g in c.groups for m in g.measurements}
    out = [
        f"# Benchmark results ({run.mode} run)",
        "",
        f"Taken {run.started}, {run.seconds:.0f} s in all, by `python -m benchmarks.run"
        f"{' --quick' if run.mode == 'quick' else ''}` (`make bench"
        f"{'-quick' if run.mode == 'quick' else ''}`). Times are wall-clock medians and "
        "p95 (nearest rank) of repetitions interleaved round-robin with their baselines; "
        "ratios divide medians measured in this same run. docs/performance.md explains them.",
        "",
        "## Machine",
        "",
        "| | |",
        "| --- | --- |",
        *(f"| {k} | {v} |" for k, v in run.machine.items()),
        "",
        "## Targets",
        "",
        "| case | target | measured | limit | hotfix | baseline | result |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for case in run.cases:
        for v in case.verdicts:
            t = v.target
            base = by_key.get(t.baseline) if t.baseline else None
            base_text = f"{_median(base)} ({base.label})" if base else "—"
            out.append(
                f"| {case.name} | {t.text} | {v.shown} | {limit_text(t)} | "
                f"{_median(by_key.get(t.subject))} | {base_text} | **{v.status}** |"
            )
    passed = sum(v.status == "PASS" for c in run.cases for v in c.verdicts)
    total = sum(1 for c in run.cases for _ in c.verdicts)
    out += ["", f"{passed} of {total} targets met.", ""]
    for case in run.cases:
        out += _case_section(case)
    profiles = [(k, p) for c in run.cases for k, p in c.profiles.items()]
    if profiles:
        out += ["## Hot spots (cProfile of the hotfix variants that missed a target)", ""]
        for key, text in profiles:
            out += [f"### {key}", "", "```", text.rstrip(), "```", ""]
    return "\n".join(out).rstrip() + "\n"


def _case_section(case: CaseResult) -> list[str]:
    out = [f"## {case.title}", "", f"Baseline: {case.baseline}. ({case.seconds:.0f} s)", ""]
    if case.error:
        out += [f"**The case failed:** `{case.error}`", ""]
    for group in case.groups:
        base = next((m for m in group.measurements if m.key == group.baseline), None)
        out += [
            f"### {group.title}",
            "",
            "| variant | median | p95 | n | × baseline |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for m in group.measurements:
            out.append(_row(m, base))
        notes = [*group.notes, *(f"{m.label}: {m.note}" for m in group.measurements if m.note)]
        out += ["", *(f"- {n}" for n in notes), ""] if notes else [""]
    if case.notes:
        out += ["Notes:", "", *(f"- {n}" for n in case.notes), ""]
    return out


def _row(m: Measurement, base: Measurement | None) -> str:
    mark = " (baseline)" if base is not None and m.key == base.key else ""
    if m.stats is None:
        return f"| {m.label}{mark} | cannot: {m.error} | | | |"
    ratio = ""
    if base is not None and base.stats is not None:
        ratio = f"{m.stats.median / base.stats.median:.2f}×"
    return (
        f"| {m.label}{mark} | {fmt_seconds(m.stats.median)} | {fmt_seconds(m.stats.p95)} | "
        f"{m.stats.n} | {ratio} |"
    )


def to_json(run: RunResult) -> dict[str, Any]:
    def measurement(m: Measurement) -> dict[str, Any]:
        data: dict[str, Any] = {"key": m.key, "label": m.label, "baseline": m.baseline}
        if m.stats:
            data.update(
                median_s=m.stats.median,
                p95_s=m.stats.p95,
                min_s=m.stats.min,
                n=m.stats.n,
                samples_s=list(m.stats.samples),
            )
        if m.error:
            data["error"] = m.error
        if m.note:
            data["note"] = m.note
        return data

    def verdict(v: Verdict) -> dict[str, Any]:
        t = v.target
        return {
            "target": t.text,
            "kind": t.kind,
            "limit": t.limit,
            "subject": t.subject,
            "baseline": t.baseline,
            "value": v.value,
            "shown": v.shown,
            "status": v.status,
        }

    return {
        "mode": run.mode,
        "started": run.started,
        "seconds": run.seconds,
        "machine": run.machine,
        "settings": run.settings,
        "cases": [
            {
                "name": c.name,
                "title": c.title,
                "baseline": c.baseline,
                "seconds": c.seconds,
                "error": c.error,
                "notes": c.notes,
                "targets": [verdict(v) for v in c.verdicts],
                "groups": [
                    {
                        "title": g.title,
                        "baseline": g.baseline,
                        "notes": g.notes,
                        "measurements": [measurement(m) for m in g.measurements],
                    }
                    for g in c.groups
                ],
                "profiles": c.profiles,
            }
            for c in run.cases
        ],
    }


def write(run: RunResult, directory: Path, stem: str) -> tuple[Path, Path]:
    md, js = directory / f"{stem}.md", directory / f"{stem}.json"
    md.write_text(render_markdown(run), encoding="utf-8")
    js.write_text(json.dumps(to_json(run), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return md, js
