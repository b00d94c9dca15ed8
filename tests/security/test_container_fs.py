"""A hostile container against the host-side walks and reads of its files (docs/reliability.md,
"Security"): it swaps names under the tool while it works — a directory for a symlink to a
host directory, a small file for a big one, a file for a FIFO or a device node — and fills its
writable layer with 200,000 files. Each test runs the swap loop inside the container for a
bounded number of attempts and proves that nothing of the host is listed, nothing above the
size limit is kept, no FIFO or device is opened and no save is held up.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest

from hotfix.core.errors import FileTooLarge, NoPermissions, Unavailable
from hotfix.core.model import ContainerInfo
from hotfix.docker import localfs
from hotfix.docker.engine import Engine
from hotfix.service.files import HotfixService
from tests.conftest import CliResult, Running
from tests.reliability.conftest import file_path, svc  # noqa: F401  (fixtures)

pytestmark = pytest.mark.engine

ATTEMPTS, SECONDS = 150, 30.0  # each race: this many tries, or this long, whichever is first


def attempts() -> Iterator[int]:
    deadline = time.monotonic() + SECONDS
    for attempt in range(ATTEMPTS):
        if time.monotonic() > deadline:
            return
        yield attempt


def in_background(box: Running, script: str) -> None:
    """Run ``script`` in the container until it is removed (the test's end)."""
    box.container.exec_run(["sh", "-c", script], detach=True)


def local_container(docker_client: docker.DockerClient, box: Running) -> ContainerInfo:
    engine = Engine(docker_client)
    info = engine.resolve(box.name)
    assert info.overlay and engine._local_root(info), "the overlay2 fast path should apply"
    return info


@pytest.fixture
def host_canary(tmp_path: Path) -> str:
    """A host directory holding one uniquely named file: a listing that names it left the
    container."""
    directory = tmp_path / f"hfx-canary-{uuid.uuid4().hex[:8]}"
    directory.mkdir()
    (directory / directory.name).write_text("host only\n")
    return str(directory)


# --- the container diff (overlay_changes) ------------------------------------------------------

SWAPPED_DIRS = 8


def test_a_directory_swapped_for_a_symlink_to_the_host_is_never_walked(
    box: Running, docker_client: docker.DockerClient, host_canary: str
) -> None:
    box.sh(
        f"mkdir /race && cd /race && for i in $(seq {SWAPPED_DIRS}); do "
        "mkdir -p d$i/sub && touch d$i/sub/f; done"
    )
    in_background(
        box,
        f"cd /race; while :; do for i in $(seq {SWAPPED_DIRS}); do "
        f"mv d$i d$i.x; ln -s {host_canary} d$i; rm d$i; mv d$i.x d$i; done; done",
    )
    info = local_container(docker_client, box)
    assert info.overlay
    canary = os.path.basename(host_canary)
    whole = [f"/race/d{i}/sub/f" for i in range(1, SWAPPED_DIRS + 1)]
    swapped_seen = 0
    for _ in attempts():
        paths = localfs.overlay_changes(info.overlay).paths
        assert not [p for p in paths if canary in p], "a host directory was listed"
        swapped_seen += not set(whole) <= set(paths)
    assert swapped_seen, "the swap loop never showed: the race was not run"


def test_an_image_symlink_to_the_host_replaced_by_a_directory_is_not_followed(
    docker_client: docker.DockerClient,
    images: dict[str, str],
    run_container: Callable[..., Running],
    host_canary: str,
) -> None:
    """The image has ``/lnk`` → a host path (as Debian has ``/var/run`` → ``/run``); the
    container makes ``/lnk`` a directory, which overlay2 marks opaque, and the image's
    entries there are read — through the layer's descriptors, never through the link."""
    maker = run_container(images["busybox"], command=["sleep", "3600"], stop_signal="KILL")
    maker.sh(f"ln -s {host_canary} /lnk")
    image = maker.container.commit(repository="hotfix-test/linked", tag=uuid.uuid4().hex[:8])
    box = run_container(image.id, command=["sleep", "3600"], stop_signal="KILL")
    try:
        box.sh("rm /lnk && mkdir /lnk && touch /lnk/own")
        info = local_container(docker_client, box)
        from_upper = Engine(docker_client).changed_paths(info)
        archive = Engine(docker_client, local_fs=False)
        assert from_upper == sorted(archive.changed_paths(archive.resolve(box.name)))
        assert "/lnk/own" in from_upper
        assert not [p for p in from_upper if os.path.basename(host_canary) in p]
    finally:
        box.container.remove(force=True)
        docker_client.images.remove(image.id, force=True)


def fill_writable_layer(docker_client: docker.DockerClient, box: Running, count: int) -> None:
    """``count`` files in a new directory ``/many``, made on the host right in the
    container's writable layer (hard links: the quickest way to make that many)."""
    box.sh("mkdir /many")
    upper = docker_client.api.inspect_container(box.name)["GraphDriver"]["Data"]["UpperDir"]
    directory = os.open(f"{upper}/many", os.O_RDONLY | os.O_DIRECTORY)
    try:
        for i in range(count):
            if i % 50_000 == 0:  # a file takes at most 65,000 links
                seed = f"seed{i}"
                os.close(os.open(seed, os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=directory))
            os.link(seed, f"f{i}", src_dir_fd=directory, dst_dir_fd=directory)
    finally:
        os.close(directory)


FIRST_WRITE_BOUND = 20.0  # seconds


def test_200000_changed_files_do_not_hold_up_the_first_write(
    box: Running,
    docker_client: docker.DockerClient,
    hotfix: Callable[..., CliResult],
    file_path: str,  # noqa: F811
) -> None:
    fill_writable_layer(docker_client, box, 200_000)
    started = time.monotonic()
    # In its own process: the command is only done when its background check is done too.
    result = hotfix(
        "write", f"{box.name}:/www/fix.txt", "-", input=b"fixed\n", env={"HOTFIX_DAEMON": "off"}
    )
    took = time.monotonic() - started
    assert result.code == 0, result.stderr
    assert took < FIRST_WRITE_BOUND, f"the first write took {took:.1f} s"
    assert "first-write check stopped after" in result.stderr, result.stderr
    assert "not all changes were checked" in result.stderr
    assert box.sh("cat /www/fix.txt") == "fixed\n"


# --- reads: the size limit and the file type, on what is opened --------------------------------

LIMIT = 1 << 20


SMALL_FILES = 4  # each of its own size: a save on the archive path finds none in its cache


def test_a_small_file_swapped_for_a_big_one_is_never_kept_above_the_limit(
    box: Running,
    svc: HotfixService,  # noqa: F811
    state_dir: Path,
    file_path: str,  # noqa: F811
) -> None:
    svc.max_file_size = LIMIT
    box.sh(
        f"mkdir /swap && cd /swap && for i in $(seq {SMALL_FILES}); do seq $i > small$i; done && "
        f"dd if=/dev/zero of=big bs=1024 count={3 * LIMIT // 1024} 2>/dev/null && cp small1 cur"
    )
    in_background(
        box,
        f"cd /swap; while :; do for i in $(seq {SMALL_FILES}); do "
        "ln -f big t; mv -f t cur; ln -f small$i t; mv -f t cur; done; done",
    )
    outcomes = {"kept": 0, "refused": 0}
    for attempt in attempts():
        try:
            if attempt % 2:
                size = len(svc.read(box.name, "/swap/cur").data)
            else:
                [checkpoint] = svc.checkpoint(box.name, ["/swap/cur"])
                size = checkpoint.size or 0
        except FileTooLarge as exc:
            assert "above the 1.0 MiB limit" in str(exc) or "grew past" in str(exc), exc
            outcomes["refused"] += 1
        except Unavailable as exc:  # dockerd's own lstat-then-open race broke its stream
            assert file_path == "archive" and "archive" in str(exc), exc
        else:
            assert size <= LIMIT
            outcomes["kept"] += 1
    blobs = [p.stat().st_size for p in (state_dir / "blobs").rglob("*") if p.is_file()]
    assert blobs and max(blobs) <= LIMIT, blobs
    assert outcomes["kept"] and outcomes["refused"], outcomes


NODES = {
    "fifo": "mkfifo node",
    "device": "/bin/busybox mknod node c 1 3",  # what /dev/null is
}


@pytest.mark.parametrize(
    ("file_path", "kind"),
    [("local", "fifo"), ("local", "device"), ("archive", "device")],
    indirect=["file_path"],
)
def test_a_file_swapped_for_a_fifo_or_device_is_refused_unopened(
    box: Running,
    svc: HotfixService,  # noqa: F811
    kind: str,
) -> None:
    """A FIFO proves it: its writer blocks in open() until a reader opens it, so a writer
    still blocked afterwards means the tool never opened the node. (On the archive path the
    Engine, not hotfix, opens the files it sends: a FIFO swapped in between its own lstat
    and open is read by dockerd — its race, not one hotfix can close.)"""
    box.sh(f"mkdir /swap && cd /swap && echo small > file && {NODES[kind]} && cp file cur")
    if kind == "fifo":
        in_background(box, "cat /etc/hostname > /swap/node; touch /swap/opened")
    in_background(
        box, "cd /swap; while :; do ln -f node t; mv -f t cur; ln -f file t; mv -f t cur; done"
    )
    outcomes = {"read": 0, "refused": 0}
    for _ in attempts():
        try:
            assert svc.read(box.name, "/swap/cur").data == b"small\n"
            outcomes["read"] += 1
        except NoPermissions as exc:
            assert f"is a {kind}, not a regular file" in str(exc), exc
            outcomes["refused"] += 1
        except Unavailable as exc:  # dockerd sent the header of a file, then a device's 0 bytes
            assert "archive" in str(exc), exc
    assert outcomes["read"] and outcomes["refused"], outcomes
    code, _ = box.exec("test", "-e", "/swap/opened")
    assert code != 0, "the FIFO was opened: its writer went on"
