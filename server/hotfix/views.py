"""JSON shapes of results, shared by ``--json`` output and the language server."""

from __future__ import annotations

from typing import Any

from hotfix.model import ContainerInfo, FileStat
from hotfix.service import Change, RestartResult
from hotfix.state import Checkpoint, JournalEntry


def container_view(c: ContainerInfo) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "image": c.image,
        "state": c.state,
        "health": c.health,
        "service": c.service,
        "ports": c.ports,
    }


def stat_view(st: FileStat) -> dict[str, Any]:
    return {
        "type": st.kind,
        "size": st.size,
        "mode": f"{st.mode:04o}",
        "uid": st.uid,
        "gid": st.gid,
        "mtime": st.mtime,
        "linkTarget": st.link_target,
    }


def checkpoint_view(cp: Checkpoint) -> dict[str, Any]:
    return {
        "containerId": cp.container_id,
        "container": cp.container_name,
        "path": cp.path,
        "image": cp.image,
        "present": cp.present,
        "version": cp.version,
        "mode": f"{cp.mode:04o}" if cp.mode is not None else None,
        "uid": cp.uid,
        "gid": cp.gid,
        "createdAt": cp.created_at,
    }


def change_view(c: Change) -> dict[str, Any]:
    return {
        "containerId": c.container_id,
        "container": c.container_name,
        "path": c.path,
        "status": c.status,
        "containerExists": c.container_exists,
    }


def restart_view(r: RestartResult) -> dict[str, Any]:
    view: dict[str, Any] = {
        "container": r.container.name,
        "containerId": r.container.id,
        "action": r.action,
        "healthy": r.healthy,
        "seconds": round(r.seconds, 3),
        "attempts": r.attempts,
        "probe": {
            "spec": r.probe,
            "ok": r.result.ok,
            "detail": r.result.detail,
            "status": r.result.status,
            "body": r.result.body,
        },
    }
    if r.after_revert is not None:
        view["reverted"] = r.reverted
        view["afterRevert"] = restart_view(r.after_revert)
    return view


def journal_view(e: JournalEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "time": e.time,
        "user": e.user,
        "action": e.action,
        "containerId": e.container_id,
        "container": e.container_name,
        "image": e.image,
        "path": e.path,
        "versionBefore": e.version_before,
        "versionAfter": e.version_after,
        "outcome": e.outcome,
        "detail": e.detail,
    }
