"""JSON shapes of results, shared by ``--json`` output and the language server."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only for annotations: the CLI should not import git to print a table
    from hotfix.core.model import ContainerInfo, FileStat
    from hotfix.fleet import ApplyResult, RolloutResult
    from hotfix.release.harvest import HarvestResult
    from hotfix.release.imaging import CommitResult
    from hotfix.service.results import Change, RestartResult, WriteResult
    from hotfix.store.state import Checkpoint, JournalEntry


def container_view(c: ContainerInfo) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "image": c.image,
        "state": c.state,
        "health": c.health,
        "service": c.service,
        "ports": c.ports,
        "engine": c.engine,
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


def write_view(r: WriteResult) -> dict[str, Any]:
    return {
        "container": r.container.name,
        "path": r.path,
        "version": r.version,
        "previousVersion": r.previous_version,
        "checkpointed": r.checkpointed,
        "warnings": r.warnings,
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


def harvest_view(r: HarvestResult) -> dict[str, Any]:
    return {
        "container": r.container.name,
        "containerId": r.container.id,
        "image": r.image,
        "imageId": r.image_id,
        "repo": r.repo,
        "branch": r.branch,
        "newBranch": r.new_branch,
        "commit": r.commit,
        "parent": r.parent,
        "base": r.base,
        "baseSource": r.base_source,
        "files": [
            {
                "path": f.path,
                "repoPath": f.repo_path,
                "status": f.status,
                "action": f.action,
                "mappedBy": f.mapped_by,
                "executable": f.executable,
                "version": f.version,
                "binary": f.binary,
            }
            for f in r.files
        ],
        "test": (
            {
                "command": r.test.command,
                "exitCode": r.test.exit_code,
                "seconds": round(r.test.seconds, 3),
                "output": r.test.output,
            }
            if r.test
            else None
        ),
        "diff": r.diff,
        "seconds": round(r.seconds, 3),
        "notes": r.notes,
    }


def commit_image_view(r: CommitResult) -> dict[str, Any]:
    view: dict[str, Any] = {
        "container": r.container.name,
        "containerId": r.container.id,
        "mode": r.mode,
        "tag": r.tag,
        "imageId": r.image_id,
        "baseImage": r.base_image,
        "baseImageId": r.base_image_id,
        "files": [
            {
                "path": f.path,
                "status": f.status,
                "mode": f"{f.mode:04o}",
                "uid": f.uid,
                "gid": f.gid,
                "version": f.version,
            }
            for f in r.files
        ],
        "labels": r.labels,
        "revision": r.revision,
        "harvestBranch": r.harvest_branch,
        "replaced": r.replaced,
        "extraPaths": r.extra_paths,
        "runtimeEnv": r.runtime_env,
        "seconds": round(r.seconds, 3),
        "commitSeconds": round(r.commit_seconds, 3),
        "notes": r.notes,
        "verify": None,
    }
    if r.verify is not None:
        v = r.verify
        view["verify"] = {
            "container": v.container,
            "probe": v.probe,
            "healthy": v.healthy,
            "seconds": round(v.seconds, 3),
            "attempts": v.attempts,
            "detail": v.result.detail,
            "status": v.result.status,
        }
    return view


def apply_view(r: ApplyResult) -> dict[str, Any]:
    return {
        "source": str(r.source),
        "files": r.files,
        "rolling": r.rolling,
        "seconds": round(r.seconds, 3),
        "ok": r.ok,
        "targets": [
            {
                "container": str(o.target),
                "engine": o.target.engine,
                "status": o.status,
                "files": o.files,
                "detail": o.detail,
                "health": restart_view(o.health) if o.health else None,
            }
            for o in r.outcomes
        ],
    }


def rollout_view(r: RolloutResult) -> dict[str, Any]:
    return {
        "service": r.service,
        "image": r.image,
        "previousImage": r.previous_image,
        "state": r.state,
        "converged": r.converged,
        "message": r.message,
        "seconds": round(r.seconds, 3),
        "tasks": [
            {
                "slot": t.slot,
                "state": t.state,
                "image": t.image,
                "containerId": t.container_id,
                "message": t.message,
            }
            for t in r.tasks
        ],
    }
