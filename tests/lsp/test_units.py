"""Conversions, params, error mapping, the watch and --tcp parsing (no engine)."""

from __future__ import annotations

import asyncio
import base64
import collections
from dataclasses import dataclass

import pytest
from lsprotocol import types

from hotfix.core.errors import (
    Conflict,
    ContainerNotFound,
    FileNotFound,
    UsageError,
    ValidationFailed,
)
from hotfix.core.model import FileStat
from hotfix.core.validation import Problem
from hotfix.lsp import convert
from hotfix.lsp.errors import INVALID_PARAMS, REQUEST_FAILED, InvalidParams, to_rpc_error
from hotfix.lsp.main import parse_tcp
from hotfix.lsp.params import Params
from hotfix.lsp.uris import Location, parse_uri
from hotfix.lsp.watch import MISSING, Watcher

# --- VS Code numbers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "is_link", "expected"),
    [
        ("file", False, 1),
        ("dir", False, 2),
        ("file", True, 65),
        ("dir", True, 66),
        ("symlink", True, 64),  # dangling
        ("symlink", False, 64),
        ("fifo", False, 0),
        ("device", False, 0),
        ("socket", True, 64),
    ],
)
def test_file_type(kind: str, is_link: bool, expected: int) -> None:
    assert convert.file_type(kind, is_link) == expected


def test_stat_result() -> None:
    st = FileStat("/a", "file", 12, 0o644, 1700000000.1234567)
    assert convert.stat_result(st) == {
        "type": 1,
        "size": 12,
        "mtime": 1700000000123,
        "ctime": 1700000000123,
        "permissions": 0,
    }
    assert convert.stat_result(st, is_link=True, readonly=True)["type"] == 65
    assert convert.stat_result(st, readonly=True)["permissions"] == 1


def test_data_round_trip_and_errors() -> None:
    raw = bytes(range(256))
    assert convert.decode_data(base64.b64encode(raw).decode()) == raw
    with pytest.raises(ValidationFailed, match=r"^params\.data: not valid base64"):
        convert.decode_data("not base64!", "params.data")
    with pytest.raises(ValidationFailed, match="expected base64 text, got int"):
        convert.decode_data(5)


def test_diagnostic() -> None:
    diag = convert.diagnostic(Problem("invalid syntax", 1, 4, 1, 5, "python"))
    assert diag.range == types.Range(types.Position(1, 4), types.Position(1, 5))
    assert diag.severity == types.DiagnosticSeverity.Error
    assert diag.source == "hotfix (python)"


# --- params -------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Sample:
    uri: Location
    create: bool
    overwrite: bool = False
    timeout: float = 60.0
    paths: list[str] | None = None
    codes: list[int] | None = None
    base_version: str | None = None
    probe: str | list[str] | None = None
    map: dict[str, str] | None = None
    data: bytes | None = None


def test_params_read_into_the_declared_fields() -> None:
    raw = {"uri": "hotfix://c/x", "create": True, "timeout": 5, "paths": ["/a"], "codes": 200}
    got = Params({**raw, "unknown": 1, "baseVersion": None}).read(Sample)
    assert got.uri.path == "/x" and got.create is True and got.overwrite is False
    assert (got.timeout, got.paths, got.codes, got.base_version) == (5.0, ["/a"], [200], None)


def test_params_take_the_documented_alternatives() -> None:
    got = Params(
        {
            "uri": "hotfix://c/x",
            "create": False,
            "probe": ["a", "b"],
            "map": ["a=b"],
            "data": "aGk=",
        }
    ).read(Sample)
    assert (got.probe, got.map, got.data) == (["a", "b"], {"a": "b"}, b"hi")
    assert Params({"uri": "hotfix://c/x", "create": False, "probe": "a"}).read(Sample).probe == "a"


def test_params_accept_pygls_namedtuples() -> None:
    Obj = collections.namedtuple("Obj", ["uri", "inner"])
    Inner = collections.namedtuple("Inner", ["x"])
    p = Params(Obj("hotfix://c/x", Inner([1])))
    assert p.values == {"uri": "hotfix://c/x", "inner": {"x": [1]}}


_OK = {"uri": "hotfix://c/x", "create": True}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"create": True}, "params.uri: required"),
        ({"uri": 3, "create": True}, "params.uri: expected a non-empty string, got a number"),
        ({"uri": "file:///x", "create": True}, "params.uri: 'file:///x' is not a container URI"),
        ({"uri": "hotfix://c/x", "create": "yes"}, "params.create: expected true or false"),
        ({"uri": "hotfix://c/x"}, "params.create: required"),
        ({**_OK, "timeout": -1}, "params.timeout: must be more than 0"),
        ({**_OK, "timeout": True}, "params.timeout: expected a number, got a boolean"),
        ({**_OK, "paths": "/a"}, "params.paths: expected a list of non-empty strings"),
        ({**_OK, "codes": ["200"]}, "params.codes: expected a list of integers"),
        ({**_OK, "probe": 5}, "params.probe: expected a non-empty string, got a number"),
        ({**_OK, "baseVersion": ""}, "params.baseVersion: expected a non-empty string, got an"),
        ({**_OK, "map": {"a": 1}}, "params.map: expected an object of non-empty strings"),
        ({**_OK, "data": "**"}, "params.data: not valid base64"),
        ([1, 2], "params: expected a JSON object, got an array"),
    ],
)
def test_params_errors_name_the_field(raw: object, message: str) -> None:
    with pytest.raises(InvalidParams) as info:
        Params(raw).read(Sample)
    assert str(info.value).startswith(message)
    assert info.value.code == "ValidationFailed"


