"""Bad input on the wire: the language server answers an error and keeps serving.

A raw JSON-RPC client (:mod:`.rpc`), so that what a client library would refuse to send
can be sent: bytes that are not JSON, requests without params or with extra members,
wrong types, unknown methods and commands, 65 MiB and 100 MiB payloads.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hotfix.service import HotfixService
from tests.conftest import Running
from tests.reliability.conftest import in_container, uri
from tests.reliability.rpc import Rpc, b64, code_of

INVALID_PARAMS = -32602
METHOD_NOT_FOUND = -32601


def still_serving(server: Rpc) -> None:
    assert server.alive(), server.stderr
    assert "containers" in server.result("hotfix/containers", timeout=60)


@pytest.fixture
def server(lsp: Callable[..., Rpc]) -> Rpc:
    return lsp()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rpc]:
    """One server for the many malformed-params cases (they never reach the engine)."""
    server = Rpc(tmp_path_factory.mktemp("state"))
    server.initialize()
    yield server
    assert server.alive(), server.stderr
    assert server.close() == 0


@pytest.mark.engine
def test_unknown_methods_and_commands(server: Rpc, docker_client: Any) -> None:
    assert server.error("hotfix/noSuchMethod", {})["code"] == METHOD_NOT_FOUND
    assert server.error("$/noSuchRequest", {})["code"] == METHOD_NOT_FOUND
    unknown = server.command("hotfix.noSuchCommand")
    assert unknown["error"]["code"] == INVALID_PARAMS
    still_serving(server)


@pytest.mark.parametrize(
    ("method", "params", "field"),
    [
        ("hotfix/stat", [], "params: expected a JSON object, got an array"),
        ("hotfix/stat", "hotfix://c/x", "params: expected a JSON object, got a string"),
        ("hotfix/stat", 42, "params: expected a JSON object"),
        ("hotfix/stat", {"uri": 5}, "params.uri: expected a non-empty string, got a number"),
        ("hotfix/stat", {"uri": ""}, "params.uri"),
        ("hotfix/stat", {"uri": "file:///etc/passwd"}, "params.uri"),
        ("hotfix/stat", {"uri": "hotfix:///etc/passwd"}, "names no container"),
        ("hotfix/stat", {"uri": "hotfix://c%00x/etc"}, "not a container name"),
        ("hotfix/stat", {"uri": "hotfix://c/a%00b"}, "NUL"),
        ("hotfix/stat", {"uri": "hotfix://c/%FF%FE"}, "not percent-encoded UTF-8"),
        ("hotfix/readFile", {}, "params.uri: required"),
        ("hotfix/writeFile", {"uri": "hotfix://c/x", "create": True}, "params.data: required"),
        (
            "hotfix/writeFile",
            {"uri": "hotfix://c/x", "data": 7, "create": True, "overwrite": True},
            "params.data: expected base64 text",
        ),
        (
            "hotfix/writeFile",
            {"uri": "hotfix://c/x", "data": "@@@", "create": True, "overwrite": True},
            "params.data: not valid base64",
        ),
        (
            "hotfix/writeFile",
            {"uri": "hotfix://c/x", "data": "", "create": "yes", "overwrite": True},
            "params.create: expected true or false, got a string",
        ),
        (
            "hotfix/writeFile",
            {
                "uri": "hotfix://c/x",
                "data": "",
                "create": True,
                "overwrite": True,
                "baseVersion": 1,
            },
            "params.baseVersion",
        ),
        ("hotfix/rename", {"oldUri": "hotfix://c/a", "newUri": None}, "params.newUri: required"),
        ("hotfix/changes", {"container": ["a"]}, "params.container"),
    ],
)
def test_malformed_params_are_invalid_params(
    shared: Rpc, method: str, params: Any, field: str
) -> None:
    error = shared.error(method, params)
    assert error["code"] == INVALID_PARAMS, error
    assert code_of(error) == "ValidationFailed"
    assert field in error["message"]
    assert "\n" not in error["message"]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ([], "arguments[0].container: required"),
        (["web"], "arguments[0]: expected a JSON object, got a string"),
        ([{"container": "web"}, {}], "expected one JSON object argument, got 2"),
        ([{"container": "web", "timeout": "10"}], "arguments[0].timeout: expected a number"),
        ([{"container": "web", "timeout": -1}], "arguments[0].timeout: must be more than 0"),
        ([{"container": "web", "expectStatus": ["200"]}], "arguments[0].expectStatus"),
        ([{"container": "web", "revertOnFailure": 1}], "arguments[0].revertOnFailure"),
    ],
)
def test_malformed_command_arguments(shared: Rpc, arguments: list[Any], field: str) -> None:
    answer = shared.request(
        "workspace/executeCommand", {"command": "hotfix.restart", "arguments": arguments}
    )
    error = answer["error"]
    assert code_of(error) == "ValidationFailed", error
    assert field in error["message"]


@pytest.mark.engine
def test_bytes_that_are_not_json_rpc(server: Rpc, docker_client: Any) -> None:
    """pygls drops what it cannot parse (logged, no answer); the server keeps serving."""
    for body in (
        b"{not json",
        b"\xff\xfe\x00garbage",
        b"[]",
        b"null",
        b'"a string"',
        b'{"jsonrpc": "2.0"}',
        b'{"jsonrpc": "1.0", "id": 900, "method": "hotfix/containers", "params": {}}',
        b'{"id": 901, "method": "hotfix/containers", "params": {}}',
        b'{"jsonrpc": "2.0", "id": 902, "method": 5, "params": {}}',
        b'{"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"x": 1}}',
        b'{"jsonrpc": "2.0", "method": "textDocument/didChange", "params": null}',
        b'{"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": "nope"}}',
        b'{"jsonrpc": "2.0", "id": 903, "result": "an answer to nothing"}',
    ):
        server.send_bytes(body)
        still_serving(server)


@pytest.mark.engine
def test_requests_without_params_or_with_extra_members_are_answered(
    server: Rpc, docker_client: Any
) -> None:
    """JSON-RPC lets a request leave ``params`` out; members it does not know are ignored."""
    rid = server.start_request("hotfix/containers", omit_params=True)
    assert "containers" in server.response(rid, timeout=10)["result"]
    rid = server.start_request("hotfix/noSuchMethod", omit_params=True)
    assert server.response(rid, timeout=10)["error"]["code"] == METHOD_NOT_FOUND
    server.send({"jsonrpc": "2.0", "id": 77, "method": "hotfix/containers", "params": {}, "x": 1})
    assert "containers" in server.response(77, timeout=10)["result"]
    server.send({"jsonrpc": "2.0", "method": "hotfix/unknownNotification"})
    still_serving(server)


@pytest.mark.engine
def test_huge_payloads(server: Rpc, box: Running) -> None:
    """Above the 64 MiB default: refused (ValidationFailed, nothing written) unless forced;
    100 MB of text that is not base64: refused; the server keeps serving."""
    huge = base64.b64encode(b"x" * (65 << 20)).decode()
    params = {"uri": uri(box, "/tmp/huge"), "data": huge, "create": True, "overwrite": True}
    error = server.error("hotfix/writeFile", params, timeout=120)
    assert code_of(error) == "ValidationFailed"
    assert "above the 64.0 MiB limit" in error["message"]
    assert in_container(box, "/tmp/huge") is None
    error = server.error("hotfix/writeFile", {**params, "data": "A" * (100 << 20) + "!"}, 120)
    assert error["message"] == "params.data: not valid base64"
    still_serving(server)
    written = server.result(
        "hotfix/writeFile", {**params, "data": b64(b"small\n")}
    )  # and it still writes
    assert written["checkpointed"] is True
    assert in_container(box, "/tmp/huge") == b"small\n"


@pytest.mark.engine
def test_force_on_a_protected_container(
    images: dict[str, str],
    run_container: Callable[..., Running],
    lsp: Callable[..., Rpc],
    service: HotfixService,
) -> None:
    """createDirectory, delete, rename, hotfix.revert and hotfix.restart take ``force``: on a
    container labelled hotfix.protect=true, NoPermissions without it; done and journalled
    ``forced_protected`` with it."""
    box = run_container(
        images["busybox"],
        command=["sleep", "3600"],
        stop_signal="KILL",
        labels={"hotfix.protect": "true"},
    )
    box.sh("mkdir -p /srv && echo original > /srv/a.txt")
    server = lsp()
    a, b, new = uri(box, "/srv/a.txt"), uri(box, "/srv/b.txt"), uri(box, "/srv/new")
    steps: list[tuple[str, dict[str, Any]]] = [
        ("hotfix/createDirectory", {"uri": new}),
        ("hotfix/rename", {"oldUri": a, "newUri": b, "overwrite": False}),
        ("hotfix/delete", {"uri": b, "recursive": False}),
    ]
    for method, params in steps:
        refused = server.error(method, params)
        assert code_of(refused) == "NoPermissions", (method, refused)
        assert "protected (label hotfix.protect=true)" in refused["message"]
        refused = server.error(method, {**params, "force": False})
        assert code_of(refused) == "NoPermissions", (method, refused)
        assert server.result(method, {**params, "force": True}) == {}, method
    assert box.sh("ls /srv") == "new\n"  # a.txt renamed to b.txt, b.txt deleted

    for name, args in (("hotfix.revert", {}), ("hotfix.restart", {"probe": "exec:true"})):
        answer = server.command(name, container=box.name, **args)
        assert code_of(answer["error"]) == "NoPermissions", name
    assert box.sh("ls /srv") == "new\n"
    reverted = server.command("hotfix.revert", container=box.name, force=True)["result"]
    assert reverted["reverted"] == ["/srv/a.txt"]  # b.txt: created, then deleted
    assert in_container(box, "/srv/a.txt") == b"original\n"
    assert in_container(box, "/srv/b.txt") is None
    restarted = server.command("hotfix.restart", container=box.name, probe="exec:true", force=True)[
        "result"
    ]
    assert restarted["healthy"] is True

    entries = service.journal(box.name)
    forced = [(e.action, e.outcome) for e in entries if e.detail.get("forced_protected")]
    # a rename is journalled as the write of the new path and the delete of the old one
    assert {action for action, _ in forced} == {"mkdir", "write", "delete", "revert", "restart"}
    assert all(outcome == "ok" for _, outcome in forced), forced
    assert not [e.action for e in entries if not e.detail.get("forced_protected")]


def test_force_must_be_a_boolean(shared: Rpc) -> None:
    for method, params in (
        ("hotfix/createDirectory", {"uri": "hotfix://c/d", "force": "yes"}),
        ("hotfix/delete", {"uri": "hotfix://c/f", "force": 1}),
        ("hotfix/rename", {"oldUri": "hotfix://c/a", "newUri": "hotfix://c/b", "force": []}),
    ):
        error = shared.error(method, params)
        assert error["code"] == INVALID_PARAMS
        assert "params.force: expected true or false" in error["message"], error
    for name in ("hotfix.revert", "hotfix.restart"):
        answer = shared.command(name, container="c", force="true")
        assert "arguments[0].force: expected true or false" in answer["error"]["message"]
