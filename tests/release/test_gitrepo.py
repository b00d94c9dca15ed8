"""hotfix.git.repo against real repositories (no engine)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotfix.core.errors import UsageError
from hotfix.git.repo import GitFailed, GitRepo
from tests.release.conftest import commit_all, git, make_repo, snapshot


def test_refuses_what_is_not_a_working_repository(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such directory"):
        GitRepo(tmp_path / "missing")
    (tmp_path / "plain").mkdir()
    with pytest.raises(UsageError, match="not a git repository"):
        GitRepo(tmp_path / "plain")
    git(tmp_path, "init", "-q", "--bare", "bare.git")
    with pytest.raises(UsageError, match="bare repository"):
        GitRepo(tmp_path / "bare.git")
    git(tmp_path, "init", "-q", "empty")
    with pytest.raises(UsageError, match="no commits"):
        GitRepo(tmp_path / "empty")


def test_reads_without_touching(tmp_path: Path) -> None:
    path = tmp_path / "repo"
    sha = make_repo(path)
    (path / "README.md").write_text("dirty\n")
    before = snapshot(path)
    repo = GitRepo(path)
    assert repo.resolve("HEAD") == sha
    assert repo.resolve("0" * 40) is None
    assert repo.read(sha, "settings.py") == b'GREETING = "Hello World"\nDEBUG = False\n'
    assert repo.read(sha, "nope.py") is None
    assert set(repo.tracked(sha)) == {"app.py", "settings.py", "README.md", "Dockerfile"}
    assert repo.current_branch() == "main"
    assert repo.identity() == "Hotfix Tester <tester@example.com>"
    assert snapshot(path) == before


def test_merge3(tmp_path: Path) -> None:
    path = tmp_path / "repo"
    make_repo(path)
    repo = GitRepo(path)
    base = b"a = 1\nb = 2\nc = 3\nd = 4\ne = 5\n"
    ours = base.replace(b"e = 5", b"e = 50")
    theirs = base.replace(b"a = 1", b"a = 10")
    clean = repo.merge3(base, ours, theirs, ("repo", "checkpoint", "container"))
    assert clean.conflicts == 0
    assert clean.data == b"a = 10\nb = 2\nc = 3\nd = 4\ne = 50\n"
    clash = repo.merge3(base, base.replace(b"a = 1", b"a = 2"), theirs, ("r", "b", "c"))
    assert clash.conflicts == 1
    assert b"<<<<<<< r" in clash.data and b">>>>>>> c" in clash.data


def test_worktree_commit_and_branch(tmp_path: Path) -> None:
    path = tmp_path / "repo"
    sha = make_repo(path)
    before = snapshot(path)
    repo = GitRepo(path)
    with repo.worktree(sha) as wt:
        wt.put("run.sh", b"#!/bin/sh\necho hi\n", executable=True)
        wt.remove("README.md")
        assert wt.run("test -x run.sh && ! test -e README.md").ok
        failing = wt.run("echo out; echo err >&2; exit 3")
        assert (failing.exit_code, failing.output) == (3, "out\nerr\n")
        assert wt.has_staged_changes()
        new = wt.commit("Subject\n\nBody\n")
        where = wt.path
    assert not where.exists()
    repo.create_branch("hotfix-x", new)
    with pytest.raises(GitFailed):
        repo.create_branch("hotfix-x", new)  # never moves an existing branch
    assert repo.branch_tip("hotfix-x") == new
    assert repo.unique_branch("hotfix-x") == "hotfix-x-2"
    tree = git(path, "ls-tree", "hotfix-x")
    assert "100755 blob" in tree and "run.sh" in tree and "README.md" not in tree
    author = git(path, "log", "-1", "--format=%an <%ae>", "hotfix-x").strip()
    assert author == "Hotfix Tester <tester@example.com>"
    with pytest.raises(GitFailed, match="moved while harvesting"):
        repo.advance_branch("hotfix-x", sha, "1" * 40)
    # Nothing of the user's changed; no worktree left registered.
    after = snapshot(path)
    assert after == before


def test_worktree_removed_on_failure(tmp_path: Path) -> None:
    path = tmp_path / "repo"
    sha = make_repo(path)
    repo = GitRepo(path)
    with pytest.raises(RuntimeError), repo.worktree(sha) as wt:
        wt.put("x.txt", b"x\n", executable=False)
        where = wt.path
        raise RuntimeError("boom")
    assert not where.exists()
    assert git(path, "worktree", "list").count("\n") == 1
    assert not (path / ".git" / "worktrees").exists() or not any(
        (path / ".git" / "worktrees").iterdir()
    )


def test_checked_out_branch_is_found(tmp_path: Path) -> None:
    path = tmp_path / "repo"
    make_repo(path)
    git(path, "switch", "-q", "-c", "hotfix-y")
    (path / "app.py").write_text("changed\n")
    commit_all(path, "c")
    repo = GitRepo(path)
    assert repo.checked_out_in("hotfix-y") == str(path)
    assert repo.checked_out_in("main") is None
