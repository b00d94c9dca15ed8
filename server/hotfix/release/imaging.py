"""Commit a hotfixed container as an image.

Clean (the default): the container's ORIGINAL image plus exactly the hotfixed files
(content, owner, mode, mtime), with the original image's own config (CMD, ENTRYPOINT,
ENV, WORKDIR, EXPOSE, USER, HEALTHCHECK, labels) and new labels. Built without a
Dockerfile or a shell: a throwaway container is created (never started) from the
original image, the files are put into it through the archive API, and it is committed
with the original image's config. The new image's config is then compared with the
original's (labels aside) before it is tagged. So the image carries none of the
running container's runtime environment (``-e`` values), logs, pid files or caches.

Whole layer (``--whole-layer``): what ``docker commit`` does — the container's whole
writable layer and its runtime config — after saying what else that layer holds and
which runtime environment variables it captures (names only, never values).

Verify: a throwaway container from the new image (its exposed ports published on
127.0.0.1), the same probe, then removed.
"""

from __future__ import annotations

import posixpath
import re
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from hotfix.core.errors import Cancelled, HotfixError, UsageError
from hotfix.core.model import ContainerDetails, ContainerInfo, FileContent
from hotfix.core.probes import ProbeResult
from hotfix.core.processes import throwaway_name
from hotfix.core.progress import NoProgress, Progress
from hotfix.docker.engine import Engine
from hotfix.release.harvest import BRANCH_PREFIX, REVISION_LABEL, branch_slug, slugify
from hotfix.service.results import Change
from hotfix.store.state import StateStore, first_line, journal_fields, version_of

if TYPE_CHECKING:
    from hotfix.release.workspace import Workspace

BASE_NAME_LABEL = "org.opencontainers.image.base.name"
BASE_DIGEST_LABEL = "org.opencontainers.image.base.digest"
FILES_LABEL = "hotfix.files"
CONTAINER_LABEL = "hotfix.container"
CONTAINER_ID_LABEL = "hotfix.container.id"
MODE_LABEL = "hotfix.mode"
BRANCH_LABEL = "hotfix.branch"

# The parts of an image's config a clean commit must keep exactly as the original has them.
CONFIG_KEYS = (
    "Cmd",
    "Entrypoint",
    "Env",
    "WorkingDir",
    "ExposedPorts",
    "User",
    "Healthcheck",
    "Volumes",
    "StopSignal",
    "Shell",
    "OnBuild",
)

Mode = Literal["clean", "whole-layer"]
Notify = Callable[[str], None]

_TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_REPO_RE = re.compile(
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
)

BUILD_PREFIX = "hotfix-build"  # throwaway containers: the clean layer is built in one
VERIFY_PREFIX = "hotfix-verify"  # and the new image is probed in another


@dataclass(frozen=True)
class ImageFile:
    path: str
    status: str  # modified, created (deleted files cannot be in a clean image)
    mode: int
    uid: int
    gid: int
    version: str


@dataclass(frozen=True)
class VerifyResult:
    container: str  # the throwaway container's name (removed by now)
    probe: str
    healthy: bool
    seconds: float
    result: ProbeResult
    attempts: int


@dataclass(frozen=True)
class CommitResult:
    container: ContainerInfo
    mode: Mode
    tag: str
    image_id: str
    base_image: str  # the original image's reference (or ID when it has none)
    base_image_id: str
    files: list[ImageFile]
    labels: dict[str, str]  # the labels this commit set
    revision: str | None
    harvest_branch: str | None
    replaced: str | None  # the image the tag pointed to before, when it moved
    extra_paths: list[str]  # whole layer: what else the layer holds
    runtime_env: list[str]  # whole layer: runtime environment variables captured (names)
    verify: VerifyResult | None
    seconds: float  # the whole command
    commit_seconds: float  # building the image (throwaway + put + commit, or docker commit)
    notes: list[str] = field(default_factory=list)
    # Whole layer: hotfixed files on a bind mount, volume or tmpfs, which docker commit skips.
    not_in_image: list[str] = field(default_factory=list)


# --- pure parts -----------------------------------------------------------------------------


