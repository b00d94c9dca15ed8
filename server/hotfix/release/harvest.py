"""Harvest: carry a container's hotfixed files to a ``hotfix-*`` branch of the source repository.

Nothing is recreated from memory: the files are the ones the state store knows were
changed (checkpoint vs. live), read from the container as they are now.

1. Map each container path to a repository path (``--map`` prefixes, else the image's
   WORKDIR and the longest path suffix of a tracked file); ambiguous or unmatched paths
   are refused with the candidates and the ``--map`` that settles them.
2. Base commit: the image's ``org.opencontainers.image.revision`` when the repository has
   it, else HEAD. A branch harvested earlier from the same container is continued instead.
3. Compute every file's new content first: a plain copy when the repository still holds
   the checkpoint's content, else a three-way merge (base = checkpoint, ours = repository,
   theirs = container) with ``git merge-file``. Any conflict refuses the whole harvest
   before anything is created.
4. In a temporary worktree: write the files (exec bit carried), run ``--test``, commit;
   then create or advance the branch. The worktree is removed afterwards, also on failure.
"""

from __future__ import annotations

import posixpath
import re
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from hotfix.core.errors import (
    Cancelled,
    Conflict,
    FileIsADirectory,
    FileNotADirectory,
    HotfixError,
    UsageError,
)
from hotfix.core.model import ContainerInfo
from hotfix.core.paths import normalize
from hotfix.git.repo import MODE_EXEC, MODE_FILE, MODE_GITLINK, MODE_SYMLINK, GitRepo, TestRun
from hotfix.store.state import StateStore, journal_fields, version_of

if TYPE_CHECKING:
    from hotfix.core.progress import Progress
    from hotfix.release.workspace import Workspace
    from hotfix.service.results import Change

REVISION_LABEL = "org.opencontainers.image.revision"
BRANCH_PREFIX = "hotfix-"
SLUG_MAX = 48

Action = Literal["copied", "merged", "deleted", "mode", "unchanged"]


# --- errors ---------------------------------------------------------------------------------


class HarvestConflict(Conflict):
    """The repository and the container changed the same lines: nothing was created."""

    def __init__(self, message: str, hunks: dict[str, str]) -> None:
        super().__init__(message)
        self.hunks = hunks


class HarvestTestFailed(HotfixError):
    """``--test`` failed in the worktree: nothing was committed."""

    def __init__(self, message: str, test: TestRun) -> None:
        super().__init__(message)
        self.test = test


# --- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class HarvestedFile:
    path: str  # in the container
    repo_path: str  # relative to the repository's top level
    status: str  # the container's change: modified, created, deleted
    action: Action  # what the harvest did in the repository
    mapped_by: str
    executable: bool
    version: str | None  # the live content's version (None: deleted in the container)
    binary: bool = False
    blob: str | None = None  # the live content, kept in the state store (sha256)


@dataclass(frozen=True)
class HarvestResult:
    container: ContainerInfo
    image: str
    image_id: str
    repo: str
    branch: str | None  # None when there was nothing to commit
    new_branch: bool
    commit: str | None
    parent: str  # the commit the new one sits on (the base, or the branch's previous tip)
    base: str
    base_source: str
    files: list[HarvestedFile]
    test: TestRun | None
    diff: str
    seconds: float
    notes: list[str] = field(default_factory=list)


# --- pure parts: --map, path mapping, slugs, the commit message ----------------------------


@dataclass(frozen=True)
class PathMap:
    """``--map CONTAINER_PATH=REPO_PATH``: a container path prefix and where it lives in the repo."""

    container: str
    repo: str  # relative, normalised; "" is the repository's top level
    text: str


@dataclass(frozen=True)
class Mapped:
    repo_path: str
    how: str


