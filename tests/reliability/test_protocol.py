"""Bad input on the wire: the language server answers an error and keeps serving.

A raw JSON-RPC client (:mod:`.rpc`), so that what a client library would refuse to send
can be sent: bytes that are not JSON, requests without params or with extra members,
wrong types, unknown methods and commands, 65 MiB and 100 MiB payloads.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hotfix.service.files import HotfixService
from tests.conftest import Running
from tests.reliability.conftest import in_container, uri
from tests.reliability.rpc import Rpc, b64, code_of, unb64

INVALID_PARAMS = -32602
METHOD_NOT_FOUND = -32601
INVALID_REQUEST = -32600
PARSE_ERROR = -32700


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


NOT_JSON_RPC: list[tuple[bytes, Any, int, str]] = [
    (b"{not json", None, PARSE_ERROR, "Parse error: the message is not JSON"),
    (b"\xff\xfe\x00garbage", None, PARSE_ERROR, "Parse error: the message is not JSON"),
    (b"", None, PARSE_ERROR, "Parse error"),
    (b"[]", None, INVALID_REQUEST, "an array"),
    (b"[1, 2]", None, INVALID_REQUEST, "an array"),
    (b"null", None, INVALID_REQUEST, "not an object"),
    (b'"a string"', None, INVALID_REQUEST, "not an object"),
    (b'{"jsonrpc": "2.0"}', None, INVALID_REQUEST, '"method"'),
    (
        b'{"jsonrpc": "1.0", "id": 900, "method": "hotfix/containers", "params": {}}',
        900,
        INVALID_REQUEST,
        '"jsonrpc" must be "2.0", got "1.0"',
    ),
    (b'{"id": 901, "method": "hotfix/containers"}', 901, INVALID_REQUEST, '"jsonrpc"'),
    (b'{"jsonrpc": "2.0", "id": 902, "method": 5}', 902, INVALID_REQUEST, '"method" must be'),
    (b'{"jsonrpc": "2.0", "id": "s", "method": ""}', "s", INVALID_REQUEST, '"method" must be'),
    (b'{"jsonrpc": "2.0", "id": true, "method": "x"}', None, INVALID_REQUEST, '"id" must be'),
    (b'{"jsonrpc": "2.0", "id": 1.5, "method": "x"}', None, INVALID_REQUEST, '"id" must be'),
    (b'{"jsonrpc": "2.0", "id": null, "method": "x"}', None, INVALID_REQUEST, '"id" must be'),
    (b'{"jsonrpc": "2.0", "id": 903}', 903, INVALID_REQUEST, '"result" and "error"'),
    (
        b'{"jsonrpc": "2.0", "id": 904, "method": "textDocument/documentSymbol", "params": {"x": 1}}',
        904,
        INVALID_PARAMS,
        "Invalid params of textDocument/documentSymbol: ",
    ),
]


@pytest.mark.engine
@pytest.mark.parametrize(("body", "rid", "code", "fragment"), NOT_JSON_RPC)
def test_bytes_that_are_not_json_rpc_are_answered(
    shared: Rpc, docker_client: Any, body: bytes, rid: Any, code: int, fragment: str
) -> None:
    """JSON-RPC's answers: -32700 (id null) for what is not JSON, -32600 (with the id when
    one can be read) for JSON that is not a request, -32602 for params that do not fit an
    LSP method's type; one line each, and the server keeps serving."""
    since = shared.mark()
    shared.send_bytes(body)
    error = shared.response(rid, timeout=10, since=since)["error"]
    assert error["code"] == code, error
    assert fragment in error["message"], error
    assert "\n" not in error["message"]
    assert code_of(error) == "ValidationFailed"
    still_serving(shared)


@pytest.mark.engine
def test_messages_nobody_answers_are_dropped_and_the_server_keeps_serving(
    server: Rpc, docker_client: Any
) -> None:
    """Notifications that do not fit their type, and responses to nothing, have nobody to
    answer: logged, and the server keeps serving."""
    since = server.mark()
    for body in (
        b'{"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"x": 1}}',
        b'{"jsonrpc": "2.0", "method": "textDocument/didChange", "params": null}',
        b'{"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": "nope"}}',
        b'{"jsonrpc": "2.0", "id": 903, "result": "an answer to nothing"}',
        b'{"jsonrpc": "2.0", "id": 904, "error": {"code": 1, "message": "to nothing"}}',
    ):
        server.send_bytes(body)
    still_serving(server)
    assert [m for m in server.messages[since:] if "error" in m] == []


@pytest.mark.engine
def test_frames_that_are_not_frames(server: Rpc, docker_client: Any) -> None:
    """Header names in any case, blank lines between messages, a bad header line: read on."""
    body = b'{"jsonrpc": "2.0", "id": 950, "method": "hotfix/containers", "params": {}}'
    server.send_raw(b"\r\n\r\ncontent-LENGTH: %d\r\nX-Other: 1\r\n\r\n" % len(body) + body)
    assert "containers" in server.response(950, timeout=30)["result"]
    server.send_raw(b"Content-Length: lots\r\n\r\n")  # no length: nothing to read
    since = server.mark()
    server.send_bytes(b"{oops")
    assert server.response(None, timeout=10, since=since)["error"]["code"] == PARSE_ERROR
    still_serving(server)


