"""Bad files: binary, empty, very large (the size limit), unreadable to the container's user."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import uuid
from collections.abc import Callable, Iterator

import docker
import docker.errors
import pytest

from hotfix.service.files import HotfixService
from tests.conftest import CliResult, Running
from tests.reliability.conftest import in_container, uri
from tests.reliability.rpc import Rpc, b64, code_of, unb64

pytestmark = pytest.mark.engine

Hotfix = Callable[..., CliResult]
BINARY = bytes(range(256)) * 64 + b"\x00\xff\x00"


def test_binary_files_round_trip(
    box: Running, svc: HotfixService, hotfix: Hotfix, lsp: Callable[..., Rpc]
) -> None:
    box.sh("mkdir -p /srv && printf 'text\\n' > /srv/blob.bin")
    assert hotfix("write", f"{box.name}:/srv/blob.bin", input=BINARY).code == 0  # stdin, as is
    assert in_container(box, "/srv/blob.bin") == BINARY
    read = hotfix("cat", f"{box.name}:/srv/blob.bin", "--json").json()
    assert base64.b64decode(read["data"]) == BINARY
    assert read["version"] == "sha256:" + hashlib.sha256(BINARY).hexdigest()
    assert "Binary files a/srv/blob.bin and b/srv/blob.bin differ" in svc.diff(box.name)
    server = lsp()
    got = server.result("hotfix/readFile", {"uri": uri(box, "/srv/blob.bin")})
    assert unb64(got["data"]) == BINARY
    assert svc.revert(box.name) == ["/srv/blob.bin"]
    assert in_container(box, "/srv/blob.bin") == b"text\n"


def test_empty_files(box: Running, svc: HotfixService, hotfix: Hotfix) -> None:
    box.sh("mkdir -p /srv && printf 'not empty\\n' > /srv/full")
    assert hotfix("write", f"{box.name}:/srv/full", input=b"").code == 0
    svc.write(box.name, "/srv/new-empty", b"")
    assert in_container(box, "/srv/full") == b""
    assert in_container(box, "/srv/new-empty") == b""
    read = svc.read(box.name, "/srv/full")
    assert read.data == b"" and read.version == "sha256:" + hashlib.sha256(b"").hexdigest()
    diff = svc.diff(box.name)
    assert "-not empty" in diff and "new file mode 100644" in diff
    assert sorted(svc.revert(box.name)) == ["/srv/full", "/srv/new-empty"]
    assert in_container(box, "/srv/full") == b"not empty\n"
    assert in_container(box, "/srv/new-empty") is None


def test_the_size_limit_over_the_protocol(box: Running, lsp: Callable[..., Rpc]) -> None:
    """HOTFIX_MAX_FILE_SIZE applies to the editor's reads and saves too; force goes past it."""
    box.sh("mkdir -p /srv && dd if=/dev/zero of=/srv/big bs=1024 count=2048 2>/dev/null")
    server = lsp(env={"HOTFIX_MAX_FILE_SIZE": "1M"})
    big = uri(box, "/srv/big")
    refused = server.error("hotfix/readFile", {"uri": big})
    assert code_of(refused) == "ValidationFailed"
    assert "2.0 MiB, above the 1.0 MiB limit" in refused["message"]
    stat = server.result("hotfix/stat", {"uri": big})  # stat still works: the editor can say why
    assert stat["size"] == 2 << 20

    payload = b"y" * (3 << 20)
    params = {"uri": uri(box, "/srv/new"), "data": b64(payload), "create": True, "overwrite": True}
    assert code_of(server.error("hotfix/writeFile", params)) == "ValidationFailed"
    assert in_container(box, "/srv/new") is None
    written = server.result("hotfix/writeFile", {**params, "force": True})
    assert written["version"] == "sha256:" + hashlib.sha256(payload).hexdigest()
    assert in_container(box, "/srv/new") == payload


def test_a_large_file_is_written_whole(box: Running, hotfix: Hotfix, file_path: str) -> None:
    payload = bytes(range(256)) * (24 << 12)  # 24 MiB, under the default limit
    assert hotfix("write", f"{box.name}:/tmp/large", input=payload).code == 0
    assert box.sh("sha256sum /tmp/large").split()[0] == hashlib.sha256(payload).hexdigest()


