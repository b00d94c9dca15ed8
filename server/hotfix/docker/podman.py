"""Podman's Docker-compatible API (``podman system service``): where it answers
differently from dockerd, each difference handled here, in one place, and hooked in where
the Engine would otherwise take Podman's answer for Docker's. Measured against Podman 4.3.1
(Debian 12); docs/scale-out.md lists them.

- **Files Podman writes into every container** (``/etc/hosts``, ``/etc/resolv.conf``,
  ``/run/.containerenv`` …) are in its writable layer: not someone else's changes.
- **Commit** ignores the config a commit is given and takes the container's, to which
  Podman adds ``container=podman`` and ``TERM=xterm``, a ``WorkingDir`` of ``/`` and an
  empty ``Entrypoint``: labels go as ``changes=``, and the filled-in fields are not
  differences. It writes ``Env`` in a random order: compared by name and value.
- **Archive GET** reports every owner as root: the owner comes from the container's
  layers on this host. **Archive PUT** creates a missing destination folder (dockerd
  answers 404): the folder is checked first.
- **Errors**: 500 where dockerd answers 404 or 403; :mod:`hotfix.docker.errors` reads the
  message.
- **Events**: Podman names some actions its own way (``died``, ``exec``, ``exec_died``), and
  ANDs repeated filters: one filter goes to the engine, the rest are applied here.
"""

from __future__ import annotations

import errno
import os
import stat as stat_module
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from typing import Any

from hotfix.core.errors import FileNotFound
from hotfix.core.model import ContainerInfo, FileStat, OverlayDirs
from hotfix.core.paths import normalize, split
from hotfix.docker.answers import parse_go_time
from hotfix.docker.archive import ArchiveFiles
from hotfix.docker.localfs import ChangeListing

PODMAN_HEADER = "Libpod-Api-Version"  # in every answer of Podman's service

# Podman writes these into each container's own layer (or mounts them) when it starts it.
ENGINE_WRITTEN = frozenset(
    {"/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/etc/mtab", "/run/.containerenv"}
)
# Folders listed for those files, or made in the writable layer as mount points (dockerd
# keeps both in a layer of its own, below the container's).
ENGINE_FOLDERS = frozenset({"/etc", "/run", "/dev", "/proc", "/sys"})

# Set in every container Podman creates, so in every image it commits.
FILLED_ENV = frozenset({"container=podman", "TERM=xterm"})
# Set by Podman once it prepares a container (its user's home, its short ID): a commit
# may take them too.
FILLED_ENV_NAMES = frozenset({"HOME", "HOSTNAME"})

# Podman's names for Docker's event actions.
DOCKER_ACTIONS = {"died": "die", "exec": "exec_start", "exec_died": "exec_die"}


def is_podman(ping_headers: Mapping[str, str]) -> bool:
    """Whether an engine's ``/_ping`` answer is Podman's (``/version`` lists a "Podman
    Engine" component too, but costs Podman 0.6 s)."""
    return PODMAN_HEADER in ping_headers


# --- the container diff ---------------------------------------------------------------------


def without_engine_files(listing: ChangeListing) -> ChangeListing:
    """The diff without the files Podman wrote, nor the folders listed only for them or as
    its mount points (Podman's own diff leaves the files out but still lists ``/etc``)."""
    kept = [p for p in listing.paths if p not in ENGINE_WRITTEN]
    kept = [p for p in kept if p not in ENGINE_FOLDERS or _has_descendant(kept, p)]
    return replace(listing, paths=kept, added=listing.added & frozenset(kept))


def _has_descendant(paths: list[str], folder: str) -> bool:
    return any(p.startswith(folder + "/") for p in paths)


# --- commit ---------------------------------------------------------------------------------


def own_env(container_id: str) -> frozenset[str]:
    """The environment Podman sets in a container it creates (dockerd sets none in the
    config): not values the container was given at run time."""
    return FILLED_ENV | {"HOME=/root", f"HOSTNAME={container_id[:12]}"}


def comparable_config(config: dict[str, Any]) -> dict[str, Any]:
    """An image config with what Podman fills in on commit taken out, so the clean image
    and the original compare equal when only Podman's additions differ."""
    comparable = dict(config)
    kept = [
        e
        for e in config.get("Env") or []
        if e not in FILLED_ENV and e.partition("=")[0] not in FILLED_ENV_NAMES
    ]
    # Podman's commit keeps the environment in a map: its order is random from one commit
    # to the next (a flaky "differs in Env"). Each name's value counts; the last one wins.
    comparable["Env"] = sorted({e.partition("=")[0]: e for e in kept}.values())
    if comparable.get("WorkingDir") == "/":
        comparable["WorkingDir"] = ""
    return comparable


