"""The incident record: a Markdown report from the journal, ready for a postmortem.

Per container: a summary, the timeline (who, when, what, outcome), each file's diff
(checkpoint → live, or → what the last harvest took when the container is gone), the
probe results with their times, the harvest branches and commits, and the images.

Environment variable values of a container are never written: the journal holds none,
and as a second guard every value the container was given at run time (its environment
minus its image's) is replaced by ``[redacted]`` wherever it would appear, also JSON-escaped,
URL-encoded, base64-encoded or split across lines (:mod:`hotfix.core.redaction`).
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hotfix.core.errors import ContainerNotFound, HotfixError
from hotfix.core.redaction import redact
from hotfix.core.terminal import printable
from hotfix.lifecycle.stages import HotfixStatus
from hotfix.store.state import JournalEntry

if TYPE_CHECKING:
    from hotfix.release.workspace import Workspace


def when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _cell(text: object) -> str:
    return printable(text).replace("|", "\\|").strip()


def _short(version: str | None) -> str:
    if not version:
        return "∅"
    return version.removeprefix("sha256:")[:10]


def _seconds(value: object) -> str:
    return f"{float(value):.2f} s" if isinstance(value, int | float) else "?"


def _forced_note(detail: dict[str, object]) -> str:
    """A write forced past a refusal says so, and what it overrode."""
    if not detail.get("forced"):
        return ""
    past = detail.get("forced_past") or ("protection" if detail.get("forced_protected") else "")
    return f" — **FORCED** past: {past}" if past else " — **FORCED**"


def summarize(e: JournalEntry) -> str:
    """One line of what a journal entry did."""
    d = e.detail
    path = e.path or ""
    if e.action in ("write", "revert", "delete"):
        text = f"{e.action} `{path}` ({_short(e.version_before)} → {_short(e.version_after)})"
        return text + _forced_note(d)
    if e.action in ("mkdir", "checkpoint"):
        return f"{e.action} `{path}`"
    if e.action == "restart":
        verdict = "healthy" if d.get("healthy") else "UNHEALTHY"
        text = f"{d.get('how', 'restart')}; probe `{d.get('probe', '?')}`"
        if "healthy" in d:
            text += f": {verdict} after {_seconds(d.get('seconds'))} ({d.get('probe_result', '')})"
        return text
    if e.action == "probe":
        verdict = "healthy" if d.get("healthy") else "UNHEALTHY"
        return (
            f"probe `{d.get('probe', '?')}`: {verdict} after {_seconds(d.get('seconds'))} "
            f"({d.get('probe_result', '')})"
        )
    if e.action == "harvest":
        if d.get("commit"):
            return (
                f"harvest to branch `{d.get('branch')}` commit `{str(d['commit'])[:12]}` "
                f"in `{d.get('repo')}`"
            )
        if e.outcome == "ok":
            return f"harvest into `{d.get('repo')}`: nothing to commit"
        return f"harvest into `{d.get('repo', '?')}`"
    if e.action == "commit-image":
        text = f"image `{d.get('tag')}` ({d.get('mode')})"
        if d.get("image_id"):
            text += f" {str(d['image_id'])[:19]}"
        verify = d.get("verify")
        if isinstance(verify, dict):
            verdict = "healthy" if verify.get("healthy") else "UNHEALTHY"
            text += f"; verify: {verdict} after {_seconds(verify.get('seconds'))}"
        return text
    if e.action == "try":
        return _try_summary(d)
    return f"{e.action} `{path}`" if path else e.action


class _Container:
    def __init__(self, cid: str) -> None:
        self.id = cid
        self.name = ""
        self.image = ""
        self.entries: list[JournalEntry] = []


def build_report(
    svc: Workspace, ref: str | None = None, lifecycle: Sequence[HotfixStatus] = ()
) -> str:
    """The Markdown incident record of one container (or of every container in the journal);
    ``lifecycle``: where each hotfix is now (`hotfix status`), for its Lifecycle section."""
    entries = svc.journal(ref)
    if ref and not entries:
        raise HotfixError(f"{ref}: nothing in the journal for this container")
    groups: dict[str, _Container] = {}
    for e in entries:
        if not e.container_id:
            continue
        group = groups.setdefault(e.container_id, _Container(e.container_id))
        group.name = e.container_name or group.name
        group.image = e.image or group.image
        group.entries.append(e)

    secrets: set[str] = set()
    sections: list[str] = []
    for group in groups.values():
        text, found = _container_section(svc, group)
        sections.append(text)
        secrets |= found

    names = ", ".join(g.name or g.id[:12] for g in groups.values()) or "no containers"
    lines = [
        f"# Incident record: {names}",
        "",
        f"Generated {when(time.time())} by {svc.user} from the hotfix journal "
        f"({len(entries)} entries). Times are UTC.",
        "",
    ]
    if not groups:
        lines.append("The journal is empty.")
    report = "\n".join(lines) + "\n" + "\n".join(sections) + _lifecycle(lifecycle)
    # Paths, log lines and probe output come from the container: no control character of
    # theirs reaches a terminal or breaks the Markdown's lines (hotfix.core.terminal).
    return printable(redact(report, secrets), keep="\n\t")


def _lifecycle(lines: Sequence[HotfixStatus]) -> str:
    """## Lifecycle: each hotfix's stage now — lost ones first, they need doing."""
    if not lines:
        return ""
    out = [
        "## Lifecycle",
        "",
        "| Container(s) | Files | Stage | Since | Next step |",
        "|---|---|---|---|---|",
    ]
    for line in sorted(lines, key=lambda x: (x.stage != "lost", x.since)):
        where = ", ".join(line.containers) + ("" if line.present else " (removed)")
        stage = line.stage + (f": {'; '.join(line.notes)}" if line.notes else "")
        stage += f", branch `{line.branch}`" if line.branch else ""
        stage += f", image `{line.image}`" if line.image else ""
        out.append(
            f"| {_cell(where)} | {_cell(', '.join(line.files))} | {_cell(stage)} "
            f"| {when(line.since)} | {line.next_step or '-'} |"
        )
    return "\n".join(out) + "\n"