def test_files_unreadable_to_the_containers_user(
    images: dict[str, str],
    run_container: Callable[..., Running],
    svc: HotfixService,
) -> None:
    """The service runs as uid 1000; hotfix reads and writes as the engine (root), and keeps
    owner and mode: the service can no more read the file after the hotfix than before."""
    box = run_container(
        images["busybox"], command=["sleep", "3600"], user="1000:1000", stop_signal="KILL"
    )
    root = box.container.exec_run(
        ["sh", "-c", "mkdir -p /srv && echo s1 > /srv/secret && chmod 0600 /srv/secret"],
        user="0",
    )
    assert root.exit_code == 0, root.output
    assert box.exec("cat", "/srv/secret")[0] != 0  # uid 1000 cannot read it

    assert svc.read(box.name, "/srv/secret").data == b"s1\n"
    svc.write(box.name, "/srv/secret", b"s2\n")
    assert box.sh("stat -c '%u %g %a' /srv/secret").strip() == "0 0 600"
    assert box.exec("cat", "/srv/secret")[0] != 0
    assert in_container(box, "/srv/secret") == b"s2\n"

    # A new file in the user's home takes the directory's owner: the service can read it.
    svc.write(box.name, "/home/app/new.conf", b"n\n")
    assert box.sh("stat -c '%u %g %a' /home/app/new.conf").strip() == "1000 1000 644"
    assert box.exec("cat", "/home/app/new.conf") == (0, "n\n")


@pytest.fixture
def small_volume(docker_client: docker.DockerClient) -> Iterator[str]:
    """A 1 MiB volume (tmpfs-backed, so the archive API sees it as a mount)."""
    volume = docker_client.volumes.create(
        f"hotfix-test-{uuid.uuid4().hex[:8]}",
        driver="local",
        driver_opts={"type": "tmpfs", "device": "tmpfs", "o": "size=1m"},
        labels={"hotfix.test": "1"},
    )
    yield volume.name
    for container in docker_client.containers.list(all=True, filters={"volume": volume.name}):
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)
    with contextlib.suppress(docker.errors.NotFound):
        volume.remove(force=True)


@pytest.mark.parametrize(
    "local_fs",
    [
        "1",
        "0",
    ],
    ids=["local", "archive"],
)
def test_a_full_container_disk_leaves_the_file_whole(
    images: dict[str, str],
    run_container: Callable[..., Running],
    small_volume: str,
    hotfix: Hotfix,
    monkeypatch: pytest.MonkeyPatch,
    local_fs: str,
) -> None:
    monkeypatch.setenv("HOTFIX_LOCAL_FS", local_fs)
    box = run_container(
        images["busybox"],
        command=["sleep", "3600"],
        stop_signal="KILL",
        volumes={small_volume: {"bind": "/data", "mode": "rw"}},
    )
    box.sh(
        "head -c 300000 /dev/zero | tr '\\0' o > /data/conf && head -c 400000 /dev/zero > /data/x"
    )
    written = hotfix("write", f"{box.name}:/data/conf", input=b"n" * 700_000)
    assert written.code == 1
    assert "no space left" in written.stderr
    assert in_container(box, "/data/conf") == b"o" * 300_000  # the original, whole


def test_a_name_that_is_not_utf8_in_the_writable_layer_does_not_fail_the_first_write(
    box: Running, file_path: str, hotfix: Hotfix
) -> None:
    """The first-write check looks at the container's changed paths; one named with bytes
    that are not UTF-8 (and an ESC), created since the start, is counted as a runtime file
    beside the image file someone edited — never an error, never a raw ESC."""
    code, out = box.container.exec_run(["sh", "-c", "printf x > \"/$(printf 'r\\233\\033c')\""])
    assert code == 0, out
    named = box.container.exec_run(["sh", "-c", 'for f in /r*c; do printf %s "$f"; done'])
    assert named.output == b"/r\x9b\x1bc"

    box.sh("echo edited >> /etc/group")
    written = hotfix("write", f"{box.name}:/www/index.html", input=b"<h1>fixed</h1>\n")
    assert written.code == 0, written.stderr
    assert in_container(box, "/www/index.html") == b"<h1>fixed</h1>\n"
    assert "already has 1 image file(s)" in written.stderr, written.stderr
    assert "/etc/group" in written.stderr and "1 runtime file(s) ignored" in written.stderr
    assert "\x1b" not in written.stderr
