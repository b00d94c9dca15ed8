"""Harvest, step 1: where each container path lives in the repository.

``--map`` prefixes first (the longest wins), then an earlier harvest's mapping, then the
tracked file sharing the longest path suffix; a file the hotfix created goes next to a
neighbour mapped for sure, or under the WORKDIR's place. Whatever stays ambiguous or
unmatched is refused, listing the candidates and the ``--map`` that settles it.
"""

from __future__ import annotations

import posixpath
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from hotfix.core.errors import FileIsADirectory, FileNotADirectory, UsageError
from hotfix.core.paths import normalize
from hotfix.git.repo import MODE_EXEC, MODE_FILE, MODE_GITLINK, MODE_SYMLINK

_WORKDIR_ANCHOR = "\0workdir"  # the anchors' key of the WORKDIR's place in the repository


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


@dataclass(frozen=True)
class _Refused:
    problem: str


@dataclass(frozen=True)
class _Ambiguous:
    candidates: list[str]


@dataclass(frozen=True)
class _Inputs:
    tracked: set[str]
    workdir: str | None
    maps: Sequence[PathMap]
    known: dict[str, str]


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
    inputs = _Inputs(set(tracked), normalize(workdir) if workdir else None, maps, known or {})
    problems = _unused_maps(files, maps)
    mapped: dict[str, Mapped] = {}
    ambiguous: dict[str, list[str]] = {}
    created: list[str] = []  # placed after the others, next to their neighbours
    for path, must_exist in files:
        found = _map_one(path, must_exist, inputs)
        if isinstance(found, Mapped):
            mapped[path] = found
        elif isinstance(found, _Refused):
            problems.append(found.problem)
        elif isinstance(found, _Ambiguous):
            ambiguous[path] = found.candidates
        else:
            created.append(path)
    anchors = _anchors(mapped, inputs.workdir)
    problems += _settle_ambiguous(ambiguous, anchors, inputs.workdir, mapped)
    problems += _place_created(created, anchors, inputs.workdir, mapped)
    problems += _collisions(mapped)
    if problems:
        raise UsageError(
            "cannot map the container's files to the repository:\n  " + "\n  ".join(problems)
        )
    return mapped


def _map_one(path: str, must_exist: bool, inputs: _Inputs) -> Mapped | _Refused | _Ambiguous | None:
    """One file by ``--map``, an earlier harvest or its suffix; None: created, placed later."""
    by_map = _by_map(path, must_exist, inputs)
    if by_map is not None:
        return by_map
    if path in inputs.known:
        return Mapped(inputs.known[path], "earlier harvest")
    if not must_exist:
        return None
    return _by_suffix(path, inputs)


def _unused_maps(files: Sequence[tuple[str, bool]], maps: Sequence[PathMap]) -> list[str]:
    return [
        f"--map {m.text}: no changed file under {m.container} "
        f"(changed: {', '.join(p for p, _ in files)})"
        for m in maps
        if not any(_under(path, m.container) is not None for path, _ in files)
    ]


def _by_map(path: str, must_exist: bool, inputs: _Inputs) -> Mapped | _Refused | None:
    """The ``--map`` with the longest container prefix of ``path``, applied; None: no map."""
    best: PathMap | None = None
    for m in inputs.maps:
        rest = _under(path, m.container)
        if rest is not None and (best is None or len(m.container) > len(best.container)):
            best = m
    if best is None:
        return None
    rest = _under(path, best.container) or ""
    target = posixpath.join(best.repo, rest) if rest else best.repo
    if not rest and (not target or best.text.rstrip().endswith("/")):
        target = posixpath.join(target, posixpath.basename(path))
    if must_exist and target not in inputs.tracked:
        return _Refused(
            f"--map {best.text}: {path} maps to {target or '.'}, which the repository "
            "does not track (check the REPO_PATH)"
        )
    return Mapped(target, f"--map {best.text}")


