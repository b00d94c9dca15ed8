"""The archive path downloads a file once per session, not once per save, on a real engine:
a HEAD stat that still shows what hotfix last read or wrote stands for the download, and
any change in the container — the same size included — is still a conflict."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import docker
import pytest

from hotfix.core.errors import Conflict
from hotfix.docker.engine import Engine
from hotfix.service.files import HotfixService
from hotfix.store.state import StateStore
from tests.conftest import Running

pytestmark = pytest.mark.engine

FILE = "/srv/app.conf"


@pytest.fixture
def archive_service(
    docker_client: docker.DockerClient, state_dir: object, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[HotfixService, list[str]]]:
    """A service on the archive path, and the paths it downloaded (GET …/archive)."""
    engine = Engine(docker_client, local_fs=False)
    downloads: list[str] = []
    read = engine.read

    def counting_read(container: object, path: str, max_size: int | None = None) -> object:
        downloads.append(path)
        return read(container, path, max_size)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "read", counting_read)
    store = StateStore(state_dir)  # type: ignore[arg-type]
    yield HotfixService(engine, store, user="tester"), downloads
    store.close()


@pytest.fixture
def box(images: dict[str, str], run_container: Callable[..., Running]) -> Running:
    box = run_container(images["busybox"], command=["sleep", "3600"], stop_signal="KILL")
    box.sh(f"mkdir -p /srv && echo 'level=info' > {FILE} && chown 1000:1000 {FILE}")
    box.sh(f"touch -d '2024-01-01 00:00:00' {FILE}")  # not changed in the last second
    return box


def test_saves_after_the_first_read_do_not_download(
    box: Running, archive_service: tuple[HotfixService, list[str]]
) -> None:
    service, downloads = archive_service
    version = service.read(box.name, FILE).version
    for level in (b"debug", b"trace", b"error"):
        version = service.write(box.name, FILE, b"level=%s\n" % level, base_version=version).version
    assert downloads == [FILE]
    assert box.sh(f"cat {FILE}") == "level=error\n"
    assert box.sh(f"stat -c %u:%g:%a {FILE}").strip() == "1000:1000:644"
    assert service.diff(box.name).count("\n+level=") == 1


def test_an_outside_change_of_the_same_size_is_still_a_conflict(
    box: Running, archive_service: tuple[HotfixService, list[str]]
) -> None:
    service, _ = archive_service
    version = service.read(box.name, FILE).version
    version = service.write(box.name, FILE, b"level=debug\n", base_version=version).version
    box.sh(f"echo 'level=DEBUG' > {FILE}")  # same size, right after our write
    with pytest.raises(Conflict):
        service.write(box.name, FILE, b"level=trace\n", base_version=version)
    assert box.sh(f"cat {FILE}") == "level=DEBUG\n"


def test_a_file_changed_just_before_it_was_read_is_downloaded_again(
    box: Running, archive_service: tuple[HotfixService, list[str]]
) -> None:
    """A whole-second mtime may come from a coarse clock: a read within 2 s of it is racy."""
    service, downloads = archive_service
    box.sh(f"echo 'level=warn' > {FILE} && touch -d @{int(time.time())} {FILE}")
    version = service.read(box.name, FILE).version
    service.write(box.name, FILE, b"level=debug\n", base_version=version)
    assert downloads == [FILE, FILE]


def test_a_sub_second_mtime_needs_only_a_short_wait(
    box: Running, archive_service: tuple[HotfixService, list[str]]
) -> None:
    """overlayfs keeps nanoseconds: a read 0.2 s after the change is not racy."""
    service, downloads = archive_service
    box.sh(f"echo 'level=warn' > {FILE}")
    time.sleep(0.2)
    version = service.read(box.name, FILE).version
    service.write(box.name, FILE, b"level=debug\n", base_version=version)
    assert downloads == [FILE]


def test_the_first_save_warning_is_taken_when_the_file_is_read(
    box: Running, docker_client: docker.DockerClient, state_dir: object
) -> None:
    """The language server's service takes the container diff behind the first-save
    warning at the read, so the save finds it done — and it names what others changed."""
    box.sh("echo 'edited by hand' >> /etc/group")  # someone else's change, before the hotfix
    store = StateStore(state_dir)  # type: ignore[arg-type]
    try:
        service = HotfixService(Engine(docker_client), store, user="tester", prefetch=True)
        version = service.read(box.name, FILE).version
        result = service.write(box.name, FILE, b"level=debug\n", base_version=version)
    finally:
        store.close()
    [warning] = result.warnings
    assert "/etc/group" in warning and FILE not in warning