def label_changes(conf: dict[str, Any] | None) -> list[str]:
    """A commit config's labels as ``LABEL`` changes (Podman ignores the config itself)."""
    labels = (conf or {}).get("Labels") or {}
    return [f"LABEL {k}={_quote(str(v))}" for k, v in sorted(labels.items())]


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- events ---------------------------------------------------------------------------------


def docker_event(event: dict[str, Any]) -> dict[str, Any]:
    """An event with Docker's action names."""
    action = str(event.get("Action") or event.get("status") or "")
    name, colon, rest = action.partition(":")
    if name.strip() not in DOCKER_ACTIONS:
        return event
    docker_action = DOCKER_ACTIONS[name.strip()] + colon + rest
    return {**event, "Action": docker_action, "status": docker_action}


def events(
    open_stream: Callable[[dict[str, Any]], Iterable[dict[str, Any]]], filters: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    """Podman's event stream as dockerd's: one filter value goes to the engine (Podman ANDs
    repeated ones), the others are matched here, on Docker's action names."""
    sent = {k: v for k, v in filters.items() if k == "type" and _single(v)}
    for event in open_stream(sent):
        event = docker_event(event)
        if all(_matches(event, k, v) for k, v in filters.items() if k not in sent):
            yield event


def _single(value: Any) -> bool:
    return isinstance(value, str) or len(value) == 1


def _matches(event: dict[str, Any], key: str, wanted: Any) -> bool:
    values = [wanted] if isinstance(wanted, str) else list(wanted)
    actor = event.get("Actor") or {}
    found = {
        "type": event.get("Type"),
        "event": str(event.get("Action") or "").partition(":")[0],
        "container": actor.get("ID"),
        "image": (actor.get("Attributes") or {}).get("image"),
    }.get(key)
    if key == "container":
        name = (actor.get("Attributes") or {}).get("name")
        return any(v in (found, name) or (found or "").startswith(v) for v in values)
    return found in values


# --- health checks --------------------------------------------------------------------------

LIBPOD_API = "v4.0.0"  # the oldest libpod API Podman 4 serves
DEFAULT_HEALTH_INTERVAL = 30.0  # seconds, dockerd's and Podman's default


def health_due(attrs: dict[str, Any], now: float) -> bool:
    """Whether a running container's HEALTHCHECK is due by its interval: Podman schedules
    checks with systemd timers, so without systemd (a container host, this VM) none runs
    and the health stays "starting" for ever."""
    state = attrs.get("State") or {}
    health = state.get("Health") or {}
    if not health or not state.get("Running"):
        return False
    healthcheck = (attrs.get("Config") or {}).get("Healthcheck") or {}
    interval = (healthcheck.get("Interval") or 0) / 1e9 or DEFAULT_HEALTH_INTERVAL
    log = health.get("Log") or []
    last = parse_go_time(str((log[-1] if log else {}).get("End") or state.get("StartedAt") or ""))
    return now - last >= interval


def run_health_check(api: Any, attrs: dict[str, Any]) -> dict[str, Any]:
    """The inspect answer with the health Podman reports after running the check now
    (libpod's own endpoint; the compatible API has none). Unchanged when it fails."""
    url = f"{api.base_url}/{LIBPOD_API}/libpod/containers/{attrs['Id']}/healthcheck"
    response = api._get(url)
    if not response.ok:
        return attrs
    result = response.json() or {}
    state = attrs.get("State") or {}
    health = {**(state.get("Health") or {}), "Status": result.get("Status")}
    return {**attrs, "State": {**state, "Health": health}}


# --- files ----------------------------------------------------------------------------------


def no_fast_path(container: ContainerInfo) -> str | None:
    """Why a running container of a local Podman is not reached through /proc/<pid>/root,
    when it is Podman's doing: rootless Podman (or ``--userns``) runs it in a user namespace
    of subordinate ids, and a user who is not root may not enter it."""
    if container.state != "running" or not container.pid:
        return None
    if os.geteuid() != 0:
        return "not root: /proc/<pid>/root of rootless Podman's containers is not ours to use"
    try:
        with open(f"/proc/{container.pid}/uid_map", encoding="utf-8") as fh:
            mapped = fh.read().split() != ["0", "0", "4294967295"]
    except OSError:
        return None
    return (
        f"{container.name} runs in a user namespace (rootless Podman or --userns)"
        if mapped
        else None
    )


def _ids_are_the_hosts(layers: OverlayDirs) -> bool:
    """Whether the layers hold the container's own ids: the writable layer's root belongs
    to root. Rootless Podman (and ``--userns``) keep subordinate ids there instead."""
    try:
        return os.stat(layers.upper).st_uid == 0
    except OSError:
        return False


class PodmanArchiveFiles(ArchiveFiles):
    """The archive API as Podman serves it: owners read from the container's layers when
    they are on this host, and a write into a missing folder refused as dockerd does."""

    def __init__(self, *args: Any, layers_here: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.layers_here = layers_here

    def _container_ids(self, st: FileStat) -> FileStat:
        overlay = self.container.overlay
        # A mount's files are not in the layers (an image file may lie under it there).
        usable = overlay and self.layers_here and not self.container.mount_at(st.path)
        if overlay and usable and _ids_are_the_hosts(overlay):
            owner = layer_owner(overlay, st.path)
        else:
            owner = None
        return replace(st, uid=owner[0], gid=owner[1]) if owner else super()._container_ids(st)

    def write(self, path: str, data: bytes, *, uid: int, gid: int, mode: int) -> float:
        self._folder_exists(path)
        return super().write(path, data, uid=uid, gid=gid, mode=mode)

    def mkdir(self, path: str, *, uid: int, gid: int, mode: int) -> None:
        self._folder_exists(path)
        super().mkdir(path, uid=uid, gid=gid, mode=mode)

    def _folder_exists(self, path: str) -> None:
        parent = split(normalize(path))[0]
        try:
            self.stat(parent)
        except FileNotFound as exc:
            raise FileNotFound(
                f"{self._where(normalize(path))}: parent directory {parent} does not exist"
            ) from exc


def layer_owner(layers: OverlayDirs, path: str) -> tuple[int, int] | None:
    """The owner of ``path`` in the topmost layer that has it (the writable layer first),
    or None when no layer has it, a layer deleted or hid it, or a folder on the way is a
    symlink or no folder (the layers are walked without following any link)."""
    parts = [p for p in normalize(path).split("/") if p]
    for layer in (layers.upper, *layers.lowers):
        found = _owner_in_layer(layer, parts)
        if found != _ABSENT:
            return found if isinstance(found, tuple) else None
    return None


_ABSENT = "absent"  # this layer lacks the path: look below
_HIDDEN = "hidden"  # deleted or hidden here, or not a plain walk: the layers below do not count
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _owner_in_layer(layer: str, parts: list[str]) -> tuple[int, int] | str:
    try:
        fd = os.open(layer, _DIR_FLAGS)
    except OSError:
        return _ABSENT
    opaque = False  # an opaque folder replaces the folders below it: a miss is final
    try:
        for name in parts[:-1]:
            if _whited_out(fd, name):
                return _HIDDEN
            next_fd = os.open(name, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = next_fd
            opaque = opaque or _opaque(fd)
        found = _owner_of(fd, parts)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return _HIDDEN if opaque else _ABSENT
        if exc.errno in (errno.ENOTDIR, errno.ELOOP):
            return _HIDDEN
        raise
    finally:
        os.close(fd)
    return found if found is not None else (_HIDDEN if opaque else _ABSENT)


def _owner_of(fd: int, parts: list[str]) -> tuple[int, int] | str | None:
    """The path's owner, its last part looked up in the folder ``fd``; _HIDDEN for a
    whiteout, None when it is not there."""
    if not parts:
        st = os.fstat(fd)
        return st.st_uid, st.st_gid
    if _whited_out(fd, parts[-1]):
        return _HIDDEN
    try:
        st = os.stat(parts[-1], dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    if stat_module.S_ISCHR(st.st_mode) and st.st_rdev == 0:  # overlay's own whiteout
        return _HIDDEN
    return st.st_uid, st.st_gid


def _whited_out(fd: int, name: str) -> bool:
    try:
        os.stat(f".wh.{name}", dir_fd=fd, follow_symlinks=False)
    except OSError:
        return False
    return True


def _opaque(fd: int) -> bool:
    try:
        return os.getxattr(fd, "trusted.overlay.opaque") == b"y"
    except OSError:
        return False
