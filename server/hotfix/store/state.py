"""The state store: checkpoints, content blobs and the journal.

SQLite (WAL, ``synchronous=FULL``) in a state directory; file contents are
stored once each as content-addressed blobs (``blobs/ab/abcdef…``). A checkpoint
is durable — blob fsynced, row committed — before :meth:`StateStore.put_checkpoint`
returns, so it exists even if the process dies before the container is written.

Rows are keyed by container ID and keep the container's name and image, so the
edits of a container that has since been removed stay listed.

A write that is not atomic (the archive API extracts in place) keeps an *intent* while it
runs: the content before and after, in ``intents/<journal id>.old|.new``, so that a write
cut short can be recognised and undone (see :mod:`hotfix.store.recovery`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hotfix.core.errors import Unavailable
from hotfix.core.model import ContainerInfo, FileContent
from hotfix.core.processes import alive

SCHEMA_VERSION = 3  # 2: the last_good table (issue 16); 3: container_identity (issue 17)


def first_line(exc: BaseException) -> str:
    """A failed journal row's error, for errors whose message runs over several lines."""
    return (str(exc).splitlines() or [type(exc).__name__])[0]


@dataclass
class JournalRecord:
    """A journal row being written by :meth:`StateStore.journalled`: what the work found
    out, kept when it finishes ``ok`` (``detail``) or ``failed`` (``failure_detail``).
    ``outcome``: the row's outcome when the block ends without raising — ``failed`` for
    work that ran to its end without success (a container that never became healthy)."""

    id: int
    outcome: str = "ok"
    version_after: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    failure_detail: dict[str, Any] = field(default_factory=dict)


# _write_whole's temp file of an intent: ``.<journal id>.new|old.<pid>.<thread>.tmp``
_INTENT_TEMP = re.compile(r"\.\d+\.(?:new|old)\.(\d+)\.\d+\.tmp")
# A temp file this much older than the process now holding its pid was another's: slack for
# the start time's rounding and for a clock set forward while the file was written.
_PID_REUSE_SLACK = 60.0

