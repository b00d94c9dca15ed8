"""Bad paths: relative, ``..``, escapes out of the container's root through symlinks, long
names, sockets, devices, FIFOs, symlink loops and dangling links — on both file paths
(/proc/<pid>/root, and the Engine's archive API).

Most calls go to the in-process service (``svc``), which is what the CLI and the language
server call; each test also runs the CLI once to check its one-line error.
"""

from __future__ import annotations

import os
import socket
import stat
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hotfix.core.errors import (
    FileIsADirectory,
    FileNotADirectory,
    FileNotFound,
    HotfixError,
    NoPermissions,
    Unavailable,
)
from hotfix.service.files import HotfixService
from tests.conftest import CliResult, Running
from tests.reliability.conftest import in_container

pytestmark = pytest.mark.engine

Hotfix = Callable[..., CliResult]


def error_line(result: CliResult) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.code != 0 and len(lines) == 1, (result.code, result.stderr)
    assert lines[0].startswith("hotfix: error: ") and "Traceback" not in result.stderr
    return lines[0]


def test_relative_and_empty_paths_are_usage_errors(box: Running, hotfix: Hotfix) -> None:
    for target, fragment in (
        (f"{box.name}:etc/hostname", "is relative"),
        (f"{box.name}:./etc/hostname", "is relative"),
        (f"{box.name}:", "expected CONTAINER:PATH"),
    ):
        result = hotfix("cat", target)
        assert result.code == 2, target
        assert fragment in error_line(result)


def test_dotdot_cannot_climb_above_the_containers_root(
    box: Running, svc: HotfixService, hotfix: Hotfix
) -> None:
    hostname = box.sh("cat /etc/hostname").encode()
    for path in ("/../../../../etc/hostname", "/www/../../../etc/./hostname", "//etc//hostname"):
        assert svc.read(box.name, path).data == hostname  # the container's, never the host's
    assert hotfix("cat", f"{box.name}:/../../etc/hostname").stdout.encode() == hostname
    assert hostname != Path("/etc/hostname").read_bytes()


@pytest.fixture
def host_file() -> Iterator[Path]:
    """A file that exists on the host only."""
    path = Path(f"/tmp/hotfix-host-only-{uuid.uuid4().hex[:8]}")
    path.write_text("HOST SECRET\n")
    yield path
    path.unlink(missing_ok=True)


def test_symlinks_cannot_reach_the_host(
    box: Running, svc: HotfixService, hotfix: Hotfix, host_file: Path
) -> None:
    name = host_file.name
    box.sh(
        "mkdir -p /srv/links && cd /srv/links"
        f" && ln -s /tmp/{name} abs && ln -s ../../../../../../../tmp/{name} rel"
        " && ln -s /tmp tmpdir && ln -s /proc/self/root/tmp selfroot"
    )
    for link in ("abs", "rel", f"tmpdir/{name}", f"selfroot/{name}"):
        with pytest.raises(FileNotFound, match="no such file"):
            svc.read(box.name, f"/srv/links/{link}")
    assert "no such file" in error_line(hotfix("cat", f"{box.name}:/srv/links/abs"))
    for link in ("abs", "rel", f"tmpdir/{name}"):
        svc.write(box.name, f"/srv/links/{link}", f"via {link}\n".encode())
        assert in_container(box, f"/tmp/{name}") == f"via {link}\n".encode()  # the container's
        assert host_file.read_text() == "HOST SECRET\n"
    assert box.sh("readlink /srv/links/abs") == f"/tmp/{name}\n"  # links stay links


def test_long_names(box: Running, svc: HotfixService, hotfix: Hotfix) -> None:
    longest = "n" * 255  # NAME_MAX: a legal name, however long
    svc.write(box.name, f"/tmp/{longest}", b"long\n")
    assert in_container(box, f"/tmp/{longest}") == b"long\n"
    assert svc.read(box.name, f"/tmp/{longest}").data == b"long\n"

    with pytest.raises(HotfixError, match="name too long"):
        svc.write(box.name, f"/tmp/{'n' * 256}", b"x\n")
    deep = "/tmp/" + "/".join(["d" * 250] * 20) + "/f"  # above PATH_MAX
    with pytest.raises(HotfixError, match=r"does not exist|name too long"):
        svc.write(box.name, deep, b"x\n")
    error_line(hotfix("write", f"{box.name}:/tmp/{'n' * 256}", input=b"x\n"))


