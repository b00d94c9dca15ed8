"""The Engine's answers about containers (``/containers/json``, inspect) as
:mod:`hotfix.core.model` values, and its RFC 3339 times as epoch seconds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hotfix.core.model import ContainerDetails, ContainerInfo, Mount, MountType, OverlayDirs


def info_from_summary(row: dict[str, Any]) -> ContainerInfo:
    names = row.get("Names") or ["/" + row["Id"][:12]]
    status = row.get("Status") or ""
    health = None
    for word in ("healthy", "unhealthy", "health: starting"):
        if f"({word})" in status:
            health = word.replace("health: ", "")
    ports = [_port_text(p) for p in row.get("Ports") or [] if p.get("PublicPort")]
    return ContainerInfo(
        id=row["Id"],
        name=names[0].lstrip("/"),
        image=row.get("Image", ""),
        image_id=row.get("ImageID", ""),
        state=row.get("State", ""),
        health=health,
        labels=row.get("Labels") or {},
        ports=sorted(set(ports)),
    )


def _port_text(p: dict[str, Any]) -> str:
    return (
        f"{p.get('IP') or '0.0.0.0'}:{p['PublicPort']}->{p['PrivatePort']}/{p.get('Type', 'tcp')}"
    )


def details_from_inspect(attrs: dict[str, Any]) -> ContainerDetails:
    state = attrs.get("State") or {}
    config = attrs.get("Config") or {}
    host_config = attrs.get("HostConfig") or {}
    published = _published_ports(attrs)
    healthcheck = (config.get("Healthcheck") or {}).get("Test")
    if healthcheck and healthcheck[0] == "NONE":
        healthcheck = None
    info = ContainerInfo(
        id=attrs["Id"],
        name=attrs.get("Name", "").lstrip("/"),
        image=config.get("Image", ""),
        image_id=attrs.get("Image", ""),
        state=state.get("Status", ""),
        health=(state.get("Health") or {}).get("Status"),
        labels=config.get("Labels") or {},
        ports=[f"{ip or '0.0.0.0'}:{port}->{cport}" for ip, port, cport in published],
        pid=int(state.get("Pid") or 0),
        unarchivable=_unarchivable_mounts(attrs),
        overlay=_overlay_dirs(attrs),
        mounts=mounts_from_inspect(attrs),
    )
    return ContainerDetails(
        info=info,
        healthcheck=healthcheck,
        published=published,
        stop_timeout=config.get("StopTimeout"),
        exit_code=state.get("ExitCode"),
        read_only=bool(host_config.get("ReadonlyRootfs")),
        stop_signal=config.get("StopSignal") or None,
    )


def _published_ports(attrs: dict[str, Any]) -> list[tuple[str, int, str]]:
    """(host IP, host port, container port) of each published port."""
    host_config = attrs.get("HostConfig") or {}
    # Live bindings while running; the configured ones when stopped (a restart brings them back).
    bindings = (
        (attrs.get("NetworkSettings") or {}).get("Ports") or host_config.get("PortBindings") or {}
    )
    published: list[tuple[str, int, str]] = []
    for container_port, hosts in sorted(bindings.items()):
        for host in hosts or []:
            if host.get("HostPort"):
                published.append((host.get("HostIp") or "", int(host["HostPort"]), container_port))
    return published


def _overlay_dirs(attrs: dict[str, Any]) -> OverlayDirs | None:
    driver = attrs.get("GraphDriver") or {}
    data = driver.get("Data") or {}
    # Podman names the same layout "overlay".
    if driver.get("Name") not in ("overlay2", "overlay") or not data.get("UpperDir"):
        return None
    lowers = tuple(p for p in str(data.get("LowerDir") or "").split(":") if p)
    return OverlayDirs(str(data["UpperDir"]), lowers)


_MOUNT_TYPES: dict[str, MountType] = {"bind": "bind", "volume": "volume", "tmpfs": "tmpfs"}


def mounts_from_inspect(attrs: dict[str, Any]) -> tuple[Mount, ...]:
    """The container's mounts (``Mounts``, and ``--tmpfs`` ones, which only ``HostConfig``
    names), sorted by destination."""
    mounts = {
        str(m["Destination"]): Mount(
            type=_MOUNT_TYPES.get(str(m.get("Type")), "other"),
            destination=str(m["Destination"]),
            source=str(m.get("Source") or ""),
            name=str(m.get("Name") or "") if m.get("Type") == "volume" else "",
        )
        for m in attrs.get("Mounts") or []
        if m.get("Destination")
    }
    for destination in (attrs.get("HostConfig") or {}).get("Tmpfs") or {}:
        mounts.setdefault(destination, Mount("tmpfs", destination))
    return tuple(mounts[d] for d in sorted(mounts))


def _unarchivable_mounts(attrs: dict[str, Any]) -> tuple[str, ...]:
    """Where the archive API sees the image's directory, not what the container mounted."""
    tmpfs = set((attrs.get("HostConfig") or {}).get("Tmpfs") or {})
    tmpfs |= {m["Destination"] for m in attrs.get("Mounts") or [] if m.get("Type") == "tmpfs"}
    return tuple(sorted(tmpfs | {"/dev", "/proc", "/sys"}))


def parse_go_time(text: str) -> float:
    """Parse RFC 3339 with nanoseconds ("2024-05-01T10:00:00.123456789Z")."""
    if not text:
        return 0.0
    main, _, rest = text.partition(".")
    frac = ""
    tz = "+00:00"
    if rest:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        frac, tz = rest[:digits], rest[digits:] or tz
    elif text.endswith("Z"):
        main = text[:-1]
    else:
        for sign in ("+", "-"):
            idx = main.rfind(sign, 19)
            if idx > 0:
                main, tz = main[:idx], main[idx:]
    if tz == "Z":
        tz = "+00:00"
    try:
        moment = datetime.fromisoformat(main + tz)
    except ValueError:
        return 0.0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp() + (float("0." + frac) if frac else 0.0)
