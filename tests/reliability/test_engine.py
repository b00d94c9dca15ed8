"""The engine stopped or restarted while hotfix runs; a container removed or recreated
between read and write.

Stopping and restarting an engine uses a dockerd of this module's own (tests/fleet/engines.py
starts it, ~2 s): the main engine, which other tests use, is never touched.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from hotfix.store.state import StateStore
from tests.conftest import TEST_LABEL, CliResult, Running
from tests.fleet import engines
from tests.reliability.conftest import Killed, in_container, uri
from tests.reliability.rpc import Rpc, b64, code_of

pytestmark = pytest.mark.engine

Hotfix = Callable[..., CliResult]


class OwnEngine:
    """A dockerd this module may stop and start again (same data root, containers kept)."""

    def __init__(self, engine: engines.SecondEngine) -> None:
        self.engine = engine
        self.argv = Path(f"/proc/{engine.pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
        self.env = {"DOCKER_HOST": engine.unix_url}

    @property
    def pid(self) -> int:
        return self.engine.pid

    @property
    def socket(self) -> str:
        return str(self.engine.socket_path)

    def client(self) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.engine.unix_url, timeout=30)

    def answering(self) -> bool:
        with socket.socket(socket.AF_UNIX) as s:
            try:
                s.connect(self.socket)
            except OSError:
                return False
        return True

    def stop(self) -> None:
        """SIGTERM, as `systemctl stop docker` does; its containers stop with it."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
        self.wait_stopped()

    def wait_stopped(self) -> None:
        assert engines._wait_exit(self.pid, 30), "dockerd did not stop"

    def start(self) -> None:
        log = (self.engine.dir / "dockerd.log").open("ab")
        proc = subprocess.Popen(
            [a.decode() for a in self.argv],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        engines._children[proc.pid] = proc
        state = engines._read_state(self.engine.dir)
        state.update(pid=proc.pid, pid_start=engines._proc_start(proc.pid))
        engines._write_state(self.engine.dir, state)
        self.engine.pid = proc.pid
        deadline = time.monotonic() + 60
        while True:
            try:
                client = self.client()
                client.ping()
                client.close()
                return
            except Exception:
                assert proc.poll() is None, "dockerd exited at start"
                assert time.monotonic() < deadline, "dockerd did not answer"
                time.sleep(0.1)


@pytest.fixture(scope="module")
def own_engine(docker_client: docker.DockerClient, images: dict[str, str]) -> Iterator[OwnEngine]:
    try:
        engine = engines.start(name="reliability")
    except engines.EngineError as exc:
        pytest.fail(f"own engine: {exc}", pytrace=False)
    try:
        engine.load_image(images["busybox"], docker_client)
        yield OwnEngine(engine)
    finally:
        engine.close_clients()
        engines.stop(engine.dir)


@pytest.fixture
def remote_box(own_engine: OwnEngine, images: dict[str, str]) -> Iterator[Any]:
    """A busybox container on the module's engine, restarted with it (restart=always)."""
    if not own_engine.answering():
        own_engine.start()
    client = own_engine.client()
    container = client.containers.run(
        images["busybox"],
        command=["sleep", "3600"],
        name=f"hotfix-test-{uuid.uuid4().hex[:8]}",
        detach=True,
        labels={TEST_LABEL: "1"},
        restart_policy={"Name": "always"},
        stop_signal="KILL",
    )
    container.exec_run(["sh", "-c", "mkdir -p /srv && echo original > /srv/conf"])
    yield container
    if not own_engine.answering():
        own_engine.start()
    with contextlib.suppress(docker.errors.NotFound):
        container.remove(force=True)
    client.close()


def wait_running(container: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(docker.errors.APIError, Exception):
            container.reload()
            if container.status == "running":
                return
        assert time.monotonic() < deadline, "the container did not come back"
        time.sleep(0.1)


def cat(container: Any, path: str) -> str:
    code, out = container.exec_run(["cat", path])
    assert code == 0, out
    return str(out.decode())


def test_engine_stopped_and_restarted_under_a_running_server(
    own_engine: OwnEngine, remote_box: Any, lsp: Callable[..., Rpc], hotfix: Hotfix
) -> None:
    server = lsp(env=own_engine.env)
    target = uri(remote_box.name, "/srv/conf")
    read = server.result("hotfix/readFile", {"uri": target})
    save = {"uri": target, "data": b64(b"fixed\n"), "create": False, "overwrite": True}

    own_engine.stop()
    for method, params in (
        ("hotfix/readFile", {"uri": target}),
        ("hotfix/writeFile", {**save, "baseVersion": read["version"]}),
        ("hotfix/containers", {}),
    ):
        error = server.error(method, params)
        assert code_of(error) == "Unavailable", (method, error)
        assert "cannot reach the Docker engine" in error["message"]
    cli = hotfix("write", f"{remote_box.name}:/srv/conf", input=b"fixed\n", env=own_engine.env)
    assert cli.code == 1
    assert len(cli.stderr.strip().splitlines()) == 1  # one line naming the engine's socket
    assert f"engine 'default' is not reachable at {own_engine.engine.unix_url}" in cli.stderr
    assert "is dockerd running" in cli.stderr

    own_engine.start()
    wait_running(remote_box)
    assert cat(remote_box, "/srv/conf") == "original\n"  # nothing was half-done
    # The same server, never restarted, carries on with the version the editor had.
    again = server.result("hotfix/readFile", {"uri": target})
    assert again["version"] == read["version"]
    written = server.result("hotfix/writeFile", {**save, "baseVersion": read["version"]})
    assert written["checkpointed"] is True
    assert cat(remote_box, "/srv/conf") == "fixed\n"
    assert server.alive()


STOP_ENGINE_BEFORE_WRITE = textwrap.dedent(
    """
    import os, signal, socket, time
    from hotfix.docker import engine as _engine

    _real_write = _engine.Engine.write

    def _write(self, *args, **kwargs):
        os.kill(int(os.environ["ENGINE_PID"]), signal.SIGTERM)
        while True:  # until its socket refuses
            with socket.socket(socket.AF_UNIX) as s:
                try:
                    s.connect(os.environ["ENGINE_SOCKET"])
                except OSError:
                    break
            time.sleep(0.05)
        return _real_write(self, *args, **kwargs)

    _engine.Engine.write = _write
    """
)


@pytest.mark.parametrize("local_fs", ["1", "0"], ids=["local", "archive"])
def test_engine_stops_between_checkpoint_and_write(
    own_engine: OwnEngine,
    remote_box: Any,
    killed: Callable[..., Killed],
    hotfix: Hotfix,
    state_dir: Path,
    local_fs: str,
) -> None:
    env = {
        **own_engine.env,
        "ENGINE_PID": str(own_engine.pid),
        "ENGINE_SOCKET": own_engine.socket,
        "HOTFIX_LOCAL_FS": local_fs,
    }
    run = killed(
        ["write", f"{remote_box.name}:/srv/conf", "-"],
        at="hotfix.docker.engine:Engine.write",
        when="never",
        prelude=STOP_ENGINE_BEFORE_WRITE,
        input=b"fixed\n",
        env=env,
    )
    own_engine.wait_stopped()
    store = StateStore(state_dir)
    try:
        [entry] = store.journal()
        [cp] = store.checkpoints()
        assert store.get_blob(cp.blob or "") == b"original\n"  # the checkpoint, either way
    finally:
        store.close()
    if run.code == 0:
        # The local path raced the engine's shutdown and won: written, and journalled so.
        assert local_fs == "1", run.stdout
        assert (entry.action, entry.outcome) == ("write", "ok")
        expected = "fixed\n"
    else:
        assert run.code == 1, run.stderr
        assert "cannot reach the Docker engine" in run.stderr
        assert (entry.action, entry.outcome) == ("write", "failed")
        assert "cannot reach the Docker engine" in entry.detail["error"]
        expected = "original\n"

    own_engine.start()
    wait_running(remote_box)
    assert cat(remote_box, "/srv/conf") == expected  # what the journal says, nothing between
    again = hotfix("write", f"{remote_box.name}:/srv/conf", input=b"fixed\n", env=own_engine.env)
    assert again.code == 0, again.stderr
    assert cat(remote_box, "/srv/conf") == "fixed\n"


STOPPING_EDITOR = textwrap.dedent(
    """\
    import os, signal, socket, sys, time
    os.kill(int(os.environ["ENGINE_PID"]), signal.SIGTERM)  # the engine goes down meanwhile
    while True:
        with socket.socket(socket.AF_UNIX) as s:
            try:
                s.connect(os.environ["ENGINE_SOCKET"])
            except OSError:
                break
        time.sleep(0.05)
    open(sys.argv[1], "w").write("my careful edit\\n")
    """
)


def test_edit_keeps_the_copy_when_the_engine_stops(
    own_engine: OwnEngine, remote_box: Any, hotfix: Hotfix, tmp_path: Path
) -> None:
    editor = tmp_path / "editor.py"
    editor.write_text(STOPPING_EDITOR)
    env = {
        **own_engine.env,
        "EDITOR": f"{sys.executable} {editor}",
        "ENGINE_PID": str(own_engine.pid),
        "ENGINE_SOCKET": own_engine.socket,
    }
    result = hotfix("edit", f"{remote_box.name}:/srv/conf", env=env)
    own_engine.wait_stopped()
    assert result.code == 1
    assert "cannot reach the Docker engine" in result.stderr
    kept = Path(result.stderr.split("kept at ")[1].split(" ")[0])
    assert kept.read_text() == "my careful edit\n"  # the edit is not lost

    own_engine.start()
    wait_running(remote_box)
    assert cat(remote_box, "/srv/conf") == "original\n"
    finish = hotfix("write", f"{remote_box.name}:/srv/conf", str(kept), env=own_engine.env)
    assert finish.code == 0, finish.stderr  # the command the message gave finishes the job
    assert cat(remote_box, "/srv/conf") == "my careful edit\n"


# --- a container removed or recreated between read and write ---------------------------------


def test_container_removed_between_read_and_write(
    box: Running, lsp: Callable[..., Rpc], hotfix: Hotfix, tmp_path: Path
) -> None:
    box.sh("mkdir -p /srv && echo original > /srv/conf")
    server = lsp()
    read = server.result("hotfix/readFile", {"uri": uri(box, "/srv/conf")})
    box.container.remove(force=True)
    error = server.error(
        "hotfix/writeFile",
        {
            "uri": uri(box, "/srv/conf"),
            "data": b64(b"fixed\n"),
            "baseVersion": read["version"],
            "create": False,
            "overwrite": True,
        },
    )
    assert code_of(error) == "FileNotFound"
    assert f"no such container: '{box.name}'" in error["message"]
    assert server.alive()


def test_edit_keeps_the_copy_when_the_container_goes_away(
    box: Running, hotfix: Hotfix, tmp_path: Path
) -> None:
    box.sh("mkdir -p /srv && echo original > /srv/conf")
    editor = tmp_path / "editor.py"
    editor.write_text(
        textwrap.dedent(
            f"""\
            import subprocess, sys
            subprocess.run(["docker", "rm", "-f", "{box.name}"], check=True, capture_output=True)
            open(sys.argv[1], "w").write("my careful edit\\n")
            """
        )
    )
    result = hotfix("edit", f"{box.name}:/srv/conf", env={"EDITOR": f"{sys.executable} {editor}"})
    assert result.code == 1
    assert "no such container" in result.stderr
    kept = Path(result.stderr.split("kept at ")[1].split(" ")[0])
    assert kept.read_text() == "my careful edit\n"  # the edit is not lost
    assert f"hotfix write {box.name}:/srv/conf {kept}" in result.stderr


def test_container_recreated_between_read_and_write(
    images: dict[str, str],
    docker_client: docker.DockerClient,
    run_container: Callable[..., Running],
    lsp: Callable[..., Rpc],
    hotfix: Hotfix,
) -> None:
    """Same name, new container: a save based on what the old one had applies only if the
    new one has the same content; checkpoints never pass from one container to the other."""
    name = f"hotfix-test-{uuid.uuid4().hex[:8]}"
    old = run_container(images["busybox"], name=name, command=["sleep", "3600"], stop_signal="KILL")
    server = lsp()
    index = uri(name, "/www/index.html")
    original = server.result("hotfix/readFile", {"uri": index})
    hotfixed = server.result(
        "hotfix/writeFile",
        {
            "uri": index,
            "data": b64(b"hotfix 1\n"),
            "baseVersion": original["version"],
            "create": False,
            "overwrite": True,
        },
    )
    old_id = old.container.id
    old.container.remove(force=True)
    new = run_container(images["busybox"], name=name, command=["sleep", "3600"], stop_signal="KILL")

    save = {"uri": index, "data": b64(b"hotfix 2\n"), "create": False, "overwrite": True}
    stale = server.error("hotfix/writeFile", {**save, "baseVersion": hotfixed["version"]})
    assert code_of(stale) == "Conflict"  # the new container does not have hotfix 1
    assert in_container(new, "/www/index.html") == unb64_original(original)
    fresh = server.result("hotfix/writeFile", {**save, "baseVersion": original["version"]})
    assert fresh["checkpointed"] is True  # its own checkpoint, not the old container's

    entries = hotfix("log", "--json").json()["entries"]
    assert [(e["containerId"], e["action"], e["outcome"]) for e in entries] == [
        (old_id, "write", "ok"),
        (new.container.id, "write", "ok"),
    ]
    assert hotfix("revert", name).code == 0
    assert in_container(new, "/www/index.html") == unb64_original(original)


def unb64_original(read: dict[str, Any]) -> bytes:
    import base64

    return base64.b64decode(read["data"])