# A journal row of an in-place write that did not end well and was not settled since.
_UNSETTLED_WRITE = """outcome IN ('incomplete', 'failed')
    AND json_extract(detail, '$.intent') IS NOT NULL
    AND json_extract(detail, '$.settled') IS NULL"""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS checkpoints (
    container_id   TEXT NOT NULL,
    path           TEXT NOT NULL,
    container_name TEXT NOT NULL,
    image          TEXT NOT NULL,
    image_id       TEXT NOT NULL,
    present        INTEGER NOT NULL,   -- 0: the file did not exist (the hotfix created it)
    blob           TEXT,               -- sha256 of the content
    size           INTEGER,
    mode           INTEGER,
    uid            INTEGER,
    gid            INTEGER,
    mtime          REAL,
    created_at     REAL NOT NULL,
    PRIMARY KEY (container_id, path)
);
CREATE TABLE IF NOT EXISTS journal (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    time           REAL NOT NULL,
    user           TEXT NOT NULL,
    action         TEXT NOT NULL,
    container_id   TEXT,
    container_name TEXT,
    image          TEXT,
    path           TEXT,
    version_before TEXT,
    version_after  TEXT,
    outcome        TEXT NOT NULL,     -- started | ok | failed | incomplete
    detail         TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS journal_container ON journal (container_id, time);
"""

# By the version they bring a state directory to; idempotent, run in order, then the version set.
_MIGRATIONS: dict[int, str] = {
    2: """
CREATE TABLE IF NOT EXISTS last_good (
    container_id   TEXT NOT NULL,
    path           TEXT NOT NULL,
    present        INTEGER NOT NULL,   -- 0: the file did not exist when it went live
    blob           TEXT,               -- sha256 of the content, a blob like a checkpoint's
    mode           INTEGER,
    uid            INTEGER,
    gid            INTEGER,
    went_live_at   REAL NOT NULL,      -- when the going-live step that proved it healthy ended
    journal_id     INTEGER,            -- that step's journal row
    PRIMARY KEY (container_id, path)
);
""",
    3: """
CREATE TABLE IF NOT EXISTS container_identity (
    container_id   TEXT PRIMARY KEY,
    engine         TEXT NOT NULL,
    name           TEXT NOT NULL,
    image          TEXT NOT NULL,
    image_id       TEXT NOT NULL,
    labels         TEXT NOT NULL DEFAULT '{}',   -- its Compose and Swarm labels, JSON
    recorded_at    REAL NOT NULL
);
""",
}
# The labels that say which service (and replica) a container is (the lifecycle's successors).
IDENTITY_LABELS = (
    "com.docker.compose.project",
    "com.docker.compose.service",
    "com.docker.compose.container-number",
    "com.docker.swarm.service.name",
    "com.docker.swarm.task.name",
    "com.docker.swarm.node.id",
)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def version_of(data: bytes) -> str:
    """The version of a file's content, as reads return it and writes take it."""
    return "sha256:" + sha256(data)


def default_state_dir() -> Path:
    explicit = os.environ.get("HOTFIX_STATE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_STATE_HOME") or os.path.join(Path.home(), ".local", "state")
    return Path(xdg) / "container-hotfix"


@dataclass(frozen=True)
class Checkpoint:
    container_id: str
    path: str
    container_name: str
    image: str
    image_id: str
    present: bool
    blob: str | None
    size: int | None
    mode: int | None
    uid: int | None
    gid: int | None
    mtime: float | None
    created_at: float

    @property
    def version(self) -> str | None:
        return f"sha256:{self.blob}" if self.blob else None


@dataclass(frozen=True)
class LastGood:
    """A file's content when a going-live step last ended healthy (``present`` False: the
    file did not exist then)."""

    container_id: str
    path: str
    present: bool
    blob: str | None
    mode: int | None
    uid: int | None
    gid: int | None
    went_live_at: float
    journal_id: int | None = None

    @property
    def version(self) -> str | None:
        return f"sha256:{self.blob}" if self.blob else None


@dataclass(frozen=True)
class JournalEntry:
    id: int
    time: float
    user: str
    action: str
    container_id: str | None
    container_name: str | None
    image: str | None
    path: str | None
    version_before: str | None
    version_after: str | None
    outcome: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class ContainerIdentity:
    """Who a hotfixed container was: kept so its successor can be matched after it is gone."""

    container_id: str
    engine: str
    name: str
    image: str
    image_id: str
    labels: dict[str, str]
    recorded_at: float


class StateStore:
    def __init__(self, directory: Path | str | None = None) -> None:
        self.directory = Path(directory) if directory else default_state_dir()
        self.blob_dir = self.directory / "blobs"
        self.intent_dir = self.directory / "intents"
        self.db_path = self.directory / "state.db"
        self._lock = threading.RLock()
        self._refuse_lost_database()
        try:
            self.blob_dir.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.db_path, timeout=10, check_same_thread=False)
            self._inode = os.stat(self.db_path).st_ino
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            self._migrate()
        except (OSError, sqlite3.Error) as exc:
            raise _unavailable(self.directory, exc) from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _migrate(self) -> None:
        """Bring an older state directory to :data:`SCHEMA_VERSION`, keeping all it holds.
        Setting the version takes the write lock: only when needed, so reads work while
        another process holds the database."""
        found = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if found >= SCHEMA_VERSION:
            return
        with self._db:
            for version in sorted(v for v in _MIGRATIONS if found < v <= SCHEMA_VERSION):
                for statement in _MIGRATIONS[version].split(";"):
                    if statement.strip():
                        self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def _refuse_lost_database(self) -> None:
        """Checkpoint contents without the database that indexes them mean state.db was
        lost: starting an empty one would make the hotfixed files the new originals."""
        if self.db_path.exists() or not self.blob_dir.is_dir():
            return
        if any(self.blob_dir.glob("*/*")):
            raise Unavailable(
                f"state store {self.directory}: state.db is missing but checkpoint contents "
                f"remain in {self.blob_dir}; restore state.db, or move {self.directory} away "
                "to start afresh (its checkpoints would be lost)"
            )

    def _check_database_file(self) -> None:
        """A state.db deleted or replaced under a running process: stop writing into it."""
        try:
            same = os.stat(self.db_path).st_ino == self._inode
        except FileNotFoundError:
            same = False
        if not same:
            raise Unavailable(
                f"state store {self.directory}: state.db was removed or replaced while in use; "
                "restart the hotfix process (nothing more is written to the old file)"
            )

    @contextmanager
    def _tx(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction. ``durable`` commits survive power loss (fsync per commit); the
        others survive the process dying (WAL + synchronous=NORMAL), which is enough for
        journal rows and halves a save's fsyncs."""
        with self._lock:
            self._check_database_file()
            try:
                self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
                with self._db:
                    yield self._db
            except sqlite3.Error as exc:
                raise _unavailable(self.directory, exc) from exc

    # --- locks ------------------------------------------------------------------------------

    @contextmanager
    def path_lock(self, container_id: str, path: str) -> Iterator[None]:
        """Hold the lock of one container file across processes (two editors, a CLI): from
        the version check to the write's outcome, so that of two saves based on the same
        version one wins and the other is a conflict, never both written."""
        locks = self.directory / "locks"
        name = sha256(f"{container_id}\0{path}".encode()) + ".lock"
        try:
            locks.mkdir(exist_ok=True)
            fd = os.open(locks / name, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise _unavailable(self.directory, exc) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    # --- blobs ------------------------------------------------------------------------------

    def put_blob(self, data: bytes, version: str | None = None, *, durable: bool = True) -> str:
        """Store a content (``version``: its ``sha256:`` version, when known) durably, or —
        not ``durable`` — so that it survives the process dying, not the host."""
        digest = version.removeprefix("sha256:") if version else sha256(data)
        target = self._blob_path(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            _write_whole(target, data, durable=durable)
            if durable:
                _fsync_dir(target.parent)
        except OSError as exc:
            raise _unavailable(self.directory, exc, "cannot store content: ") from exc
        return digest

    def get_blob(self, digest: str) -> bytes:
        try:
            data = self._blob_path(digest).read_bytes()
        except OSError as exc:
            raise Unavailable(
                f"state store {self.directory}: blob {digest[:12]} missing: {exc}"
            ) from exc
        if sha256(data) != digest:
            raise Unavailable(f"state store {self.directory}: blob {digest[:12]} is corrupt")
        return data

    def _blob_path(self, digest: str) -> Path:
        return self.blob_dir / digest[:2] / digest

    # --- intents of in-place writes ---------------------------------------------------------

    def put_intent(self, entry_id: int, new: bytes, old: FileContent | None) -> None:
        """Keep the content after (and before) the write journalled as ``entry_id``, whole
        or not at all. Not fsynced: like the journal row that names it (``synchronous=NORMAL``)
        it must survive the process dying, not the host. A content before that is a blob
        already (a first save's: its checkpoint) is not kept twice; blobs are never removed."""
        kept = old is None or self._blob_path(old.version.removeprefix("sha256:")).exists()
        try:
            self.intent_dir.mkdir(exist_ok=True)
            for suffix, data in (
                (".new", new),
                (".old", None if kept or old is None else old.data),
            ):
                if data is not None:
                    _write_whole(self.intent_dir / f"{entry_id}{suffix}", data, durable=False)
        except OSError as exc:
            self.drop_intent(entry_id)
            raise _unavailable(self.directory, exc, "cannot keep the write's intent: ") from exc

    def get_intent(
        self, entry_id: int, old_version: str | None = None
    ) -> tuple[bytes | None, bytes | None]:
        """The content after and before the write, each None when not kept (the one before
        is looked for among the blobs too, by ``old_version``)."""

        def read(suffix: str) -> bytes | None:
            try:
                return (self.intent_dir / f"{entry_id}{suffix}").read_bytes()
            except FileNotFoundError:
                return None

        old = read(".old")
        if old is None and old_version:
            with contextlib.suppress(Unavailable):
                old = self.get_blob(old_version.removeprefix("sha256:"))
        return read(".new"), old

    def drop_intent(self, entry_id: int) -> None:
        for suffix in (".new", ".old"):
            with contextlib.suppress(OSError):
                (self.intent_dir / f"{entry_id}{suffix}").unlink(missing_ok=True)

    def drop_abandoned_intent_temps(self) -> list[str]:
        """Remove the temp files of intents whose writer died while writing them (killed
        before the rename); a live writer's are kept. Returns the names removed."""
        try:
            names = os.listdir(self.intent_dir)
        except OSError:
            return []
        removed = []
        for name in names:
            match = _INTENT_TEMP.fullmatch(name)
            if match and _abandoned(self.intent_dir / name, int(match.group(1))):
                with contextlib.suppress(FileNotFoundError):
                    (self.intent_dir / name).unlink()
                    removed.append(name)
        return removed

    def unsettled_writes(self) -> list[JournalEntry]:
        """In-place writes that did not end well and have not been looked at since."""
        with self._tx() as db:
            rows = db.execute(
                f"SELECT * FROM journal WHERE {_UNSETTLED_WRITE} ORDER BY id"
            ).fetchall()
        return [_journal(r) for r in rows]

    def unsettled_writes_of(self, container_id: str, path: str) -> list[JournalEntry]:
        """The unsettled in-place writes of one file, a dead process's ``started`` rows among
        them (marked ``incomplete`` here, as :meth:`mark_stale_incomplete` would): for a
        process that started before they were left, under the file's path lock."""
        with self._tx() as db:
            rows = db.execute(
                f"""SELECT * FROM journal WHERE container_id = ? AND path = ?
                    AND (({_UNSETTLED_WRITE}) OR (outcome = 'started'
                         AND json_extract(detail, '$.intent') IS NOT NULL)) ORDER BY id""",
                (container_id, path),
            ).fetchall()
            entries = [_journal(r) for r in rows]
            stale = {
                e.id for e in entries if e.outcome == "started" and not alive(e.detail.get("pid"))
            }
            db.executemany(
                "UPDATE journal SET outcome = 'incomplete' WHERE id = ?", [(i,) for i in stale]
            )
        return [
            replace(e, outcome="incomplete") if e.id in stale else e
            for e in entries
            if e.outcome != "started" or e.id in stale
        ]

    # --- checkpoints ------------------------------------------------------------------------

    def put_checkpoint(
        self, cp: Checkpoint, data: bytes | None, version: str | None = None
    ) -> Checkpoint:
        """Store (or replace) a checkpoint durably. ``data`` None means the file was absent."""
        blob = self.put_blob(data, version) if data is not None else None
        row = {**cp.__dict__, "blob": blob, "present": int(data is not None)}
        with self._tx() as db:
            db.execute(
                """INSERT OR REPLACE INTO checkpoints
                   (container_id, path, container_name, image, image_id, present, blob, size,
                    mode, uid, gid, mtime, created_at)
                   VALUES (:container_id, :path, :container_name, :image, :image_id, :present,
                           :blob, :size, :mode, :uid, :gid, :mtime, :created_at)""",
                row,
            )
        return Checkpoint(**{**row, "present": data is not None})

    def get_checkpoint(self, container_id: str, path: str) -> Checkpoint | None:
        with self._tx() as db:
            row = db.execute(
                "SELECT * FROM checkpoints WHERE container_id = ? AND path = ?",
                (container_id, path),
            ).fetchone()
        return _checkpoint(row) if row else None

    def checkpoints(self, container_id: str | None = None) -> list[Checkpoint]:
        query = "SELECT * FROM checkpoints"
        args: tuple[str, ...] = ()
        if container_id:
            query += " WHERE container_id = ?"
            args = (container_id,)
        with self._tx() as db:
            rows = db.execute(query + " ORDER BY container_id, path", args).fetchall()
        return [_checkpoint(r) for r in rows]

    # --- last known good ----------------------------------------------------------------------

    def put_last_good(
        self, good: LastGood, data: bytes | None, version: str | None = None
    ) -> LastGood:
        """Record (or replace) a file's last good version; ``data`` None: it was absent."""
        blob = self.put_blob(data, version) if data is not None else None
        row = {**good.__dict__, "blob": blob, "present": int(data is not None)}
        with self._tx() as db:
            db.execute(
                """INSERT OR REPLACE INTO last_good
                   (container_id, path, present, blob, mode, uid, gid, went_live_at, journal_id)
                   VALUES (:container_id, :path, :present, :blob, :mode, :uid, :gid,
                           :went_live_at, :journal_id)""",
                row,
            )
        return LastGood(**{**row, "present": data is not None})

    def get_last_good(self, container_id: str, path: str) -> LastGood | None:
        with self._tx() as db:
            row = db.execute(
                "SELECT * FROM last_good WHERE container_id = ? AND path = ?",
                (container_id, path),
            ).fetchone()
        return _last_good(row) if row else None

    def last_goods(self, container_id: str) -> list[LastGood]:
        with self._tx() as db:
            rows = db.execute(
                "SELECT * FROM last_good WHERE container_id = ? ORDER BY path", (container_id,)
            ).fetchall()
        return [_last_good(r) for r in rows]

    def find_containers(self, ref: str) -> list[tuple[str, str]]:
        """(id, name) of containers with checkpoints or journal entries matching a name or ID prefix."""
        with self._tx() as db:
            rows = db.execute(
                """SELECT DISTINCT container_id, container_name FROM journal
                   WHERE container_id IS NOT NULL
                     AND (container_name = ? OR substr(container_id, 1, length(?)) = ?)""",
                (ref, ref, ref),
            ).fetchall()
        return [(r[0], r[1]) for r in rows]

    # --- container identities (lifecycle) ---------------------------------------------------

    def remember_container(self, container: ContainerInfo) -> None:
        """Keep who a container is (engine, name, image, service labels) the first time it
        is hotfixed: once it is removed, the Engine cannot say it any more."""
        labels = {k: v for k, v in container.labels.items() if k in IDENTITY_LABELS}
        with self._tx(durable=False) as db:
            db.execute(
                """INSERT OR IGNORE INTO container_identity
                   (container_id, engine, name, image, image_id, labels, recorded_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?)""",
                (
                    container.id,
                    container.engine,
                    container.name,
                    container.image,
                    container.image_id,
                    json.dumps(labels, sort_keys=True),
                    time.time(),
                ),
            )

    def container_identities(self) -> dict[str, ContainerIdentity]:
        """Every remembered container by ID."""
        with self._tx(durable=False) as db:
            rows = db.execute("SELECT * FROM container_identity").fetchall()
        return {r["container_id"]: _identity(r) for r in rows}

    def has_checkpoints(self) -> bool:
        """Whether any checkpoint exists: the debt check's first, state-only question."""
        with self._tx(durable=False) as db:
            return db.execute("SELECT 1 FROM checkpoints LIMIT 1").fetchone() is not None

    # --- journal ----------------------------------------------------------------------------

    def journal_start(self, **fields: Any) -> int:
        """Record an action before doing it; finish it with :meth:`journal_finish`."""
        detail = {**fields.pop("detail", {}), "pid": os.getpid()}
        return self._journal_insert(outcome="started", detail=detail, **fields)

    def journal_finish(
        self, entry_id: int, outcome: str, version_after: str | None = None, **detail: Any
    ) -> None:
        with self._tx(durable=False) as db:
            row = db.execute("SELECT detail FROM journal WHERE id = ?", (entry_id,)).fetchone()
            merged = {**json.loads(row[0] if row else "{}"), **detail}
            db.execute(
                """UPDATE journal SET outcome = ?, version_after = COALESCE(?, version_after),
                   detail = ? WHERE id = ?""",
                (outcome, version_after, json.dumps(merged, default=str), entry_id),
            )

    @contextmanager
    def journalled(
        self,
        *,
        catch: type[BaseException] | tuple[type[BaseException], ...] = Exception,
        describe: Callable[[BaseException], str] = str,
        **fields: Any,
    ) -> Iterator[JournalRecord]:
        """Journal the work of the ``with`` block: a row ``started`` before it, the record's
        ``outcome`` (with what the block put in the record) after it, ``failed``
        (``describe(exc)``) when it raises one of ``catch``. Anything else — the process
        being killed — leaves the row ``started``, for the next run to find
        (:meth:`mark_stale_incomplete`)."""
        record = JournalRecord(self.journal_start(**fields))
        try:
            yield record
        except catch as exc:
            self.journal_finish(record.id, "failed", error=describe(exc), **record.failure_detail)
            raise
        self.journal_finish(
            record.id, record.outcome, version_after=record.version_after, **record.detail
        )

    def journal_add(self, outcome: str = "ok", **fields: Any) -> int:
        return self._journal_insert(outcome=outcome, **fields)

    def _journal_insert(
        self,
        *,
        action: str,
        user: str,
        outcome: str,
        container_id: str | None = None,
        container_name: str | None = None,
        image: str | None = None,
        path: str | None = None,
        version_before: str | None = None,
        version_after: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> int:
        with self._tx(durable=False) as db:
            cur = db.execute(
                """INSERT INTO journal (time, user, action, container_id, container_name, image,
                   path, version_before, version_after, outcome, detail)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    time.time(),
                    user,
                    action,
                    container_id,
                    container_name,
                    image,
                    path,
                    version_before,
                    version_after,
                    outcome,
                    json.dumps(detail or {}, default=str),
                ),
            )
            return int(cur.lastrowid or 0)

    def journal(
        self, container_id: str | None = None, limit: int | None = None
    ) -> list[JournalEntry]:
        query = "SELECT * FROM journal"
        args: list[Any] = []
        if container_id:
            query += " WHERE container_id = ?"
            args.append(container_id)
        query += " ORDER BY id"
        if limit:
            query = f"SELECT * FROM ({query.replace('ORDER BY id', 'ORDER BY id DESC')} LIMIT ?) ORDER BY id"
            args.append(limit)
        with self._tx() as db:
            rows = db.execute(query, args).fetchall()
        return [_journal(r) for r in rows]

    def lifecycle_journal(self) -> list[JournalEntry]:
        """The ``ok`` rows a hotfix's stage is read from: file actions and release actions."""
        with self._tx(durable=False) as db:
            rows = db.execute(
                """SELECT * FROM journal WHERE outcome = 'ok' AND action IN
                   ('write', 'delete', 'revert', 'recover', 'checkpoint',
                    'harvest', 'commit-image', 'rollout', 'reapply') ORDER BY id"""
            ).fetchall()
        return [_journal(r) for r in rows]

    def journal_entry(self, entry_id: int) -> JournalEntry | None:
        with self._tx() as db:
            row = db.execute("SELECT * FROM journal WHERE id = ?", (entry_id,)).fetchone()
        return _journal(row) if row else None

    def mark_stale_incomplete(self) -> list[JournalEntry]:
        """Entries left 'started' by a process that has died become 'incomplete'."""
        with self._tx() as db:
            rows = db.execute("SELECT * FROM journal WHERE outcome = 'started'").fetchall()
            stale = [_journal(r) for r in rows if not alive(_journal(r).detail.get("pid"))]
            db.executemany(
                "UPDATE journal SET outcome = 'incomplete' WHERE id = ?", [(e.id,) for e in stale]
            )
        return stale

    def went_live_after_write(self, container_id: str, paths: list[str]) -> bool | None:
        """Whether a going-live step of the container (a restart or reload, proven) ended
        healthy after the last successful write of any of ``paths``; None when no write of
        them is journalled there. Rows are compared by id: the journal's own order."""
        marks = ",".join("?" * len(paths))
        with self._tx() as db:
            last_write = db.execute(
                f"""SELECT MAX(id) FROM journal WHERE container_id = ? AND outcome = 'ok'
                    AND action IN ('write', 'delete', 'revert') AND path IN ({marks})""",
                (container_id, *paths),
            ).fetchone()[0]
            if last_write is None:
                return None
            live = db.execute(
                """SELECT 1 FROM journal WHERE container_id = ? AND action = 'restart'
                   AND outcome = 'ok' AND id > ? LIMIT 1""",
                (container_id, last_write),
            ).fetchone()
        return live is not None


def journal_fields(container: ContainerInfo, path: str | None = None) -> dict[str, Any]:
    """The container columns of a journal row (ID, name, image) and the path, if any."""
    return {
        "container_id": container.id,
        "container_name": container.name,
        "image": container.image,
        "path": path,
    }


def _checkpoint(row: sqlite3.Row) -> Checkpoint:
    data = dict(row)
    data["present"] = bool(data["present"])
    return Checkpoint(**data)


def _last_good(row: sqlite3.Row) -> LastGood:
    data = dict(row)
    data["present"] = bool(data["present"])
    return LastGood(**data)


def _identity(row: sqlite3.Row) -> ContainerIdentity:
    data = dict(row)
    data["labels"] = json.loads(data["labels"] or "{}")
    return ContainerIdentity(**data)


def _journal(row: sqlite3.Row) -> JournalEntry:
    data = dict(row)
    data["detail"] = json.loads(data["detail"] or "{}")
    return JournalEntry(**data)


def _unavailable(directory: Path, exc: BaseException, what: str = "") -> Unavailable:
    """The error, saying so when the state directory's filesystem is full (SQLite then
    reports only "disk I/O error")."""
    message = f"state store {directory}: {what}{exc}"
    with contextlib.suppress(OSError):
        free = shutil.disk_usage(directory).free
        if free < 1 << 20:
            message += f" (no space left: {free} bytes free on its filesystem)"
    return Unavailable(message)


def _write_whole(target: Path, data: bytes, durable: bool = True) -> None:
    """Temp file (+ fsync when ``durable``) + rename: ``target`` is whole or absent."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


def _abandoned(temp: Path, pid: int) -> bool:
    """Whether process ``pid``, which made ``temp``, is gone: dead, or its pid now another
    process's, one started after the file was last written."""
    if not alive(pid):
        return True
    started = _process_start(pid)
    try:
        written = temp.stat().st_mtime
    except OSError:
        return False
    return started is not None and written < started - _PID_REUSE_SLACK


def _process_start(pid: int) -> float | None:
    """When process ``pid`` started, in seconds since the epoch (to the clock tick)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            # after the command name (which may hold spaces): field 22, starttime
            ticks = int(fh.read().rsplit(b")", 1)[1].split()[19])
        with open("/proc/stat", "rb") as fh:
            boot = next(int(line.split()[1]) for line in fh if line.startswith(b"btime "))
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
