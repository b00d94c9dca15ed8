"""Mounts made explicit, on a real engine (issue 16, item 7): a busybox httpd with a bind
mount of a host directory, a named volume and a tmpfs, saved through under a bounded load
loop on 127.0.0.1; and `hotfix commit` of a file on a bind mount."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import docker.errors
import pytest

from tests.conftest import CliResult
from tests.live.conftest import LiveService
from tests.live.load import LoadLoop

pytestmark = pytest.mark.engine

Hotfix = Callable[..., CliResult]
PATHS = {"local": {}, "archive": {"HOTFIX_LOCAL_FS": "0"}}


@pytest.fixture
def volume(docker_client: docker.DockerClient) -> Iterator[str]:
    name = f"hotfix-test-vol-{uuid.uuid4().hex[:8]}"
    docker_client.volumes.create(name, labels={"hotfix.test": "1"})
    yield name
    with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
        docker_client.volumes.get(name).remove(force=True)


@pytest.fixture
def mounted(
    images: dict[str, str], live_service: Callable[..., LiveService], tmp_path: Path, volume: str
) -> tuple[LiveService, Path]:
    """httpd serving /www, with /www/conf a host directory, /www/data a volume and
    /www/scratch a tmpfs."""
    host_dir = tmp_path / "conf"
    host_dir.mkdir()
    (host_dir / "site.txt").write_text("site v1\n")
    mounts = [
        docker.types.Mount("/www/conf", str(host_dir), type="bind"),
        docker.types.Mount("/www/data", volume, type="volume"),
        docker.types.Mount("/www/scratch", None, type="tmpfs"),
    ]
    return live_service(images["busybox"], 8080, mounts=mounts), host_dir


def write(hotfix: Hotfix, service: LiveService, path: str, text: str, env: dict[str, str]) -> str:
    result = hotfix("write", f"{service.name}:{path}", "-", input=text.encode(), env=env)
    assert result.code == 0, result.stderr
    return result.stderr


@pytest.mark.parametrize("way", PATHS)
def test_a_save_on_each_kind_of_mount_warns_naming_its_source(
    mounted: tuple[LiveService, Path], hotfix: Hotfix, volume: str, way: str
) -> None:
    service, host_dir = mounted
    env = PATHS[way]
    with LoadLoop(service.url + "conf/site.txt", threads=4, duration=30) as load:
        assert load.wait_for_body("site v1", timeout=10) is not None, load.describe()
        said = write(hotfix, service, "/www/conf/site.txt", "site v2\n", env)
        assert load.wait_for_body("site v2", timeout=10) is not None, load.describe()
    assert load.failed == 0, load.describe()
    assert (host_dir / "site.txt").read_text() == "site v2\n"  # the host's file, as warned
    assert (
        f"{service.name}:/www/conf/site.txt is on a bind mount of the host's {host_dir}: the "
        "save changed the host's file, and `hotfix commit` will not carry it"
    ) in said

    said = write(hotfix, service, "/www/data/new.txt", "data\n", env)
    assert f"is on the volume {volume} (the host's /var/lib/docker/volumes/{volume}/_data)" in said
    assert service.sh("cat /www/data/new.txt") == "data\n"
    assert "bind mount" not in write(hotfix, service, "/www/index.html", "<p>fixed</p>\n", env)


def test_a_save_on_a_tmpfs_warns_it_is_lost_at_restart(
    mounted: tuple[LiveService, Path], hotfix: Hotfix
) -> None:
    service, _ = mounted
    said = write(hotfix, service, "/www/scratch/note.txt", "temp\n", {})
    assert (
        f"{service.name}:/www/scratch/note.txt is on a tmpfs at /www/scratch: the save is lost "
        "at restart, and is not in any image"
    ) in said
    assert service.sh("cat /www/scratch/note.txt") == "temp\n"
    # The archive API sees the image's directory there, not the tmpfs: refused, as before.
    refused = hotfix("write", f"{service.name}:/www/scratch/b.txt", "-", input=b"x\n",
                     env=PATHS["archive"])  # fmt: skip
    assert refused.code == 1 and "archive API cannot reach" in refused.stderr


def test_commit_refuses_a_bind_mounted_file_and_whole_layer_lists_it(
    mounted: tuple[LiveService, Path], hotfix: Hotfix, docker_client: docker.DockerClient
) -> None:
    service, host_dir = mounted
    write(hotfix, service, "/www/conf/site.txt", "site v2\n", {})
    refused = hotfix("commit", service.name)
    assert refused.code == 2, refused.stderr
    assert (
        f"/www/conf/site.txt is on a bind mount of the host's {host_dir}; no image carries a "
        "file on a mount (docker commit skips mounts)"
    ) in refused.stderr

    whole = hotfix("commit", service.name, "--whole-layer", "--json")
    assert whole.code == 0, whole.stderr
    image = whole.json()["imageId"]
    try:
        assert (
            f"note: not in the image: /www/conf/site.txt is on a bind mount of the host's "
            f"{host_dir}"
        ) in whole.stderr
        # And indeed: the image has no /www/conf/site.txt.
        output = docker_client.containers.run(
            image, ["sh", "-c", "ls /www/conf 2>&1; true"], remove=True
        )
        assert b"site.txt" not in output
    finally:
        with contextlib.suppress(docker.errors.APIError):
            docker_client.images.remove(image, force=True)
