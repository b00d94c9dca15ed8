"""A repository armed to run commands, against ``hotfix harvest`` run as root.

The attacker is another local user who owns the repository root harvests into (or whose
repository root was told to trust), with git config that runs a command on nearly every git
command: ``core.fsmonitor``, hooks in ``core.hooksPath``, a clean/smudge filter and a textconv
driver named in ``info/attributes``, ``diff.external`` and a signing program. Each command
writes a canary file; a harvest must leave none, whoever owns the repository.

Also: a ``--map`` onto a repository path through a symlink (or a file) is refused in one line
and nothing is written through the link.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from hotfix.core.errors import FileNotADirectory, UsageError
from hotfix.git.repo import DubiousOwnership, GitRepo
from hotfix.service.files import HotfixService
from tests.images.build import PROD_DIR
from tests.release import conftest as release
from tests.release.conftest import APP, AUTHOR_EMAIL, AUTHOR_NAME, commit_all, fix, git
from tests.security.conftest import LocalUser

# The release suite's fixtures: the incident container and a copy of the service's repository.
template_repo = release.template_repo
release_image = release.release_image
incident = release.incident
repo = release.repo

HOOKS = ("pre-commit", "post-commit", "post-checkout", "reference-transaction", "pre-auto-gc")
# What plain git, run as root, does with the armed repository: every canary of these fires.
ARMED = {
    "fsmonitor",
    "clean",
    "smudge",
    "textconv",
    "diff-external",
    "gpg",
    "hook-pre-commit",
    "hook-post-commit",
    "hook-post-checkout",
}


# --- the armed repository -------------------------------------------------------------------


@pytest.fixture
def canaries(tmp_path: Path) -> Path:
    """Where the repository's commands write when they run (any user may write there)."""
    directory = tmp_path / "canaries"
    directory.mkdir()
    directory.chmod(0o1777)
    return directory


def fired(canaries: Path) -> set[str]:
    return {p.name for p in canaries.iterdir()}


def arm(path: Path, canaries: Path) -> None:
    """Config and attributes that make git run a command (writing a canary) wherever it can."""

    def leave(name: str) -> str:
        return f"id > {canaries}/{name}"

    hooks = path / ".git" / "armed-hooks"
    hooks.mkdir()
    for hook in HOOKS:
        script = hooks / hook
        script.write_text(f"#!/bin/sh\n{leave('hook-' + hook)}\n")
        script.chmod(0o755)
    gpg = path / ".git" / "armed-gpg"
    gpg.write_text(f"#!/bin/sh\n{leave('gpg')}\nexit 1\n")
    gpg.chmod(0o755)
    for key, value in (
        ("core.fsmonitor", leave("fsmonitor")),
        ("core.hooksPath", str(hooks)),
        ("filter.armed.clean", f"{leave('clean')}; cat"),
        ("filter.armed.smudge", f"{leave('smudge')}; cat"),
        ("diff.armed.textconv", f"{leave('textconv')}; cat"),
        ("diff.external", f"{leave('diff-external')}; true"),
        ("gpg.program", str(gpg)),
        ("commit.gpgSign", "true"),
        ("log.showSignature", "true"),
        ("gc.auto", "1"),
    ):
        git(path, "config", key, value)
    (path / ".git" / "info").mkdir(exist_ok=True)
    (path / ".git" / "info" / "attributes").write_text("* filter=armed diff=armed\n")


def give_to(path: Path, user: LocalUser) -> None:
    subprocess.run(["chown", "-R", f"{user.uid}:{user.gid}", str(path)], check=True)


def state(path: Path, *, with_git_dir: bool = True) -> dict[str, tuple[int, int, str]]:
    """Every entry under ``path``: mode, owner and content hash (or link target)."""
    found: dict[str, tuple[int, int, str]] = {}
    for root, dirs, files in os.walk(path):
        if not with_git_dir and ".git" in dirs and Path(root) == path:
            dirs.remove(".git")
        for name in dirs + files:
            entry = Path(root) / name
            st = entry.lstat()
            if entry.is_symlink():
                content = os.readlink(entry)
            elif entry.is_file():
                content = hashlib.sha256(entry.read_bytes()).hexdigest()
            else:
                content = ""
            found[str(entry.relative_to(path))] = (st.st_mode, st.st_uid, content)
    return found


@pytest.fixture
def global_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """git's global config for this test (and no system config), for the CLI and in-process."""
    path = tmp_path / "gitconfig"
    path.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(path))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    return path