def parse_map(text: str) -> PathMap:
    container, sep, repo = text.partition("=")
    if not sep or not container.strip() or not repo.strip():
        raise UsageError(
            f"--map {text!r}: expected CONTAINER_PATH=REPO_PATH, e.g. --map /usr/src/app=service"
        )
    container = normalize(container.strip())
    raw = repo.strip()
    if raw.startswith("/"):
        raise UsageError(
            f"--map {text!r}: REPO_PATH must be relative to the repository's top level"
        )
    rel = posixpath.normpath(raw)
    if rel == ".":
        rel = ""
    if rel == ".." or rel.startswith("../"):
        raise UsageError(f"--map {text!r}: REPO_PATH leaves the repository")
    return PathMap(container, rel, text)


def _under(path: str, prefix: str) -> str | None:
    """The part of ``path`` below ``prefix`` ("" when equal), or None when not under it."""
    if prefix == "/":
        return path.lstrip("/")
    if path == prefix:
        return ""
    if path.startswith(prefix + "/"):
        return path[len(prefix) + 1 :]
    return None


def _common_suffix(path: str, repo_path: str) -> int:
    """How many trailing path components ``path`` and ``repo_path`` share."""
    a, b = path.strip("/").split("/"), repo_path.split("/")
    n = 0
    while n < min(len(a), len(b)) and a[-1 - n] == b[-1 - n]:
        n += 1
    return n


def map_paths(
    files: Sequence[tuple[str, bool]],
    tracked: Collection[str],
    workdir: str | None = None,
    maps: Sequence[PathMap] = (),
    known: dict[str, str] | None = None,
) -> dict[str, Mapped]:
    """Map container paths to repository paths, or refuse listing what would settle it.

    ``files``: (container path, must_exist) — must_exist is True for a file that existed at
    its checkpoint (it should be tracked in the repository); False for one the hotfix created.
    ``known``: mappings from an earlier harvest of the same container (used before inference).
    """
    known = known or {}
    tracked_set = set(tracked)
    workdir = normalize(workdir) if workdir else None
    mapped: dict[str, Mapped] = {}
    problems: list[str] = []
    pending: dict[str, list[str]] = {}  # ambiguous, existing files: their candidates
    deferred: list[str] = []  # created files: mapped from the others' directories

    for m in maps:
        if not any(_under(path, m.container) is not None for path, _ in files):
            problems.append(
                f"--map {m.text}: no changed file under {m.container} "
                f"(changed: {', '.join(p for p, _ in files)})"
            )

    for path, must_exist in files:
        best: PathMap | None = None
        for m in maps:
            rest = _under(path, m.container)
            if rest is not None and (best is None or len(m.container) > len(best.container)):
                best = m
        if best is not None:
            rest = _under(path, best.container) or ""
            target = posixpath.join(best.repo, rest) if rest else best.repo
            if not rest and (not target or best.text.rstrip().endswith("/")):
                target = posixpath.join(target, posixpath.basename(path))
            if must_exist and target not in tracked_set:
                problems.append(
                    f"--map {best.text}: {path} maps to {target or '.'}, which the repository "
                    "does not track (check the REPO_PATH)"
                )
                continue
            mapped[path] = Mapped(target, f"--map {best.text}")
            continue
        if path in known:
            mapped[path] = Mapped(known[path], "earlier harvest")
            continue
        if not must_exist:
            deferred.append(path)
            continue
        scored = [(_common_suffix(path, t), t) for t in tracked_set]
        top = max((s for s, _ in scored), default=0)
        candidates = sorted(t for s, t in scored if s == top and s > 0)
        if len(candidates) == 1:
            how = "workdir" if workdir and _under(path, workdir) == candidates[0] else "suffix"
            mapped[path] = Mapped(candidates[0], how)
        elif not candidates:
            problems.append(
                f"{path}: no tracked file in the repository ends with "
                f"{posixpath.basename(path)!r}; settle it with --map {path}=REPO_PATH"
            )
        else:
            pending[path] = candidates

    # The WORKDIR (or a directory) of a file mapped for sure tells where its neighbours live.
    anchors = _anchors(mapped, workdir)
    for path, candidates in pending.items():
        guess = _anchored(path, anchors, workdir)
        if guess is not None and guess[0] in candidates:
            mapped[path] = Mapped(*guess)
            continue
        rel = _under(path, workdir) if workdir else None
        ordered = sorted(candidates, key=lambda c: (c != rel, c))
        shown = ", ".join(ordered[:8]) + (
            f" and {len(ordered) - 8} more" if len(ordered) > 8 else ""
        )
        problems.append(
            f"{path}: ambiguous, the repository has {shown}; settle it with "
            f"--map {path}={ordered[0]}"
            + (f" (or --map {workdir}=DIR for the whole WORKDIR)" if rel else "")
        )
    for path in deferred:
        guess = _anchored(path, anchors, workdir)
        if guess is None:
            where = f"--map {workdir}=DIR" if workdir and _under(path, workdir) else ""
            problems.append(
                f"{path}: created in the container and no other harvested file shows where its "
                f"directory lives in the repository; settle it with --map {path}=REPO_PATH"
                + (f" or {where}" if where else "")
            )
            continue
        mapped[path] = Mapped(*guess)

    seen: dict[str, str] = {}
    for path, chosen in sorted(mapped.items()):
        if chosen.repo_path in seen:
            problems.append(
                f"{seen[chosen.repo_path]} and {path} both map to {chosen.repo_path}; "
                "give --map for one"
            )
        seen[chosen.repo_path] = path
    if problems:
        raise UsageError(
            "cannot map the container's files to the repository:\n  " + "\n  ".join(problems)
        )
    return mapped