def _container_section(svc: Workspace, group: _Container) -> tuple[str, set[str]]:
    """One container's part of the report, and the run-time values it must not show."""
    live = True
    try:
        state = svc.engine.inspect(group.id).info.state
    except ContainerNotFound:
        live, state = False, "removed"
    secrets = svc.engine.runtime_env_values(group.id) if live else set()
    es = group.entries
    harvests = [
        e for e in es if e.action == "harvest" and e.outcome == "ok" and e.detail.get("commit")
    ]
    images = [e for e in es if e.action == "commit-image" and e.outcome == "ok"]
    out = _summary(group, state, harvests, images)
    out += _timeline(es)
    out += ["### Changes", "", *_diffs(svc, group, live, harvests), ""]
    out += _probes(es)
    out += _tries(es)
    out += _harvests(harvests)
    out += _images(images)
    return "\n".join(out), secrets


def _summary(
    group: _Container, state: str, harvests: list[JournalEntry], images: list[JournalEntry]
) -> list[str]:
    es = group.entries
    people = sorted({e.user for e in es})
    paths = sorted({e.path for e in es if e.path and e.action in ("write", "delete", "mkdir")})
    out = [f"## {group.name or group.id[:12]}", ""]
    out.append(f"- Container: `{group.name}` (`{group.id}`), now {state}")
    out.append(f"- Image: `{group.image or '?'}`")
    out.append(f"- From {when(es[0].time)} to {when(es[-1].time)}; people: {', '.join(people)}")
    out.append(f"- Files changed: {', '.join(f'`{printable(p)}`' for p in paths) or 'none'}")
    if harvests:
        d = harvests[-1].detail
        out.append(
            f"- Branch: `{d.get('branch')}`, commit `{d.get('commit')}` in `{d.get('repo')}`"
        )
    if images:
        d = images[-1].detail
        out.append(f"- Image tag: `{d.get('tag')}` (`{d.get('image_id')}`, {d.get('mode')})")
    failed = [e for e in es if e.outcome in ("failed", "incomplete")]
    if failed:
        out.append(f"- Failed or incomplete steps: {len(failed)} (see the timeline)")
    out.append("")
    return out


