"""What an Engine says about itself: where it runs, its clock, its user namespace."""

from __future__ import annotations

import time
import urllib.parse
from typing import Any

from hotfix.docker import podman
from hotfix.docker.answers import parse_go_time
from hotfix.docker.errors import engine_errors


class InfoMixin:
    api: Any  # docker-py's APIClient
    _info: tuple[dict[str, Any], float, float] | None  # see _daemon_info
    _podman: bool | None  # see is_podman

    @property
    def is_podman(self) -> bool:
        """Whether the engine is Podman (its Docker-compatible API): its ``/_ping`` answer
        has Podman's header — read when the connection was made (see ``engines``), else
        asked once. Not ``/version``'s components, which say the same but cost Podman
        0.6 s (it runs conmon and the OCI runtime to report their versions).
        :mod:`hotfix.docker.podman` handles where Podman answers differently."""
        if self._podman is None:
            known = getattr(self.api, "hotfix_libpod", None)
            if isinstance(known, bool):
                self._podman = known
            else:
                with engine_errors():
                    response = self.api._get(self.api.base_url + "/_ping")
                    self._podman = podman.is_podman(response.headers)
        return self._podman

    @property
    def is_local(self) -> bool:
        """True when the Engine runs on this host (a unix socket), so its PIDs are ours."""
        return str(self.api.base_url).startswith("http+docker://local")

    @property
    def host_address(self) -> str:
        """Where ports published on all interfaces can be reached."""
        base = str(self.api.base_url)
        if base.startswith(("http://", "https://")):
            return urllib.parse.urlsplit(base).hostname or "127.0.0.1"
        return "127.0.0.1"

    def _daemon_info(self) -> tuple[dict[str, Any], float, float]:
        """``/info`` (asked once), our clock at the middle of that call and half its length."""
        if self._info is None:
            before = time.time()
            with engine_errors():
                info = self.api.info()
            after = time.time()
            self._info = (info, (before + after) / 2, (after - before) / 2)
        return self._info

    def clock_offset(self) -> float:
        """Seconds the engine's clock is ahead of ours: 0 on this host, else from
        ``/info``'s SystemTime (to within the round trip). File mtimes are the engine's
        clock."""
        if self.is_local:
            return 0.0
        info, asked_at, _ = self._daemon_info()
        engine_now = parse_go_time(str(info.get("SystemTime") or ""))
        return engine_now - asked_at if engine_now else 0.0

    def clock_error(self) -> float:
        """How far :meth:`clock_offset` may be off: 0 on this host, else half the round trip
        it was measured over (1 s when the engine did not say its time)."""
        if self.is_local:
            return 0.0
        info, _, half_trip = self._daemon_info()
        return half_trip if info.get("SystemTime") else 1.0

    def remapped_ids(self) -> tuple[int, int]:
        """The host uid/gid of container root on an Engine with ``--userns-remap``, else 0, 0.

        Its archive GET reports owners as the host sees them (container uid + that), while
        its PUT takes them as the container sees them. A remapped dockerd says
        ``name=userns`` and keeps its data in ``<data-root>/<uid>.<gid>``.
        """
        info, _, _ = self._daemon_info()
        if "name=userns" in (info.get("SecurityOptions") or []):
            last = str(info.get("DockerRootDir") or "").rstrip("/").rpartition("/")[2]
            uid, _, gid = last.partition(".")
            if uid.isdigit() and gid.isdigit():
                return int(uid), int(gid)
        return 0, 0
