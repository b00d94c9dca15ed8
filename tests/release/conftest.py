"""Fixtures of the release tests: a real git repository holding the service, an image built
from it (labelled with its revision), and the incident container running that image.

The shared fixtures (``docker_client``, ``images``, ``service``, ``run_container``,
``hotfix``) come from ``tests/conftest.py``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from hotfix.service.files import HotfixService
from tests.images.build import PROD_DIR

APP = "/usr/src/app/app.py"
SETTINGS = "/usr/src/app/settings.py"
SECRET_NAME = "SECRET_TOKEN"
SECRET_VALUE = "s3cr3t-value-9f2c41"
REVISION_LABEL = "org.opencontainers.image.revision"

AUTHOR_NAME = "Hotfix Tester"
AUTHOR_EMAIL = "tester@example.com"

SETTINGS_PY = 'GREETING = "Hello World"\nDEBUG = False\n'
README = "# my_prod_service\n\nServes app.py with uWSGI on :8001.\n"
DOCKERFILE = "FROM my_prod_service:v1.0.0\nWORKDIR /usr/src/app\nCOPY app.py settings.py ./\n"

# Fixed identity and dates: every copy of the template repository has the same commit ids.
FIXED_GIT_ENV = {
    "GIT_AUTHOR_NAME": "Release Bot",
    "GIT_AUTHOR_EMAIL": "release@example.com",
    "GIT_COMMITTER_NAME": "Release Bot",
    "GIT_COMMITTER_EMAIL": "release@example.com",
    "GIT_AUTHOR_DATE": "2024-05-01T10:00:00+00:00",
    "GIT_COMMITTER_DATE": "2024-05-01T10:00:00+00:00",
}


def git(repo: Path, *args: str, env: dict[str, str] | None = None, check: bool = True) -> str:
    proc = subprocess.run(
        ["git", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


def commit_all(repo: Path, message: str, *, fixed: bool = False) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message, env=FIXED_GIT_ENV if fixed else None)
    return git(repo, "rev-parse", "HEAD").strip()


def make_repo(path: Path) -> str:
    """A repository holding the service at one commit; returns that commit's id."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", AUTHOR_NAME)
    git(path, "config", "user.email", AUTHOR_EMAIL)
    shutil.copy(PROD_DIR / "app.py", path / "app.py")
    (path / "settings.py").write_text(SETTINGS_PY)
    (path / "README.md").write_text(README)
    (path / "Dockerfile").write_text(DOCKERFILE)
    return commit_all(path, "my_prod_service v1.0.0", fixed=True)


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("template") / "repo"
    return path, make_repo(path)


@pytest.fixture
def repo(template_repo: tuple[Path, str], tmp_path: Path) -> Path:
    """A fresh copy of the template repository (same commit ids)."""
    target = tmp_path / "repo"
    shutil.copytree(template_repo[0], target, symlinks=True)
    return target


@pytest.fixture(scope="session")
def release_image(
    docker_client: docker.DockerClient, images: dict[str, str], template_repo: tuple[Path, str]
) -> Iterator[str]:
    """``my_prod_service`` built from the template repository, labelled with its revision."""
    path, sha = template_repo
    tag = f"hotfix-release-test/svc:v1.0.0-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="hotfix-release-ctx-") as ctx:
        for name in ("app.py", "settings.py", "Dockerfile"):
            shutil.copy(path / name, Path(ctx) / name)
        docker_client.images.build(
            path=ctx, tag=tag, labels={REVISION_LABEL: sha}, rm=True, forcerm=True, pull=False
        )
    yield tag
    _remove_image(docker_client, tag)


def _remove_image(client: docker.DockerClient, ref: str) -> None:
    try:
        client.images.remove(ref, force=True)
    except docker.errors.ImageNotFound:
        pass
    except docker.errors.APIError as exc:  # still used by a leftover container
        print(f"could not remove {ref}: {exc}")


@pytest.fixture
def image_cleanup(docker_client: docker.DockerClient) -> Iterator[list[str]]:
    """Append image references or IDs made by a test; they are removed afterwards."""
    made: list[str] = []
    yield made
    for ref in reversed(made):
        _remove_image(docker_client, ref)


@pytest.fixture
def incident(release_image: str, run_container: Callable[..., Any]) -> Any:
    """The service from the release image, with a secret given at run time."""
    return run_container(release_image, port=8001, environment={SECRET_NAME: SECRET_VALUE})


def fix(service: HotfixService, name: str) -> str:
    """The blog's one-line fix, written through the service; returns the new content."""
    original = service.read(name, APP).data.decode()
    fixed = original.replace("cause_a_problem = True", "cause_a_problem = False")
    assert fixed != original
    service.write(name, APP, fixed.encode())
    return fixed


def snapshot(repo: Path) -> dict[str, str]:
    """What the user could lose: working tree, index, stash, current branch, worktrees."""
    files = {}
    for p in sorted(repo.rglob("*")):
        if ".git" in p.relative_to(repo).parts or not p.is_file():
            continue
        files[str(p.relative_to(repo))] = p.read_text(errors="replace")
    return {
        "status": git(repo, "status", "--porcelain=v1", "-uall"),
        "worktree_diff": git(repo, "diff"),
        "index_diff": git(repo, "diff", "--cached"),
        "stash": git(repo, "stash", "list"),
        "branch": git(repo, "symbolic-ref", "--short", "HEAD"),
        "head": git(repo, "rev-parse", "HEAD"),
        "worktrees": git(repo, "worktree", "list", "--porcelain"),
        "files": repr(files),
    }
