"""The docker layer: translating the Engine's answers and errors (no engine needed)."""

from __future__ import annotations

import base64
import io
import json
import stat
import tarfile
import time
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import docker.errors
import pytest
import requests
import urllib3

from hotfix.core.errors import (
    ContainerNotFound,
    FileNotADirectory,
    FileNotFound,
    HotfixError,
    NoPermissions,
    Unavailable,
)
from hotfix.core.model import ContainerInfo
from hotfix.docker import archive
from hotfix.docker.answers import details_from_inspect, info_from_summary, parse_go_time
from hotfix.docker.archive import stat_from_header, stat_from_tarinfo
from hotfix.docker.engine import Engine
from hotfix.docker.errors import engine_errors

MAY_1 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC).timestamp()

# --- parse_go_time ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T10:00:00Z", MAY_1),
        ("2024-05-01T10:00:00.5Z", MAY_1 + 0.5),
        ("2024-05-01T10:00:00.123456789Z", MAY_1 + 0.123456789),
        ("2024-05-01T10:00:00.000000001Z", MAY_1 + 1e-9),
        ("2024-05-01T12:00:00+02:00", MAY_1),
        ("2024-05-01T03:00:00-07:00", MAY_1),
        ("2024-05-01T12:00:00.25+02:00", MAY_1 + 0.25),
        ("2024-05-01T04:30:00.75-05:30", MAY_1 + 0.75),
        ("2024-05-01T10:00:00", MAY_1),  # no zone: UTC
        ("", 0.0),
        ("yesterday", 0.0),
        ("2024-13-45T99:00:00Z", 0.0),
    ],
)
def testparse_go_time(text: str, expected: float) -> None:
    assert parse_go_time(text) == pytest.approx(expected, abs=1e-6)


def testparse_go_time_keeps_sub_microsecond_order() -> None:
    earlier = parse_go_time("2024-05-01T10:00:00.100000000Z")
    later = parse_go_time("2024-05-01T10:00:00.900000000Z")
    assert later - earlier == pytest.approx(0.8, abs=1e-6)


# --- stat_from_header -------------------------------------------------------------------------


def header(mode: int, **kw: Any) -> dict[str, Any]:
    return {"name": "x", "size": 12, "mode": mode, "mtime": "2024-05-01T10:00:00Z", **kw}


def teststat_from_header_regular_file() -> None:
    st = stat_from_header("/srv/app.py", header(0o640))
    assert (st.path, st.kind, st.size, st.mode, st.uid, st.gid, st.link_target) == (
        "/srv/app.py",
        "file",
        12,
        0o640,
        None,
        None,
        None,
    )
    assert st.mtime == MAY_1


@pytest.mark.parametrize(
    ("go_mode", "kind"),
    [
        (archive.GO_DIR | 0o755, "dir"),
        (archive.GO_SYMLINK | 0o777, "symlink"),
        (archive.GO_PIPE | 0o600, "fifo"),
        (archive.GO_SOCKET | 0o755, "socket"),
        (archive.GO_DEVICE | (1 << 21) | 0o666, "device"),  # a character device
        (archive.GO_DEVICE | 0o660, "device"),
    ],
)
def teststat_from_header_kinds(go_mode: int, kind: str) -> None:
    st = stat_from_header("/p", header(go_mode))
    assert st.kind == kind
    assert st.mode == go_mode & 0o777


def teststat_from_header_symlink_target() -> None:
    raw = header(archive.GO_SYMLINK | 0o777, linkTarget="/usr/share/zoneinfo/UTC")
    st = stat_from_header("/etc/localtime", raw)
    assert (st.kind, st.link_target) == ("symlink", "/usr/share/zoneinfo/UTC")
    assert stat_from_header("/f", header(0o644, linkTarget="")).link_target is None


@pytest.mark.parametrize(
    ("go_bits", "expected"),
    [
        (archive.GO_SETUID | 0o755, stat.S_ISUID | 0o755),
        (archive.GO_SETGID | 0o750, stat.S_ISGID | 0o750),
        (archive.GO_DIR | archive.GO_STICKY | 0o777, stat.S_ISVTX | 0o777),
        (archive.GO_SETUID | archive.GO_SETGID | archive.GO_STICKY | 0o700, 0o7700),
    ],
)
def teststat_from_header_special_bits(go_bits: int, expected: int) -> None:
    assert stat_from_header("/p", header(go_bits)).mode == expected


def teststat_from_header_decodes_like_the_engine_sends_it() -> None:
    # The header is base64 JSON; Engine.stat decodes it and hands the dict over.
    sent = base64.b64encode(json.dumps(header(archive.GO_DIR | 0o1777, size=4096)).encode())
    st = stat_from_header("/tmp", json.loads(base64.b64decode(sent)))
    assert (st.kind, st.mode, st.size) == ("dir", 0o777, 4096)


