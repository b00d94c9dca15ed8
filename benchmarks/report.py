"""results.md and results.json: the machine, the targets with PASS/MISS, every figure."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.case import Measurement, Target, Verdict, fmt_seconds
from benchmarks.timing import Stats


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
        *(
            [
                "Cases measured again later (`--only CASE --merge`) and merged in: "
                + "; ".join(f"{c} at {t}" for c, t in run.settings["rerun"].items())
                + ".",
                "",
            ]
            if run.settings.get("rerun")
            else []
        ),
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
    out += _scaling_section(run)
    profiles = [(k, p) for c in run.cases for k, p in c.profiles.items()]
    if profiles:
        out += ["## Hot spots (cProfile of the hotfix variants that missed a target)", ""]
        for key, text in profiles:
            out += [f"### {key}", "", "```", text.rstrip(), "```", ""]
    return "\n".join(out).rstrip() + "\n"


# --- how costs grow -------------------------------------------------------------------------

SCALES = {  # key prefix → (what x is, unit of the marginal cost, x per unit)
    "read": ("file size", "MB", 1024 * 1024),
    "write": ("file size", "MB", 1024 * 1024),
    "list": ("entries", "1,000 entries", 1000),
    "fanout": ("replicas", "replica", 1),
}


@dataclass(frozen=True)
class Curve:
    kind: str
    label: str
    points: list[tuple[int, float]]  # (x, median seconds), x ascending

    @property
    def fixed(self) -> float:
        return self.points[0][1]

    @property
    def marginal(self) -> float:
        """Seconds per unit of x between the smallest and the largest point."""
        (x0, y0), (x1, y1) = self.points[0], self.points[-1]
        return (y1 - y0) / ((x1 - x0) / SCALES[self.kind][2])

    def predicted(self, x: int) -> float:
        return self.fixed + self.marginal * (x - self.points[0][0]) / SCALES[self.kind][2]


def curves(run: RunResult) -> list[Curve]:
    """Variants measured at several sizes: read.4096.core.fast, read.1048576.core.fast, …"""
    found: dict[tuple[str, str], dict[int, tuple[str, float]]] = {}
    for case in run.cases:
        for group in case.groups:
            for m in group.measurements:
                kind, _, rest = m.key.partition(".")
                x, _, variant = rest.partition(".")
                if kind in SCALES and x.isdigit() and m.stats:
                    found.setdefault((kind, variant), {})[int(x)] = (m.label, m.stats.median)
    return [
        Curve(kind, next(iter(points.values()))[0], sorted((x, t) for x, (_, t) in points.items()))
        for (kind, _), points in found.items()
        if len(points) >= 2
    ]


def _scaling_section(run: RunResult) -> list[str]:
    found = curves(run)
    if not found:
        return []
    out = [
        "## How costs grow",
        "",
        "Fixed = the median at the smallest size; marginal = the slope from the smallest to "
        "the largest size; “mid” compares the middle size with that straight line "
        "(measured / predicted): near 1.00 means linear.",
        "",
        "| what | variant | fixed | marginal | mid: measured / predicted |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for c in found:
        what, unit, _ = SCALES[c.kind]
        mid = ""
        if len(c.points) >= 3:
            x, t = c.points[len(c.points) // 2]
            mid = f"{t / c.predicted(x):.2f}" if c.predicted(x) > 0 else ""
        out.append(
            f"| {c.kind} ({what}) | {c.label} | {fmt_seconds(c.fixed)} | "
            f"{fmt_seconds(max(c.marginal, 0.0))} per {unit} | {mid} |"
        )
    return [*out, ""]


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


def load(path: Path) -> RunResult:
    """A RunResult back from results.json (to render the Markdown again)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    cases = []
    for c in data["cases"]:
        groups = [
            GroupResult(
                g["title"],
                g["baseline"],
                [
                    Measurement(
                        m["key"],
                        m["label"],
                        g["title"],
                        Stats(tuple(m["samples_s"])) if "samples_s" in m else None,
                        m.get("error"),
                        m.get("baseline"),
                        m.get("note", ""),
                    )
                    for m in g["measurements"]
                ],
                g["notes"],
            )
            for g in c["groups"]
        ]
        verdicts = [
            Verdict(
                Target(v["target"], v["subject"], v["kind"], v["limit"], v["baseline"]),
                v["value"],
                v["shown"],
                v["status"],
            )
            for v in c["targets"]
        ]
        cases.append(
            CaseResult(
                c["name"],
                c["title"],
                c["baseline"],
                groups,
                verdicts,
                c["notes"],
                c["profiles"],
                c["error"],
                c["seconds"],
            )
        )
    return RunResult(
        data["mode"], data["started"], data["seconds"], data["machine"], data["settings"], cases
    )
