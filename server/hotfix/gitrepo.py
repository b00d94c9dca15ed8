"""All git access (GitPython): read a repository, merge three ways, commit in a throwaway worktree.

The user's repository is only ever read, except for two things: a branch ref is
created or moved (compare-and-swap), and a temporary worktree is registered under
``.git/worktrees/`` for the duration of one harvest and removed afterwards, also on
failure. The user's working tree, index, stash and current branch are never
touched: every write happens in the temporary worktree, with its own index.

Git commands run without the user's hooks (``core.hooksPath=/dev/null``,
``--no-verify``): a hook that rewrote files would break "the commit is exactly the
container's change"; ``harvest --test`` is the place for checks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import git
import git.exc

from hotfix.errors import HotfixError, UsageError

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
_NO_HOOKS = ("-c", "core.hooksPath=/dev/null")

MODE_FILE = 0o100644
MODE_EXEC = 0o100755
MODE_SYMLINK = 0o120000
MODE_GITLINK = 0o160000


class GitFailed(HotfixError):
    """A git command failed in a way the user must look at."""


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


def clean_env() -> dict[str, str]:
    """The process environment without variables that point git elsewhere."""
    return {k: v for k, v in os.environ.items() if k not in _GIT_LOCATION_VARS}


class GitRepo:
    """A non-bare repository with at least one commit."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        where = str(path)
        if not os.path.isdir(where):
            raise UsageError(f"--repo {where}: no such directory")
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
        self.repo = repo
        self.top = Path(repo.working_tree_dir).resolve()
        self.git_dir = Path(repo.git_dir).resolve()
        self._env = {**clean_env(), "GIT_DIR": str(self.git_dir), "GIT_WORK_TREE": str(self.top)}
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
        command = [git.Git.GIT_PYTHON_GIT_EXECUTABLE or "git", *_NO_HOOKS, *args]
        result: Any = git.Git(str(cwd or self.top)).execute(
            command,
            with_extended_output=True,
            with_exceptions=False,
            stdout_as_string=False,
            strip_newline_in_stdout=False,
            env=env or self._env,
        )
        code, out, err = result
        stdout = out if isinstance(out, bytes) else (out or "").encode()
        stderr = err.decode("utf-8", "replace") if isinstance(err, bytes) else str(err or "")
        if check and code != 0:
            shown = " ".join(args[:3])
            raise GitFailed(f"git {shown} failed in {self.top}: {stderr.strip() or f'exit {code}'}")
        return int(code), stdout, stderr

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

    def tracked(self, commit: str) -> dict[str, int]:
        """Every path in the tree of ``commit`` with its git mode (0o100644, 0o100755, …)."""
        out = self._git("ls-tree", "-r", "-z", "--full-tree", commit)[1]
        files: dict[str, int] = {}
        for record in out.split(b"\0"):
            if not record:
                continue
            meta, _, path = record.partition(b"\t")
            files[path.decode("utf-8", "surrogateescape")] = int(meta.split()[0], 8)
        return files

    def read(self, commit: str, path: str) -> bytes | None:
        """The content of ``path`` at ``commit``, or None when it is not there."""
        code, out, _ = self._git("cat-file", "blob", f"{commit}:{path}", check=False)
        return out if code == 0 else None

    def subject(self, commit: str) -> str:
        return self._text("log", "-1", "--format=%s", commit)

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
        return self._git("diff", "--no-color", "--no-ext-diff", old, new)[1].decode(
            "utf-8", "replace"
        )

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
            self._git("worktree", "add", "--detach", "--quiet", str(path), commit)
            yield Worktree(self, path)
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


class Worktree:
    """A temporary worktree: put files, run the tests, commit (with its own index)."""

    def __init__(self, repo: GitRepo, path: Path) -> None:
        self.repo = repo
        self.path = path
        gitdir_line = (path / ".git").read_text().strip()
        gitdir = Path(gitdir_line.removeprefix("gitdir:").strip())
        self._env = {
            **clean_env(),
            "GIT_DIR": str(gitdir),
            "GIT_WORK_TREE": str(path),
            "GIT_INDEX_FILE": str(gitdir / "index"),
        }

    def _git(self, *args: str) -> bytes:
        return self.repo._git(*args, env=self._env, cwd=self.path)[1]

    def _file(self, rel: str) -> Path:
        target = (self.path / rel).resolve()
        if self.path.resolve() not in target.parents:
            raise UsageError(f"repository path {rel!r} leaves the repository")
        return target

    def put(self, rel: str, data: bytes, executable: bool) -> None:
        target = self._file(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink():
            target.unlink()
        target.write_bytes(data)
        target.chmod(0o755 if executable else 0o644)
        self._git("add", "--", rel)
        # Explicitly, so that core.fileMode=false (or a filesystem without modes) cannot lose it.
        self._git("update-index", "--chmod=+x" if executable else "--chmod=-x", "--", rel)

    def remove(self, rel: str) -> None:
        self._file(rel)
        self._git("rm", "--quiet", "--", rel)

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
        code, _, _ = self.repo._git(
            "diff", "--cached", "--quiet", env=self._env, cwd=self.path, check=False
        )
        return code == 1

    def commit(self, message: str) -> str:
        with tempfile.NamedTemporaryFile("w", prefix="hotfix-msg-", delete=False) as fh:
            fh.write(message)
            name = fh.name
        try:
            self._git("commit", "--quiet", "--no-verify", "--cleanup=whitespace", "-F", name)
        finally:
            os.unlink(name)
        return self._git("rev-parse", "HEAD").decode().strip()
