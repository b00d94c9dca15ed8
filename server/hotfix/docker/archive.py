"""A container's files through the Engine's archive API — ``HEAD``/``GET``/``PUT
/containers/{id}/archive``, what ``docker cp`` uses — so it works on stopped containers,
remote engines and images without a shell. ``docker exec`` never reads or writes a file:
it only runs ``rm`` for a delete, which the API lacks.

Temp files a killed local save left (``.NAME.hotfix-PID.tmp``) are not swept here: finding
them needs a listing of their directory, which a GET sends with its whole subtree, and
their PID is one of the host that made them; the next local write or delete sweeps them.
"""

from __future__ import annotations

import base64
import io
import json
import stat as stat_module
import tarfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import requests

from hotfix.core.errors import FileNotADirectory, NoPermissions, Unavailable
from hotfix.core.model import ContainerInfo, DirEntry, FileContent, FileKind, FileStat
from hotfix.core.paths import join, normalize, split
from hotfix.docker.answers import parse_go_time
from hotfix.docker.errors import engine_errors
from hotfix.docker.files import not_regular, on_mount, read_on_mount, size_refusal
from hotfix.docker.localfs import ChangeListing, WalkLimit

# Go's os.FileMode type bits, as the Engine reports them in X-Docker-Container-Path-Stat.
GO_DIR = 1 << 31
GO_SYMLINK = 1 << 27
GO_DEVICE = 1 << 26
GO_PIPE = 1 << 25
GO_SOCKET = 1 << 24
GO_SETUID = 1 << 23
GO_SETGID = 1 << 22
GO_STICKY = 1 << 20

KIND_ADDED = 1  # a container diff row's Kind: 0 modified, 1 added, 2 deleted

_TAR_KINDS: dict[bytes, FileKind] = {
    tarfile.REGTYPE: "file",
    tarfile.AREGTYPE: "file",
    tarfile.LNKTYPE: "file",
    tarfile.DIRTYPE: "dir",
    tarfile.SYMTYPE: "symlink",
    tarfile.FIFOTYPE: "fifo",
    tarfile.CHRTYPE: "device",
    tarfile.BLKTYPE: "device",
}

RemappedIds = Callable[[], tuple[int, int]]
Exec = Callable[[str, list[str]], tuple[int, bytes]]


