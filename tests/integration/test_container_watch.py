"""A watching engine (the language server's) against a real engine: a kept container is
forgotten by every event that matters, so file work never goes to a stale container."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import docker
import pytest

from hotfix.docker.engine import Engine
from tests.conftest import Running

pytestmark = pytest.mark.engine


@pytest.fixture
def engine(docker_client: docker.DockerClient) -> Iterator[Engine]:
    yield Engine(docker_client, watch=True)


def kept(engine: Engine, ref: str, timeout: float = 5.0) -> None:
    """Resolve until the answer is kept (the event stream connects in the background)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        engine.resolve(ref)
        assert engine._watch is not None
        if engine._watch.get(ref) is not None:
            return
        time.sleep(0.05)
    raise AssertionError(f"{ref} was never kept")


def forgotten(engine: Engine, ref: str, timeout: float = 5.0) -> None:
    assert engine._watch is not None
    deadline = time.monotonic() + timeout
    while engine._watch.get(ref) is not None:
        assert time.monotonic() < deadline, f"{ref} still kept after its event"
        time.sleep(0.02)


def test_a_name_taken_over_by_a_new_container_resolves_to_it(
    engine: Engine,
    images: dict[str, str],
    run_container: Callable[..., Running],
    docker_client: docker.DockerClient,
) -> None:
    old = run_container(images["busybox"], command=["sleep", "3600"], stop_signal="KILL")
    kept(engine, old.name)
    name = old.name
    old.container.rename(f"{name}-old")  # a blue/green swap under the same name
    forgotten(engine, name)
    new = run_container(images["busybox"], command=["sleep", "3600"], name=name)
    assert engine.resolve(name).id == new.container.id
    new.sh("echo new > /f")
    assert engine.read(engine.resolve(name), "/f").data == b"new\n"


def test_a_stopped_or_restarted_container_is_inspected_again(
    engine: Engine, images: dict[str, str], run_container: Callable[..., Running]
) -> None:
    box = run_container(images["busybox"], command=["sleep", "3600"], stop_signal="KILL")
    kept(engine, box.name)
    first_pid = engine.resolve(box.name).pid
    box.container.restart(timeout=0)
    forgotten(engine, box.name)
    assert engine.resolve(box.name).pid not in (0, first_pid)
    box.container.stop(timeout=0)
    forgotten(engine, box.name)
    info = engine.resolve(box.name)
    assert (info.state, info.pid) == ("exited", 0)


def test_our_own_file_work_and_execs_keep_the_answer(
    engine: Engine, images: dict[str, str], run_container: Callable[..., Running]
) -> None:
    box = run_container(images["busybox"], command=["sleep", "3600"], stop_signal="KILL")
    kept(engine, box.name)
    info = engine.resolve(box.name)
    archive = Engine(engine.client, local_fs=False)
    archive.write(info, "/f", b"x\n", uid=0, gid=0, mode=0o644)  # PUT …/archive
    archive.read(info, "/f")  # GET …/archive
    box.sh("true")  # exec
    time.sleep(0.3)  # let their events arrive
    assert engine._watch is not None and engine._watch.get(box.name) == info
