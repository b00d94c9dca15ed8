"""All git access: read a repository, merge three ways, commit in a throwaway worktree.

The user's repository is only ever read, except for two things: a branch ref is
created or moved (compare-and-swap), and a temporary worktree is registered under
``.git/worktrees/`` for the duration of one harvest and removed afterwards, also on
failure. The user's working tree, index, stash and current branch are never
touched: every write happens in the temporary worktree, with its own index.

Harvest runs as root beside production, so a repository's own configuration must not
run anything (see "Safety" in docs/release.md):

- A repository whose working tree or git directory another user owns is refused, as git
  itself refuses it, unless git's system or global ``safe.directory`` lists it. Git cannot
  check this for us: it skips the check when ``GIT_DIR`` is given, as it is here.
- Every git command runs with config (``GIT_CONFIG_COUNT``, which outranks every config
  file) that turns off what could run a command: hooks, ``core.fsmonitor``, external diff,
  transports and their helpers, signing, automatic gc.
- Only plumbing that never applies filter drivers writes files or blobs: the worktree is
  filled from the object store and files are hashed with ``--no-filters``; diffs are made
  with ``--no-ext-diff --no-textconv``.

``harvest --test`` is the place for checks; it runs as the invoking user, with their git.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

import git
import git.exc

from hotfix.core.errors import (
    FileIsADirectory,
    FileNotADirectory,
    HotfixError,
    NoPermissions,
    UsageError,
)

# Environment variables that would make git (or a test run by it) use another repository,
# index or object store than the one we mean.
_GIT_LOCATION_VARS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
)
# Config given in the environment: GIT_CONFIG_PARAMETERS is applied after GIT_CONFIG_COUNT,
# so an inherited one could undo the safe config below.
_GIT_CONFIG_VARS = ("GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT")
_GIT_CONFIG_PREFIXES = ("GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_")

# Forced on every git command of the harvest: each key names a way a repository's config
# could run a command. Filter drivers and textconv are avoided by the commands used instead.
SAFE_CONFIG = (
    ("core.fsmonitor", "false"),
    ("core.hooksPath", "/dev/null"),
    ("core.sshCommand", ""),
    ("core.askPass", ""),
    ("core.alternateRefsCommand", ""),
    ("core.pager", "cat"),
    ("credential.helper", ""),
    ("diff.external", ""),
    ("protocol.allow", "never"),
    ("commit.gpgSign", "false"),
    ("log.showSignature", "false"),
    ("gc.auto", "0"),
    ("maintenance.auto", "false"),
    ("submodule.recurse", "false"),
)

MODE_FILE = 0o100644
MODE_EXEC = 0o100755
MODE_SYMLINK = 0o120000
MODE_GITLINK = 0o160000


class GitFailed(HotfixError):
    """A git command failed in a way the user must look at."""


class DubiousOwnership(NoPermissions):
    """The repository belongs to another user and git's safe.directory does not list it."""


@dataclass(frozen=True)
class MergeResult:
    data: bytes  # the merged text; with conflict markers when ``conflicts`` > 0
    conflicts: int


@dataclass(frozen=True)
class TestRun:
    command: str
    exit_code: int
    output: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


@dataclass(frozen=True)
class TreeEntry:
    mode: int
    object_id: str
    path: str


def clean_env() -> dict[str, str]:
    """The process environment without variables that point git elsewhere."""
    return {k: v for k, v in os.environ.items() if k not in _GIT_LOCATION_VARS}


def safe_git_env(**location: str) -> dict[str, str]:
    """The environment of the harvest's own git commands: ``location`` and the safe config."""
    env = {
        k: v
        for k, v in clean_env().items()
        if k not in _GIT_CONFIG_VARS and not k.startswith(_GIT_CONFIG_PREFIXES)
    }
    env.update(location, GIT_PAGER="cat", GIT_CONFIG_COUNT=str(len(SAFE_CONFIG)))
    for n, (key, value) in enumerate(SAFE_CONFIG):
        env[f"GIT_CONFIG_KEY_{n}"] = key
        env[f"GIT_CONFIG_VALUE_{n}"] = value
    return env


def git_executable() -> str:
    return git.Git.GIT_PYTHON_GIT_EXECUTABLE or "git"


# --- ownership ----------------------------------------------------------------------------------


