"""The state store under faults: missing, locked by another process, corrupted, full disk.

The rule each test checks: a clear one-line error, and no container write without a
durable checkpoint — the container's file is left exactly as it was.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hotfix.store.state import StateStore
from tests.conftest import CliResult, Running
from tests.reliability.conftest import in_container, uri
from tests.reliability.rpc import Rpc, b64, code_of

pytestmark = pytest.mark.engine

Hotfix = Callable[..., CliResult]
FILE = "/srv/app.conf"
ORIGINAL = b"mode=a\n"

LOCKER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
db.execute("ROLLBACK")
"""


@contextlib.contextmanager
def db_locked(state_dir: Path, release_after: float | None = None) -> Iterator[None]:
    """Another process holds ``BEGIN EXCLUSIVE`` on state.db (until the block ends, or
    ``release_after`` seconds)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(state_dir / "state.db")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    assert proc.stdout.readline() == b"locked\n"
    timer = threading.Timer(release_after or 0, proc.stdin.close)
    if release_after is not None:
        timer.start()
    try:
        yield
    finally:
        timer.cancel()
        with contextlib.suppress(OSError):
            proc.stdin.close()
        proc.wait(10)


@pytest.fixture
def conf(box: Running, state_dir: Path) -> Running:
    box.sh(f"mkdir -p /srv && printf 'mode=a\\n' > {FILE}")
    StateStore(state_dir).close()  # the database exists
    return box


def one_line_error(result: CliResult) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hotfix: error: "), result.stderr
    return lines[0]


# --- locked ---------------------------------------------------------------------------------


def test_reads_work_while_another_process_holds_the_database(
    conf: Running, hotfix: Hotfix, state_dir: Path
) -> None:
    with db_locked(state_dir):
        started = time.monotonic()
        read = hotfix("cat", f"{conf.name}:{FILE}")
        assert read.code == 0, read.stderr
        assert read.stdout == "mode=a\n"
        assert hotfix("log").code == 0
        assert time.monotonic() - started < 8  # no wait for the lock (its timeout is 10 s)


def test_a_write_waits_for_a_short_lock(conf: Running, hotfix: Hotfix, state_dir: Path) -> None:
    with db_locked(state_dir, release_after=1.5):
        written = hotfix("write", f"{conf.name}:{FILE}", input=b"mode=b\n")
    assert written.code == 0, written.stderr
    assert in_container(conf, FILE) == b"mode=b\n"


def test_a_write_refused_when_the_lock_outlasts_the_wait(
    conf: Running, hotfix: Hotfix, state_dir: Path
) -> None:
    with db_locked(state_dir):
        refused = hotfix("write", f"{conf.name}:{FILE}", input=b"mode=b\n")
    assert refused.code == 1
    assert "database is locked" in one_line_error(refused)
    assert in_container(conf, FILE) == ORIGINAL  # no checkpoint, so no write
    store = StateStore(state_dir)
    try:
        assert store.checkpoints() == [] and store.journal() == []
    finally:
        store.close()


# --- corrupted ------------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_corrupt_database_is_a_clear_error_and_nothing_is_written(
    conf: Running, hotfix: Hotfix, state_dir: Path, damage: str
) -> None:
    # Some history first, so that the database has pages to lose.
    for i in range(3):
        assert hotfix("write", f"{conf.name}:/srv/f{i}", input=b"x" * 3000).code == 0
    db = state_dir / "state.db"
    if damage == "garbage":
        db.write_bytes(b"this is not a database\n" * 200)
    else:
        db.write_bytes(db.read_bytes()[: 4096 + 100])
    for suffix in ("-wal", "-shm"):
        (state_dir / f"state.db{suffix}").unlink(missing_ok=True)

    refused = hotfix("write", f"{conf.name}:{FILE}", input=b"mode=b\n")
    assert refused.code == 1
    message = one_line_error(refused)
    assert str(state_dir) in message
    assert "not a database" in message or "malformed" in message
    assert in_container(conf, FILE) == ORIGINAL


def test_a_corrupt_checkpoint_blob_is_never_restored(
    conf: Running, hotfix: Hotfix, state_dir: Path
) -> None:
    assert hotfix("write", f"{conf.name}:{FILE}", input=b"mode=b\n").code == 0
    blobs = [p for p in (state_dir / "blobs").rglob("*") if p.is_file()]
    # The checkpoint's, not the written content's (kept too, for reapply).
    [blob] = [p for p in blobs if p.read_bytes() == ORIGINAL]
    blob.write_bytes(b"mode=EVIL\n")
    refused = hotfix("revert", conf.name)
    assert refused.code == 1
    assert "is corrupt" in one_line_error(refused)
    assert in_container(conf, FILE) == b"mode=b\n"  # the hotfix stays; no bad content goes in


# --- missing --------------------------------------------------------------------------------


def test_a_missing_state_directory_is_created(box: Running, hotfix: Hotfix, tmp_path: Path) -> None:
    state = tmp_path / "deep" / "new" / "state"
    written = hotfix(
        "write", f"{box.name}:/tmp/x", input=b"x\n", env={"HOTFIX_STATE_DIR": str(state)}
    )
    assert written.code == 0, written.stderr
    assert (state / "state.db").is_file()


def test_a_lost_database_with_checkpoints_left_is_not_silently_replaced(
    conf: Running, hotfix: Hotfix, state_dir: Path
) -> None:
    assert hotfix("write", f"{conf.name}:{FILE}", input=b"mode=b\n").code == 0
    for suffix in ("", "-wal", "-shm"):
        (state_dir / f"state.db{suffix}").unlink(missing_ok=True)
    again = hotfix("write", f"{conf.name}:{FILE}", input=b"mode=c\n")
    # Either refused with a clear error, or the original is still what revert restores.
    if again.code == 0:
        assert hotfix("revert", conf.name).code == 0
        assert in_container(conf, FILE) == ORIGINAL
    else:
        assert "state.db" in one_line_error(again)
        assert in_container(conf, FILE) == b"mode=b\n"


def test_database_deleted_under_a_running_server(
    conf: Running, lsp: Callable[..., Rpc], hotfix: Hotfix, state_dir: Path
) -> None:
    server = lsp()
    server.result(
        "hotfix/writeFile",
        {"uri": uri(conf, FILE), "data": b64(b"mode=b\n"), "create": True, "overwrite": True},
    )
    for suffix in ("", "-wal", "-shm"):
        (state_dir / f"state.db{suffix}").unlink(missing_ok=True)
    answer = server.request(
        "hotfix/writeFile",
        {"uri": uri(conf, "/srv/other"), "data": b64(b"x\n"), "create": True, "overwrite": True},
    )
    if "error" in answer:
        assert code_of(answer["error"]) == "Unavailable"
        assert in_container(conf, "/srv/other") is None
    else:  # written: then the next run must know it (checkpoint and journal)
        log = hotfix("log", conf.name, "--json")
        assert log.code == 0, log.stderr
        assert "/srv/other" in [e["path"] for e in log.json()["entries"]]


# --- full disk ------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs."""
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_refuses_before_writing_the_container(
    box: Running, hotfix: Hotfix, small_disk: Path
) -> None:
    env = {"HOTFIX_STATE_DIR": str(small_disk / "state")}
    box.sh("mkdir -p /srv && head -c 1500000 /dev/zero > /srv/big && printf 'a\\n' > /srv/small")

    # The checkpoint does not fit: refused, the container untouched.
    too_big = hotfix("write", f"{box.name}:/srv/big", input=b"y" * 1000, env=env)
    assert too_big.code == 1
    assert "No space left on device" in one_line_error(too_big)
    assert box.sh("wc -c < /srv/big").strip() == "1500000"
    assert box.sh("head -c 1 /srv/big | od -An -c").strip() == "\\0"

    # The disk completely full: even SQLite cannot start; the message says why.
    filler = small_disk / "filler"
    with contextlib.suppress(OSError), filler.open("wb") as fh:
        while True:
            fh.write(b"\0" * 65536)
    full = hotfix("write", f"{box.name}:/srv/small", input=b"b\n", env=env)
    assert full.code == 1
    assert "no space left" in one_line_error(full).lower()
    assert box.sh("cat /srv/small") == "a\n"

    # Room again: it works, and the checkpoint is the original.
    filler.unlink()
    assert hotfix("write", f"{box.name}:/srv/small", input=b"b\n", env=env).code == 0
    assert hotfix("revert", box.name, env=env).code == 0
    assert box.sh("cat /srv/small") == "a\n"
