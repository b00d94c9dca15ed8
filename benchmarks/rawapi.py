"""The Engine's archive endpoint called raw: http.client over /var/run/docker.sock.

The floor for file transfer: what ``docker cp`` and hotfix's archive path both pay, minus
every client's own work. One keep-alive connection, as docker-py keeps one.
"""

from __future__ import annotations

import http.client
import io
import json
import socket
import tarfile
import time
import urllib.parse

DOCKER_SOCKET = "/var/run/docker.sock"


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 120) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.socket_path)
        self.sock = sock


class RawArchive:
    def __init__(self, socket_path: str = DOCKER_SOCKET) -> None:
        self.conn = _UnixConnection(socket_path)
        self.prefix = ""
        self.prefix = "/v" + json.loads(self._call("GET", "/version"))["ApiVersion"]

    def close(self) -> None:
        self.conn.close()

    def get(self, container_id: str, path: str) -> bytes:
        """GET /containers/{id}/archive: the tar of ``path``."""
        return self._call("GET", self._archive_url(container_id, path))

    def put(self, container_id: str, directory: str, tar: bytes) -> None:
        """PUT /containers/{id}/archive: extract ``tar`` into ``directory``."""
        self._call(
            "PUT",
            self._archive_url(container_id, directory),
            body=tar,
            headers={"Content-Type": "application/x-tar"},
        )

    def _archive_url(self, container_id: str, path: str) -> str:
        query = urllib.parse.urlencode({"path": path})
        return f"/containers/{container_id}/archive?{query}"

    def _call(
        self,
        method: str,
        url: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> bytes:
        try:
            data, status = self._once(method, url, body, headers)
        except ConnectionError:  # BrokenPipe, reset, RemoteDisconnected
            self.conn.close()  # the engine closed an idle keep-alive connection: reconnect
            data, status = self._once(method, url, body, headers)
        if status >= 300:
            raise RuntimeError(f"{method} {url}: HTTP {status}: {data[:200]!r}")
        return data

    def _once(
        self, method: str, url: str, body: bytes | None, headers: dict[str, str] | None
    ) -> tuple[bytes, int]:
        self.conn.request(method, self.prefix + url, body=body, headers=headers or {})
        resp = self.conn.getresponse()
        return resp.read(), resp.status


def tar_of(files: dict[str, bytes], mode: int = 0o644) -> bytes:
    """An uncompressed tar of regular files (relative names), dated now."""
    buf = io.BytesIO()
    now = time.time()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, now
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def tar_of_dir(name: str, count: int, line: bytes = b"one line of text\n") -> bytes:
    """A tar of directory ``name`` holding ``count`` one-line files ``f000000``, …"""
    buf = io.BytesIO()
    now = time.time()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        top = tarfile.TarInfo(name)
        top.type, top.mode, top.mtime = tarfile.DIRTYPE, 0o755, now
        tar.addfile(top)
        for i in range(count):
            info = tarfile.TarInfo(f"{name}/f{i:06d}")
            info.size, info.mode, info.mtime = len(line), 0o644, now
            tar.addfile(info, io.BytesIO(line))
    return buf.getvalue()