# --- error mapping ------------------------------------------------------------------------------


def test_hotfix_errors_keep_code_and_message() -> None:
    err = to_rpc_error(Conflict("svc:/a changed in the container"), "hotfix/writeFile")
    assert (err.code, err.message, err.data) == (
        REQUEST_FAILED,
        "svc:/a changed in the container",
        {"code": "Conflict"},
    )
    assert to_rpc_error(ContainerNotFound("no such container"), "m").data == {
        "code": "FileNotFound"
    }
    assert to_rpc_error(UsageError("no probe"), "m").data == {"code": "ValidationFailed"}


def test_bad_params_are_invalid_params() -> None:
    err = to_rpc_error(InvalidParams("params.uri: required"), "m")
    assert (err.code, err.data) == (INVALID_PARAMS, {"code": "ValidationFailed"})


def test_unexpected_errors_are_unavailable_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    err = to_rpc_error(KeyError("boom"), "hotfix/stat")
    assert err.data == {"code": "Unavailable"}
    assert "KeyError" in err.message and "boom" in err.message
    assert any(r.exc_info for r in caplog.records)


# --- --tcp --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:2087", ("127.0.0.1", 2087)),
        ("127.0.0.5:1", ("127.0.0.5", 1)),
        ("localhost:2087", ("localhost", 2087)),
        ("[::1]:2087", ("::1", 2087)),
    ],
)
def test_parse_tcp_loopback(text: str, expected: tuple[str, int]) -> None:
    assert parse_tcp(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("0.0.0.0:2087", "not a loopback address"),
        ("192.168.1.5:2087", "not a loopback address"),
        ("example.com:2087", "not a loopback address"),
        ("2087", "expected HOST:PORT"),
        ("127.0.0.1:99999", "expected HOST:PORT"),
        ("127.0.0.1:x", "expected HOST:PORT"),
    ],
)
def test_parse_tcp_refuses(text: str, fragment: str) -> None:
    with pytest.raises(UsageError, match=fragment):
        parse_tcp(text)


# --- the watch ----------------------------------------------------------------------------------


class FakeFiles:
    def __init__(self) -> None:
        self.versions: dict[str, str] = {}
        self.gate: asyncio.Event | None = None

    async def read_version(self, loc: object) -> str:
        path = loc.path  # type: ignore[attr-defined]
        if self.gate is not None:
            await self.gate.wait()
        if path not in self.versions:
            raise FileNotFound(path)
        return self.versions[path]


async def test_watch_notifies_once_per_external_change() -> None:
    files, notified = FakeFiles(), []
    watcher = Watcher(files.read_version, notified.append, interval=0)
    a = parse_uri("hotfix://c/a.py")
    files.versions["/a.py"] = "v1"
    watcher.saw(a, "v1")
    watcher.open("hotfix://c/a.py", a)
    await watcher.poll_once()
    assert notified == []
    files.versions["/a.py"] = "v2"
    await watcher.poll_once()
    await watcher.poll_once()
    assert notified == ["hotfix://c/a.py"]
    del files.versions["/a.py"]
    await watcher.poll_once()
    assert notified == ["hotfix://c/a.py"] * 2  # deleted
    watcher.saw(a, MISSING)
    await watcher.poll_once()
    assert len(notified) == 2


async def test_watch_first_poll_sets_the_baseline() -> None:
    files, notified = FakeFiles(), []
    watcher = Watcher(files.read_version, notified.append, interval=0)
    files.versions["/b"] = "v1"
    watcher.open("hotfix://c/b", parse_uri("hotfix://c/b"))
    await watcher.poll_once()
    assert notified == []


async def test_watch_ignores_our_own_write_racing_a_poll() -> None:
    files, notified = FakeFiles(), []
    watcher = Watcher(files.read_version, notified.append, interval=0)
    a = parse_uri("hotfix://c/a.py")
    files.versions["/a.py"] = "v1"
    watcher.saw(a, "v1")
    watcher.open("hotfix://c/a.py", a)
    files.gate = asyncio.Event()
    poll = asyncio.create_task(watcher.poll_once())
    await asyncio.sleep(0)
    watcher.writing(a)  # our write starts while the poll reads...
    files.versions["/a.py"] = "v2"
    watcher.saw(a, "v2")  # ...and ends
    files.gate.set()
    await poll
    await watcher.poll_once()
    assert notified == []


async def test_watch_closed_documents_are_not_polled() -> None:
    files, notified = FakeFiles(), []
    watcher = Watcher(files.read_version, notified.append, interval=0)
    a = parse_uri("hotfix://c/a.py")
    files.versions["/a.py"] = "v1"
    watcher.saw(a, "v1")
    watcher.open("hotfix://c/a.py", a)
    watcher.close("hotfix://c/a.py")
    files.versions["/a.py"] = "v2"
    await watcher.poll_once()
    assert notified == []


async def test_watch_notifies_every_spelling_of_the_uri() -> None:
    files, notified = FakeFiles(), []
    watcher = Watcher(files.read_version, notified.append, interval=0)
    files.versions["/a b"] = "v1"
    for uri in ("hotfix://c/a%20b", "hotfix://c/a b"):
        watcher.open(uri, parse_uri(uri))
    await watcher.poll_once()
    files.versions["/a b"] = "v2"
    await watcher.poll_once()
    assert sorted(notified) == ["hotfix://c/a b", "hotfix://c/a%20b"]