def teststat_from_tarinfo() -> None:
    member = tarfile.TarInfo("app.py")
    member.size, member.mode, member.uid, member.gid, member.mtime = 5, 0o100644, 33, 34, 1e9
    st = stat_from_tarinfo("/srv/app.py", member)
    assert (st.kind, st.mode, st.uid, st.gid, st.mtime, st.size) == (
        "file",
        0o644,
        33,
        34,
        1e9,
        5,
    )
    link = tarfile.TarInfo("current")
    link.type, link.linkname = tarfile.SYMTYPE, "releases/7"
    assert stat_from_tarinfo("/srv/current", link).link_target == "releases/7"
    fifo = tarfile.TarInfo("pipe")
    fifo.type = tarfile.FIFOTYPE
    assert stat_from_tarinfo("/pipe", fifo).kind == "fifo"


# --- info_from_summary ------------------------------------------------------------------------


def testinfo_from_summary() -> None:
    row = {
        "Id": "f" * 64,
        "Names": ["/web-1"],
        "Image": "registry.example/app:1.0",
        "ImageID": "sha256:" + "a" * 64,
        "State": "running",
        "Status": "Up 3 minutes (healthy)",
        "Labels": {"com.docker.compose.project": "shop", "com.docker.compose.service": "web"},
        "Ports": [
            {"IP": "0.0.0.0", "PrivatePort": 8001, "PublicPort": 32768, "Type": "tcp"},
            {"IP": "0.0.0.0", "PrivatePort": 8001, "PublicPort": 32768, "Type": "tcp"},
            {"IP": "::", "PrivatePort": 8001, "PublicPort": 32768, "Type": "tcp"},
            {"PrivatePort": 9000, "Type": "tcp"},  # exposed, not published
            {"IP": "127.0.0.1", "PrivatePort": 53, "PublicPort": 5353, "Type": "udp"},
        ],
    }
    info = info_from_summary(row)
    assert info == ContainerInfo(
        id="f" * 64,
        name="web-1",
        image="registry.example/app:1.0",
        image_id="sha256:" + "a" * 64,
        state="running",
        health="healthy",
        labels=row["Labels"],
        ports=[
            "0.0.0.0:32768->8001/tcp",
            "127.0.0.1:5353->53/udp",
            ":::32768->8001/tcp",
        ],
    )
    assert info.service == "shop/web"
    assert info.short_id == "f" * 12


@pytest.mark.parametrize(
    ("status", "health"),
    [
        ("Up 3 minutes (unhealthy)", "unhealthy"),
        ("Up 2 seconds (health: starting)", "starting"),
        ("Up 3 minutes", None),
        ("Exited (1) 2 minutes ago", None),
    ],
)
def testinfo_from_summary_health(status: str, health: str | None) -> None:
    assert info_from_summary({"Id": "a" * 64, "Status": status}).health == health


def testinfo_from_summary_minimal_row() -> None:
    info = info_from_summary({"Id": "0123456789abcdef" * 4})
    assert (info.name, info.image, info.state, info.labels, info.ports) == (
        "0123456789ab",
        "",
        "",
        {},
        [],
    )


# --- details_from_inspect ---------------------------------------------------------------------


