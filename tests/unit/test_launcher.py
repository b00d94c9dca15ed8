"""The launcher's decisions, without a resident process: which commands stay local, where the
socket goes and when the code it names has changed."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

from hotfix import launcher, rundir


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["cat", "c:/etc/hosts"], "cat"),
        (["--json", "lsp"], "lsp"),
        (["--engine", "edit", "daemon", "stop"], "daemon"),  # --engine's value is no command
        (["--version"], None),
        ([], None),
    ],
)
def test_first_command(argv: list[str], command: str | None) -> None:
    assert launcher._first_command(argv) == command


@pytest.fixture
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "rt"
    directory.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(directory))
    monkeypatch.delenv("HOTFIX_DAEMON", raising=False)
    return directory


def test_runtime_dir_is_used_only_when_private(
    runtime: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert rundir.runtime_dir() == str(runtime)
    runtime.chmod(0o755)
    assert rundir.runtime_dir() is None
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime / "missing"))
    assert rundir.runtime_dir() is None
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert rundir.runtime_dir() is None


def test_private_subdir_is_made_0700_and_refused_when_not_private(
    runtime: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = rundir.private_subdir("hotfix")
    assert made == str(runtime / "hotfix") and (runtime / "hotfix").stat().st_mode & 0o777 == 0o700
    (runtime / "hotfix").chmod(0o755)  # another user could enter it
    assert rundir.private_subdir("hotfix") is None
    (runtime / "hotfix").rmdir()
    (runtime / "hotfix").symlink_to(tmp_path)  # planted: refused even though it leads to a dir
    assert rundir.private_subdir("hotfix") is None
    # Without a runtime dir: hotfix-UID under $TMPDIR.
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    assert rundir.private_subdir("hotfix") == str(tmp_path / f"hotfix-{os.geteuid()}")


def test_off_and_local_commands_never_reach_for_a_socket(
    runtime: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTFIX_DAEMON", "off")
    assert launcher.run_resident(["cat", "c:/x"]) is None
    monkeypatch.delenv("HOTFIX_DAEMON")
    assert launcher.run_resident(["lsp"]) is None
    assert not (runtime / "hotfix").exists()  # nothing was started


def test_a_socket_file_nobody_listens_on_starts_a_resident_process(
    runtime: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[str] = []
    monkeypatch.setattr(launcher, "start_daemon", started.append)
    path = launcher.socket_path()
    assert path is not None and path.startswith(str(runtime / "hotfix"))
    with socket.socket(socket.AF_UNIX) as stale:
        stale.bind(path)  # bound, never listening: what a killed process leaves
    assert launcher.run_resident(["cat", "c:/x"]) is None  # so the command runs here
    assert started == [path]


def test_a_socket_path_too_long_for_sun_path_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = tmp_path / ("d" * 100)
    deep.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(deep))
    assert launcher.socket_path() is None


def test_the_fingerprint_follows_the_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = launcher.fingerprint()
    assert launcher.fingerprint() == before
    entry = tmp_path / "site-packages"
    entry.mkdir()
    monkeypatch.setattr(sys, "path", [*sys.path, str(entry)])
    with_entry = launcher.fingerprint()
    assert with_entry != before
    (entry / "newly_installed").mkdir()  # pip adds a directory: the entry's mtime moves
    os.utime(entry, ns=(1, 10**18))
    assert launcher.fingerprint() != with_entry


def test_the_newest_module_counts_subpackages(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.py").write_text("")
    os.utime(tmp_path / "a.py", ns=(1, 1_000))
    os.utime(tmp_path / "sub" / "b.py", ns=(1, 2_000))
    assert launcher._newest_module(str(tmp_path)) == 2_000
