"""Harvest against a real engine and real repositories made by the tests."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from unidiff import PatchSet

from hotfix.service.files import HotfixService
from tests.images.build import PROD_DIR
from tests.release.conftest import (
    APP,
    AUTHOR_EMAIL,
    AUTHOR_NAME,
    SETTINGS,
    commit_all,
    fix,
    git,
    snapshot,
)

pytestmark = pytest.mark.engine


def one_line_change(diff: str, path: str, old: str, new: str) -> None:
    patch = PatchSet(diff)
    assert [f.path for f in patch] == [path], diff
    removed = [line.value for h in patch[0] for line in h if line.is_removed]
    added = [line.value for h in patch[0] for line in h if line.is_added]
    assert (removed, added) == ([old], [new]), diff


def dirty(repo: Path) -> None:
    """Uncommitted work of every kind, on another branch than main."""
    (repo / "README.md").write_text("stashed work\n")
    git(repo, "stash", "-q")
    git(repo, "switch", "-q", "-c", "work")
    (repo / "settings.py").write_text('GREETING = "Hi"\nDEBUG = True\n')
    git(repo, "add", "settings.py")
    (repo / "app.py").write_text((repo / "app.py").read_text() + "# local edit\n")
    (repo / "notes.txt").write_text("untracked\n")


def hotfix_branches(repo: Path) -> list[str]:
    return git(repo, "branch", "--list", "hotfix-*", "--format=%(refname:short)").split()


def test_harvest_to_a_branch_and_again(
    incident: Any, service: HotfixService, hotfix: Any, repo: Path, template_repo: Any
) -> None:
    base = template_repo[1]
    fix(service, incident.name)
    dirty(repo)
    before = snapshot(repo)

    t0 = time.monotonic()
    res = hotfix(
        "harvest", incident.name, "--repo", str(repo), "--message", "Cause a problem flag", "--json"
    )
    print(f"[timing] harvest (CLI process): {time.monotonic() - t0:.2f} s")
    assert res.code == 0, res.stderr
    data = res.json()
    branch, commit = data["branch"], data["commit"]
    assert branch == "hotfix-cause-a-problem-flag"
    assert data["newBranch"] is True
    assert data["base"] == base
    assert "org.opencontainers.image.revision" in data["baseSource"]
    assert [(f["path"], f["repoPath"], f["action"]) for f in data["files"]] == [
        (APP, "app.py", "copied")
    ]

    # The user's working tree, index, stash and current branch: untouched.
    assert snapshot(repo) == before

    # The branch is the base plus exactly the one-line change.
    assert git(repo, "rev-parse", f"{branch}^").strip() == base
    one_line_change(
        git(repo, "diff", base, branch),
        "app.py",
        "    cause_a_problem = True\n",
        "    cause_a_problem = False\n",
    )
    assert git(repo, "log", "-1", "--format=%an <%ae>", branch).strip() == (
        f"{AUTHOR_NAME} <{AUTHOR_EMAIL}>"
    )
    message = git(repo, "log", "-1", "--format=%B", branch)
    assert message.startswith("Cause a problem flag\n")
    assert incident.name in message and incident.container.id in message
    trailers = git(repo, "log", "-1", "--format=%(trailers:only,unfold)", branch)
    assert f"Hotfix-Container: {incident.name} ({incident.container.id})" in trailers
    assert "Hotfix-Image: hotfix-release-test/svc:" in trailers

    entry = [e for e in service.journal(incident.name) if e.action == "harvest"][-1]
    assert entry.outcome == "ok"
    assert entry.detail["branch"] == branch and entry.detail["commit"] == commit
    assert entry.detail["base"] == base
    assert entry.detail["files"][0]["repo_path"] == "app.py"

    # More edits later: harvesting again adds a commit on the same branch.
    new_settings = 'GREETING = "Hello World"\nDEBUG = True\n'
    service.write(incident.name, SETTINGS, new_settings.encode())
    again = hotfix("harvest", incident.name, "--repo", str(repo), "--json")
    assert again.code == 0, again.stderr
    second = again.json()
    assert second["branch"] == branch and second["newBranch"] is False
    assert git(repo, "rev-parse", f"{second['commit']}^").strip() == commit
    one_line_change(
        git(repo, "diff", commit, second["commit"]),
        "settings.py",
        "DEBUG = False\n",
        "DEBUG = True\n",
    )
    assert hotfix_branches(repo) == [branch]
    assert snapshot(repo) == before
    # Nothing new: nothing committed, the branch stays.
    third = hotfix("harvest", incident.name, "--repo", str(repo), "--json")
    assert third.code == 0, third.stderr
    assert third.json()["commit"] == second["commit"]
    assert "nothing committed" in third.stderr


def test_failing_test_commits_nothing(
    incident: Any, service: HotfixService, hotfix: Any, repo: Path
) -> None:
    fix(service, incident.name)
    before = snapshot(repo)
    res = hotfix(
        "harvest",
        incident.name,
        "--repo",
        str(repo),
        "--test",
        "grep -c 'cause_a_problem = False' app.py; echo 'tests: 1 failed'; exit 7",
    )
    assert res.code == 1
    assert "exit 7" in res.stderr and "tests: 1 failed" in res.stderr
    assert "nothing committed" in res.stderr
    assert hotfix_branches(repo) == []
    assert snapshot(repo) == before  # no worktree left either
    failed = [e for e in service.journal(incident.name) if e.action == "harvest"][-1]
    assert failed.outcome == "failed" and failed.detail["test"]["exit_code"] == 7

    ok = hotfix(
        "harvest",
        incident.name,
        "--repo",
        str(repo),
        "--test",
        "grep -q 'cause_a_problem = False' app.py && test ! -e notes.txt",
        "--json",
    )
    assert ok.code == 0, ok.stderr
    assert ok.json()["test"]["exitCode"] == 0
    assert hotfix_branches(repo) == ["hotfix-app"]


def test_repo_moved_on_is_merged_three_way(
    images: dict[str, str], run_container: Any, service: HotfixService, hotfix: Any, repo: Path
) -> None:
    # my_prod_service:v1.0.0 has no revision label: the base is HEAD, which moved on.
    container = run_container(images["prod"], port=8001)
    app = repo / "app.py"
    app.write_text(app.read_text().replace('[b"Hello World"]', '[b"Hello, World"]'))
    head = commit_all(repo, "Greeting with a comma")
    fix(service, container.name)

    res = hotfix("harvest", container.name, "--repo", str(repo), "--json")
    assert res.code == 0, res.stderr
    data = res.json()
    assert data["base"] == head
    assert "has no org.opencontainers.image.revision label" in data["baseSource"]
    assert data["files"][0]["action"] == "merged"
    one_line_change(
        git(repo, "diff", head, data["branch"]),
        "app.py",
        "    cause_a_problem = True\n",
        "    cause_a_problem = False\n",
    )
    merged = git(repo, "show", f"{data['branch']}:app.py")
    assert "cause_a_problem = False" in merged and 'b"Hello, World"' in merged


def test_conflicting_change_is_refused(
    images: dict[str, str], run_container: Any, service: HotfixService, hotfix: Any, repo: Path
) -> None:
    container = run_container(images["prod"], port=8001)
    app = repo / "app.py"
    app.write_text(
        app.read_text().replace(
            "cause_a_problem = True", 'cause_a_problem = env.get("PROBLEM") == "1"'
        )
    )
    commit_all(repo, "Problem from the environment")
    fix(service, container.name)
    before = snapshot(repo)
    branches = git(repo, "branch", "--list")

    res = hotfix("harvest", container.name, "--repo", str(repo))
    assert res.code == 3, res.stderr
    assert "nothing was created" in res.stderr
    assert "<<<<<<< repository app.py" in res.stderr
    assert 'cause_a_problem = env.get("PROBLEM") == "1"' in res.stderr
    assert ">>>>>>> container /usr/src/app/app.py" in res.stderr
    assert git(repo, "branch", "--list") == branches
    assert snapshot(repo) == before


def test_exec_bit_created_deleted_and_binary_files(
    incident: Any, service: HotfixService, hotfix: Any, repo: Path, template_repo: Any
) -> None:
    fix(service, incident.name)
    incident.sh(f"chmod 755 {APP}")
    service.write(incident.name, "/usr/src/app/helper.py", b"def helper():\n    return 1\n")
    service.write(
        incident.name, "/usr/src/app/logo.bin", b"\x89PNG\r\n\x1a\n\x00\x01\x02", force=True
    )
    service.delete(incident.name, SETTINGS)

    res = hotfix("harvest", incident.name, "--repo", str(repo), "--branch", "many", "--json")
    assert res.code == 0, res.stderr
    data = res.json()
    assert data["branch"] == "hotfix-many"
    by_path = {f["path"]: f for f in data["files"]}
    assert by_path[APP]["executable"] is True
    assert by_path["/usr/src/app/helper.py"]["repoPath"] == "helper.py"
    assert by_path["/usr/src/app/logo.bin"]["binary"] is True
    assert by_path[SETTINGS]["action"] == "deleted"
    tree = {
        line.split("\t")[1]: line.split()[0]
        for line in git(repo, "ls-tree", "hotfix-many").splitlines()
    }
    assert tree["app.py"] == "100755"
    assert tree["helper.py"] == "100644"
    assert "settings.py" not in tree
    blob = subprocess.run(
        ["git", "cat-file", "blob", "hotfix-many:logo.bin"], cwd=repo, capture_output=True
    ).stdout
    assert blob == b"\x89PNG\r\n\x1a\n\x00\x01\x02"
    stat = git(repo, "diff", "--numstat", template_repo[1], "hotfix-many")
    assert "-\t-\tlogo.bin" in stat  # git sees it as binary


def test_bad_input(
    incident: Any, service: HotfixService, hotfix: Any, repo: Path, tmp_path: Path
) -> None:
    fix(service, incident.name)
    plain = tmp_path / "plain"
    plain.mkdir()
    res = hotfix("harvest", incident.name, "--repo", str(plain))
    assert res.code == 2 and "not a git repository" in res.stderr
    git(tmp_path, "init", "-q", "--bare", "bare.git")
    res = hotfix("harvest", incident.name, "--repo", str(tmp_path / "bare.git"))
    assert res.code == 2 and "bare repository" in res.stderr
    res = hotfix("harvest", incident.name, "--repo", str(repo), "--map", "/usr/src/app=nowhere")
    assert res.code == 2 and "does not track" in res.stderr

    # Another repository, without the image's revision: HEAD is the base, and it has two
    # copies of app.py — ambiguous until --map settles it.
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q", "-b", "main")
    git(other, "config", "user.name", AUTHOR_NAME)
    git(other, "config", "user.email", AUTHOR_EMAIL)
    for d in ("service", "worker"):
        (other / d).mkdir()
        shutil.copy(PROD_DIR / "app.py", other / d / "app.py")
    commit_all(other, "two services")
    res = hotfix("harvest", incident.name, "--repo", str(other))
    assert res.code == 2, res.stderr
    assert "service/app.py" in res.stderr and "worker/app.py" in res.stderr
    assert f"--map {APP}=service/app.py" in res.stderr
    assert hotfix_branches(other) == []
    res = hotfix(
        "harvest", incident.name, "--repo", str(other), "--map", "/usr/src/app=service", "--json"
    )
    assert res.code == 0, res.stderr
    data = res.json()
    assert data["files"][0]["repoPath"] == "service/app.py"
    assert "is not in the repository" in data["baseSource"]

    # A container with no hotfix: nothing to harvest.
    service.revert(incident.name)
    res = hotfix("harvest", incident.name, "--repo", str(repo))
    assert res.code == 1 and "nothing to harvest" in res.stderr
