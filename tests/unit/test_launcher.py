"""The launcher's decisions, without a resident process: which commands stay local, where the
socket goes and when the code it names has changed."""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from hotfix.cli.argv import command_in
from hotfix.core import rundir
from hotfix.core.errors import Unavailable
from hotfix.startup import launcher


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["cat", "c:/etc/hosts"], None),  # the resident process runs it
        (["--json", "lsp"], "lsp"),
        (["--engine", "edit", "daemon", "stop"], "daemon"),  # --engine's value is no command
        (["--version"], None),
        ([], None),
    ],
)
def test_local_command(argv: list[str], command: str | None) -> None:
    assert command_in(argv, launcher.LOCAL_COMMANDS) == command


@pytest.fixture
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "rt"
    directory.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(directory))
    monkeypatch.delenv("HOTFIX_DAEMON", raising=False)
    return directory


def test_runtime_dir_is_used_only_when_private(
    runtime: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert rundir.runtime_dir() == str(runtime)
    runtime.chmod(0o755)
    assert rundir.runtime_dir() is None
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime / "missing"))
    assert rundir.runtime_dir() is None
    # Unset: /run/user/UID, when it is private; never /tmp.
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    monkeypatch.setattr(rundir, "USER_RUNTIME_ROOT", str(tmp_path / "run-user"))
    assert rundir.runtime_dir() is None
    logind = tmp_path / "run-user" / str(os.geteuid())
    logind.mkdir(parents=True, mode=0o700)
    assert rundir.runtime_dir() == str(logind)
    logind.chmod(0o711)
    assert rundir.runtime_dir() is None


def test_private_subdir_is_made_0700_and_refused_when_not_private(
    runtime: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    place = rundir.open_private_subdir("hotfix")
    assert place is not None and place[0] == str(runtime / "hotfix")
    assert os.fstat(place[1]).st_ino == (runtime / "hotfix").stat().st_ino
    os.close(place[1])
    assert (runtime / "hotfix").stat().st_mode & 0o777 == 0o700
    (runtime / "hotfix").chmod(0o755)  # another user could enter it
    with pytest.raises(Unavailable, match=r"hotfix is not a private directory .*mode 0755"):
        rundir.open_private_subdir("hotfix")
    (runtime / "hotfix").rmdir()
    (runtime / "hotfix").symlink_to(tmp_path)  # planted: refused even though it leads to a dir
    with pytest.raises(Unavailable, match="hotfix is not a private directory: Not a directory"):
        rundir.open_private_subdir("hotfix")
    # Without a runtime dir: hotfix-UID under $TMPDIR.
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    monkeypatch.setattr(rundir, "USER_RUNTIME_ROOT", str(tmp_path / "no-run-user"))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    place = rundir.open_private_subdir("hotfix")
    assert place is not None and place[0] == str(tmp_path / f"hotfix-{os.geteuid()}")
    os.close(place[1])


def test_a_directory_not_private_runs_the_command_here_and_says_why(
    runtime: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (runtime / "hotfix").mkdir(mode=0o777)
    (runtime / "hotfix").chmod(0o777)
    assert launcher.run_resident(["cat", "c:/x"]) is None
    err = capsys.readouterr().err
    assert err.startswith("hotfix: running the command in this process, not the resident one:")
    assert "mode 0777" in err and err.count("\n") == 1


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
    assert path.startswith(str(runtime / "hotfix"))
    (runtime / "hotfix").mkdir(mode=0o700)
    with socket.socket(socket.AF_UNIX) as stale:
        stale.bind(path)  # bound, never listening: what a killed process leaves
    assert launcher.run_resident(["cat", "c:/x"]) is None  # so the command runs here
    assert started == [path]


def test_a_deep_runtime_dir_is_reached_through_its_descriptor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = tmp_path / ("d" * 100)  # the socket's own path would not fit in sun_path
    deep.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(deep))
    path = launcher.socket_path()
    assert len(os.fsencode(path)) > 107
    (deep / "hotfix").mkdir(mode=0o700)
    dir_fd = os.open(deep / "hotfix", os.O_RDONLY)
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(rundir.fd_path(dir_fd, os.path.basename(path)))
        server.listen(1)
        conn = launcher._connect()
        assert conn is not None
        conn.close()
    os.close(dir_fd)


def test_a_peer_is_foreign_unless_of_this_uid_and_these_namespaces() -> None:
    left, right = socket.socketpair()
    with left, right:
        creds = left.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
    pid, uid, _ = struct.unpack("3i", creds)
    assert rundir.foreign_peer(pid, uid) is None
    assert rundir.foreign_peer(pid, uid + 1) == f"uid {uid + 1}"
    gone = rundir.foreign_peer(2**31 - 1, uid)  # no such process: nothing to vouch for it
    assert gone is not None and "cannot be read" in gone


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_the_caller_dies_by_the_signal_that_killed_the_command(signum: int) -> None:
    code = f"from hotfix.startup import launcher; launcher._die_by({signum}); print('survived')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == -signum and done.stdout == "" and done.stderr == ""


def test_a_signal_that_kills_no_one_leaves_the_exit_status_to_say_it() -> None:
    launcher._die_by(signal.SIGWINCH)  # default: ignored
    launcher._die_by(0x7FFF)  # no such signal


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