@pytest.fixture
def specials(box: Running) -> Running:
    """/srv/special/{fifo,sock,null}: a FIFO, a listening unix socket, a character device."""
    box.sh("mkdir -p /srv/special && mkfifo /srv/special/fifo")
    box.container.reload()
    root = f"/proc/{box.container.attrs['State']['Pid']}/root/srv/special"
    os.mknod(f"{root}/null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(f"{root}/sock")
    sock.close()  # the socket file stays
    return box


def test_sockets_devices_fifos_are_refused_not_opened(
    specials: Running, svc: HotfixService, hotfix: Hotfix
) -> None:
    kinds = {"fifo": "fifo", "sock": "socket", "null": "device"}
    for name, kind in kinds.items():
        path = f"/srv/special/{name}"
        with pytest.raises(NoPermissions, match=f"is a {kind}, not a regular file"):
            svc.read(specials.name, path)
        with pytest.raises(NoPermissions, match=f"is a {kind}, not a regular file"):
            svc.write(specials.name, path, b"x\n")
    assert "is a fifo" in error_line(hotfix("cat", f"{specials.name}:/srv/special/fifo"))
    assert specials.sh("stat -c %F /srv/special/fifo /srv/special/sock /srv/special/null") == (
        "fifo\nsocket\ncharacter special file\n"  # still what they were
    )


def test_symlink_loops_are_a_clear_error(box: Running, svc: HotfixService, hotfix: Hotfix) -> None:
    box.sh("mkdir -p /srv/loop && cd /srv/loop && ln -s b a && ln -s a b && ln -s self self")
    for link in ("a", "self", "a/below"):
        path = f"/srv/loop/{link}"
        with pytest.raises((FileNotFound, Unavailable), match="too many levels of symbolic"):
            svc.read(box.name, path)
        with pytest.raises((FileNotFound, Unavailable), match="too many levels of symbolic"):
            svc.write(box.name, path, b"x\n")
    write = hotfix("write", f"{box.name}:/srv/loop/a", input=b"x\n")
    assert "too many levels of symbolic links" in error_line(write)
    assert box.sh("ls /srv/loop") == "a\nb\nself\n"  # nothing created
    assert box.sh("readlink /srv/loop/a") == "b\n"  # the links untouched


def test_dangling_symlinks(box: Running, svc: HotfixService, hotfix: Hotfix) -> None:
    box.sh(
        "mkdir -p /srv/dangle && cd /srv/dangle && ln -s /nowhere/file far && ln -s target.txt near"
    )
    with pytest.raises(FileNotFound, match="no such file"):
        svc.read(box.name, "/srv/dangle/near")
    far = hotfix("write", f"{box.name}:/srv/dangle/far", input=b"x\n")
    assert "parent directory /nowhere does not exist" in error_line(far)
    svc.write(box.name, "/srv/dangle/near", b"made\n")
    assert in_container(box, "/srv/dangle/target.txt") == b"made\n"  # the link's target
    assert box.sh("readlink /srv/dangle/near") == "target.txt\n"
    assert svc.revert(box.name) == ["/srv/dangle/target.txt"]
    assert in_container(box, "/srv/dangle/target.txt") is None  # created, so deleted again


def test_a_directory_is_not_a_file(box: Running, svc: HotfixService, hotfix: Hotfix) -> None:
    with pytest.raises(FileIsADirectory):
        svc.write(box.name, "/www", b"x\n")
    with pytest.raises(FileIsADirectory):
        svc.read(box.name, "/www")
    with pytest.raises(FileNotADirectory, match="not a directory"):
        svc.write(box.name, "/www/index.html/x", b"x\n")
    assert "is a directory" in error_line(hotfix("cat", f"{box.name}:/www"))


def test_files_on_a_tmpfs_mount_through_the_archive_api(
    images: dict[str, str],
    run_container: Callable[..., Running],
    hotfix: Hotfix,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOTFIX_LOCAL_FS", "0")
    box = run_container(
        images["busybox"], command=["sleep", "3600"], stop_signal="KILL", tmpfs={"/scratch": ""}
    )
    box.sh("echo live > /scratch/a")
    written = hotfix("write", f"{box.name}:/scratch/a", input=b"new\n")
    # Either really written, or refused saying why: never "wrote" what the service cannot see.
    if written.code == 0:
        assert box.sh("cat /scratch/a") == "new\n"
    else:
        assert "tmpfs" in error_line(written)
    read = hotfix("cat", f"{box.name}:/scratch/a")
    # The archive API cannot read a tmpfs: refused, saying so — never "no such file".
    assert read.code == 0 or "tmpfs" in error_line(read)
    assert "no such file" not in read.stderr


def test_names_that_are_not_utf8_are_a_usage_error(box: Running, hotfix: Hotfix) -> None:
    """Undecodable bytes on the command line (a name in another encoding) are refused in one
    line, not a traceback from the Engine API's URL quoting or from SQLite."""
    bad = os.fsdecode(b"/tmp/latin1-\xe9t\xe9")
    for args in (("cat", f"{box.name}:{bad}"), ("write", f"{box.name}:{bad}"), ("log", "\udcff")):
        result = hotfix(*args, input=b"x\n")
        assert result.code == 2, result.stderr
        assert "is not valid UTF-8" in error_line(result)
    assert box.exec("ls", "/tmp")[1].strip() == ""  # nothing written