def trust(global_config: Path, *values: str) -> None:
    global_config.write_text("[safe]\n" + "".join(f"\tdirectory = {v}\n" for v in values))


def armed_repo(tmp_path: Path, canaries: Path, name: str = "armed") -> Path:
    path = tmp_path / name
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", AUTHOR_NAME)
    git(path, "config", "user.email", AUTHOR_EMAIL)
    (path / "app.py").write_bytes((PROD_DIR / "app.py").read_bytes())
    commit_all(path, "the service")
    arm(path, canaries)
    return path


def git_message(path: Path) -> str:
    """What git itself says about the repository at ``path`` (run as root)."""
    proc = subprocess.run(["git", "status"], cwd=path, capture_output=True, text=True, check=False)
    assert proc.returncode == 128, proc.stderr
    return proc.stderr.splitlines()[0].removeprefix("fatal: ")


def one_line_error(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


# --- the canaries are live --------------------------------------------------------------------


def test_plain_git_runs_every_command_of_the_armed_repository(
    tmp_path: Path, canaries: Path, global_config: Path
) -> None:
    """The control: git as root in the armed repository (root's own) runs each canary."""
    path = armed_repo(tmp_path, canaries)
    git(path, "status")
    (path / "app.py").write_text("changed\n")
    git(path, "diff")
    git(path, "diff", "--no-ext-diff")
    git(path, "add", "app.py")
    git(path, "commit", "-q", "-m", "x", check=False)  # gpg fails the commit: that is enough
    git(path, "-c", "commit.gpgSign=false", "commit", "-q", "-m", "x")
    git(path, "worktree", "add", "-q", "--detach", str(tmp_path / "wt"), "HEAD")
    assert fired(canaries) >= ARMED


# --- ownership ----------------------------------------------------------------------------------


@pytest.mark.parametrize("owned", ["all", "worktree", "git-dir"])
def test_another_users_repository_is_refused_as_git_refuses_it(
    tmp_path: Path, canaries: Path, global_config: Path, other_user: LocalUser, owned: str
) -> None:
    path = armed_repo(tmp_path, canaries)
    give_to(path, other_user)
    if owned == "worktree":
        subprocess.run(["chown", "-R", "0:0", str(path / ".git")], check=True)
    elif owned == "git-dir":
        os.chown(path, 0, 0)
    before = state(path)
    with pytest.raises(DubiousOwnership) as refused:
        GitRepo(path)
    message = str(refused.value)
    assert git_message(path) in message
    assert f"git config --global --add safe.directory {path}" in message
    assert "\n" not in message
    assert fired(canaries) == set()
    assert state(path) == before


def test_refused_before_its_config_is_read(
    tmp_path: Path, canaries: Path, global_config: Path, other_user: LocalUser
) -> None:
    """A config including a FIFO blocks whoever reads it: the ownership check comes first."""
    path = armed_repo(tmp_path, canaries)
    fifo = path / ".git" / "blocking"
    os.mkfifo(fifo)
    git(path, "config", "include.path", str(fifo))
    give_to(path, other_user)
    outcome: list[BaseException] = []

    def open_repository() -> None:
        try:
            GitRepo(path)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=open_repository, daemon=True)
    worker.start()
    worker.join(10)
    if worker.is_alive():  # blocked in the FIFO: let it go, then fail
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(10)
        pytest.fail("opening the repository read its config before checking its owner")
    assert [type(exc) for exc in outcome] == [DubiousOwnership]


def test_only_system_and_global_safe_directory_count(
    tmp_path: Path, canaries: Path, global_config: Path, other_user: LocalUser
) -> None:
    path = armed_repo(tmp_path, canaries)
    git(path, "config", "safe.directory", "*")  # the repository vouching for itself
    give_to(path, other_user)
    with pytest.raises(DubiousOwnership):
        GitRepo(path)
    trust(global_config, str(path), "")  # an empty value resets the list, as in git
    with pytest.raises(DubiousOwnership):
        GitRepo(path)
    trust(global_config, "/somewhere/else", "*")
    assert GitRepo(path).resolve("HEAD")
    trust(global_config, str(path))
    assert GitRepo(path).resolve("HEAD")
    assert fired(canaries) == set()


