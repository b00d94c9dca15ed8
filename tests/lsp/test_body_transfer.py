"""``initializationOptions.bodyTransfer = "file"``: big contents as spool files.

The server a subprocess; the first tests need no engine (negotiation, refusals, cleanup),
the last ones read and write real container files both ways.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities

from tests.conftest import Running
from tests.lsp.conftest import FreshState
from tests.lsp.helpers import (
    POLL_INTERVAL,
    SERVER_COMMAND,
    b64,
    call,
    close,
    code_of,
    error_of,
    make_client,
    unb64,
)

THRESHOLD = 64 << 10


def spool_of(client: LanguageClient) -> dict[str, Any]:
    found: dict[str, Any] = client.body_transfer  # type: ignore[attr-defined]
    return found


@pytest_lsp.fixture(config=FreshState(server_command=SERVER_COMMAND, client_factory=make_client))
async def spooled(lsp_client: LanguageClient) -> AsyncIterator[None]:
    """A client that asked for ``bodyTransfer: "file"``, as the editor's extension does."""
    result = await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            initialization_options={"pollInterval": POLL_INTERVAL, "bodyTransfer": "file"},
        )
    )
    experimental = result.capabilities.experimental
    assert isinstance(experimental, dict)
    lsp_client.body_transfer = experimental["hotfix"]["bodyTransfer"]  # type: ignore[attr-defined]
    try:
        yield
        await asyncio.wait_for(lsp_client.shutdown_session(), 30)
    finally:
        server = getattr(lsp_client, "_server", None)
        if server is not None:
            try:
                await asyncio.wait_for(server.wait(), 10)  # exit removes the spool
            except TimeoutError:
                server.terminate()
                await server.wait()
        directory = spool_of(lsp_client)["directory"]
        assert not os.path.exists(directory), "the spool directory outlived the server"


async def start(tmp_path: Path, options: dict[str, Any]) -> tuple[LanguageClient, Any]:
    fresh = make_client()
    await fresh.start_io(*SERVER_COMMAND, env={**os.environ, "HOTFIX_STATE_DIR": str(tmp_path)})
    result = await fresh.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            initialization_options=options,
        )
    )
    return fresh, result