def split_reference(ref: str) -> tuple[str, str]:
    """``registry:5000/name:tag`` → (``registry:5000/name``, ``tag``); no tag → ``latest``."""
    ref = ref.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        repository, _, tag = ref.rpartition(":")
        return repository, tag
    return ref, "latest"


def check_reference(ref: str) -> tuple[str, str]:
    repository, tag = split_reference(ref)
    name = repository.split("/", 1)[1] if _has_registry(repository) else repository
    if not repository or not _REPO_RE.fullmatch(name) or not _TAG_RE.fullmatch(tag):
        raise UsageError(
            f"--tag {ref!r} is not a valid image reference (lower-case REPOSITORY[:TAG], "
            "TAG of letters, digits, '_', '.', '-', at most 128)"
        )
    return repository, tag


def _has_registry(repository: str) -> bool:
    first, sep, _ = repository.partition("/")
    return bool(sep) and ("." in first or ":" in first or first == "localhost")


def default_tag(base_ref: str, slug: str) -> str:
    """``my_prod_service:v1.0.0`` + ``cause-a-problem-flag`` → ``…:v1.0.0-hotfix-cause-a-problem-flag``."""
    repository, tag = split_reference(base_ref)
    prefix = f"{tag}-hotfix-"
    room = 128 - len(prefix)
    if room < 8:
        prefix, room = "hotfix-", 121
    cut = slug[:room].rstrip("-.") or "files"
    return f"{repository}:{prefix}{cut}"


def image_slug(harvest_branch: str | None, paths: list[str]) -> str:
    if harvest_branch:
        name = harvest_branch
        if name.startswith(BRANCH_PREFIX):
            name = name[len(BRANCH_PREFIX) :]
        slug = slugify(name, 100)
        if slug:
            return slug
    return branch_slug(None, None, paths)


def leaves(paths: list[str]) -> list[str]:
    """The container diff without the parents it lists (``/usr``, ``/usr/src`` …), sorted."""
    unique = sorted(set(paths))
    parents = {parent for p in unique for parent in ancestors(p)}
    return [p for p in unique if p.rstrip("/") not in parents]


def ancestors(path: str) -> Iterator[str]:
    """``/usr/src/app`` → ``/usr/src``, ``/usr``, ``/``."""
    path = path.rstrip("/")
    while path not in ("", "/"):
        path = posixpath.dirname(path)
        yield path


def env_names_added(runtime: list[str], image: list[str]) -> list[str]:
    """Names of environment variables the container has that its image does not (``-e`` etc.)."""
    image_set = set(image)
    names = []
    for item in runtime:
        if item not in image_set:
            names.append(item.split("=", 1)[0])
    return sorted(set(names))


def translate_probe(
    text: str, original: list[tuple[str, int, str]], verify: list[tuple[str, int, str]]
) -> str:
    """Point a probe of the live container's published port at the verify container's port."""
    if not text.startswith(("http://", "https://", "tcp:")):
        return text  # healthcheck / exec: run against the verify container itself
    if text.startswith("tcp:"):
        _, _, port_text = text[4:].rpartition(":")
        port = int(port_text) if port_text.isdigit() else -1
    else:
        parts = urllib.parse.urlsplit(text)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    container_port = next((cport for _, hport, cport in original if hport == port), None)
    if container_port is None:
        raise UsageError(
            f"--probe {text}: port {port} is not one the container publishes, so it cannot be "
            "pointed at the verify container; give a probe of a published port, or none"
        )
    new_port = next((hport for _, hport, cport in verify if cport == container_port), None)
    if new_port is None:
        raise UsageError(
            f"--probe {text}: the new image does not expose {container_port}; the verify "
            "container cannot be probed there"
        )
    if text.startswith("tcp:"):
        return f"tcp:127.0.0.1:{new_port}"
    parts = urllib.parse.urlsplit(text)
    return urllib.parse.urlunsplit(parts._replace(netloc=f"127.0.0.1:{new_port}"))