class ArchiveFiles:
    """One container's files through the archive API.

    ``remapped_ids``: the host uid/gid of container root (see
    ``Engine.remapped_ids``); ``exec``: runs an argv in a container (``Engine.exec``)."""

    writes_atomically = False  # the Engine extracts a file in place

    def __init__(
        self, api: Any, container: ContainerInfo, remapped_ids: RemappedIds, exec: Exec
    ) -> None:
        self.api = api  # docker-py's APIClient: its _url/_get/_result/_raise_for_status too
        self.container = container
        self.remapped_ids = remapped_ids
        self.exec = exec

    def _where(self, path: str) -> str:
        return f"{self.container.name}:{path}"

    def stat(self, path: str) -> FileStat:
        """``HEAD …/archive``, which reports no uid/gid."""
        path = normalize(path)
        check_archive_reach(self.container, path)
        url = self.api._url("/containers/{0}/archive", self.container.id)
        with engine_errors(self.container, path):
            res = self.api.head(url, params={"path": path})
            if res.status_code >= 500:  # a HEAD answer has no body to say why: GET says it
                with self._get(path):
                    pass
            self.api._raise_for_status(res)
        header = res.headers.get("X-Docker-Container-Path-Stat")
        if not header:
            raise Unavailable(f"{self._where(path)}: the engine sent no path stat")
        return on_mount(
            self.container, stat_from_header(path, json.loads(base64.b64decode(header)))
        )

    def stat_full(self, path: str) -> FileStat:
        """The first tar header of ``GET …/archive``."""
        path = normalize(path)
        with self._get(path) as (tar, _):
            member = tar.next()
            if member is None:
                raise Unavailable(f"{self._where(path)}: the engine sent an empty archive")
            return on_mount(self.container, self._container_ids(stat_from_tarinfo(path, member)))

    def read(self, path: str, max_size: int | None = None) -> FileContent:
        path = normalize(path)
        where = self._where(path)
        with self._get(path) as (tar, body):  # body: right after the header
            member = tar.next()
            if member is None:
                raise Unavailable(f"{where}: the engine sent an empty archive")
            info = self._container_ids(stat_from_tarinfo(path, member))
            if info.kind != "file":
                raise not_regular(where, info.kind)
            if max_size is not None and member.size > max_size:
                raise size_refusal(where, member.size, max_size)
            data = body.read(member.size)
        if len(data) != member.size:
            raise Unavailable(
                f"{where}: the engine's archive ended after {len(data)} of {member.size} bytes"
            )
        return read_on_mount(self.container, FileContent(data, info))

    def list_dir(self, path: str) -> list[DirEntry]:
        """A GET of a directory sends its whole subtree: only the headers are read."""
        path = normalize(path)
        top = self.stat(path)
        if top.kind == "symlink" and top.link_target:
            path = top.link_target
            top = self.stat(path)
        if top.kind != "dir":
            raise FileNotADirectory(f"{self._where(path)} is not a directory")
        entries: list[DirEntry] = []
        with self._get(path) as (tar, _):
            first: str | None = None
            for member in tar:
                name = member.name.rstrip("/")
                if first is None:
                    first = name  # the directory itself
                    continue
                rel = name[len(first) + 1 :] if name.startswith(first + "/") else name
                if rel and "/" not in rel:
                    st = self._container_ids(stat_from_tarinfo(join(path, rel), member))
                    entries.append(DirEntry(rel, st))
        return sorted(entries, key=lambda e: e.name)

    def write(self, path: str, data: bytes, *, uid: int, gid: int, mode: int) -> float:
        """The Engine extracts the tar as root and applies the header's owner, mode and
        mtime (an mtime of 0 would date the file 1970, and editors compare mtimes)."""
        path = normalize(path)
        parent, name = split(path)
        check_archive_reach(self.container, path)
        mtime = time.time()
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = mode & 0o7777
        info.uid, info.gid = uid, gid
        info.mtime = mtime
        with engine_errors(self.container, path, parent=parent):
            self.api.put_archive(self.container.id, parent, one_file_tar(info, data))
        return mtime

    def mkdir(self, path: str, *, uid: int, gid: int, mode: int) -> None:
        check_archive_reach(self.container, path)
        parent, name = split(path)
        info = tarfile.TarInfo(name)
        info.type = tarfile.DIRTYPE
        info.mode = mode & 0o7777
        info.uid, info.gid = uid, gid
        info.mtime = time.time()
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
            tar.addfile(info)
        with engine_errors(self.container, path, parent=parent):
            self.api.put_archive(self.container.id, parent, buf.getvalue())

    def delete(self, path: str) -> None:
        """The archive API cannot delete: ``rm`` in the container, which must be running."""
        path = normalize(path)
        container = self.container
        why = (
            f"{container.name}:{path}: cannot delete: the Engine API has no delete, and the "
            "container is not running on this host"
        )
        if container.state != "running":
            raise Unavailable(
                f"{why} (it is {container.state}; start it, or delete on a local engine)"
            )
        code, output = self.exec(container.id, ["rm", "-f", "--", path])
        if code != 0:
            raise Unavailable(
                f"{why}; `rm` in it failed: {output.decode(errors='replace').strip()}"
            )

    def changes(self, limit: WalkLimit | None = None) -> ChangeListing:
        """The Engine's diff (``/containers/{id}/changes``), a walk of the whole image."""
        started = time.monotonic()
        url = self.api._url("/containers/{0}/changes", self.container.id)
        timeout = {"timeout": limit.seconds} if limit else {}
        with engine_errors(self.container.id):
            try:
                res = self.api._get(url, **timeout)
            except requests.exceptions.Timeout:  # the Engine is still walking
                return ChangeListing([], False, 0, time.monotonic() - started)
            rows = self.api._result(res, True) or []
        paths = sorted(row["Path"] for row in rows)
        complete = limit is None or len(paths) <= limit.entries
        kept = paths if limit is None else paths[: limit.entries]
        added = frozenset(row["Path"] for row in rows if row.get("Kind") == KIND_ADDED)
        seconds = time.monotonic() - started
        return ChangeListing(kept, complete, len(kept), seconds, added & frozenset(kept))

    def _container_ids(self, st: FileStat) -> FileStat:
        """A GET's owner as the container sees it (what a PUT expects): with
        ``--userns-remap`` the GET reports the host's ids, the PUT takes the container's."""
        uid0, gid0 = self.remapped_ids()
        if not (uid0 or gid0):
            return st
        uid = st.uid - uid0 if st.uid is not None and st.uid >= uid0 else st.uid
        gid = st.gid - gid0 if st.gid is not None and st.gid >= gid0 else st.gid
        return replace(st, uid=uid, gid=gid)

    @contextmanager
    def _get(self, path: str) -> Iterator[tuple[tarfile.TarFile, ForwardReader]]:
        """The ``GET …/archive`` stream as a tar read in order, and the stream itself, which
        stands right after the last header read (a content can be read from it directly);
        closing abandons the rest."""
        check_archive_reach(self.container, path)
        self.remapped_ids()  # asked once, before the stream is open
        url = self.api._url("/containers/{0}/archive", self.container.id)
        with engine_errors(self.container, path):
            # identity: by default requests asks for gzip, and dockerd would compress it all
            res = self.api._get(
                url, params={"path": path}, stream=True, headers={"Accept-Encoding": "identity"}
            )
            self.api._raise_for_status(res)
            try:
                stream = ForwardReader(res.raw)
                with tarfile.open(fileobj=stream, mode="r:") as tar:  # type: ignore[call-overload]
                    yield tar, stream
            finally:
                res.close()


