"""The one line every CLI command prints on stderr when a hotfix is in debt: ``lost``, or
``live`` and not harvested for longer than ``HOTFIX_UNHARVESTED_AFTER`` (default 4 h).

It runs on every command, so it asks the state store first and stops there when no hotfix
has a changed file; the Engine is asked (one container list) only when one has, and the
files of successors are read only for a hotfix whose container is gone.
"""

from __future__ import annotations

import os
import re
import time

from hotfix.core.errors import UsageError
from hotfix.lifecycle.stages import Hotfix, hotfixes
from hotfix.lifecycle.status import judge_one
from hotfix.service.files import HotfixService

UNHARVESTED_AFTER_ENV = "HOTFIX_UNHARVESTED_AFTER"
DEFAULT_UNHARVESTED_AFTER = 4 * 3600.0
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def unharvested_after() -> float | None:
    """``HOTFIX_UNHARVESTED_AFTER``: ``90m``, ``4h``, ``1d``, seconds; ``off``: never warn."""
    text = os.environ.get(UNHARVESTED_AFTER_ENV, "").strip().lower()
    if not text:
        return DEFAULT_UNHARVESTED_AFTER
    if text == "off":
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhd]?)", text)
    if not match:
        raise UsageError(
            f"{UNHARVESTED_AFTER_ENV}={text!r}: expected a time such as 30m, 4h, 1d, or off"
        )
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def debt_line(svc: HotfixService, now: float | None = None) -> str | None:
    """The warning about the hotfixes on ``svc``'s engine, or None when there is no debt."""
    store = svc.store
    if not store.has_checkpoints():
        return None
    fixes = [
        f
        for f in hotfixes(
            store.checkpoints(), store.lifecycle_journal(), store.container_identities()
        )
        if f.changed_files and f.who.engine == svc.engine.name
    ]
    if not fixes:
        return None
    containers = svc.containers(all=True)
    present = {c.id for c in containers}
    lost = [
        f
        for f in fixes
        if f.container_id not in present and judge_one(store, svc, f, containers).stage == "lost"
    ]
    if lost:
        names = sorted({f.who.name for f in lost})
        return (
            f"hotfix: warning: {len(lost)} hotfix(es) lost — {', '.join(names)} removed or "
            f"recreated without the change; see `hotfix status`, carry it over with "
            f"`hotfix reapply {names[0]}`"
        )
    return _unharvested(fixes, present, now)


def _unharvested(fixes: list[Hotfix], present: set[str], now: float | None) -> str | None:
    limit = unharvested_after()
    if limit is None:
        return None
    now = time.time() if now is None else now
    old = [
        f
        for f in fixes
        if f.container_id in present and not f.branch and now - f.first_time > limit
    ]
    if not old:
        return None
    oldest = min(old, key=lambda f: f.first_time)
    hours = (now - oldest.first_time) / 3600
    return (
        f"hotfix: warning: {len(old)} hotfix(es) live and not harvested — {oldest.who.name}'s "
        f"for {hours:.1f} h; `hotfix harvest {oldest.who.name} --repo DIR` "
        f"({UNHARVESTED_AFTER_ENV} sets when this warns)"
    )