def _timeline(es: list[JournalEntry]) -> list[str]:
    out = ["### Timeline", "", "| When (UTC) | Who | What | Outcome |", "|---|---|---|---|"]
    for e in es:
        outcome = e.outcome
        if e.detail.get("error"):
            outcome += f": {e.detail['error']}"
        out.append(
            f"| {when(e.time)} | {_cell(e.user)} | {_cell(summarize(e))} | {_cell(outcome)} |"
        )
    out.append("")
    return out


def _probes(es: list[JournalEntry]) -> list[str]:
    probes = _probe_rows(es)
    out = ["### Probes", ""]
    if probes:
        out += [
            "| When (UTC) | Kind | Probe | Result | Healthy | Seconds |",
            "|---|---|---|---|---|---|",
        ]
        out += probes
    else:
        out.append("No probe was run.")
    out.append("")
    return out


def _harvests(harvests: list[JournalEntry]) -> list[str]:
    out = ["### Harvest", ""]
    if not harvests:
        out.append("Not harvested to a repository.")
    for e in harvests:
        d = e.detail
        out.append(
            f"- {when(e.time)} by {e.user}: branch `{d.get('branch')}` commit `{d.get('commit')}` "
            f"on `{str(d.get('parent') or d.get('base') or '')[:12]}` ({d.get('base_source', '')}) "
            f"in `{d.get('repo')}`"
        )
        for f in d.get("files") or []:
            out.append(
                f"  - `{printable(f.get('repo_path'))}` ← `{printable(f.get('path'))}` "
                f"({f.get('status')}, {f.get('action')})"
            )
        test = d.get("test")
        if isinstance(test, dict):
            out.append(
                f"  - tests `{test.get('command')}`: exit {test.get('exit_code')} "
                f"in {_seconds(test.get('seconds'))}"
            )
    out.append("")
    return out


def _images(images: list[JournalEntry]) -> list[str]:
    out = ["### Images", ""]
    if not images:
        out.append("No image was committed.")
    for e in images:
        d = e.detail
        out.append(
            f"- {when(e.time)} by {e.user}: `{d.get('tag')}` = `{d.get('image_id')}` ({d.get('mode')}), "
            f"from `{d.get('base_image')}`"
            + (f", revision `{d.get('revision')}`" if d.get("revision") else "")
        )
        if d.get("mode") == "whole-layer":
            names = d.get("runtime_env") or []
            out.append(
                f"  - whole layer: {d.get('extra_paths', 0)} other path(s) of the writable layer; "
                f"runtime environment captured: {', '.join(names) or 'none'} (values not shown)"
            )
        verify = d.get("verify")
        if isinstance(verify, dict):
            verdict = "healthy" if verify.get("healthy") else "UNHEALTHY"
            out.append(
                f"  - verified: {verdict} after {_seconds(verify.get('seconds'))} "
                f"(`{verify.get('probe')}`: {verify.get('probe_result')})"
            )
    out.append("")
    return out


def _probe_rows(es: list[JournalEntry]) -> list[str]:
    rows = []
    for e in es:
        d = e.detail
        found: dict[str, Any] | None = None
        kind = e.action
        if e.action in ("restart", "probe") and "healthy" in d:
            found = d
            kind = str(d.get("how", e.action))
        elif e.action == "commit-image" and isinstance(d.get("verify"), dict):
            found = d["verify"]
            kind = f"verify {d.get('tag')}"
        if found is None:
            continue
        rows.append(
            f"| {when(e.time)} | {_cell(kind)} | `{_cell(found.get('probe', '?'))}` | "
            f"{_cell(found.get('probe_result', ''))} | {'yes' if found.get('healthy') else 'NO'} | "
            f"{_seconds(found.get('seconds'))} |"
        )
    return rows