def test_harvest_refuses_another_users_repository(
    incident: Any,
    service: HotfixService,
    hotfix: Any,
    repo: Path,
    canaries: Path,
    global_config: Path,
    other_user: LocalUser,
) -> None:
    fix(service, incident.name)
    arm(repo, canaries)
    give_to(repo, other_user)
    before = state(repo)
    res = hotfix("harvest", incident.name, "--repo", str(repo))
    assert res.code == 1, res.stderr
    line = one_line_error(res.stderr)
    assert git_message(repo) in line
    assert f"git config --global --add safe.directory {repo}" in line
    assert fired(canaries) == set()
    assert state(repo) == before
    journal = [e for e in service.journal(incident.name) if e.action == "harvest"]
    assert journal == []  # refused before the harvest began


@pytest.mark.parametrize("owner", ["root", "another user, in safe.directory", "safe.directory *"])
def test_harvest_runs_none_of_a_trusted_repositorys_commands(
    incident: Any,
    service: HotfixService,
    hotfix: Any,
    repo: Path,
    canaries: Path,
    global_config: Path,
    other_user: LocalUser,
    owner: str,
) -> None:
    fixed = fix(service, incident.name)
    arm(repo, canaries)
    if owner != "root":
        give_to(repo, other_user)
        trust(global_config, "*" if owner.endswith("*") else str(repo))
    files_before = state(repo, with_git_dir=False)
    res = hotfix("harvest", incident.name, "--repo", str(repo), "--json")
    assert res.code == 0, res.stderr
    assert fired(canaries) == set()
    assert state(repo, with_git_dir=False) == files_before
    branch, commit = res.json()["branch"], res.json()["commit"]
    # Read back with git pointed at the objects directly: no discovery, nothing that runs.
    shown = subprocess.run(
        ["git", f"--git-dir={repo / '.git'}", "cat-file", "blob", f"{branch}:app.py"],
        capture_output=True,
        check=True,
    )
    assert shown.stdout.decode() == fixed
    assert git(repo, f"--git-dir={repo / '.git'}", "rev-parse", branch).strip() == commit
    assert fired(canaries) == set()


# --- --map through a symlink --------------------------------------------------------------------


@pytest.fixture
def linked_repo(tmp_path: Path, canaries: Path) -> Path:
    """The service at the top level, beside symlinks to a directory outside, to a file, to
    itself; the image's revision is not in it, so HEAD is the base."""
    path = tmp_path / "linked"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", AUTHOR_NAME)
    git(path, "config", "user.email", AUTHOR_EMAIL)
    (path / "app.py").write_bytes((PROD_DIR / "app.py").read_bytes())
    (path / "README.md").write_text("readme\n")
    (path / "outside").symlink_to(canaries)
    (path / "readme").symlink_to("README.md")
    (path / "itself").symlink_to(".")
    commit_all(path, "the service and three links")
    return path


@pytest.mark.parametrize("through", ["outside", "readme", "itself", "app.py"])
def test_map_through_a_symlink_or_a_file_is_refused(
    incident: Any,
    service: HotfixService,
    hotfix: Any,
    linked_repo: Path,
    canaries: Path,
    through: str,
) -> None:
    fix(service, incident.name)
    service.write(incident.name, "/usr/src/app/new.py", b"NEW = 1\n")
    before = state(linked_repo)
    res = hotfix(
        "harvest",
        incident.name,
        "--repo",
        str(linked_repo),
        "--map",
        f"{APP}=app.py",
        "--map",
        f"/usr/src/app/new.py={through}/new.py",
    )
    assert res.code == 1, res.stderr
    line = one_line_error(res.stderr)
    assert f"{through}/new.py" in line and f"but {through} is a " in line
    assert fired(canaries) == set()
    assert state(linked_repo) == before
    assert git(linked_repo, "branch", "--list", "hotfix-*") == ""


def test_worktree_never_writes_through_a_symlink(linked_repo: Path, canaries: Path) -> None:
    opened = GitRepo(linked_repo)
    head = opened.resolve("HEAD")
    assert head
    with opened.worktree(head) as wt:
        assert (wt.path / "outside").is_symlink() and (wt.path / "app.py").is_file()
        for rel in ("outside/x.py", "readme/x.py", "itself/x.py", "app.py/x.py"):
            with pytest.raises(FileNotADirectory, match="passes through"):
                wt.put(rel, b"x = 1\n", executable=False)
        with pytest.raises(UsageError, match=r"inside \.git"):
            wt.put(".git", b"gitdir: /etc\n", executable=False)
        with pytest.raises(UsageError, match="leaves the repository"):
            wt.put("../x.py", b"x = 1\n", executable=False)
    assert fired(canaries) == set()