def client_file(client: LanguageClient, data: bytes, name: str = "w-test") -> str:
    """A spool file written as a client writes it: O_EXCL, 0600, in the server's directory."""
    path = os.path.join(spool_of(client)["directory"], name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with open(fd, "wb") as out:
        out.write(data)
    return path


async def read_content(client: LanguageClient, uri: str) -> tuple[bytes, str, str]:
    """readFile as the extension does it: (content, version, how it came)."""
    result = await call(client, "hotfix/readFile", uri=uri)
    if "dataPath" in result:
        assert "data" not in result
        path = result["dataPath"]
        assert os.path.dirname(path) == spool_of(client)["directory"]
        assert (os.stat(path).st_mode & 0o777) == 0o600
        data = Path(path).read_bytes()
        os.unlink(path)
        return data, result["version"], "file"
    return unb64(result["data"]), result["version"], "inline"


def version(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


# --- negotiation, refusals and cleanup (no engine) --------------------------------------------


async def test_the_server_agrees_with_a_private_directory(spooled: LanguageClient) -> None:
    transfer = spool_of(spooled)
    assert transfer["kind"] == "file" and transfer["threshold"] == THRESHOLD
    st = os.stat(transfer["directory"])
    assert st.st_mode & 0o777 == 0o700 and st.st_uid == os.geteuid()
    assert os.listdir(transfer["directory"]) == []


async def test_without_the_option_there_is_no_spool(tmp_path: Path) -> None:
    fresh, result = await start(tmp_path, {"pollInterval": 0})
    try:
        assert not result.capabilities.experimental
        err = await error_of(
            fresh,
            "hotfix/writeFile",
            uri="hotfix://web/etc/app.conf",
            dataPath="/tmp/whatever",
            create=True,
            overwrite=True,
        )
        assert err.code == -32602 and code_of(err) == "ValidationFailed"
        assert "bodyTransfer" in err.message and "send the content as data" in err.message
        await fresh.shutdown_session()
    finally:
        await close(fresh)


async def test_an_unknown_transfer_is_ignored(tmp_path: Path) -> None:
    fresh, result = await start(tmp_path, {"bodyTransfer": "carrier-pigeon"})
    try:
        assert not result.capabilities.experimental
        await fresh.shutdown_session()
    finally:
        await close(fresh)


async def test_a_path_outside_the_spool_is_refused_naming_it(
    spooled: LanguageClient, tmp_path: Path
) -> None:
    outside = tmp_path / "w-outside"
    outside.write_bytes(b"x" * THRESHOLD)
    err = await error_of(
        spooled,
        "hotfix/writeFile",
        uri="hotfix://web/etc/app.conf",
        dataPath=str(outside),
        create=True,
        overwrite=True,
    )
    assert err.code == -32602 and code_of(err) == "ValidationFailed"
    assert err.message.startswith(f"params.dataPath: {outside} is not a file in this server")
    assert spool_of(spooled)["directory"] in err.message and "\n" not in err.message
    assert outside.exists()  # not ours to remove


async def test_a_spool_file_is_taken_even_when_the_request_fails(spooled: LanguageClient) -> None:
    bad_uri = client_file(spooled, b"a" * THRESHOLD, "w-bad-uri")
    err = await error_of(
        spooled, "hotfix/writeFile", uri="file:///etc/hosts", dataPath=bad_uri, overwrite=True
    )
    assert code_of(err) == "ValidationFailed" and "params.uri" in err.message
    both = client_file(spooled, b"b" * THRESHOLD, "w-both")
    err = await error_of(
        spooled,
        "hotfix/writeFile",
        uri="hotfix://web/etc/app.conf",
        data=b64(b"b"),
        dataPath=both,
        create=True,
        overwrite=True,
    )
    assert err.code == -32602 and "both data and dataPath" in err.message
    assert os.listdir(spool_of(spooled)["directory"]) == []
    err = await error_of(
        spooled,
        "hotfix/writeFile",
        uri="hotfix://web/etc/app.conf",
        dataPath=both,
        create=True,
        overwrite=True,
    )
    assert err.code == -32602 and "does not exist" in err.message


async def test_exit_removes_the_spool_and_what_is_left_in_it(tmp_path: Path) -> None:
    fresh, result = await start(tmp_path, {"bodyTransfer": "file"})
    try:
        directory = result.capabilities.experimental["hotfix"]["bodyTransfer"]["directory"]
        Path(directory, "w-forgotten").write_bytes(b"a client that never sent it")
        await fresh.shutdown_session()
        server = getattr(fresh, "_server", None)
        assert server is not None
        await asyncio.wait_for(server.wait(), 10)
        assert not os.path.exists(directory)
    finally:
        await close(fresh)


def test_sigterm_removes_the_spool_and_still_kills(tmp_path: Path) -> None:
    body = (
        b'{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": null, '
        b'"rootUri": null, "capabilities": {}, "initializationOptions": {"bodyTransfer": "file"}}}'
    )
    proc = subprocess.Popen(
        SERVER_COMMAND,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "HOTFIX_STATE_DIR": str(tmp_path)},
    )
    try:
        assert proc.stdin and proc.stdout
        proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        proc.stdin.flush()
        directory = _read_spool_directory(proc.stdout)
        assert os.path.isdir(directory)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == -signal.SIGTERM
        assert not os.path.exists(directory)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _read_spool_directory(stream: Any) -> str:
    length = 0
    while line := stream.readline().strip():
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    result = json.loads(stream.read(length))["result"]
    return str(result["capabilities"]["experimental"]["hotfix"]["bodyTransfer"]["directory"])


# --- real files, both ways --------------------------------------------------------------------


@pytest.fixture
def busybox(images: dict[str, str], run_container: Callable[..., Running]) -> Running:
    return run_container(images["busybox"], wait_http=False)


async def test_big_contents_travel_as_files_small_ones_inline(
    spooled: LanguageClient, busybox: Running
) -> None:
    directory = spool_of(spooled)["directory"]
    big, small = os.urandom(3 << 20), b"small\n"
    busybox.sh("mkdir -p /srv && printf 'small\\n' > /srv/small.txt")
    big_uri, small_uri = (
        f"hotfix://{busybox.name}/srv/big.bin",
        f"hotfix://{busybox.name}/srv/small.txt",
    )

    # a new big file, written through the spool
    written = await call(
        spooled,
        "hotfix/writeFile",
        uri=big_uri,
        dataPath=client_file(spooled, big),
        create=True,
        overwrite=False,
    )
    assert written["version"] == version(big)
    assert os.listdir(directory) == []  # the server took the client's file
    assert busybox.sh("sha256sum /srv/big.bin").split()[0] == hashlib.sha256(big).hexdigest()

    # read back: a spool file, whose bytes are what the version says
    data, ver, how = await read_content(spooled, big_uri)
    assert (data, ver, how) == (big, version(big), "file")
    assert await read_content(spooled, small_uri) == (small, version(small), "inline")

    # a save based on the version read, through the spool again
    changed = big[::-1]
    saved = await call(
        spooled,
        "hotfix/writeFile",
        uri=big_uri,
        dataPath=client_file(spooled, changed, "w-2"),
        baseVersion=ver,
        create=False,
        overwrite=True,
    )
    assert saved["version"] == version(changed)
    assert await read_content(spooled, big_uri) == (changed, version(changed), "file")

    # a stale base version is a Conflict, and the client's spool file is gone all the same
    err = await error_of(
        spooled,
        "hotfix/writeFile",
        uri=big_uri,
        dataPath=client_file(spooled, big, "w-3"),
        baseVersion=ver,
        create=False,
        overwrite=True,
    )
    assert code_of(err) == "Conflict"

    # the checkpoint (the original: there was none, so empty) and a threshold-sized file
    edge = os.urandom(THRESHOLD)
    await call(
        spooled, "hotfix/writeFile", uri=small_uri, data=b64(edge), overwrite=True, create=False
    )
    cp_uri = f"hotfix-checkpoint://{busybox.name}/srv/small.txt"
    assert await read_content(spooled, cp_uri) == (small, version(small), "inline")
    assert await read_content(spooled, small_uri) == (edge, version(edge), "file")
    await read_content(spooled, small_uri)
    assert os.listdir(directory) == []