def _anchors(mapped: dict[str, Mapped], workdir: str | None) -> dict[str, set[str]]:
    """Container directory → repository directories, learned from files mapped for sure."""
    anchors: dict[str, set[str]] = {}
    for path, m in mapped.items():
        if posixpath.basename(path) == posixpath.basename(m.repo_path):
            anchors.setdefault(posixpath.dirname(path), set()).add(posixpath.dirname(m.repo_path))
        rel = _under(path, workdir) if workdir else None
        if workdir and rel and (m.repo_path == rel or m.repo_path.endswith("/" + rel)):
            root = m.repo_path[: len(m.repo_path) - len(rel)].rstrip("/")
            anchors.setdefault("\0workdir", set()).add(root)
    return anchors


def _anchored(
    path: str, anchors: dict[str, set[str]], workdir: str | None
) -> tuple[str, str] | None:
    dirs = anchors.get(posixpath.dirname(path), set())
    if len(dirs) == 1:
        return posixpath.join(next(iter(dirs)), posixpath.basename(path)), "directory"
    rel = _under(path, workdir) if workdir else None
    roots = anchors.get("\0workdir", set())
    if rel and len(roots) == 1:
        return posixpath.join(next(iter(roots)), rel), "workdir"
    return None


def slugify(text: str, max_len: int = SLUG_MAX) -> str:
    """Lower-case words joined by '-': "Cause a problem: flag!" → "cause-a-problem-flag"."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > max_len:
            if not slug:
                slug = word[:max_len]
            break
        slug = candidate
    return slug


def branch_slug(branch: str | None, message: str | None, paths: Sequence[str]) -> str:
    """The slug of ``hotfix-<slug>``: from --branch, else the message's subject, else the names."""
    if branch:
        name = branch.strip()
        for prefix in ("hotfix-", "hotfix/", "hotfix_"):
            if name.lower().startswith(prefix):
                name = name[len(prefix) :]
        slug = slugify(name)
        if not slug:
            raise UsageError(f"--branch {branch!r}: no letters or digits to name a branch with")
        return slug
    if message and slugify(message.strip().splitlines()[0] if message.strip() else ""):
        return slugify(message.strip().splitlines()[0])
    stems = []
    for p in paths:
        stem = slugify(posixpath.splitext(posixpath.basename(p))[0] or posixpath.basename(p))
        if stem and stem not in stems:
            stems.append(stem)
    slug = slugify("-".join(stems[:3]) + ("-and-more" if len(stems) > 3 else ""))
    return slug or "files"


def default_subject(container_name: str, files: Sequence[HarvestedFile]) -> str:
    names = [posixpath.basename(f.repo_path) for f in files]
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return f"Hotfix {shown} from container {container_name}"