def _by_suffix(path: str, inputs: _Inputs) -> Mapped | _Refused | _Ambiguous:
    """The tracked file sharing the longest path suffix with ``path``, if only one does."""
    scored = [(_common_suffix(path, t), t) for t in inputs.tracked]
    top = max((s for s, _ in scored), default=0)
    candidates = sorted(t for s, t in scored if s == top and s > 0)
    if not candidates:
        return _Refused(
            f"{path}: no tracked file in the repository ends with "
            f"{posixpath.basename(path)!r}; settle it with --map {path}=REPO_PATH"
        )
    if len(candidates) > 1:
        return _Ambiguous(candidates)
    workdir = inputs.workdir
    how = "workdir" if workdir and _under(path, workdir) == candidates[0] else "suffix"
    return Mapped(candidates[0], how)


def _settle_ambiguous(
    ambiguous: dict[str, list[str]],
    anchors: dict[str, set[str]],
    workdir: str | None,
    mapped: dict[str, Mapped],
) -> list[str]:
    """Pick the candidate a neighbour or the WORKDIR points at; list the rest as problems."""
    problems = []
    for path, candidates in ambiguous.items():
        guess = _anchored(path, anchors, workdir)
        if guess is not None and guess.repo_path in candidates:
            mapped[path] = guess
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
    return problems


def _place_created(
    created: list[str],
    anchors: dict[str, set[str]],
    workdir: str | None,
    mapped: dict[str, Mapped],
) -> list[str]:
    """Files the hotfix created go where their neighbours (or the WORKDIR) are."""
    problems = []
    for path in created:
        guess = _anchored(path, anchors, workdir)
        if guess is not None:
            mapped[path] = guess
            continue
        where = f"--map {workdir}=DIR" if workdir and _under(path, workdir) else ""
        problems.append(
            f"{path}: created in the container and no other harvested file shows where its "
            f"directory lives in the repository; settle it with --map {path}=REPO_PATH"
            + (f" or {where}" if where else "")
        )
    return problems


def _collisions(mapped: dict[str, Mapped]) -> list[str]:
    problems = []
    seen: dict[str, str] = {}
    for path, chosen in sorted(mapped.items()):
        if chosen.repo_path in seen:
            problems.append(
                f"{seen[chosen.repo_path]} and {path} both map to {chosen.repo_path}; "
                "give --map for one"
            )
        seen[chosen.repo_path] = path
    return problems


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


def _anchors(mapped: dict[str, Mapped], workdir: str | None) -> dict[str, set[str]]:
    """Container directory → repository directories, learned from files mapped for sure."""
    anchors: dict[str, set[str]] = {}
    for path, m in mapped.items():
        if posixpath.basename(path) == posixpath.basename(m.repo_path):
            anchors.setdefault(posixpath.dirname(path), set()).add(posixpath.dirname(m.repo_path))
        rel = _under(path, workdir) if workdir else None
        if workdir and rel and (m.repo_path == rel or m.repo_path.endswith("/" + rel)):
            root = m.repo_path[: len(m.repo_path) - len(rel)].rstrip("/")
            anchors.setdefault(_WORKDIR_ANCHOR, set()).add(root)
    return anchors


def _anchored(path: str, anchors: dict[str, set[str]], workdir: str | None) -> Mapped | None:
    dirs = anchors.get(posixpath.dirname(path), set())
    if len(dirs) == 1:
        return Mapped(posixpath.join(next(iter(dirs)), posixpath.basename(path)), "directory")
    rel = _under(path, workdir) if workdir else None
    roots = anchors.get(_WORKDIR_ANCHOR, set())
    if rel and len(roots) == 1:
        return Mapped(posixpath.join(next(iter(roots)), rel), "workdir")
    return None


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


def _kind(mode: int) -> str:
    return {MODE_SYMLINK: "a symlink", MODE_GITLINK: "a submodule"}.get(mode, "a file")
