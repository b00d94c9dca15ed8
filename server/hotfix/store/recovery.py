"""Settling writes cut short on the archive path.

The Engine's archive API extracts a file in place: it removes the old file, then writes the
new one as the tar stream arrives. A client killed midway, an engine that stops or a
container disk that fills up leaves the file half-written and the original gone. So before
such a write the service keeps an *intent* (:meth:`StateStore.put_intent`): the content
before and after, named by the write's journal row. When the write fails, and at the start
of the next run for a process that died, :func:`settle` compares the live file with both:

- the new content: the write completed;
- the old content: the write never touched the file;
- missing, or a strict prefix of the new content (or of the old one: an earlier settling
  was itself cut short): the write was cut short, so the old content, owner and mode are
  put back (a file the write created is removed);
- anything else: someone changed the file since; it is left alone, and the note says so.
  A live file larger than both contents is not even read (the read is bounded by them).

A process settles what dead processes left when it starts (:func:`settle_unsettled`), and a
write settles its own file's first (:func:`settle_path`): a long-running language server
would otherwise take a save cut short after it started as a file's content before.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from hotfix.core.errors import ContainerNotFound, FileNotFound, FileTooLarge, HotfixError
from hotfix.core.model import ContainerInfo
from hotfix.docker.engine import Engine
from hotfix.store.state import JournalEntry, StateStore, journal_fields, version_of

COMPLETED = "completed"
UNTOUCHED = "untouched"
CUT_SHORT = "cut short"
CHANGED = "changed since"
LARGER = "changed since, larger"  # CHANGED, seen from its size alone


@dataclass(frozen=True)
class Intent:
    """What an in-place write is about to do; kept in its journal row's detail."""

    engine: str
    new_version: str
    old_present: bool
    old_uid: int = 0
    old_gid: int = 0
    old_mode: int = 0o644

    def to_detail(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_detail(cls, detail: dict[str, Any]) -> Intent:
        return cls(**detail)


def verdict(live: bytes | None, new: bytes, old: bytes | None) -> str:
    """What became of a write of ``new`` over ``old``, judged from the ``live`` content."""
    if live is not None and live == new:
        return COMPLETED
    if live == old:
        return UNTOUCHED
    if live is None or new.startswith(live) or (old is not None and old.startswith(live)):
        return CUT_SHORT
    return CHANGED


def settle_unsettled(engine: Engine, store: StateStore, user: str) -> list[str]:
    """Settle the in-place writes of this engine left unsettled by a process that died (or
    whose own settling failed). Returns one line per write, saying what was found and done.
    Also removes the temp files of intents a dead process was writing when it died."""
    store.drop_abandoned_intent_temps()
    notes = []
    for entry in store.unsettled_writes():
        intent = Intent.from_detail(entry.detail["intent"])
        if intent.engine != engine.name or not entry.container_id or not entry.path:
            continue
        try:
            container = engine.inspect(entry.container_id).info
        except ContainerNotFound:
            store.journal_finish(entry.id, entry.outcome, settled="the container is gone")
            store.drop_intent(entry.id)
            continue
        except HotfixError as exc:  # the engine is down: the next run tries again
            notes.append(f"{_where(entry)}: an interrupted save is not settled yet: {exc}")
            continue
        with store.path_lock(container.id, entry.path):
            current = store.journal_entry(entry.id)
            if current is None or "settled" in current.detail:
                continue  # another process settled it while we waited for the lock
            notes.append(_settle_noted(engine, store, container, current, user))
    return notes


def settle_path(
    engine: Engine, store: StateStore, container: ContainerInfo, path: str, user: str
) -> list[str]:
    """Settle the unsettled in-place writes of one file, before a write takes the file as
    its content before: a process started before another's save of it was cut short has
    not settled that save. The caller holds the file's path lock. One line per write."""
    return [
        _settle_noted(engine, store, container, entry, user)
        for entry in store.unsettled_writes_of(container.id, path)
        if Intent.from_detail(entry.detail["intent"]).engine == engine.name
    ]


def _settle_noted(
    engine: Engine, store: StateStore, container: ContainerInfo, entry: JournalEntry, user: str
) -> str:
    try:
        _, note = settle(engine, store, container, entry, user)
    except HotfixError as exc:
        note = f"an interrupted save is not settled yet: {exc}"
    return f"{_where(entry)}: {note}"


def settle(
    engine: Engine, store: StateStore, container: ContainerInfo, entry: JournalEntry, user: str
) -> tuple[str, str]:
    """Judge one in-place write and put the file right if it was cut short; the caller holds
    the file's path lock. Marks the row settled unless putting it right failed (the next run
    tries again). Returns the verdict and what was found and done, as a phrase."""
    assert entry.path is not None
    intent = Intent.from_detail(entry.detail["intent"])
    new, old = store.get_intent(entry.id, entry.version_before)
    found = UNTOUCHED
    if new is None or (intent.old_present and old is None):
        # put_intent writes both before the write starts, or neither
        note = "the save was interrupted before it wrote anything"
    else:
        found, live = _judge(
            engine, container, entry.path, new, old if intent.old_present else None
        )
        if found == CUT_SHORT:
            try:
                _put_back(engine, store, container, entry, intent, old, live, user)
            except HotfixError as exc:
                return found, (
                    f"a save cut short left it half-written, and putting the previous "
                    f"content back failed ({exc}); the next hotfix run tries again"
                )
            note = "a save cut short had left it half-written; the previous content was put back"
        else:
            note = {
                COMPLETED: "the interrupted save had completed",
                UNTOUCHED: "the interrupted save had not touched it",
                CHANGED: "an interrupted save; the file changed since, so it was left alone",
                LARGER: "an interrupted save; the file changed since (it is larger than "
                "the content before or after that save), so it was left alone",
            }[found]
    store.journal_finish(entry.id, entry.outcome, settled=note)
    store.drop_intent(entry.id)
    return found, note


def _put_back(
    engine: Engine,
    store: StateStore,
    container: ContainerInfo,
    entry: JournalEntry,
    intent: Intent,
    old: bytes | None,
    live: bytes | None,
    user: str,
) -> None:
    assert entry.path is not None
    with store.journalled(
        catch=HotfixError,
        action="recover",
        user=user,
        **journal_fields(container, entry.path),
        version_before=version_of(live) if live is not None else None,
        detail={"of": entry.id},
    ) as record:
        if not intent.old_present:
            if live is not None:
                engine.delete(container, entry.path)  # the cut-short write created it
        else:
            uid, gid, mode = intent.old_uid, intent.old_gid, intent.old_mode
            assert old is not None
            engine.write(container, entry.path, old, uid=uid, gid=gid, mode=mode)
        record.version_after = version_of(old) if old is not None and intent.old_present else None


def _judge(
    engine: Engine, container: ContainerInfo, path: str, new: bytes, old: bytes | None
) -> tuple[str, bytes | None]:
    """The verdict on the live file, and its content. A file larger than both contents is
    neither of them nor a part of one, so it is not read: the verdict is :data:`LARGER`."""
    limit = max(len(new), len(old or b""))
    try:
        live = engine.read(container, path, limit).data
    except FileNotFound:
        live = None
    except FileTooLarge:
        return LARGER, None
    return verdict(live, new, old), live


def _where(entry: JournalEntry) -> str:
    return f"{entry.container_name}:{entry.path}"
