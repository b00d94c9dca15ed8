"""The spool of big contents (``bodyTransfer: "file"``), without a server."""

from __future__ import annotations

import asyncio
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from hotfix.core.errors import ValidationFailed
from hotfix.lsp.errors import InvalidParams
from hotfix.lsp.spool import Spool

FIELD = "params.dataPath"
LIMIT = 1 << 20


@pytest.fixture
def spool(tmp_path: Path) -> Iterator[Spool]:
    made = Spool(str(tmp_path))
    yield made
    made.close()


def write_in(spool: Spool, name: str, data: bytes) -> str:
    path = os.path.join(spool.directory, name)
    Path(path).write_bytes(data)
    return path


def test_the_directory_is_private_and_named_for_the_process(tmp_path: Path) -> None:
    made = Spool(str(tmp_path))
    try:
        st = os.stat(made.directory)
        assert stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == os.geteuid()
        assert os.path.basename(made.directory).startswith(f"hotfix-spool-{os.getpid()}-")
        assert made.capability() == {
            "kind": "file",
            "directory": made.directory,
            "threshold": 64 << 10,
        }
    finally:
        made.close()


def test_put_writes_a_new_private_file(spool: Spool) -> None:
    data = os.urandom(200_000)
    path = spool.put(data)
    assert os.path.dirname(path) == spool.directory
    assert Path(path).read_bytes() == data
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert spool.put(b"x") != path  # a new name every time


def test_take_reads_and_removes_the_clients_file(spool: Spool) -> None:
    data = os.urandom(300_000)
    path = write_in(spool, "w-1", data)
    assert spool.take(path, FIELD, LIMIT) == data
    assert not os.path.exists(path)
    assert spool.take(write_in(spool, "w-empty", b""), FIELD, LIMIT) == b""


@pytest.mark.parametrize(
    "path",
    [
        "/etc/passwd",
        "relative/w-1",
        "{dir}/../w-1",
        "{dir}/sub/w-1",
        "{dir}/",
        "{dir}/..",
        "{dir}-evil/w-1",
        "{dir}/w-\0",
    ],
)
def test_take_refuses_paths_outside_the_spool(spool: Spool, path: str) -> None:
    path = path.format(dir=spool.directory)
    with pytest.raises(InvalidParams) as err:
        spool.take(path, FIELD, LIMIT)
    message = str(err.value)
    assert message.startswith(f"{FIELD}: {path} ") and spool.directory in message
    assert "\n" not in message


def test_take_refuses_a_symlink_and_removes_it(spool: Spool, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(b"not yours")
    link = os.path.join(spool.directory, "w-link")
    os.symlink(secret, link)
    with pytest.raises(InvalidParams, match="is a symlink"):
        spool.take(link, FIELD, LIMIT)
    assert not os.path.lexists(link) and secret.read_bytes() == b"not yours"


def test_take_refuses_a_fifo_without_waiting_for_a_writer(spool: Spool) -> None:
    fifo = os.path.join(spool.directory, "w-fifo")
    os.mkfifo(fifo, 0o600)
    done = threading.Event()

    def take() -> None:
        with pytest.raises(InvalidParams, match="not a regular file"):
            spool.take(fifo, FIELD, LIMIT)
        done.set()

    worker = threading.Thread(target=take, daemon=True)
    worker.start()
    worker.join(5)
    assert done.is_set() and not os.path.lexists(fifo)


def test_take_of_a_missing_file_says_so(spool: Spool) -> None:
    path = os.path.join(spool.directory, "w-gone")
    with pytest.raises(InvalidParams, match="does not exist"):
        spool.take(path, FIELD, LIMIT)


def test_take_refuses_a_file_above_the_limit_and_removes_it(spool: Spool) -> None:
    path = write_in(spool, "w-big", b"x" * (LIMIT + 1))
    with pytest.raises(ValidationFailed, match=r"above this server's 1\.0 MiB limit"):
        spool.take(path, FIELD, LIMIT)
    assert not os.path.exists(path)


def test_close_removes_everything_and_is_idempotent(tmp_path: Path) -> None:
    made = Spool(str(tmp_path))
    made.put(b"left behind")
    write_in(made, "w-left", b"also")
    made.close()
    made.close()
    assert not os.path.exists(made.directory) and made.closed
    with pytest.raises(ValidationFailed, match="shutting down"):
        made.put(b"late")


async def test_a_put_whose_request_is_cancelled_leaves_no_file(spool: Spool) -> None:
    release = threading.Event()
    written: list[str] = []

    def slow_put() -> str:
        release.wait(5)
        path = spool.put(b"y" * 100_000)
        written.append(path)
        return path

    task = asyncio.ensure_future(spool.guard(asyncio.to_thread(slow_put), lambda path: path))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    release.set()
    for _ in range(100):
        await asyncio.sleep(0.02)
        if written and not os.path.exists(written[0]):
            break
    assert written and os.listdir(spool.directory) == []