def commit_message(
    *,
    message: str | None,
    container_name: str,
    container_id: str,
    image: str,
    image_id: str,
    files: Sequence[HarvestedFile],
    base: str,
    base_source: str,
) -> str:
    """Subject, a body naming container, image and files, then the Hotfix-* trailers."""
    text = (message or "").strip()
    subject, _, rest = text.partition("\n")
    subject = subject.strip() or default_subject(container_name, files)
    lines = [subject, ""]
    if rest.strip():
        lines += [rest.strip(), ""]
    lines.append(
        f"Harvested from container {container_name} ({container_id}), running image "
        f"{image or '(unknown)'} ({image_id})."
    )
    lines += ["", "Files:"]
    for f in files:
        how = {"copied": "", "merged": ", merged three-way", "deleted": "", "mode": ", mode only"}
        exec_note = ", executable" if f.executable and f.action != "deleted" else ""
        lines.append(f"  {f.repo_path} <- {f.path} ({f.status}{how.get(f.action, '')}{exec_note})")
    lines += ["", f"Base: {base[:12]} ({base_source})", ""]
    lines.append(f"Hotfix-Container: {container_name} ({container_id})")
    lines.append(f"Hotfix-Image: {image or '(unknown)'} ({image_id})")
    return "\n".join(lines) + "\n"


def conflict_hunks(merged: bytes, context: int = 2) -> str:
    """The conflicting regions of ``git merge-file`` output, with line numbers and context."""
    lines = merged.decode("utf-8", "replace").splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        if lines[i].startswith("<<<<<<< "):
            start = i
            end = i
            while end < len(lines) and not lines[end].startswith(">>>>>>> "):
                end += 1
            lo = max(0, start - context)
            hi = min(len(lines), end + 1 + context)
            out.append(f"@@ merged lines {lo + 1}-{hi} @@")
            out += [f"  {line}" for line in lines[lo:hi]]
            i = end + 1
        else:
            i += 1
    return "\n".join(out)


def _kind(mode: int) -> str:
    return {MODE_SYMLINK: "a symlink", MODE_GITLINK: "a submodule"}.get(mode, "a file")


def check_repo_path(path: str, repo_path: str, tracked: dict[str, int]) -> None:
    """Refuse a repository path that is not a plain file, or that passes through one.

    Writing there would go through a symlink (maybe out of the repository) or fail half-way.
    """
    mode = tracked.get(repo_path)
    if mode is not None and mode not in (MODE_FILE, MODE_EXEC):
        kind = "a symlink" if mode == MODE_SYMLINK else f"mode {mode:o}"
        raise UsageError(
            f"{path} maps to {repo_path}, {kind} in the repository; --map it to the file itself"
        )
    parts = repo_path.split("/")
    for depth in range(1, len(parts)):
        leading = "/".join(parts[:depth])
        if leading in tracked:
            raise FileNotADirectory(
                f"{path} maps to {repo_path}, but {leading} is {_kind(tracked[leading])} in the "
                "repository, not a directory; --map onto the path it stands for"
            )
    if mode is None and any(t.startswith(repo_path + "/") for t in tracked):
        raise FileIsADirectory(
            f"{path} maps to {repo_path}, a directory in the repository; --map onto a file "
            f"(or end REPO_PATH with '/': --map {path}={repo_path}/)"
        )


def _is_binary(data: bytes | None) -> bool:
    return bool(data) and b"\x00" in (data or b"")[:8192]


# --- the use case ---------------------------------------------------------------------------


@dataclass
class _Plan:
    change: Change
    repo_path: str
    mapped_by: str
    live: bytes | None
    live_mode: int | None
    result: bytes | None  # None: remove from the repository
    action: Action
    executable: bool
    binary: bool