def check_archive_reach(container: ContainerInfo, path: str) -> None:
    """Refuse a path on a mount the archive API cannot see (tmpfs, /proc, /sys, /dev)."""
    for mount in container.unarchivable:
        if path == mount or path.startswith(mount.rstrip("/") + "/"):
            raise NoPermissions(
                f"{container.name}:{path} is on the mount {mount} (tmpfs or kernel), which the "
                "Engine's archive API cannot reach; run hotfix as root on the engine's host "
                "(it then uses /proc/<pid>/root), or change the file another way"
            )


def stat_from_header(path: str, raw: dict[str, Any]) -> FileStat:
    """The stat of ``X-Docker-Container-Path-Stat`` (a HEAD's answer)."""
    go_mode = int(raw.get("mode", 0))
    mode = go_mode & 0o777
    if go_mode & GO_SETUID:
        mode |= stat_module.S_ISUID
    if go_mode & GO_SETGID:
        mode |= stat_module.S_ISGID
    if go_mode & GO_STICKY:
        mode |= stat_module.S_ISVTX
    return FileStat(
        path=path,
        kind=_go_kind(go_mode),
        size=int(raw.get("size", 0)),
        mode=mode,
        mtime=parse_go_time(str(raw.get("mtime", ""))),
        link_target=raw.get("linkTarget") or None,
    )


def _go_kind(go_mode: int) -> FileKind:
    if go_mode & GO_DIR:
        return "dir"
    if go_mode & GO_SYMLINK:
        return "symlink"
    if go_mode & GO_PIPE:
        return "fifo"
    if go_mode & GO_SOCKET:
        return "socket"
    if go_mode & GO_DEVICE:
        return "device"
    return "file"


def stat_from_tarinfo(path: str, member: tarfile.TarInfo) -> FileStat:
    return FileStat(
        path=path,
        kind=_TAR_KINDS.get(member.type, "other"),
        size=member.size,
        mode=member.mode & 0o7777,
        mtime=float(member.mtime),
        uid=member.uid,
        gid=member.gid,
        link_target=member.linkname or None,
    )


class ForwardReader:
    """A response body that tarfile may seek forward in: skipped contents are read into
    one scratch buffer and dropped. tarfile's stream mode ("r|") copies its buffer's
    remainder on every header and a content in 10 KB pieces; its seekable mode reads only
    the header blocks it needs."""

    BUFFER = 64 * 1024  # headers come out of a buffer, not a call down the stack each
    SKIP_CHUNK = 256 * 1024

    def __init__(self, response: Any) -> None:
        # http.client's response under urllib3's (docker-py reaches it the same way for
        # attach) undoes the chunked framing straight into the caller's buffer, where
        # urllib3's read() joins and copies. Identity was asked for: nothing to decode.
        self._raw = io.BufferedReader(getattr(response, "_fp", None) or response, self.BUFFER)
        self._pos = 0
        self._scratch = memoryview(bytearray(self.SKIP_CHUNK))

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read() if size is None or size < 0 else self._raw.read(size)
        self._pos += len(data)
        return data

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        target = offset if whence == io.SEEK_SET else self._pos + offset
        if whence not in (io.SEEK_SET, io.SEEK_CUR) or target < self._pos:
            raise io.UnsupportedOperation("the archive stream only seeks forward")
        while self._pos < target:
            got = self._raw.readinto(self._scratch[: min(target - self._pos, self.SKIP_CHUNK)])
            if not got:
                break  # the end: tarfile's next read finds it
            self._pos += got
        return self._pos


def one_file_tar(info: tarfile.TarInfo, data: bytes) -> Body:
    """A tar of one regular file: its header (PAX when needed), the data padded to a block,
    and the end-of-archive blocks — sent as they are, neither copied through tarfile in
    16 KB pieces nor joined."""
    header = info.tobuf(tarfile.PAX_FORMAT, tarfile.ENCODING, "surrogateescape")
    padding = -len(data) % tarfile.BLOCKSIZE
    return Body(header, data, tarfile.NUL * (padding + 2 * tarfile.BLOCKSIZE))


class Body:
    """A request body sent part by part with its Content-Length: requests takes an
    iterable with ``__len__`` as a stream of known length, and urllib3 sends each part
    as it is."""

    def __init__(self, *parts: bytes) -> None:
        self.parts = parts

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.parts)

    def __len__(self) -> int:
        return sum(map(len, self.parts))

    def __bytes__(self) -> bytes:
        return b"".join(self.parts)
