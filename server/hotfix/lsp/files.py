"""The custom requests: the editor's file system over the service.

Each handler parses its params, runs one service call in a worker thread and shapes the
result; checkpoint URIs are answered from the state store through the service, read-only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from hotfix.core.errors import FileNotFound, NoPermissions
from hotfix.docker.engines import DEFAULT as DEFAULT_ENGINE
from hotfix.lsp import convert, uris, wire
from hotfix.lsp.errors import InvalidParams
from hotfix.lsp.params import Params
from hotfix.lsp.registry import Result, request
from hotfix.lsp.server import HotfixLanguageServer
from hotfix.lsp.spool import Spool
from hotfix.lsp.watch import MISSING
from hotfix.service.files import HotfixService
from hotfix.service.results import Change
from hotfix.store.state import version_of
from hotfix.views import change_view, container_view

logger = logging.getLogger(__name__)


# --- what each request takes -----------------------------------------------------------------


@dataclass(frozen=True)
class OnEngine:
    engine: str | None = None


@dataclass(frozen=True)
class OnUri:
    uri: uris.Location


@dataclass(frozen=True)
class WriteFileParams:
    uri: uris.Location
    create: bool
    overwrite: bool
    base_version: str | None = None
    force: bool = False


@dataclass(frozen=True)
class Spooled:
    """writeFile's content as a spool file, read before anything else can fail."""

    data_path: str | None = None


@dataclass(frozen=True)
class Inline:
    data: bytes


@dataclass(frozen=True)
class ChangeParams:
    uri: uris.Location
    force: bool = False
    recursive: bool = False  # only files can be deleted, so it changes nothing


@dataclass(frozen=True)
class RenameParams:
    old_uri: uris.Location
    new_uri: uris.Location
    overwrite: bool = False
    force: bool = False


@dataclass(frozen=True)
class ChangesParams:
    container: str | None = None
    engine: str | None = None


# --- the requests ----------------------------------------------------------------------------


@request("hotfix/containers")
async def containers(ls: HotfixLanguageServer, p: Params) -> Result:
    engine = p.read(OnEngine).engine
    found = await ls.run(lambda svc: svc.containers(all=True), engine)
    views = [container_view(c) for c in found]
    if engine in (None, DEFAULT_ENGINE):
        ls.container_feed.saw(views)  # the Containers view is showing: keep it current
    return {"containers": views}


@request("hotfix/stat")
async def stat(ls: HotfixLanguageServer, p: Params) -> Result:
    loc = p.read(OnUri).uri
    if loc.is_checkpoint:
        return await ls.run(lambda svc: _checkpoint_stat(svc, loc), loc.engine)
    st, is_link = await ls.run(lambda svc: svc.stat(loc.container, loc.path), loc.engine)
    return convert.stat_result(st, is_link)


@request("hotfix/readDirectory")
async def read_directory(ls: HotfixLanguageServer, p: Params) -> Result:
    loc = p.read(OnUri).uri
    if loc.is_checkpoint:
        return {"entries": await ls.run(lambda svc: _checkpoint_entries(svc, loc), loc.engine)}
    return {"entries": await ls.run(lambda svc: _entries(svc, loc), loc.engine)}


@request("hotfix/readFile")
async def read_file(ls: HotfixLanguageServer, p: Params) -> Result:
    loc = p.read(OnUri).uri
    if loc.is_checkpoint:
        return await _read(ls, loc, lambda svc: _checkpoint_content(svc, loc))
    result = await _read(ls, loc, lambda svc: _live_content(svc, loc))
    ls.watcher.saw(loc, result["version"])
    return result


@request("hotfix/writeFile")
async def write_file(ls: HotfixLanguageServer, p: Params) -> Result:
    data = await _body(ls, p)  # first: a spool file is taken (removed) whatever else fails
    a = p.read(WriteFileParams)
    loc = _writable(a.uri)
    ls.watcher.writing(loc)
    res = await ls.run(
        lambda svc: svc.write(
            loc.container,
            loc.path,
            data,
            base_version=a.base_version,
            create=a.create,
            overwrite=a.overwrite,
            force=a.force,
        ),
        loc.engine,
    )
    ls.watcher.saw(loc, res.version)
    for warning in res.warnings:
        ls.warn(warning)
    return {"version": res.version, "checkpointed": res.checkpointed, "warnings": res.warnings}


@request("hotfix/createDirectory")
async def create_directory(ls: HotfixLanguageServer, p: Params) -> Result:
    a = p.read(ChangeParams)
    loc = _writable(a.uri)
    await ls.run(lambda svc: svc.mkdir(loc.container, loc.path, force=a.force), loc.engine)
    return {}


@request("hotfix/delete")
async def delete(ls: HotfixLanguageServer, p: Params) -> Result:
    a = p.read(ChangeParams)
    loc = _writable(a.uri)
    ls.watcher.writing(loc)
    await ls.run(lambda svc: svc.delete(loc.container, loc.path, force=a.force), loc.engine)
    ls.watcher.saw(loc, MISSING)
    return {}