def choose_base(repo: GitRepo, labels: dict[str, str]) -> tuple[str, str]:
    """The image's revision label when the repository has that commit, else HEAD (and why)."""
    head = repo.resolve("HEAD") or ""
    where = repo.current_branch() or "detached"
    rev = (labels.get(REVISION_LABEL) or "").strip()
    if rev and re.fullmatch(r"[0-9a-fA-F]{4,64}", rev):
        sha = repo.resolve(rev)
        if sha:
            return sha, f"the image's {REVISION_LABEL} label"
        return (
            head,
            f"HEAD of {where}: the image's {REVISION_LABEL} {rev[:12]} is not in the repository",
        )
    if rev:
        return head, f"HEAD of {where}: the image's {REVISION_LABEL} {rev!r} is not a commit id"
    return head, f"HEAD of {where}: the image has no {REVISION_LABEL} label"


def previous_harvest(store: StateStore, container_id: str, repo_top: str) -> dict[str, Any] | None:
    """The detail of the last successful harvest of this container into this repository."""
    for entry in reversed(store.journal(container_id)):
        if entry.action != "harvest" or entry.outcome != "ok":
            continue
        detail = entry.detail
        if detail.get("repo") == repo_top and detail.get("branch") and detail.get("commit"):
            return detail
    return None


def harvest(
    svc: Workspace,
    ref: str,
    repo_dir: str,
    *,
    maps: Sequence[str | PathMap] = (),
    branch: str | None = None,
    message: str | None = None,
    test: str | None = None,
    test_timeout: float | None = None,
    progress: Progress | None = None,
) -> HarvestResult:
    from hotfix.core.progress import NoProgress

    progress = progress or NoProgress()
    started = time.monotonic()
    path_maps = [m if isinstance(m, PathMap) else parse_map(m) for m in maps]
    container = svc.engine.inspect(ref).info
    progress.report(f"{container.name}: reading the hotfixed files")
    changes = [c for c in svc.changes(container.id) if c.status != "unchanged"]
    if not changes:
        raise HotfixError(
            f"{container.name}: nothing to harvest — no file differs from its checkpoint "
            "(see `hotfix changes`)"
        )
    repo = GitRepo(repo_dir)
    image_attrs = svc.engine.image_attrs(container.image_id)
    config = image_attrs.get("Config") or {}
    labels: dict[str, str] = config.get("Labels") or {}
    workdir = config.get("WorkingDir") or None
    base, base_source = choose_base(repo, labels)

    entry = svc.store.journal_start(
        action="harvest",
        user=svc.user,
        **journal_fields(container),
        detail={"repo": str(repo.top), "base": base, "base_source": base_source},
    )
    try:
        result = _harvest(
            svc,
            repo,
            container,
            changes,
            path_maps=path_maps,
            workdir=workdir,
            base=base,
            base_source=base_source,
            branch=branch,
            message=message,
            test=test,
            test_timeout=test_timeout,
            progress=progress,
            started=started,
        )
    except Exception as exc:
        extra: dict[str, Any] = {}
        if isinstance(exc, HarvestTestFailed):
            extra["test"] = {"command": exc.test.command, "exit_code": exc.test.exit_code}
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        svc.store.journal_finish(entry, "failed", error=first, **extra)
        raise
    svc.store.journal_finish(
        entry,
        "ok",
        branch=result.branch,
        commit=result.commit,
        parent=result.parent,
        new_branch=result.new_branch,
        files=[
            {
                "path": f.path,
                "repo_path": f.repo_path,
                "status": f.status,
                "action": f.action,
                "version": f.version,
                "executable": f.executable,
                "blob": f.blob,
            }
            for f in result.files
        ],
        test=(
            {
                "command": result.test.command,
                "exit_code": result.test.exit_code,
                "seconds": round(result.test.seconds, 3),
            }
            if result.test
            else None
        ),
        seconds=round(result.seconds, 3),
    )
    return result


def _check_cancel(progress: Progress) -> None:
    if progress.cancelled():
        raise Cancelled("harvest cancelled; nothing was committed")