def safe_directories() -> list[str]:
    """git's ``safe.directory`` from the system and global config, in git's order.

    Never the repository's own config: that is what the check protects against.
    """
    values: list[str] = []
    scopes = ["--global"] if _git_env_true("GIT_CONFIG_NOSYSTEM") else ["--system", "--global"]
    for scope in scopes:
        proc = subprocess.run(
            [git_executable(), "config", scope, "--includes", "--get-all", "safe.directory"],
            cwd="/",
            env=safe_git_env(),
            capture_output=True,
            check=False,
        )
        if proc.returncode == 0:
            values += proc.stdout.decode("utf-8", "surrogateescape").splitlines()
    return values


def _git_env_true(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes", "on")


def allowed_by_safe_directory(top: Path) -> bool:
    """What git does with the list: ``*`` allows all, an empty value resets, else exact paths."""
    allowed = False
    for value in safe_directories():
        if not value:
            allowed = False
        elif value == "*" or os.path.expanduser(value) == str(top):
            allowed = True
    return allowed


def _owner_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def check_ownership(top: Path, *git_dirs: Path) -> None:
    """Refuse, with git's own words, a repository another user owns (unless safe.directory)."""
    me = os.geteuid()
    for path in (top, top / ".git", *git_dirs):
        try:
            owner = os.lstat(path).st_uid
        except FileNotFoundError:
            continue
        if owner != me and not allowed_by_safe_directory(top):
            raise DubiousOwnership(
                f"detected dubious ownership in repository at '{top}' ({path} is owned by "
                f"{_owner_name(owner)}, not {_owner_name(me)}); to add an exception for this "
                f"directory, call: git config --global --add safe.directory {shlex.quote(str(top))}"
            )


# --- the repository -----------------------------------------------------------------------------


def _enclosing_top(where: Path) -> Path | None:
    """The nearest directory at or above ``where`` that has a ``.git``, as git looks for it."""
    for directory in (where, *where.parents):
        if os.path.lexists(directory / ".git"):
            return directory
    return None


def _discover(where: str) -> git.Repo:
    """The repository at or above ``where`` (GitPython reads the files; no git runs)."""
    if not os.path.isdir(where):
        raise UsageError(f"--repo {where}: no such directory")
    # Before GitPython parses its config: an include there could block on a FIFO.
    top = _enclosing_top(Path(where).resolve())
    if top is not None:
        check_ownership(top)
    try:
        repo = git.Repo(where, search_parent_directories=True)
    except git.exc.InvalidGitRepositoryError:
        raise UsageError(
            f"--repo {where}: not a git repository (give the clone the service is built from)"
        ) from None
    except git.exc.NoSuchPathError:
        raise UsageError(f"--repo {where}: no such directory") from None
    if repo.bare or not repo.working_tree_dir:
        raise UsageError(
            f"--repo {where}: a bare repository; harvest into a clone with a working tree "
            "(the branch can be pushed to this one from there)"
        )
    return repo


class GitRepo:
    """A non-bare repository with at least one commit, owned by the caller (or trusted)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        where = str(path)
        repo = _discover(where)
        self.top = Path(str(repo.working_tree_dir)).resolve()
        self.git_dir = Path(repo.git_dir).resolve()
        check_ownership(self.top, self.git_dir, Path(repo.common_dir).resolve())
        self.repo = repo
        self._env = safe_git_env(GIT_DIR=str(self.git_dir), GIT_WORK_TREE=str(self.top))
        if self.resolve("HEAD") is None:
            raise UsageError(f"--repo {where}: the repository has no commits yet")

    # --- running git --------------------------------------------------------------------------

    def _git(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        check: bool = True,
    ) -> tuple[int, bytes, str]:
        proc = subprocess.run(
            [git_executable(), *args],
            cwd=str(cwd or self.top),
            env=env or self._env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=False,
        )
        stderr = proc.stderr.decode("utf-8", "replace")
        if check and proc.returncode != 0:
            shown = " ".join(args[:3])
            problem = stderr.strip() or f"exit {proc.returncode}"
            raise GitFailed(f"git {shown} failed in {self.top}: {problem}")
        return proc.returncode, proc.stdout, stderr

    def _text(self, *args: str) -> str:
        return self._git(*args)[1].decode("utf-8", "replace").strip()

    # --- reading ------------------------------------------------------------------------------

    def resolve(self, rev: str) -> str | None:
        """The full commit id of ``rev``, or None when the repository has no such commit."""
        code, out, _ = self._git(
            "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False
        )
        return out.decode().strip() if code == 0 else None

    def current_branch(self) -> str | None:
        code, out, _ = self._git("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        return out.decode().strip() if code == 0 else None

    def entries(self, commit: str) -> list[TreeEntry]:
        """Every file, symlink and submodule in the tree of ``commit``."""
        out = self._git("ls-tree", "-r", "-z", "--full-tree", commit)[1]
        found = []
        for record in out.split(b"\0"):
            if not record:
                continue
            meta, _, path = record.partition(b"\t")
            mode, _, object_id = meta.decode().split(" ")
            found.append(
                TreeEntry(int(mode, 8), object_id, path.decode("utf-8", "surrogateescape"))
            )
        return found

    def tracked(self, commit: str) -> dict[str, int]:
        """Every path in the tree of ``commit`` with its git mode (0o100644, 0o100755, …)."""
        return {entry.path: entry.mode for entry in self.entries(commit)}

    def read(self, commit: str, path: str) -> bytes | None:
        """The content of ``path`` at ``commit`` as stored (no filter), or None when absent."""
        code, out, _ = self._git("cat-file", "blob", f"{commit}:{path}", check=False)
        return out if code == 0 else None

    def blobs(self, object_ids: list[str]) -> Iterator[bytes]:
        """The content of each blob, in order, from one ``git cat-file --batch``."""
        proc = subprocess.Popen(
            [git_executable(), "cat-file", "--batch"],
            cwd=str(self.top),
            env=self._env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert proc.stdin is not None and proc.stdout is not None
        requests = "".join(f"{object_id}\n" for object_id in object_ids).encode()
        # Written by a thread: git answers while it reads, and both pipes are bounded.
        writer = threading.Thread(target=_feed, args=(proc.stdin, requests), daemon=True)
        writer.start()
        try:
            for object_id in object_ids:
                header = proc.stdout.readline().split()
                if len(header) != 3 or header[1] != b"blob":
                    raise GitFailed(f"git cat-file: no blob {object_id} in {self.top}")
                data = proc.stdout.read(int(header[2]) + 1)[:-1]
                yield data
        finally:
            proc.kill()
            proc.wait()
            writer.join()

    def subject(self, commit: str) -> str:
        return self._text("log", "-1", "--no-show-signature", "--format=%s", commit)

    def branch_tip(self, name: str) -> str | None:
        return self.resolve(f"refs/heads/{name}") if self.valid_branch(name) else None

    def valid_branch(self, name: str) -> bool:
        code, _, _ = self._git("check-ref-format", "--branch", name, check=False)
        return code == 0 and not name.startswith("-")

    def unique_branch(self, name: str) -> str:
        """``name``, or ``name-2``, ``name-3``, … when a branch of that name exists."""
        candidate, n = name, 1
        while self.resolve(f"refs/heads/{candidate}") is not None:
            n += 1
            candidate = f"{name}-{n}"
        return candidate

    def checked_out_in(self, branch: str) -> str | None:
        """The worktree (the main one included) that has ``branch`` checked out, if any."""
        out = self._git("worktree", "list", "--porcelain")[1].decode("utf-8", "replace")
        current = ""
        for line in out.splitlines():
            if line.startswith("worktree "):
                current = line[len("worktree ") :]
            elif line == f"branch refs/heads/{branch}":
                return current
        return None

    def diff(self, old: str, new: str) -> str:
        out = self._git("diff", "--no-color", "--no-ext-diff", "--no-textconv", old, new)[1]
        return out.decode("utf-8", "replace")

    def identity(self) -> str:
        """``Name <email>`` as git will write it for a commit (from git config)."""
        return self._text("var", "GIT_AUTHOR_IDENT").rsplit(" ", 2)[0]

    # --- merging ------------------------------------------------------------------------------

    def merge3(
        self, base: bytes, ours: bytes, theirs: bytes, labels: tuple[str, str, str]
    ) -> MergeResult:
        """``git merge-file -p --diff3``: ours = the repository, base, theirs = the container."""
        with tempfile.TemporaryDirectory(prefix="hotfix-merge-") as tmp:
            paths = []
            for name, data in (("ours", ours), ("base", base), ("theirs", theirs)):
                p = Path(tmp) / name
                p.write_bytes(data)
                paths.append(str(p))
            code, out, err = self._git(
                "merge-file",
                "-p",
                "--diff3",
                "-L",
                labels[0],
                "-L",
                labels[1],
                "-L",
                labels[2],
                *paths,
                check=False,
                cwd=tmp,
            )
        if code < 0 or code > 127:
            raise GitFailed(f"git merge-file failed: {err.strip() or f'exit {code}'}")
        return MergeResult(out, code)

    # --- writing ------------------------------------------------------------------------------

    @contextmanager
    def worktree(self, commit: str) -> Iterator[Worktree]:
        """A temporary detached worktree at ``commit``; removed on leaving, also on failure."""
        self._remove_abandoned_worktrees()
        holder = Path(tempfile.mkdtemp(prefix="hotfix-harvest-"))
        (holder / "pid").write_text(str(os.getpid()))
        path = holder / "worktree"
        try:
            # --no-checkout: git's checkout would run the repository's smudge filters.
            self._git("worktree", "add", "--detach", "--no-checkout", "--quiet", str(path), commit)
            tree = Worktree(self, path)
            tree.fill(commit)
            yield tree
        finally:
            self._git("worktree", "remove", "--force", "--force", str(path), check=False)
            shutil.rmtree(holder, ignore_errors=True)
            self._git("worktree", "prune", check=False)

    def _remove_abandoned_worktrees(self) -> None:
        """Worktrees of harvests killed (SIGKILL) before they could remove theirs."""
        out = self._git("worktree", "list", "--porcelain", check=False)[1]
        for line in out.decode("utf-8", "replace").splitlines():
            path = Path(line.removeprefix("worktree "))
            if not line.startswith("worktree ") or "hotfix-harvest-" not in path.parent.name:
                continue
            try:
                pid = int((path.parent / "pid").read_text())
                os.kill(pid, 0)
            except ProcessLookupError:  # its harvest died
                self._git("worktree", "remove", "--force", "--force", str(path), check=False)
                shutil.rmtree(path.parent, ignore_errors=True)
            except (OSError, ValueError):  # alive but not ours to signal, or not our layout
                continue
        self._git("worktree", "prune", check=False)

    def create_branch(self, name: str, commit: str) -> None:
        """Create a branch; refuses (rather than moves) one that appeared meanwhile."""
        zero = "0" * len(commit)
        self._git("update-ref", "-m", "hotfix harvest", f"refs/heads/{name}", commit, zero)

    def advance_branch(self, name: str, new: str, old: str) -> None:
        """Move a branch from ``old`` to ``new``; fails if someone moved it meanwhile."""
        code, _, err = self._git(
            "update-ref", "-m", "hotfix harvest", f"refs/heads/{name}", new, old, check=False
        )
        if code != 0:
            raise GitFailed(
                f"branch {name} moved while harvesting (expected {old[:12]}): {err.strip()}; "
                "harvest again"
            )


def _feed(pipe: IO[bytes], data: bytes) -> None:
    try:
        pipe.write(data)
        pipe.close()
    except (BrokenPipeError, ValueError):  # git is gone; the reader reports it
        pass


def stripspace(message: str) -> str:
    """What ``git commit --cleanup=whitespace`` does to a message."""
    lines: list[str] = []
    for line in message.splitlines():
        line = line.rstrip()
        if line or (lines and lines[-1]):
            lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n" if lines else ""


class Worktree:
    """A temporary worktree: put files, run the tests, commit (with its own index)."""

    def __init__(self, repo: GitRepo, path: Path) -> None:
        self.repo = repo
        self.path = path
        gitdir_line = (path / ".git").read_text().strip()
        gitdir = Path(gitdir_line.removeprefix("gitdir:").strip())
        self._env = safe_git_env(
            GIT_DIR=str(gitdir), GIT_WORK_TREE=str(path), GIT_INDEX_FILE=str(gitdir / "index")
        )

    def _git(self, *args: str) -> bytes:
        return self.repo._git(*args, env=self._env, cwd=self.path)[1]

    def fill(self, commit: str) -> None:
        """The index and files of ``commit``, as stored in git: no filter, no hook runs."""
        self._git("read-tree", commit)
        entries = self.repo.entries(commit)
        stored = [e for e in entries if e.mode != MODE_GITLINK]
        for entry, data in zip(stored, self.repo.blobs([e.object_id for e in stored]), strict=True):
            target = self._parent(entry.path) / PurePosixPath(entry.path).name
            if entry.mode == MODE_SYMLINK:
                os.symlink(os.fsdecode(data), target)
            else:
                _write_new(target, data, entry.mode == MODE_EXEC)
        for entry in entries:
            if entry.mode == MODE_GITLINK:  # a submodule: an empty directory, as git leaves it
                (self._parent(entry.path) / PurePosixPath(entry.path).name).mkdir()

    def _parent(self, rel: str) -> Path:
        """The directory ``rel`` lives in, made as needed; never through a symlink or a file."""
        parts = PurePosixPath(rel).parts
        if not parts or rel.startswith("/") or any(p in ("..", ".") for p in parts):
            raise UsageError(f"repository path {rel!r} leaves the repository")
        if any(p.lower() == ".git" for p in parts):
            raise UsageError(f"repository path {rel!r} is inside .git")
        here = self.path
        for depth, part in enumerate(parts[:-1], start=1):
            here = here / part
            try:
                mode = os.lstat(here).st_mode
            except FileNotFoundError:
                here.mkdir()
                continue
            if not stat.S_ISDIR(mode):
                kind = "a symlink" if stat.S_ISLNK(mode) else "a file"
                raise FileNotADirectory(
                    f"repository path {rel!r} passes through {'/'.join(parts[:depth])!r}, "
                    f"{kind} in the repository; --map onto the path it stands for"
                )
        return here

    def put(self, rel: str, data: bytes, executable: bool) -> None:
        target = self._parent(rel) / PurePosixPath(rel).name
        if target.is_symlink():
            target.unlink()
        elif target.is_dir():
            raise FileIsADirectory(f"repository path {rel!r} is a directory; --map onto a file")
        _write_new(target, data, executable, replace=True)
        object_id = self._git("hash-object", "-w", "--no-filters", "--", rel).decode().strip()
        # The mode is given explicitly: core.fileMode=false cannot lose the exec bit.
        mode = MODE_EXEC if executable else MODE_FILE
        self._git("update-index", "--add", "--cacheinfo", f"{mode:o},{object_id},{rel}")

    def remove(self, rel: str) -> None:
        target = self._parent(rel) / PurePosixPath(rel).name
        if target.is_symlink() or target.is_file():
            target.unlink()
        self._git("update-index", "--force-remove", "--", rel)
        for directory in target.parents:  # as git rm, leave no empty directory behind
            if directory == self.path or self.path not in directory.parents:
                break
            try:
                directory.rmdir()
            except OSError:
                break

    def run(self, command: str, timeout: float | None = None) -> TestRun:
        started = time.monotonic()
        env = clean_env()
        try:
            proc = subprocess.run(
                command,
                shell=True,
                cwd=self.path,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
            )
            code, output = proc.returncode, proc.stdout
        except subprocess.TimeoutExpired as exc:
            code, output = 124, (exc.output or b"") + f"\n[timed out after {timeout} s]".encode()
        return TestRun(command, code, output.decode("utf-8", "replace"), time.monotonic() - started)

    def has_staged_changes(self) -> bool:
        tree = self._git("write-tree").decode().strip()
        return tree != self._git("rev-parse", "HEAD^{tree}").decode().strip()

    def commit(self, message: str) -> str:
        """Commit the index on top of HEAD with ``commit-tree``: no hook, no signing."""
        tree = self._git("write-tree").decode().strip()
        parent = self._git("rev-parse", "HEAD").decode().strip()
        with tempfile.NamedTemporaryFile("w", prefix="hotfix-msg-", delete=False) as fh:
            fh.write(stripspace(message))
            name = fh.name
        try:
            out = self._git("commit-tree", "--no-gpg-sign", tree, "-p", parent, "-F", name)
        finally:
            os.unlink(name)
        commit = out.decode().strip()
        self._git("update-ref", "--no-deref", "HEAD", commit, parent)
        return commit


def _write_new(path: Path, data: bytes, executable: bool, replace: bool = False) -> None:
    """Write a regular file without following a symlink at ``path``."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    flags |= os.O_TRUNC if replace else os.O_EXCL
    mode = 0o755 if executable else 0o644
    fd = os.open(path, flags, mode)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb", closefd=False) as fh:
            fh.write(data)
    finally:
        os.close(fd)
