"""Two editors (two language-server processes) saving the same file; an edit made in the
container between an editor's read and its save; two saves racing."""

from __future__ import annotations

import os
import subprocess
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from hotfix.store.state import version_of
from tests.conftest import CliResult, Running
from tests.reliability.conftest import in_container, patched_argv, uri
from tests.reliability.rpc import Rpc, b64, code_of, unb64

pytestmark = pytest.mark.engine

Hotfix = Callable[..., CliResult]
FILE = "/srv/app.conf"


@pytest.fixture
def conf(box: Running) -> Running:
    box.sh(f"mkdir -p /srv && printf 'mode=a\\n' > {FILE}")
    return box


def save(server: Rpc, box: Running, data: bytes, base: str) -> dict[str, object]:
    return server.request(
        "hotfix/writeFile",
        {
            "uri": uri(box, FILE),
            "data": b64(data),
            "baseVersion": base,
            "create": False,
            "overwrite": True,
        },
    )


def test_two_editors_save_the_same_file(conf: Running, lsp: Callable[..., Rpc]) -> None:
    first = lsp()
    second = lsp(init=False)
    second.initialize(poll_interval=0.2)
    opened = {"uri": uri(conf, FILE), "languageId": "ini", "version": 1, "text": "mode=a\n"}
    second.send(
        {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": opened}}
    )
    base = first.result("hotfix/readFile", {"uri": uri(conf, FILE)})["version"]
    assert second.result("hotfix/readFile", {"uri": uri(conf, FILE)})["version"] == base

    assert "result" in save(first, conf, b"mode=first\n", base)
    lost = save(second, conf, b"mode=second\n", base)
    assert code_of(lost["error"]) == "Conflict"  # type: ignore[arg-type]
    assert in_container(conf, FILE) == b"mode=first\n"  # nothing overwritten
    deadline = time.monotonic() + 10
    while not second.notifications("hotfix/didChangeFile"):
        assert time.monotonic() < deadline, "the second editor was not told"
        time.sleep(0.05)
    assert second.notifications("hotfix/didChangeFile") == [{"uri": uri(conf, FILE)}]

    # The second editor reloads, merges by hand, saves on the new base.
    now = second.result("hotfix/readFile", {"uri": uri(conf, FILE)})
    assert unb64(now["data"]) == b"mode=first\n"
    assert "result" in save(second, conf, b"mode=first+second\n", now["version"])
    assert in_container(conf, FILE) == b"mode=first+second\n"


def test_an_edit_in_the_container_between_read_and_save(
    conf: Running, lsp: Callable[..., Rpc], hotfix: Hotfix
) -> None:
    server = lsp()
    base = server.result("hotfix/readFile", {"uri": uri(conf, FILE)})["version"]
    conf.sh(f"sed -i 's/a/b/' {FILE}")  # someone with `docker exec`
    refused = save(server, conf, b"mode=mine\n", base)
    error = refused["error"]
    assert code_of(error) == "Conflict"  # type: ignore[arg-type]
    assert "changed in the container since you read it" in error["message"]  # type: ignore[index]
    assert in_container(conf, FILE) == b"mode=b\n"
    # The refused save is not journalled as a write, and took no checkpoint.
    assert hotfix("log", conf.name, "--json").json()["entries"] == []


# Each writer stops right before writing the container, at a point it shares with the other.
PAUSE_BEFORE_WRITE = textwrap.dedent(
    """
    import os, pathlib, time
    from hotfix.docker import engine as _engine

    _real_write = _engine.Engine.write

    def _write(self, *args, **kwargs):
        pathlib.Path(os.environ["ARRIVED"]).touch()
        deadline = time.monotonic() + 5
        while os.environ.get("WAIT_FOR") and not os.path.exists(os.environ["WAIT_FOR"]):
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)
        return _real_write(self, *args, **kwargs)

    _engine.Engine.write = _write
    """
)


def test_two_saves_racing_on_the_same_base(
    conf: Running, hotfix: Hotfix, state_dir: Path, tmp_path: Path
) -> None:
    base = version_of(b"mode=a\n")
    argv = ["write", f"{conf.name}:{FILE}", "--base-version", base]
    env = {**os.environ, "HOTFIX_STATE_DIR": str(state_dir)}
    a_here, b_here = tmp_path / "a-arrived", tmp_path / "b-arrived"
    first = subprocess.Popen(
        patched_argv(argv, "hotfix.docker.engine:Engine.write", "never", PAUSE_BEFORE_WRITE),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**env, "ARRIVED": str(a_here), "WAIT_FOR": str(b_here)},
    )
    assert first.stdin is not None and first.stderr is not None
    first.stdin.write(b"mode=A\n")
    first.stdin.close()
    deadline = time.monotonic() + 30
    while not a_here.exists():  # A has checked the version and is about to write
        assert first.poll() is None and time.monotonic() < deadline, first.stderr.read()
        time.sleep(0.02)
    second = subprocess.run(
        patched_argv(argv, "hotfix.docker.engine:Engine.write", "never", PAUSE_BEFORE_WRITE),
        input=b"mode=B\n",
        capture_output=True,
        env={**env, "ARRIVED": str(b_here)},
        timeout=60,
        check=False,
    )
    first.wait(60)
    codes = sorted([first.returncode, second.returncode])
    assert codes == [0, 3], (codes, first.stderr.read(), second.stderr)  # one saved, one conflict
    winner = b"mode=A\n" if first.returncode == 0 else b"mode=B\n"
    assert in_container(conf, FILE) == winner
