"""The file use cases: open, save, mkdir, delete, rename, checkpoint, diff, revert, journal;
with going live (restart + probe, :mod:`hotfix.service.live`), one :class:`HotfixService`.

Both front ends (CLI and language server) call only this layer. It owns every
decision — what a version is, when to checkpoint, when a save is a conflict,
which probe to run — and reaches Docker and the state store only through
:mod:`hotfix.docker.engine` and :mod:`hotfix.store.state`.

A save, in order:
1. resolve the container and the path (a symlink is followed to its target);
2. validate the new content (Python/JSON syntax) unless forced;
3. under the path's lock, settle what earlier saves of it cut short left
   (:func:`hotfix.store.recovery.settle_path`), then read the live file: its version must
   equal the one the edit was based on;
4. checkpoint the original durably if this is the first write to that path;
5. journal "started", write through the Engine (owner and mode kept), journal the outcome.
"""

from __future__ import annotations

import contextlib
import math
import posixpath
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from typing import Any, cast

from hotfix.core import validation
from hotfix.core.errors import (
    Conflict,
    ContainerNotFound,
    FileExists,
    FileIsADirectory,
    FileNotADirectory,
    FileNotFound,
    HotfixError,
    NoPermissions,
    ValidationFailed,
)
from hotfix.core.model import (
    ContainerDetails,
    ContainerInfo,
    DirEntry,
    FileContent,
    FileKind,
    FileStat,
)
from hotfix.core.paths import normalize, split
from hotfix.core.redaction import redact, redact_strings
from hotfix.core.terminal import printable
from hotfix.docker.contentcache import ContentCache
from hotfix.docker.engine import MAX_SYMLINK_HOPS, Engine, size_refusal
from hotfix.docker.localfs import ChangeListing
from hotfix.service import firstwrite
from hotfix.service.config import configured_max_file_size, guard, os_user
from hotfix.service.diffing import status, unified_diff
from hotfix.service.results import Change, ReadResult, WriteResult
from hotfix.service.reverting import Reverting
from hotfix.store import recovery
from hotfix.store.state import (
    Checkpoint,
    JournalEntry,
    JournalRecord,
    StateStore,
    journal_fields,
    version_of,
)

LINK_STAT_WORKERS = 8  # a file browser's listing stats this many symlink targets at once