def config_differences(original: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return [k for k in CONFIG_KEYS if (original.get(k) or None) != (new.get(k) or None)]


# --- the use case ---------------------------------------------------------------------------


def last_harvest(store: StateStore, container_id: str) -> dict[str, Any] | None:
    for entry in reversed(store.journal(container_id)):
        if entry.action == "harvest" and entry.outcome == "ok" and entry.detail.get("commit"):
            return entry.detail
    return None


def _base_reference(container: ContainerInfo, attrs: dict[str, Any]) -> str | None:
    ref = container.image
    image_id = str(attrs.get("Id", ""))
    if ref and not ref.startswith("sha256:") and not image_id.startswith(f"sha256:{ref}"):
        return ref.split("@", 1)[0]  # a digest reference: its name (and tag)
    tags = attrs.get("RepoTags") or []
    return str(tags[0]) if tags else None


def _base_digest(attrs: dict[str, Any]) -> str:
    for digest in attrs.get("RepoDigests") or []:
        if "@" in digest:
            return str(digest.split("@", 1)[1])
    return str(attrs.get("Id", ""))


def commit_image(
    svc: Workspace,
    ref: str,
    *,
    tag: str | None = None,
    whole_layer: bool = False,
    verify: bool = False,
    probe: str | None = None,
    expect_status: list[int] | None = None,
    timeout: float = 60.0,
    progress: Progress | None = None,
    notify: Notify | None = None,
) -> CommitResult:
    """A clean image of the container (its original image + the hotfixed files), or, with
    ``whole_layer``, ``docker commit`` of its whole writable layer; optionally verified."""
    progress = progress or NoProgress()
    started = time.monotonic()
    engine = svc.engine
    details = engine.inspect(ref)
    container = details.info
    mode: Mode = "whole-layer" if whole_layer else "clean"
    progress.report(f"{container.name}: reading the hotfixed files")
    changes = _changes_to_commit(svc, container, whole_layer)
    changes, on_mounts = _off_mounts(container, changes, whole_layer)
    base_attrs = engine.image_attrs(container.image_id)
    base_ref = _base_reference(container, base_attrs)
    paths = [c.path for c in changes]
    notes = _orphans_removed(engine) + _mount_notes(container, on_mounts)
    revision, branch = _revision(svc, container, changes, notes)
    repository, tag_part = _target_tag(container, tag, base_ref, branch, paths)
    full_tag = f"{repository}:{tag_part}"
    before = engine.find_image(full_tag)
    labels = _labels(container, base_ref, base_attrs, paths, mode, revision, branch)
    with svc.store.journalled(
        describe=first_line,
        action="commit-image",
        user=svc.user,
        **journal_fields(container),
        detail={"tag": full_tag, "mode": mode, "files": paths},
    ) as record:
        commit_started = time.monotonic()
        layer = _commit(svc, container, changes, base_attrs, labels, whole_layer, notify, progress)
        commit_seconds = time.monotonic() - commit_started
        engine.tag_image(layer.image_id, repository, tag_part)
        replaced = str(before["Id"]) if before and before.get("Id") != layer.image_id else None
        if replaced:
            notes.append(f"{full_tag} pointed at {replaced[:19]} before; moved to the new image")
        verified = None
        if verify:
            verified = _verify(
                svc, details, layer.image_id, probe, expect_status, timeout, progress
            )
            notes += _verify_notes(container, verified, on_mounts)
        result = CommitResult(
            container=container,
            mode=mode,
            tag=full_tag,
            image_id=layer.image_id,
            base_image=base_ref or container.image_id,
            base_image_id=container.image_id,
            files=layer.files,
            labels=labels,
            revision=revision,
            harvest_branch=branch,
            replaced=replaced,
            extra_paths=layer.extra_paths,
            runtime_env=layer.runtime_env,
            verify=verified,
            seconds=time.monotonic() - started,
            commit_seconds=commit_seconds,
            notes=notes,
            not_in_image=on_mounts,
        )
        record.detail = _journal_detail(svc, result)
    return result


@dataclass(frozen=True)
class _Committed:
    """What a commit made: the image, the hotfixed files in it and, for a whole-layer
    commit, the other paths and the run-time environment names it took along."""

    image_id: str
    files: list[ImageFile]
    extra_paths: list[str] = field(default_factory=list)
    runtime_env: list[str] = field(default_factory=list)


def _commit(
    svc: Workspace,
    container: ContainerInfo,
    changes: list[Change],
    base_attrs: dict[str, Any],
    labels: dict[str, str],
    whole_layer: bool,
    notify: Notify | None,
    progress: Progress,
) -> _Committed:
    if progress.cancelled():
        raise Cancelled("commit cancelled; no image was made")
    if whole_layer:
        return _whole_layer_commit(svc, container, changes, base_attrs, labels, notify, progress)
    config = _config(base_attrs)
    return _Committed(*_clean_commit(svc, container, changes, config, labels, progress))


def _orphans_removed(engine: Engine) -> list[str]:
    """Throwaway containers of a commit that was killed midway, removed: a note, or none."""
    orphans = engine.remove_orphaned_throwaways(BUILD_PREFIX, VERIFY_PREFIX)
    return (
        [f"removed {', '.join(orphans)}, left by a commit that was killed midway"]
        if orphans
        else []
    )


def _config(image_attrs: dict[str, Any]) -> dict[str, Any]:
    return dict(image_attrs.get("Config") or {})


def _changes_to_commit(svc: Workspace, container: ContainerInfo, whole_layer: bool) -> list[Change]:
    changes = [c for c in svc.changes(container.id) if c.status != "unchanged"]
    if not changes and not whole_layer:
        raise HotfixError(
            f"{container.name}: no hotfixed file differs from its checkpoint; a clean image "
            "would equal the original (see `hotfix changes`; --whole-layer commits the layer as is)"
        )
    deleted = [c.path for c in changes if c.status == "deleted"]
    if deleted and not whole_layer:
        raise UsageError(
            f"{container.name}: {', '.join(deleted)} deleted in the container; a clean image is "
            "built through the archive API, which cannot delete a file of the original image — "
            "restore it (`hotfix revert`), or commit with --whole-layer"
        )
    return changes


def _off_mounts(
    container: ContainerInfo, changes: list[Change], whole_layer: bool
) -> tuple[list[Change], list[str]]:
    """The changes an image can carry, and the paths of those on a mount, which no image
    does: docker commit skips mounts, and a container of the image mounts over the path
    again. A clean commit refuses them rather than bake in what was the host's file."""
    on_mounts = [c.path for c in changes if container.mount_at(c.path)]
    if on_mounts and not whole_layer:
        raise UsageError(
            f"{container.name}: {_on_mount_text(container, on_mounts)}; no image carries a "
            "file on a mount (docker commit skips mounts) — put the fix at a path in the "
            "image (copy the file there and point the service at it), or change it where "
            "the mount comes from"
        )
    return [c for c in changes if c.path not in on_mounts], on_mounts


def _on_mount_text(container: ContainerInfo, paths: list[str]) -> str:
    """ "/etc/app.conf is on a bind mount of the host's /srv/conf, …"."""
    return ", ".join(
        f"{path} is on {mount.describe()}"
        for path in paths
        if (mount := container.mount_at(path)) is not None
    )


def _mount_notes(container: ContainerInfo, on_mounts: list[str]) -> list[str]:
    if not on_mounts:
        return []
    return [
        f"not in the image: {_on_mount_text(container, on_mounts)} (docker commit skips "
        "mounts; the image keeps what it had there)"
    ]


def _verify_notes(
    container: ContainerInfo, verified: VerifyResult, on_mounts: list[str]
) -> list[str]:
    """Why a verify may fail where the container works: its fix sat on a mount."""
    if verified.healthy or not on_mounts:
        return []
    return [
        f"verify failed, and hotfixed files sat on mounts the image lacks: "
        f"{_on_mount_text(container, on_mounts)} — the verify container ran without the fix"
    ]


def _revision(
    svc: Workspace, container: ContainerInfo, changes: list[Change], notes: list[str]
) -> tuple[str | None, str | None]:
    """The harvest commit and branch: the commit is the image's revision only when the files
    are still what the harvest took."""
    harvest = last_harvest(svc.store, container.id)
    if not harvest:
        notes.append(f"no harvest of {container.name}; {REVISION_LABEL} is left as the base has it")
        return None, None
    branch = str(harvest.get("branch") or "") or None
    took = {f["path"]: f.get("version") for f in harvest.get("files") or []}
    now: dict[str, str | None] = {}
    for c in changes:
        now[c.path] = None if c.status == "deleted" else svc.read(container.id, c.path).version
    if all(p in took and took[p] == v for p, v in now.items()):
        return str(harvest["commit"]), branch
    notes.append(
        f"the files changed after the harvest to {branch}; {REVISION_LABEL} is not set "
        "to its commit — harvest again first to get it"
    )
    return None, branch


def _target_tag(
    container: ContainerInfo,
    tag: str | None,
    base_ref: str | None,
    branch: str | None,
    paths: list[str],
) -> tuple[str, str]:
    if tag:
        repository, tag_part = check_reference(tag)
    elif base_ref:
        repository, tag_part = check_reference(default_tag(base_ref, image_slug(branch, paths)))
    else:
        raise UsageError(
            f"{container.name} runs an image without a name ({container.image_id[:19]}); "
            "give --tag REPOSITORY:TAG"
        )
    if base_ref and split_reference(base_ref) == (repository, tag_part):
        raise UsageError(
            f"--tag {repository}:{tag_part} is the original image's own name; the hotfix image "
            "would replace it — give another tag"
        )
    return repository, tag_part


def _labels(
    container: ContainerInfo,
    base_ref: str | None,
    base_attrs: dict[str, Any],
    paths: list[str],
    mode: Mode,
    revision: str | None,
    branch: str | None,
) -> dict[str, str]:
    labels = {
        BASE_NAME_LABEL: base_ref or container.image_id,
        BASE_DIGEST_LABEL: _base_digest(base_attrs),
        FILES_LABEL: ",".join(paths),
        CONTAINER_LABEL: container.name,
        CONTAINER_ID_LABEL: container.id,
        MODE_LABEL: mode,
    }
    if revision:
        labels[REVISION_LABEL] = revision
    if branch:
        labels[BRANCH_LABEL] = branch
    return labels


def _whole_layer_commit(
    svc: Workspace,
    container: ContainerInfo,
    changes: list[Change],
    base_attrs: dict[str, Any],
    labels: dict[str, str],
    notify: Notify | None,
    progress: Progress,
) -> _Committed:
    say: Notify = notify or (lambda message: None)
    paths = [c.path for c in changes]
    extra, runtime_env = _whole_layer_preview(svc.engine, container, _config(base_attrs), paths)
    shown = ", ".join(extra[:20]) + (f" and {len(extra) - 20} more" if len(extra) > 20 else "")
    say(
        f"--whole-layer: the image also takes {len(extra)} other path(s) of the writable "
        f"layer: {shown or 'none'}"
    )
    say(
        "--whole-layer: it captures the container's runtime config, including "
        f"environment variables set at run time: {', '.join(runtime_env) or 'none'} "
        "(values not shown)"
    )
    files = [
        _image_file(svc.read(container.id, c.path), c.status)
        for c in changes
        if c.status != "deleted"
    ]
    progress.report(f"docker commit {container.name} (whole writable layer)")
    image_id = svc.engine.commit(
        container.id,
        changes=[f"LABEL {k}={_quote(v)}" for k, v in sorted(labels.items())],
        message=f"hotfix whole-layer commit of {container.name}",
        author=svc.user,
        pause=True,
    )
    return _Committed(image_id, files, extra, runtime_env)


def _journal_detail(svc: Workspace, result: CommitResult) -> dict[str, Any]:
    verified = result.verify
    return {
        "image_id": result.image_id,
        "base_image": result.base_image,
        "base_image_id": result.base_image_id,
        "revision": result.revision,
        "branch": result.harvest_branch,
        "replaced": result.replaced,
        "extra_paths": len(result.extra_paths),
        "runtime_env": result.runtime_env,
        "commit_seconds": round(result.commit_seconds, 3),
        "seconds": round(result.seconds, 3),
        "verify": (
            {
                "probe": verified.probe,
                "healthy": verified.healthy,
                "seconds": round(verified.seconds, 3),
                "probe_result": svc.redact(result.container.id, verified.result.detail),
                "status": verified.result.status,
            }
            if verified
            else None
        ),
    }


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _image_file(read: Any, status: str) -> ImageFile:
    st = read.stat
    return ImageFile(read.path, status, st.mode, st.uid or 0, st.gid or 0, version_of(read.data))


def _whole_layer_preview(
    engine: Engine, container: ContainerInfo, base_config: dict[str, Any], paths: list[str]
) -> tuple[list[str], list[str]]:
    hotfix = set(paths)
    parents = {parent for p in paths for parent in ancestors(p)}
    changed = engine.changed_paths(container)
    extra = [p for p in leaves(changed) if p not in hotfix and p not in parents]
    attrs = engine.container_attrs(container.id)
    runtime = list((attrs.get("Config") or {}).get("Env") or [])
    set_by_engine = engine.engine_env(attrs)  # Podman's HOME, HOSTNAME, TERM, container
    runtime = [e for e in runtime if e not in set_by_engine]
    return extra, env_names_added(runtime, list(base_config.get("Env") or []))


def _clean_commit(
    svc: Workspace,
    container: ContainerInfo,
    changes: list[Any],
    base_config: dict[str, Any],
    labels: dict[str, str],
    progress: Progress,
) -> tuple[str, list[ImageFile]]:
    engine = svc.engine
    contents: list[FileContent] = []
    files: list[ImageFile] = []
    for c in changes:
        read = svc.read(container.id, c.path)
        contents.append(FileContent(read.data, read.stat))
        files.append(_image_file(read, c.status))
    name = throwaway_name(BUILD_PREFIX, container.name)
    progress.report(f"creating {name} from the original image {container.image_id[:19]}")
    throwaway = engine.create_container(container.image_id, name)
    try:
        progress.report(f"putting {len(contents)} file(s) into {name}")
        engine.put_files(throwaway, contents)
        conf = dict(base_config)
        conf["Labels"] = {**(base_config.get("Labels") or {}), **labels}
        progress.report("committing the clean image")
        image_id = engine.commit(
            throwaway,
            conf=conf,
            message=f"hotfix of {container.name}: {', '.join(c.path for c in changes)}",
            author=svc.user,
            pause=False,
        )
    finally:
        engine.remove_container(throwaway)
    new_config = engine.image_attrs(image_id).get("Config") or {}
    # What the engine fills in on every commit (Podman: Env, WorkingDir) is no difference.
    differs = config_differences(
        engine.comparable_config(base_config), engine.comparable_config(new_config)
    )
    if differs:
        engine.remove_image(image_id)
        raise HotfixError(
            f"the clean image's config differs from the original's in {', '.join(differs)}; "
            "image removed (commit with --whole-layer if this image cannot be rebuilt cleanly)"
        )
    return image_id, files


def _verify(
    svc: Workspace,
    original: ContainerDetails,
    image_id: str,
    probe: str | None,
    expect_status: list[int] | None,
    timeout: float,
    progress: Progress,
) -> VerifyResult:
    engine = svc.engine
    config = engine.image_attrs(image_id).get("Config") or {}
    ports = sorted((config.get("ExposedPorts") or {}).keys())
    name = throwaway_name(VERIFY_PREFIX, original.info.name)
    progress.report(f"starting {name} from the new image")
    started = time.monotonic()  # seconds: from the start of the container to healthy
    details = engine.run_container(image_id, name, ports)
    try:
        text = translate_probe(probe, original.published, details.published) if probe else None
        chosen = svc.plan_probe(details, text, expect_status)
        healthy, last, _, attempts = svc.wait_healthy(
            details.info, chosen, timeout, progress, started
        )
        seconds = time.monotonic() - started
    finally:
        engine.remove_container(details.info.id)
    return VerifyResult(name, str(chosen), healthy, seconds, last, attempts)