@pytest.mark.engine
def test_requests_after_shutdown_are_refused(server: Rpc, docker_client: Any) -> None:
    assert server.request("shutdown", None)["result"] is None
    error = server.error("hotfix/containers", {}, timeout=10)
    assert error["code"] == INVALID_REQUEST
    assert "shutting down" in error["message"]
    server.send({"jsonrpc": "2.0", "method": "exit"})
    assert server.proc.wait(10) == 0


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
def test_a_frame_above_the_limit_is_refused_unread(lsp: Callable[..., Rpc], box: Running) -> None:
    """With HOTFIX_MAX_FILE_SIZE=16M, frames above the base64 of a 64 MiB forced save plus
    1 MiB (86.3 MiB) are thrown away unread: a 65 MiB file, with or without force, and
    100 MB of text; answered with the request's id, naming both sizes; memory stays flat."""
    server = lsp(env={"HOTFIX_MAX_FILE_SIZE": "16M"})
    baseline = server.peak_memory()
    huge = base64.b64encode(b"x" * (65 << 20)).decode()
    params = {"uri": uri(box, "/tmp/huge"), "data": huge, "create": True, "overwrite": True}
    for extra in ({}, {"force": True}):
        error = server.error("hotfix/writeFile", {**params, **extra}, timeout=120)
        assert error["code"] == INVALID_REQUEST
        assert code_of(error) == "ValidationFailed"
        assert error["message"].startswith("Invalid Request: the message is 86.7 MiB (Content-")
        assert "above this server's 86.3 MiB limit" in error["message"]
        assert "4 × HOTFIX_MAX_FILE_SIZE 16.0 MiB" in error["message"]
    assert in_container(box, "/tmp/huge") is None
    error = server.error("hotfix/writeFile", {**params, "data": "A" * (100 << 20) + "!"}, 120)
    assert "the message is 100.0 MiB" in error["message"]
    # The id after the params (found at the frame's end), and no id at all (null).
    tail = (
        b'{"jsonrpc": "2.0", "method": "hotfix/writeFile", "params": {"data": "%s"}, "id": "last"}'
    )
    server.send_bytes(tail % (b"A" * (90 << 20)))
    assert "100.0 MiB" not in server.response("last", timeout=120)["error"]["message"]
    since = server.mark()
    server.send_bytes(b"x" * (90 << 20))
    assert server.response(None, timeout=120, since=since)["error"]["code"] == INVALID_REQUEST
    grown = server.peak_memory() - baseline
    assert grown < 40 << 20, f"the server grew by {grown >> 20} MiB"  # was about 600 MB
    still_serving(server)
    written = server.result("hotfix/writeFile", {**params, "data": b64(b"small\n")})
    assert written["checkpointed"] is True
    assert in_container(box, "/tmp/huge") == b"small\n"


@pytest.mark.engine
def test_the_frame_limit_follows_hotfix_max_file_size(
    lsp: Callable[..., Rpc], box: Running
) -> None:
    """HOTFIX_MAX_FILE_SIZE=1M: a 3 MiB file is refused by the service unless forced (its
    frame, 4.0 MiB of base64, is under the 6.3 MiB frame limit: forced saves may go to
    4 × the limit); 5 MiB is refused unread even when forced. With 2M, 5 MiB is written."""
    small = lsp(env={"HOTFIX_MAX_FILE_SIZE": "1M"})
    params = {"uri": uri(box, "/tmp/big"), "create": True, "overwrite": True}
    mid = {**params, "data": b64(b"y" * (3 << 20))}
    error = small.error("hotfix/writeFile", mid)
    assert code_of(error) == "ValidationFailed"
    assert "above the 1.0 MiB limit (HOTFIX_MAX_FILE_SIZE)" in error["message"]
    assert small.result("hotfix/writeFile", {**mid, "force": True})["checkpointed"] is True
    big = {**params, "data": b64(b"z" * (5 << 20)), "force": True}
    error = small.error("hotfix/writeFile", big)
    assert error["code"] == INVALID_REQUEST
    assert "above this server's 6.3 MiB limit" in error["message"]
    assert in_container(box, "/tmp/big") == b"y" * (3 << 20)
    larger = lsp(env={"HOTFIX_MAX_FILE_SIZE": "2M"})
    assert larger.result("hotfix/writeFile", big)["checkpointed"] is False
    assert in_container(box, "/tmp/big") == b"z" * (5 << 20)


@pytest.mark.engine
def test_big_payloads_within_the_limit(server: Rpc, box: Running) -> None:
    """Big base64 goes past the JSON parser: text that is not base64 is still refused, one
    with JSON escapes (``\\/``, as some encoders write it) or spaces around the colon is
    decoded as JSON says, and a big read comes back whole."""
    target = uri(box, "/tmp/big.bin")
    params = {"uri": target, "create": True, "overwrite": True}
    error = server.error("hotfix/writeFile", {**params, "data": "A" * (8 << 20) + "!"}, 60)
    assert error["message"] == "params.data: not valid base64"
    error = server.error("hotfix/writeFile", {**params, "data": "A" * (1 << 20) + "\u00e9"})
    assert error["message"] == "params.data: not valid base64"
    content = bytes(range(256)) * (4 << 10)  # 1 MiB, every byte value: '/' and '+' in base64
    escaped = json.dumps(b64(content)).replace("/", "\\/")
    assert "\\/" in escaped
    body = '{"jsonrpc": "2.0", "id": 960, "method": "hotfix/writeFile", "params": '
    body += '{"uri": ' + json.dumps(target) + ', "data" :  ' + escaped
    body += ', "create": true, "overwrite": true}}'
    server.send_bytes(body.encode())
    assert "version" in server.response(960)["result"]
    assert in_container(box, "/tmp/big.bin") == content
    data = bytes(reversed(content)) * 8
    server.result("hotfix/writeFile", {**params, "data": b64(data)})
    assert in_container(box, "/tmp/big.bin") == data
    assert unb64(server.result("hotfix/readFile", {"uri": target})["data"]) == data
    still_serving(server)


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