class HotfixService(Reverting):
    """The use cases on one engine's containers, journalled in one state store."""

    def __init__(
        self,
        engine: Engine,
        store: StateStore,
        user: str | None = None,
        max_file_size: int | None = None,
        prefetch: bool = False,
    ) -> None:
        """``prefetch``: a long-lived process (the language server) starts the container
        diff behind the first-save warning when a file is read, so the save need not wait
        for it; a one-shot CLI command would only wait for it at exit."""
        self.engine = engine
        self.store = store
        self.prefetch = prefetch
        self.user = user or os_user()
        self.max_file_size = (
            max_file_size if max_file_size is not None else configured_max_file_size()
        )
        self._contents = ContentCache()  # spares the archive path a download per save
        self._changed: dict[str, tuple[float, Future[ChangeListing]]] = {}  # _changed_paths
        self._changed_lock = threading.Lock()
        self.store.mark_stale_incomplete()
        # What became of in-place writes cut short by a process that died: one line each.
        self.settled = recovery.settle_unsettled(engine, store, self.user)

    # --- containers -------------------------------------------------------------------------

    def containers(self, all: bool = True) -> list[ContainerInfo]:
        return self.engine.list_containers(all=all)

    def container(self, ref: str) -> ContainerDetails:
        return self.engine.inspect(ref)

    # --- reading ----------------------------------------------------------------------------

    def stat(self, ref: str, path: str) -> tuple[FileStat, bool]:
        """The stat of a path, following symlinks; the flag says whether it was a link."""
        container = self.engine.resolve(ref)
        path = normalize(path)
        first = self.engine.stat(container, path)
        current, hops = first, 0
        while current.kind == "symlink" and current.link_target and hops < MAX_SYMLINK_HOPS:
            try:
                current = self.engine.stat(container, current.link_target)
            except FileNotFound:
                break  # a dangling link is still a link
            hops += 1
        return current, first.kind == "symlink"

    def list_dir(self, ref: str, path: str) -> list[DirEntry]:
        container = self.engine.resolve(ref)
        return self.engine.list_dir(container, normalize(path))

    def list_dir_followed(self, ref: str, path: str) -> list[tuple[DirEntry, FileKind]]:
        """Entries with the kind each symlink points at ("symlink" when dangling) — what a
        file browser shows. Links are stat-ed a few at a time: /usr/lib has dozens."""
        container = self.engine.resolve(ref)
        path = normalize(path)
        entries = self.engine.list_dir(container, path)

        def target_kind(entry: DirEntry) -> FileKind:
            target: FileStat = entry.stat
            for _ in range(MAX_SYMLINK_HOPS):
                if target.kind != "symlink" or not target.link_target:
                    return target.kind
                try:
                    target = self.engine.stat(container, _link_path(target))
                except FileNotFound:
                    return "symlink"  # dangling: a link to nothing
            return "symlink"

        links = [e for e in entries if e.stat.kind == "symlink"]
        if not links:
            return [(e, e.stat.kind) for e in entries]
        with ThreadPoolExecutor(max_workers=min(LINK_STAT_WORKERS, len(links))) as pool:
            kinds = dict(zip((e.name for e in links), pool.map(target_kind, links), strict=True))
        return [(e, kinds.get(e.name, e.stat.kind)) for e in entries]

    def checkpoints(self, ref: str) -> list[Checkpoint]:
        """The container's checkpoints, from the state store alone (no container reads)."""
        return self.store.checkpoints(self._known_container(ref).id)

    def read(self, ref: str, path: str, *, force: bool = False) -> ReadResult:
        """A file's content and version; above the size limit only when forced."""
        container = self.engine.resolve(ref)
        target, content = self._live(container, normalize(path), force=force)
        if content is None:
            raise FileNotFound(f"{container.name}:{target}: no such file")
        if self.prefetch:
            self._changed_paths(container, prefetch=True)  # ready by the first save
        return ReadResult(container, target, content.data, content.version, content.stat)

    # --- saving -----------------------------------------------------------------------------

    def _refusal_overridden(
        self, container: ContainerInfo, path: str, data: bytes, force: bool
    ) -> str | None:
        """Refuse content that is too big or does not validate, unless forced; a forced
        write past a refusal returns it, to be marked in its journal row (and the report)."""
        if not force:
            self._check_size(f"{container.name}:{path}", len(data))
        problems = validation.check(path, data)
        if problems and not force:
            raise ValidationFailed(
                f"{container.name}:{path} not written: {problems[0]} (force to write anyway)"
            )
        return str(problems[0]) if problems else None

    def write(
        self,
        ref: str,
        path: str,
        data: bytes,
        *,
        base_version: str | None = None,
        create: bool = True,
        overwrite: bool = True,
        force: bool = False,
    ) -> WriteResult:
        container = self.engine.resolve(ref)
        path = normalize(path)
        forced = guard(container, "write", force)
        forced_past = self._refusal_overridden(container, path, data, force)
        with self.store.path_lock(container.id, path):
            target, current, settled = self._settled_live(container, path, force=force)
            where = f"{container.name}:{target}"
            if current is None:
                if not create:
                    raise FileNotFound(f"{where}: no such file (create it to write it)")
                if base_version:
                    raise Conflict(f"{where} was deleted in the container after you read it")
                uid, gid, mode = self._new_file_owner(container, target)
                before = None
            else:
                before = current.version
                if not overwrite:
                    raise FileExists(f"{where} already exists")
                if base_version and base_version != before:
                    raise Conflict(
                        f"{where} changed in the container since you read it "
                        f"(now {before[:19]}, you had {base_version[:19]}); "
                        "reload it, or compare and overwrite"
                    )
                uid, gid, mode = current.stat.uid or 0, current.stat.gid or 0, current.stat.mode
            # The container diff only feeds a warning, so it runs beside the write (or since
            # the file was opened), and is waited for once the path lock is released.
            first_write = not self.store.checkpoints(container.id)
            changed = self._changed_paths(container) if first_write else None
            checkpointed = self._checkpoint_if_new(container, target, current)
            after = version_of(data)
            # The fixed content outlives the container: `hotfix reapply` carries it onto a
            # recreated one (hotfix.lifecycle).
            self.store.put_blob(data, after, durable=False)
            self._write_file(
                "write",
                container,
                target,
                data,
                current,
                uid=uid,
                gid=gid,
                mode=mode,
                forced=forced,
                version=after,
                forced_past=forced_past,
            )
        warnings = (
            firstwrite.changed_warning(container, firstwrite.wait_for(changed), target)
            if changed
            else []
        )
        notes = settled + _mount_warning(container, target) + warnings + _swarm_warning(container)
        return WriteResult(container, target, after, before, checkpointed, notes)

    def mkdir(self, ref: str, path: str, *, force: bool = False) -> str:
        """Create a directory owned like its parent, mode 0755."""
        container = self.engine.resolve(ref)
        path = normalize(path)
        forced = guard(container, "create a directory", force)
        try:
            self.engine.stat(container, path)
        except FileNotFound:
            pass
        else:
            raise FileExists(f"{container.name}:{path} already exists")
        uid, gid, _ = self._new_file_owner(container, path)
        self._journalled(
            "mkdir",
            container,
            path,
            partial(self.engine.mkdir, container, path, uid=uid, gid=gid, mode=0o755),
            before=None,
            after=None,
            forced=forced,
        )
        return path

    def delete(self, ref: str, path: str, *, force: bool = False) -> str:
        """Delete a file, checkpointing it first so that revert can bring it back."""
        container = self.engine.resolve(ref)
        path = normalize(path)
        forced = guard(container, "delete", force)
        with self.store.path_lock(container.id, path):
            self._settle_path(container, path)
            st = self.engine.stat(container, path)
            if st.kind == "dir":
                raise FileIsADirectory(
                    f"{container.name}:{path} is a directory; only files can be deleted"
                )
            limit = None if force else self.max_file_size  # the checkpoint holds it whole
            current = self.engine.read(container, path, limit) if st.kind == "file" else None
            if current is None:
                raise NoPermissions(
                    f"{container.name}:{path} is a {st.kind}; only files can be deleted"
                )
            self._checkpoint_if_new(container, path, current)
            self._journalled(
                "delete",
                container,
                path,
                partial(self.engine.delete, container, path),
                before=current.version,
                after=None,
                forced=forced,
            )
            return path

    def rename(
        self, ref: str, old: str, new: str, *, overwrite: bool = False, force: bool = False
    ) -> str:
        """Rename a file: write the new path (owner and mode kept), then delete the old one."""
        source = self.read(ref, old, force=force)
        container = source.container
        forced = guard(container, "rename", force)
        target = normalize(new)
        if target == source.path:
            raise FileExists(f"{container.name}:{target} is the file itself")
        with self.store.path_lock(container.id, target):
            target, existing, _ = self._settled_live(container, target)
            if existing is not None and not overwrite:
                raise FileExists(f"{container.name}:{target} already exists")
            if existing is None:
                self._new_file_owner(container, target)  # the parent must exist
            st = source.stat
            self._checkpoint_if_new(container, target, existing)
            self._write_file(
                "write",
                container,
                target,
                source.data,
                existing,
                uid=st.uid or 0,
                gid=st.gid or 0,
                mode=st.mode,
                forced=forced,
            )
        self.delete(container.id, source.path, force=force)
        return target

    def checkpoint(self, ref: str, paths: list[str]) -> list[Checkpoint]:
        """Take (or re-take) checkpoints: the live content becomes the new baseline."""
        container = self.engine.resolve(ref)
        taken = []
        for path in paths:
            target, current = self._live(container, normalize(path))
            if current is None:
                raise FileNotFound(f"{container.name}:{target}: no such file to checkpoint")
            taken.append(self._store_checkpoint(container, target, current))
            self.store.journal_add(
                action="checkpoint",
                user=self.user,
                **journal_fields(container, target),
                version_before=current.version,
            )
        return taken

    # --- changes, diff, revert ----------------------------------------------------------------

    def changes(self, ref: str | None = None, include_unchanged: bool = False) -> list[Change]:
        """Every checkpointed file of a container (or of all) with its status against live."""
        if ref:
            container = self._known_container(ref)
            checkpoints = self.store.checkpoints(container.id)
        else:
            checkpoints = self.store.checkpoints()
        found: list[Change] = []
        live_containers: dict[str, ContainerInfo | None] = {}
        for cp in checkpoints:
            if cp.container_id not in live_containers:
                live_containers[cp.container_id] = self._maybe_container(cp.container_id)
            live_container = live_containers[cp.container_id]
            if live_container is None:
                found.append(
                    Change(cp.container_id, cp.container_name, cp.path, "modified", cp, False)
                )
                continue
            now = status(cp, self._live(live_container, cp.path)[1])
            if now != "unchanged" or include_unchanged:
                found.append(Change(live_container.id, live_container.name, cp.path, now, cp))
        return found

    def checkpoint_content(self, ref: str, path: str) -> tuple[Checkpoint, bytes]:
        container = self._known_container(ref)
        path = normalize(path)
        cp = self.store.get_checkpoint(container.id, path)
        if cp is None:
            raise FileNotFound(f"{container.name}:{path}: no checkpoint (the file was never saved)")
        return cp, self.store.get_blob(cp.blob) if cp.blob else b""

    def diff(self, ref: str, path: str | None = None) -> str:
        """Unified diff, checkpoint → live, git style; empty when nothing changed."""
        container = self.engine.resolve(ref)
        parts = []
        for cp in self._checkpoints_for(container, path):
            _, live = self._live(container, cp.path)
            old = self.store.get_blob(cp.blob) if cp.blob else None
            parts.append(unified_diff(cp, old, live))
        return "".join(parts)

    # --- journal ----------------------------------------------------------------------------

    def journal(self, ref: str | None = None, limit: int | None = None) -> list[JournalEntry]:
        """The journal, each entry redacted again of its container's run-time environment
        values: what a write journalled (its error, its path) was not redacted then."""
        container_id = self._known_container(ref).id if ref else None
        secrets: dict[str, set[str]] = {}
        entries = []
        for entry in self.store.journal(container_id, limit):
            if entry.container_id and entry.container_id not in secrets:
                secrets[entry.container_id] = self.engine.runtime_env_values(entry.container_id)
            entries.append(_redacted(entry, secrets.get(entry.container_id or "", set())))
        return entries

    # --- helpers ----------------------------------------------------------------------------

    def _settled_live(
        self, container: ContainerInfo, path: str, *, force: bool = False
    ) -> tuple[str, FileContent | None, list[str]]:
        """:meth:`_live` once the file's writes cut short are settled, with a line for each.
        The caller holds the path's lock."""
        notes = self._settle_path(container, path)
        target, current = self._live(container, path, force=force)
        if target != path:  # a symlink's target: its writes are journalled under its own path
            settled = self._settle_path(container, target)
            if settled:
                notes += settled
                target, current = self._live(container, path, force=force)
        return target, current, notes

    def _settle_path(self, container: ContainerInfo, path: str) -> list[str]:
        """Settle the in-place writes of ``path`` left unsettled since this process started
        (it settled the earlier ones then): a file's "before" must not be half-written."""
        return recovery.settle_path(self.engine, self.store, container, path, self.user)

    def _live(
        self, container: ContainerInfo, path: str, *, force: bool = False
    ) -> tuple[str, FileContent | None]:
        """The file at ``path`` (symlinks followed), or None when it does not exist."""
        for _ in range(MAX_SYMLINK_HOPS):
            try:
                st = self.engine.stat(container, path)
            except FileNotFound:
                return path, None
            if st.kind == "symlink" and st.link_target:
                path = st.link_target
                continue
            if st.kind == "dir":
                raise FileIsADirectory(f"{container.name}:{path} is a directory")
            if st.kind != "file":
                raise NoPermissions(f"{container.name}:{path} is a {st.kind}, not a regular file")
            limit = None if force else self.max_file_size
            if limit is not None:
                self._check_size(f"{container.name}:{path}", st.size)  # refused unread
            return path, self._content(container, path, st, limit)
        raise FileNotFound(f"{container.name}:{path}: too many levels of symbolic links")

    def _content(
        self, container: ContainerInfo, path: str, st: FileStat, limit: int | None
    ) -> FileContent:
        """The file's content, refused above ``limit`` bytes as read (``st`` may be outdated);
        on the archive path, from the cache when ``st`` (its HEAD stat) shows it unchanged
        since this process last read or wrote it."""
        if self.engine.writes_atomically(container):  # the local path: reading is cheap
            return self.engine.read(container, path, limit)
        cached = self._contents.get(container.id, path, st)
        if cached is not None:
            return cached
        started = time.time() + self.engine.clock_offset()  # in the engine's clock, as mtimes
        content = self.engine.read(container, path, limit)
        self._contents.put_read(container.id, path, st, content, started, self.engine.clock_error())
        return content

    def _remember_written(
        self,
        container: ContainerInfo,
        path: str,
        data: bytes,
        version: str,
        uid: int,
        gid: int,
        mtime: float,
    ) -> None:
        """Keep what the archive path just wrote, with the HEAD stat that shows it — only when
        that stat carries the very mtime this write gave it (no one wrote after us)."""
        self._contents.drop(container.id, path)
        with contextlib.suppress(HotfixError):
            head = self.engine.stat(container, path)
            if head.kind == "file" and head.size == len(data) and abs(head.mtime - mtime) < 1e-6:
                content = FileContent.hashed(data, replace(head, uid=uid, gid=gid), version)
                self._contents.put(container.id, path, head, content)

    def _check_size(self, where: str, size: int) -> None:
        if size > self.max_file_size:
            raise size_refusal(where, size, self.max_file_size)

    def _new_file_owner(self, container: ContainerInfo, path: str) -> tuple[int, int, int]:
        parent, _ = split(path)
        try:
            st = self.engine.stat_full(container, parent)
        except FileNotFound:
            raise FileNotFound(
                f"{container.name}:{path}: parent directory {parent} does not exist"
            ) from None
        if st.kind != "dir":
            raise FileNotADirectory(f"{container.name}:{path}: {parent} is not a directory")
        return st.uid or 0, st.gid or 0, 0o644

    def _checkpoint_if_new(
        self, container: ContainerInfo, path: str, current: FileContent | None
    ) -> bool:
        if self.store.get_checkpoint(container.id, path) is not None:
            return False
        self._store_checkpoint(container, path, current)
        return True

    def _store_checkpoint(
        self, container: ContainerInfo, path: str, current: FileContent | None
    ) -> Checkpoint:
        self.store.remember_container(container)
        st = current.stat if current else None
        cp = Checkpoint(
            container_id=container.id,
            path=path,
            container_name=container.name,
            image=container.image,
            image_id=container.image_id,
            present=current is not None,
            blob=None,
            size=st.size if st else None,
            mode=st.mode if st else None,
            uid=st.uid if st else None,
            gid=st.gid if st else None,
            mtime=st.mtime if st else None,
            created_at=time.time(),
        )
        if current is None:
            return self.store.put_checkpoint(cp, None)
        return self.store.put_checkpoint(cp, current.data, current.version)

    def _changed_paths(
        self, container: ContainerInfo, *, prefetch: bool = False
    ) -> Future[ChangeListing] | None:
        """The paths the Engine's container diff lists as changed (leaves only), for the
        warning before a container's first hotfix: computed in the background, once per
        :data:`~hotfix.service.firstwrite.CHANGED_PATHS_TTL`, from the first read on.
        ``prefetch`` starts it only for a container without checkpoints (one that has them
        needs no warning)."""
        now = time.monotonic()
        with self._changed_lock:
            known = self._changed.get(container.id)
            if known and now - known[0] < firstwrite.CHANGED_PATHS_TTL:
                return known[1]
        if prefetch and self.store.checkpoints(container.id):
            return None
        future = firstwrite.BACKGROUND.submit(firstwrite.leaf_changes, self.engine, container)
        with self._changed_lock:
            self._changed[container.id] = (now, future)
        return future

    def _checkpoints_for(self, container: ContainerInfo, path: str | None) -> list[Checkpoint]:
        if path is None:
            return self.store.checkpoints(container.id)
        path = normalize(path)
        cp = self.store.get_checkpoint(container.id, path)
        if cp is None:
            target, _ = self._live(container, path)
            cp = self.store.get_checkpoint(container.id, target)
        if cp is None:
            raise FileNotFound(f"{container.name}:{path}: no checkpoint (the file was never saved)")
        return [cp]

    def _write_file(
        self,
        action: str,
        container: ContainerInfo,
        path: str,
        data: bytes,
        previous: FileContent | None,
        *,
        uid: int,
        gid: int,
        mode: int,
        forced: bool,
        version: str | None = None,
        extra: dict[str, Any] | None = None,
        forced_past: str | None = None,
    ) -> None:
        """Journal and write one file (``version``: of ``data``, when known; ``forced_past``:
        the validation problem a forced write overrode); the caller holds its path lock.

        Where the write is not atomic (the archive API extracts in place), the content
        before and after is kept first, so that a write cut short is put back: at once when
        it fails here, or by the next run when this process dies (:mod:`hotfix.store.recovery`)."""
        version = version or version_of(data)
        intent = None
        in_place = not self.engine.writes_atomically(container)
        if in_place:
            intent = recovery.Intent(
                engine=self.engine.name,
                new_version=version,
                old_present=previous is not None,
                old_uid=previous.stat.uid or 0 if previous else 0,
                old_gid=previous.stat.gid or 0 if previous else 0,
                old_mode=previous.stat.mode if previous else 0o644,
            )
        if previous is not None:
            wait_for_a_new_mtime_second(path, previous.stat, len(data))
        written: list[float] = []

        def write() -> None:
            written.append(self.engine.write(container, path, data, uid=uid, gid=gid, mode=mode))

        try:
            self._journalled(
                action,
                container,
                path,
                write,
                before=previous.version if previous else None,
                after=version,
                forced=forced,
                forced_past=forced_past,
                intent=(intent, data, previous) if intent else None,
                extra=extra,
            )
        finally:
            if in_place:
                self._contents.drop(container.id, path)
        if in_place and written:
            self._remember_written(container, path, data, version, uid, gid, written[0])

    def _journalled(
        self,
        action: str,
        container: ContainerInfo,
        path: str,
        work: Callable[[], object],
        *,
        before: str | None,
        after: str | None,
        forced: bool = False,
        forced_past: str | None = None,
        intent: tuple[recovery.Intent, bytes, FileContent | None] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Journal ``work`` on one path. An in-place write (``intent``: what it is about to
        do, its new content and the file before) keeps its intent while it runs; when it
        fails, the file is settled at once and the error says what was found."""
        detail: dict[str, Any] = {"forced_protected": True} if forced else {}
        detail.update(extra or {})  # e.g. what a revert went back to
        if forced_past:
            detail |= {"forced": True, "forced_past": forced_past}
        elif forced:
            detail["forced"] = True
        if intent:
            detail["intent"] = intent[0].to_detail()
        record: JournalRecord | None = None
        try:
            with self.store.journalled(
                catch=HotfixError,
                action=action,
                user=self.user,
                **journal_fields(container, path),
                version_before=before,
                detail=detail,
            ) as record:
                if intent:
                    self.store.put_intent(record.id, intent[1], intent[2])
                work()
                record.version_after = after
        except HotfixError as exc:
            if intent is None or record is None:
                raise
            raise self._settle_failed_write(container, record.id, exc) from exc
        if intent and record:
            self.store.drop_intent(record.id)

    def _settle_failed_write(
        self, container: ContainerInfo, entry_id: int, error: HotfixError
    ) -> HotfixError:
        """After an in-place write failed: put the file back if it was cut short, and say
        so in the error."""
        entry = self.store.journal_entry(entry_id)
        if entry is None:
            return error
        try:
            found, note = recovery.settle(self.engine, self.store, container, entry, self.user)
        except HotfixError as exc:
            found, note = "", f"the file could not be checked afterwards ({exc})"
        if found == recovery.UNTOUCHED:
            return error
        return type(error)(f"{error}; {note}")

    def _known_container(self, ref: str) -> ContainerInfo:
        """A live container, or one the state store remembers (it may have been removed)."""
        try:
            return self.engine.inspect(ref).info
        except ContainerNotFound:
            known = self.store.find_containers(ref)
            if len(known) == 1:
                cid, name = known[0]
                return ContainerInfo(id=cid, name=name, image="", image_id="", state="removed")
            raise

    def _maybe_container(self, container_id: str) -> ContainerInfo | None:
        try:
            return self.engine.inspect(container_id).info
        except ContainerNotFound:
            return None


def wait_for_a_new_mtime_second(
    path: str, old: FileStat, size: int, clock: Callable[[], float] = time.time
) -> float:
    """Python keeps a module's compiled bytecode while its source's mtime, in whole seconds,
    and size stay the same: a ``.py`` saved again within the second of its last change, at
    the same size, would run the old code after a reload. Such a save waits for the next
    second (at most 1 s). Returns the seconds waited."""
    if not path.endswith(".py") or old.size != size:
        return 0.0
    delay = math.floor(old.mtime) + 1 - clock()
    if not 0 < delay <= 1:
        return 0.0
    time.sleep(delay)
    return delay


def _redacted(entry: JournalEntry, secrets: set[str]) -> JournalEntry:
    if not secrets:
        return entry
    name, path = entry.container_name, entry.path
    return replace(
        entry,
        container_name=redact(name, secrets) if name else name,
        path=redact(path, secrets) if path else path,
        detail=cast("dict[str, Any]", redact_strings(entry.detail, secrets)),
    )


def _link_path(link: FileStat) -> str:
    """Where a link points, absolute: a listing gives the link's text, relative to its folder."""
    target = link.link_target or ""
    return normalize(posixpath.join(posixpath.dirname(link.path), target))


def _mount_warning(container: ContainerInfo, path: str) -> list[str]:
    """A save on a mount changed no file of the container's own: say whose, and that no
    image will carry it (``docker commit`` skips mounts)."""
    mount = container.mount_at(path)
    if mount is None:
        return []
    where = f"{container.name}:{printable(path)} is on {printable(mount.describe())}"
    if mount.type == "tmpfs":
        return [f"{where}: the save is lost at restart, and is not in any image"]
    whose = "the host's file" if mount.type == "bind" else "the volume's file"
    return [f"{where}: the save changed {whose}, and `hotfix commit` will not carry it"]


def _swarm_warning(container: ContainerInfo) -> list[str]:
    service = container.labels.get("com.docker.swarm.service.name")
    if not service:
        return []
    return [
        f"{container.name} is a task of Swarm service {service}: Swarm may replace it at any "
        "time, so this fix is temporary until promoted (hotfix commit, then hotfix rollout)"
    ]