def _harvest(
    svc: Workspace,
    repo: GitRepo,
    container: ContainerInfo,
    changes: list[Change],
    *,
    path_maps: list[PathMap],
    workdir: str | None,
    base: str,
    base_source: str,
    branch: str | None,
    message: str | None,
    test: str | None,
    test_timeout: float | None,
    progress: Progress,
    started: float,
) -> HarvestResult:
    notes: list[str] = []
    top = str(repo.top)

    # Which branch, and on which commit: continue this container's earlier harvest branch.
    before = previous_harvest(svc.store, container.id, top)
    previous_files: dict[str, dict[str, Any]] = {}
    wanted = BRANCH_PREFIX + branch_slug(branch, message, [c.path for c in changes])
    name: str
    if (
        before
        and repo.branch_tip(str(before["branch"]))
        and (branch is None or wanted == before["branch"] or branch == before["branch"])
    ):
        name = str(before["branch"])
        start = repo.branch_tip(name) or base
        new_branch = False
        previous_files = {f["path"]: f for f in before.get("files") or []}
        notes.append(f"continuing {name} (harvested before from {container.name})")
        if start != before.get("commit"):
            notes.append(
                f"{name} has commits since that harvest; the container's changes are merged onto it"
            )
    else:
        name = repo.unique_branch(wanted)
        if not repo.valid_branch(name):
            raise UsageError(f"{name!r} is not a valid branch name; give --branch NAME")
        start = base
        new_branch = True
        if name != wanted:
            notes.append(f"branch {wanted} exists already; using {name}")
    holder = repo.checked_out_in(name) if not new_branch else None
    if holder:
        raise UsageError(
            f"branch {name} is checked out in {holder}; moving it would change that working "
            "tree under you — switch it to another branch, or give --branch NEW"
        )

    # Live content and the checkpoint's.
    tracked = repo.tracked(start)
    files: list[tuple[str, bool]] = []
    live: dict[str, tuple[bytes | None, int | None]] = {}
    for c in changes:
        _check_cancel(progress)
        if c.status == "deleted":
            live[c.path] = (None, None)
        else:
            read = svc.read(container.id, c.path)
            live[c.path] = (read.data, read.stat.mode)
        files.append((c.path, c.checkpoint.present or c.path in previous_files))
    known = {p: str(f["repo_path"]) for p, f in previous_files.items() if f.get("repo_path")}
    progress.report(f"mapping {len(files)} file(s) to {top}")
    mapping = map_paths(files, tracked.keys(), workdir, path_maps, known)

    # Every file's new content — refuse before creating anything if one conflicts.
    plans: list[_Plan] = []
    conflicts: dict[str, str] = {}
    short = start[:12]
    for c in changes:
        m = mapping[c.path]
        check_repo_path(c.path, m.repo_path, tracked)
        mode_in_repo = tracked.get(m.repo_path)
        ours = repo.read(start, m.repo_path) if mode_in_repo is not None else None
        theirs, live_mode = live[c.path]
        cp = c.checkpoint
        prev = previous_files.get(c.path)
        base_data: bytes | None
        base_exec: bool | None
        if prev is not None:
            # Continuing a branch: the base is what the last harvest took from the container.
            blob = prev.get("blob")
            base_data = svc.store.get_blob(str(blob)) if blob else None
            base_exec = bool(prev.get("executable")) if base_data is not None else None
        else:
            base_data = svc.store.get_blob(cp.blob) if cp.present and cp.blob else None
            base_exec = bool((cp.mode or 0) & 0o111) if cp.present else None
        ours_exec = mode_in_repo == MODE_EXEC if mode_in_repo is not None else None
        theirs_exec = bool((live_mode or 0) & 0o111) if theirs is not None else None
        # The exec bit, three ways: the container's when it changed it, else the repository's.
        if theirs_exec is None:
            executable = False
        elif ours_exec is None or base_exec is None or theirs_exec != base_exec:
            executable = theirs_exec
        else:
            executable = ours_exec
        binary = _is_binary(theirs) or _is_binary(ours) or _is_binary(base_data)
        where = f"{m.repo_path} (from {c.path})"
        action: Action
        data: bytes | None = theirs
        if theirs is None:
            if ours is None:
                action = "unchanged"
            elif ours == base_data:
                action = "deleted"
            else:
                conflicts[where] = (
                    f"deleted in the container, but the repository at {short} changed it"
                )
                continue
        elif ours == theirs:
            action = "mode" if ours_exec is not None and ours_exec != executable else "unchanged"
        elif ours == base_data:
            action = "copied"
        elif ours is None:
            conflicts[where] = (
                f"changed in the container, but the repository at {short} does not have it"
            )
            continue
        elif base_data is None:
            conflicts[where] = (
                f"created in the container, and the repository at {short} has different content"
            )
            continue
        elif binary:
            conflicts[where] = (
                f"a binary file changed both in the repository at {short} and in the container; "
                "binary files are not merged"
            )
            continue
        else:
            progress.report(f"merging {m.repo_path}")
            merged = repo.merge3(
                base_data,
                ours,
                theirs,
                (f"repository {m.repo_path} at {short}", "checkpoint", f"container {c.path}"),
            )
            if merged.conflicts:
                conflicts[where] = conflict_hunks(merged.data)
                continue
            data, action = merged.data, "merged"
        plans.append(
            _Plan(c, m.repo_path, m.how, theirs, live_mode, data, action, executable, binary)
        )
    if conflicts:
        text = "\n".join(f"--- {where}:\n{hunks}" for where, hunks in conflicts.items())
        raise HarvestConflict(
            f"harvest refused: {len(conflicts)} file(s) conflict between the repository "
            f"({short}) and the container; nothing was created. Resolve it in the repository "
            f"(or the container), then harvest again.\n{text}",
            conflicts,
        )

    harvested = [
        HarvestedFile(
            path=p.change.path,
            repo_path=p.repo_path,
            status=p.change.status,
            action=p.action,
            mapped_by=p.mapped_by,
            executable=p.executable,
            version=version_of(p.live) if p.live is not None else None,
            binary=p.binary,
            blob=svc.store.put_blob(p.live) if p.live is not None else None,
        )
        for p in plans
    ]
    to_commit = [p for p in plans if p.action != "unchanged"]
    if not to_commit:
        notes.append(
            f"the repository at {short} already has the container's content; nothing committed"
        )
        return HarvestResult(
            container=container,
            image=container.image,
            image_id=container.image_id,
            repo=top,
            branch=None if new_branch else name,
            new_branch=False,
            commit=None if new_branch else start,
            parent=start,
            base=base,
            base_source=base_source,
            files=harvested,
            test=None,
            diff="",
            seconds=time.monotonic() - started,
            notes=notes,
        )

    text = commit_message(
        message=message,
        container_name=container.name,
        container_id=container.id,
        image=container.image,
        image_id=container.image_id,
        files=[f for f in harvested if f.action != "unchanged"],
        base=start,
        base_source=base_source if new_branch else f"continuing {name}",
    )
    _check_cancel(progress)
    progress.report(f"creating a worktree at {short}")
    test_run: TestRun | None = None
    with repo.worktree(start) as wt:
        for p in to_commit:
            if p.result is None:
                wt.remove(p.repo_path)
            else:
                wt.put(p.repo_path, p.result, p.executable)
        if test:
            _check_cancel(progress)
            progress.report(f"running the tests: {test}")
            test_run = wt.run(test, test_timeout)
            if not test_run.ok:
                tail = test_run.output.splitlines()[-200:]
                raise HarvestTestFailed(
                    f"--test {test!r} failed (exit {test_run.exit_code}) in the harvest worktree; "
                    f"nothing committed, branch {name} "
                    + ("not created" if new_branch else "not moved")
                    + ". Its output:\n"
                    + "\n".join(tail),
                    test_run,
                )
        progress.report("committing")
        if not wt.has_staged_changes():
            raise HotfixError(f"nothing to commit in {top} (the worktree shows no change)")
        commit = wt.commit(text)
    if new_branch:
        repo.create_branch(name, commit)
    else:
        repo.advance_branch(name, commit, start)
    return HarvestResult(
        container=container,
        image=container.image,
        image_id=container.image_id,
        repo=top,
        branch=name,
        new_branch=new_branch,
        commit=commit,
        parent=start,
        base=base,
        base_source=base_source,
        files=harvested,
        test=test_run,
        diff=repo.diff(start, commit),
        seconds=time.monotonic() - started,
        notes=notes,
    )