def inspect_attrs(**over: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "Id": "e" * 64,
        "Name": "/web",
        "Image": "sha256:" + "b" * 64,
        "State": {"Status": "running", "Pid": 4321, "ExitCode": 0, "Health": {"Status": "healthy"}},
        "Config": {
            "Image": "registry.example/app:1.0",
            "Labels": {"com.docker.swarm.service.name": "shop_web"},
            "Healthcheck": {"Test": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"]},
            "StopTimeout": 5,
        },
        "HostConfig": {
            "ReadonlyRootfs": True,
            "PortBindings": {"8001/tcp": [{"HostIp": "", "HostPort": "8001"}]},
        },
        "NetworkSettings": {
            "Ports": {
                "9000/tcp": None,
                "8001/tcp": [
                    {"HostIp": "0.0.0.0", "HostPort": "32768"},
                    {"HostIp": "::", "HostPort": "32768"},
                ],
                "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "5353"}],
            }
        },
    }
    attrs.update(over)
    return attrs


def testdetails_from_inspect_running() -> None:
    d = details_from_inspect(inspect_attrs())
    assert d.info.id == "e" * 64 and d.info.name == "web"
    assert (d.info.image, d.info.image_id) == ("registry.example/app:1.0", "sha256:" + "b" * 64)
    assert (d.info.state, d.info.health, d.info.pid) == ("running", "healthy", 4321)
    assert d.info.service == "shop_web"
    assert d.healthcheck == ["CMD-SHELL", "curl -f http://localhost/ || exit 1"]
    assert d.published == [
        ("127.0.0.1", 5353, "53/udp"),
        ("0.0.0.0", 32768, "8001/tcp"),
        ("::", 32768, "8001/tcp"),
    ]
    assert d.info.ports == [
        "127.0.0.1:5353->53/udp",
        "0.0.0.0:32768->8001/tcp",
        ":::32768->8001/tcp",
    ]
    assert (d.stop_timeout, d.exit_code, d.read_only) == (5, 0, True)


def testdetails_from_inspect_stopped_uses_configured_bindings() -> None:
    attrs = inspect_attrs(
        State={"Status": "exited", "Pid": 0, "ExitCode": 137},
        NetworkSettings={"Ports": {}},
        Config={"Image": "app", "Healthcheck": {"Test": ["NONE"]}},
        HostConfig={
            "PortBindings": {
                "8001/tcp": [{"HostIp": "", "HostPort": "8001"}],
                "8002/tcp": [{"HostIp": "", "HostPort": ""}],  # random port: unknown until started
            }
        },
    )
    d = details_from_inspect(attrs)
    assert d.published == [("", 8001, "8001/tcp")]
    assert d.info.ports == ["0.0.0.0:8001->8001/tcp"]
    assert d.healthcheck is None  # HEALTHCHECK NONE disables the image's check
    assert (d.info.state, d.info.health, d.info.pid, d.exit_code) == ("exited", None, 0, 137)
    assert (d.read_only, d.stop_timeout) == (False, None)


def testdetails_from_inspect_bare() -> None:
    d = details_from_inspect({"Id": "1" * 64})
    assert (d.info.name, d.published, d.healthcheck, d.info.labels) == ("", [], None, {})


# --- engine_errors ----------------------------------------------------------------------------

CONTAINER = ContainerInfo(id="d" * 64, name="web", image="app", image_id="x", state="running")


def not_found(text: str) -> docker.errors.NotFound:
    return docker.errors.NotFound("404 Client Error: Not Found", explanation=text)


def api_error(text: str) -> docker.errors.APIError:
    return docker.errors.APIError("500 Server Error", explanation=text)


def translate(exc: BaseException, container: Any = CONTAINER, **kw: str) -> HotfixError:
    with pytest.raises(HotfixError) as info, engine_errors(container, **kw):
        raise exc
    assert info.value.__cause__ is exc
    return info.value


def test_no_such_container() -> None:
    err = translate(not_found("No such container: web"), "web")
    assert type(err) is ContainerNotFound and str(err) == "no such container: web"
    err = translate(not_found("No such container: web"), path="/etc/hosts")
    assert type(err) is ContainerNotFound and "web" in str(err)
    err = translate(not_found("No such container: abc"), "")
    assert (
        type(err) is ContainerNotFound and str(err) == "no such container: No such container: abc"
    )


def test_missing_file_names_container_and_path() -> None:
    err = translate(not_found("Could not find the file /nope in container web"), path="/nope")
    assert type(err) is FileNotFound
    assert str(err) == "web:/nope: no such file or directory"


def test_missing_parent_directory_is_named() -> None:
    err = translate(
        not_found("Could not find the file /srv/missing in container web"),
        path="/srv/missing/new.txt",
        parent="/srv/missing",
    )
    assert type(err) is FileNotFound
    assert str(err) == "web:/srv/missing/new.txt: parent directory /srv/missing does not exist"


@pytest.mark.parametrize(
    ("text", "kind", "fragment"),
    [
        ("container rootfs is marked read-only", NoPermissions, "web:/x: the container's root"),
        ("extraction point is not a directory", FileNotADirectory, "web:/x: /srv is not a dir"),
        ("No such container: web", ContainerNotFound, "no such container: web"),
        (
            "Container web is paused, unpause the container",
            Unavailable,
            "web:/x: the container is paused",
        ),
        ("open /x: permission denied", NoPermissions, "web:/x: permission denied"),
        ("something else broke", Unavailable, "web:/x: the engine refused: something else broke"),
    ],
)
def test_api_errors(text: str, kind: type[HotfixError], fragment: str) -> None:
    err = translate(api_error(text), path="/x", parent="/srv")
    assert type(err) is kind
    assert str(err).startswith(fragment)


def test_transport_errors_are_unavailable() -> None:
    err = translate(requests.exceptions.ConnectionError("Connection refused"))
    assert type(err) is Unavailable
    assert str(err).startswith("cannot reach the Docker engine: Connection refused")
    assert "dockerd" in str(err)
    err = translate(docker.errors.DockerException("Error while fetching server API version"))
    assert type(err) is Unavailable and "cannot reach" in str(err)


def test_archive_errors_are_unavailable() -> None:
    err = translate(tarfile.ReadError("unexpected end of data"), path="/big.log")
    assert type(err) is Unavailable
    assert str(err) == "web:/big.log: reading the engine's archive failed: unexpected end of data"


def test_an_archive_stream_cut_off_midway_is_unavailable() -> None:
    cut = urllib3.exceptions.ProtocolError("Connection broken: IncompleteRead(10 bytes read)")
    err = translate(cut, path="/big.log")
    assert type(err) is Unavailable and "reading the engine's archive failed" in str(err)


def test_forward_reader_lets_tarfile_skip_contents_and_leaves_a_content_to_read() -> None:
    files = {"dir": None, "dir/a.bin": b"a" * 70_000, "dir/" + "n" * 150: b"pax name"}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    raw = buf.getvalue()
    with tarfile.open(fileobj=archive.ForwardReader(io.BytesIO(raw)), mode="r:") as tar:  # type: ignore[call-overload]
        assert [m.name for m in tar] == list(files)
    stream = archive.ForwardReader(io.BytesIO(raw))
    with tarfile.open(fileobj=stream, mode="r:") as tar:  # type: ignore[call-overload]
        assert tar.next().name == "dir"
        member = tar.next()
        assert member.name == "dir/a.bin" and stream.read(member.size) == files["dir/a.bin"]
        assert stream.tell() == member.offset_data + member.size
        with pytest.raises(io.UnsupportedOperation):
            stream.seek(0)
    cut = archive.ForwardReader(io.BytesIO(raw[:2000]))
    assert len(cut.read(5000)) == 2000  # a stream that ends early: what there was


def test_hotfix_errors_pass_through_and_others_propagate() -> None:
    original = FileNotFound("already translated")
    with pytest.raises(FileNotFound) as info, engine_errors(CONTAINER, "/x"):
        raise original
    assert info.value is original
    with pytest.raises(KeyError), engine_errors(CONTAINER, "/x"):
        raise KeyError("not an engine error")


# --- Engine properties that need no engine -----------------------------------------------------


@pytest.mark.parametrize(
    ("base_url", "local", "host"),
    [
        ("http+docker://localhost", True, "127.0.0.1"),
        ("http://10.1.2.3:2375", False, "10.1.2.3"),
        ("https://docker.example:2376", False, "docker.example"),
        ("http://docker.example", False, "docker.example"),
    ],
)
def test_engine_host_address(base_url: str, local: bool, host: str) -> None:
    engine = Engine(SimpleNamespace(api=SimpleNamespace(base_url=base_url)))  # type: ignore[arg-type]
    assert engine.is_local is local
    assert engine.host_address == host


def test_engine_host_address_ipv6() -> None:
    engine = Engine(SimpleNamespace(api=SimpleNamespace(base_url="http://[fd00::5]:2375")))  # type: ignore[arg-type]
    assert engine.host_address == "fd00::5"


def test_inspect_without_ref() -> None:
    engine = Engine(SimpleNamespace(api=SimpleNamespace(base_url="http+docker://localhost")))  # type: ignore[arg-type]
    with pytest.raises(ContainerNotFound):
        engine.inspect("")


@pytest.mark.parametrize(
    ("name", "size"), [("app.py", 0), ("app.py", 511), ("app.py", 512), ("n" * 150, 70_000)]
)
def test_one_file_tar_reads_back_as_tarfile_would_write_it(name: str, size: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.uid, info.gid = size, 0o4755, 1000, 1001
    info.mtime = 1_764_000_000.123456
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    body = archive.one_file_tar(info, data)
    raw = bytes(body)
    assert len(raw) == len(body) and len(raw) % tarfile.BLOCKSIZE == 0
    assert body.parts[1] is data  # sent as it is, not copied
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
        [member] = tar.getmembers()
        extracted = tar.extractfile(member)
        assert extracted is not None and extracted.read() == data
    assert (member.name, member.mode, member.uid, member.gid) == (name, 0o4755, 1000, 1001)
    assert member.mtime == pytest.approx(1_764_000_000.123456)


def test_clock_offset_of_a_remote_engine_is_measured_once() -> None:
    """File mtimes are in the engine's clock; the content cache's racy check needs it."""
    calls: list[str] = []
    ahead = datetime.fromtimestamp(time.time() + 30, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def info() -> dict[str, str]:
        calls.append("info")
        return {"SystemTime": ahead}

    api = SimpleNamespace(base_url="https://build-host:2376", info=info)
    engine = Engine(SimpleNamespace(api=api))  # type: ignore[arg-type]
    assert engine.clock_offset() == pytest.approx(30, abs=1)
    assert engine.clock_offset() == pytest.approx(30, abs=1)
    assert calls == ["info"]
    local = Engine(SimpleNamespace(api=SimpleNamespace(base_url="http+docker://localhost")))  # type: ignore[arg-type]
    assert local.clock_offset() == 0.0