@request("hotfix/rename")
async def rename(ls: HotfixLanguageServer, p: Params) -> Result:
    a = p.read(RenameParams)
    old, new = _writable(a.old_uri), _writable(a.new_uri)
    if (old.container, old.engine or DEFAULT_ENGINE) != (
        new.container,
        new.engine or DEFAULT_ENGINE,
    ):
        raise NoPermissions(
            f"cannot move {old.path} from container {old.container} to {new.container}: "
            "rename works within one container"
        )
    ls.watcher.forget(old)
    ls.watcher.forget(new)
    await ls.run(
        lambda svc: svc.rename(
            old.container, old.path, new.path, overwrite=a.overwrite, force=a.force
        ),
        old.engine,
    )
    return {}


@request("hotfix/changes")
async def changes(ls: HotfixLanguageServer, p: Params) -> Result:
    a = p.read(ChangesParams)
    found = await ls.run(lambda svc: svc.changes(a.container), a.engine)
    return {"changes": [change_result(c, a.engine) for c in found]}


# --- helpers ---------------------------------------------------------------------------------


async def _read(
    ls: HotfixLanguageServer,
    loc: uris.Location,
    read: Callable[[HotfixService], tuple[bytes, str]],
) -> Result:
    """readFile's result, made in one worker thread: the content and its version, the
    content as ``data`` (base64) or, when the client asked for it and the content is big,
    ``dataPath`` (a spool file the client reads and removes). The file of a request
    cancelled meanwhile is removed."""
    spool = ls.spool

    def work(svc: HotfixService) -> Result:
        data, version = read(svc)
        return {**_content(spool, data), "version": version}

    if spool is None:
        return await ls.run(work, loc.engine)
    return await spool.guard(ls.run(work, loc.engine), lambda result: result.get("dataPath"))


def _content(spool: Spool | None, data: bytes) -> Result:
    if spool is None or len(data) < spool.threshold:
        return {"data": convert.encode_data_raw(data)}
    try:
        return {"dataPath": spool.put(data)}
    except OSError as exc:  # e.g. no space left: the slow way still works
        logger.warning("could not spool %d bytes (%s): sending them inline", len(data), exc)
        return {"data": convert.encode_data_raw(data)}


def _live_content(svc: HotfixService, loc: uris.Location) -> tuple[bytes, str]:
    res = svc.read(loc.container, loc.path)
    return res.data, res.version


def _checkpoint_content(svc: HotfixService, loc: uris.Location) -> tuple[bytes, str]:
    _, data = svc.checkpoint_content(loc.container, loc.path)
    return data, version_of(data)


async def _body(ls: HotfixLanguageServer, p: Params) -> bytes:
    """writeFile's content: ``data`` (base64) or ``dataPath`` (a spool file), exactly one."""
    path = p.read(Spooled).data_path
    if path is None:
        return p.read(Inline).data
    field = f"{p.where}.dataPath"
    spool = ls.spool
    if spool is None:
        raise InvalidParams(
            f"{field}: this server spools no contents (initializationOptions.bodyTransfer "
            '"file" was not asked for); send the content as data'
        )
    limit = wire.FORCED_FACTOR * ls.max_file_size
    data = await asyncio.to_thread(spool.take, path, field, limit)
    if "data" in p.values:
        raise InvalidParams(f"{p.where}: both data and dataPath given; send one of them")
    return data


def change_result(c: Change, engine: str | None = None) -> Result:
    ref = c.container_name if c.container_exists else c.container_id
    return {
        "uri": uris.file_uri(ref, c.path, engine),
        "checkpointUri": uris.checkpoint_uri(ref, c.path, engine),
        **change_view(c),
    }


def _writable(loc: uris.Location) -> uris.Location:
    if loc.is_checkpoint:
        raise NoPermissions(
            f"{loc.uri()} is a checkpoint: checkpoints are read-only "
            "(edit the hotfix:// file; `hotfix.revert` restores the checkpoint)"
        )
    return loc


def _entries(svc: HotfixService, loc: uris.Location) -> list[list[object]]:
    """Directory entries; a symlink's type is its target's, OR-ed with SymbolicLink."""
    return [
        [entry.name, convert.file_type(kind, entry.stat.kind == "symlink")]
        for entry, kind in svc.list_dir_followed(loc.container, loc.path)
    ]


def _checkpoint_paths(svc: HotfixService, loc: uris.Location) -> list[str]:
    return [cp.path for cp in svc.checkpoints(loc.container)]


def _checkpoint_stat(svc: HotfixService, loc: uris.Location) -> Result:
    try:
        cp, data = svc.checkpoint_content(loc.container, loc.path)
    except FileNotFound:
        prefix = loc.path.rstrip("/") + "/"
        if any(p.startswith(prefix) for p in _checkpoint_paths(svc, loc)):
            return convert.synthetic_stat(convert.FILE_TYPE_DIRECTORY, 0, None)
        raise
    return convert.synthetic_stat(convert.FILE_TYPE_FILE, len(data), cp.mtime or cp.created_at)


def _checkpoint_entries(svc: HotfixService, loc: uris.Location) -> list[list[object]]:
    """The checkpointed files (and the directories leading to them) under a directory."""
    prefix = loc.path.rstrip("/") + "/"
    entries: dict[str, int] = {}
    for path in _checkpoint_paths(svc, loc):
        if path.startswith(prefix):
            first, _, rest = path[len(prefix) :].partition("/")
            entries[first] = convert.FILE_TYPE_DIRECTORY if rest else convert.FILE_TYPE_FILE
    if not entries:
        raise FileNotFound(f"{loc.uri()}: no checkpoints under {loc.path}")
    return [[name, type_] for name, type_ in sorted(entries.items())]