def _diffs(
    svc: Workspace, group: _Container, live: bool, harvests: list[JournalEntry]
) -> list[str]:
    if live:
        try:
            text = svc.diff(group.id)
        except HotfixError as exc:
            return [f"The diff could not be read: {exc}"]
        if not text:
            return ["No file differs from its checkpoint now."]
        return _fenced_by_file(text)
    # The container is gone: diff its checkpoints against what the last harvest took, if any.
    taken: dict[str, str] = {}
    for e in harvests:
        for f in e.detail.get("files") or []:
            if f.get("blob"):
                taken[str(f["path"])] = str(f["blob"])
    out: list[str] = []
    for cp in svc.store.checkpoints(group.id):
        if cp.path not in taken:
            out.append(f"`{cp.path}`: the container is removed; its changed content was not kept.")
            continue
        try:
            old = svc.store.get_blob(cp.blob) if cp.blob else b""
            new = svc.store.get_blob(taken[cp.path])
        except HotfixError as exc:
            out.append(f"`{cp.path}`: {exc}")
            continue
        rel = cp.path.lstrip("/")
        text = "".join(
            difflib.unified_diff(
                old.decode("utf-8", "replace").splitlines(keepends=True),
                new.decode("utf-8", "replace").splitlines(keepends=True),
                f"a/{rel}",
                f"b/{rel}",
            )
        )
        out.append(f"#### `{cp.path}` (as harvested; the container is removed)")
        out += ["", "```diff", text.rstrip("\n"), "```", ""]
    return out or ["No checkpointed file."]


def _fenced_by_file(diff: str) -> list[str]:
    out: list[str] = []
    chunks: list[list[str]] = []
    for line in diff.splitlines():
        if line.startswith("diff --git "):
            chunks.append([])
        if chunks:
            chunks[-1].append(line)
    for chunk in chunks:
        path = "/" + chunk[0].split(" b/", 1)[-1] if " b/" in chunk[0] else chunk[0]
        fence = "````" if any(line.startswith("```") for line in chunk) else "```"
        out += [f"#### `{path}`", "", fence + "diff", *chunk, fence, ""]
    return out


# --- tries (hotfix try: the fix in a throwaway twin first) -----------------------------------


def _try_summary(d: dict[str, Any]) -> str:
    paths = ", ".join(f"`{p}`" for p in d.get("paths") or [])
    verdict = str(d.get("verdict", "?"))
    text = f"try {paths} in a twin (network {d.get('network', '?')})"
    if "verdict" in d:
        text += f": {verdict} after {_seconds(d.get('seconds'))}"
    return text


def _tries(es: list[JournalEntry]) -> list[str]:
    """Every try, its verdict and why: a fix that failed in its twin never reached production."""
    tries = [e for e in es if e.action == "try"]
    if not tries:
        return []
    out = [
        "### Tries",
        "",
        "| When (UTC) | Who | Files | Network | Probe | Verdict | Seconds | Why |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for e in tries:
        d = e.detail
        files = ", ".join(f"`{p}`" for p in d.get("paths") or [])
        verdict = d.get("verdict") or e.outcome  # a try cut short has no verdict
        why = d.get("reason") or d.get("error") or d.get("probe_result") or ""
        out.append(
            f"| {when(e.time)} | {_cell(e.user)} | {_cell(files)} | {_cell(d.get('network', ''))} "
            f"| {_cell(d.get('probe', ''))} | {_cell(verdict)} | {_seconds(d.get('seconds'))} "
            f"| {_cell(why)} |"
        )
    out.append("")
    return out
