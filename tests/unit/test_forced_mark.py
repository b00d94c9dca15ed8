"""A write forced past a refusal is marked ``forced`` in its journal row and in the report."""

from __future__ import annotations

from hotfix.release.report import summarize
from hotfix.service.files import HotfixService
from hotfix.store.state import StateStore
from tests.unit.fakes import FakeContainer

APP = "/srv/app/app.py"


def _writes(store: StateStore) -> list[dict[str, object]]:
    return [e.detail for e in store.journal() if e.action == "write"]


def test_forced_write_past_a_syntax_error_is_marked_with_what_it_overrode(
    service: HotfixService, store: StateStore, web: FakeContainer
) -> None:
    service.write("web", APP, b"print('fine')\n", force=True)  # forced, but nothing to override
    service.write("web", APP, b"def handler(:\n", force=True)
    plain, forced = _writes(store)
    assert "forced" not in plain
    assert forced["forced"] is True
    assert str(forced["forced_past"]).startswith("line 1, column")
    entry = next(e for e in store.journal() if e.detail.get("forced"))
    assert "**FORCED** past: line 1, column" in summarize(entry)


def test_unforced_write_is_not_marked(
    service: HotfixService, store: StateStore, web: FakeContainer
) -> None:
    service.write("web", APP, b"print('fine')\n")
    (detail,) = _writes(store)
    assert "forced" not in detail
    entry = next(e for e in store.journal() if e.action == "write")
    assert "FORCED" not in summarize(entry)
