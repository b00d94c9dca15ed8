"""The protocol end to end: the server a subprocess, a real Docker engine, real containers."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from tests.conftest import Running, http_get
from tests.images.build import BUSYBOX_INDEX
from tests.lsp.helpers import b64, call, code_of, command, command_error_of, error_of, unb64

pytestmark = pytest.mark.engine

APP = "/usr/src/app/app.py"


@pytest.fixture
def prod(images: dict[str, str], run_container: Callable[..., Running]) -> Running:
    return run_container(images["prod"], port=8001)


@pytest.fixture
def busybox(images: dict[str, str], run_container: Callable[..., Running]) -> Running:
    return run_container(images["busybox"], port=8080)


def uri(container: Running, path: str, scheme: str = "hotfix") -> str:
    return f"{scheme}://{container.name}{path}"


def progress_of(client: LanguageClient) -> list[Any]:
    """The begin/report/end values of the latest work-done progress the client saw."""
    found = [reports for reports in client.progress_reports.values() if reports]
    assert found, "no $/progress seen"
    return found[-1]


# --- the incident -----------------------------------------------------------------------------


async def test_the_incident_through_the_protocol(client: LanguageClient, prod: Running) -> None:
    status, _ = http_get(prod.url)
    assert status == 500

    listed = await call(client, "hotfix/containers")
    mine = [c for c in listed["containers"] if c["name"] == prod.name]
    assert mine and mine[0]["state"] == "running" and mine[0]["image"] == "my_prod_service:v1.0.0"
    assert set(mine[0]) >= {"id", "name", "image", "state", "health", "service", "ports"}

    read = await call(client, "hotfix/readFile", uri=uri(prod, APP))
    original = unb64(read["data"])
    assert b"cause_a_problem = True" in original
    assert read["version"].startswith("sha256:")

    fixed = original.replace(b"cause_a_problem = True", b"cause_a_problem = False")
    written = await call(
        client,
        "hotfix/writeFile",
        uri=uri(prod, APP),
        data=b64(fixed),
        baseVersion=read["version"],
        create=False,
        overwrite=True,
    )
    assert written["checkpointed"] is True
    assert written["version"] != read["version"]
    assert unb64((await call(client, "hotfix/readFile", uri=uri(prod, APP)))["data"]) == fixed

    result = await command(client, "hotfix.restart", container=prod.name, timeout=60)
    assert result["healthy"] is True, result
    assert result["probe"]["ok"] is True and result["probe"]["status"] == 200
    assert result["seconds"] > 0
    assert http_get(prod.url) == (200, "Hello World")

    reports = progress_of(client)
    kinds = [type(r).__name__ for r in reports]
    assert kinds[0] == "WorkDoneProgressBegin" and kinds[-1] == "WorkDoneProgressEnd", kinds
    assert "WorkDoneProgressReport" in kinds
    assert prod.name in reports[0].title

    # the checkpoint holds the original; the diff is the one-line change
    cp = await call(client, "hotfix/readFile", uri=uri(prod, APP, "hotfix-checkpoint"))
    assert unb64(cp["data"]) == original
    cp_stat = await call(client, "hotfix/stat", uri=uri(prod, APP, "hotfix-checkpoint"))
    assert cp_stat["type"] == 1 and cp_stat["permissions"] == 1
    assert cp_stat["size"] == len(original)

    diff = (await command(client, "hotfix.diff", container=prod.name, path=APP))["diff"]
    removed = [ln for ln in diff.splitlines() if ln.startswith("-") and not ln.startswith("---")]
    added = [ln for ln in diff.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
    assert removed == ["-    cause_a_problem = True"]
    assert added == ["+    cause_a_problem = False"]
    assert (await command(client, "hotfix.diff", container=prod.name))["diff"] == diff

    changes = (await call(client, "hotfix/changes", container=prod.name))["changes"]
    assert [(c["uri"], c["checkpointUri"], c["status"]) for c in changes] == [
        (uri(prod, APP), uri(prod, APP, "hotfix-checkpoint"), "modified")
    ]
    everywhere = (await call(client, "hotfix/changes"))["changes"]
    assert [c["uri"] for c in everywhere] == [uri(prod, APP)]

    # the checkpoints as a read-only tree
    listing = await call(
        client, "hotfix/readDirectory", uri=uri(prod, "/usr/src", "hotfix-checkpoint")
    )
    assert listing == {"entries": [["app", 2]]}
    top = await call(client, "hotfix/stat", uri=uri(prod, "/usr", "hotfix-checkpoint"))
    assert (top["type"], top["permissions"]) == (2, 1)

    # and back: revert (the fixed code stays loaded until the next restart)
    reverted = await command(client, "hotfix.revert", container=prod.name, path=APP)
    assert (reverted["reverted"], reverted["to"]) == ([APP], "checkpoint")
    probe = await command(client, "hotfix.probe", container=prod.name, timeout=5)
    assert probe["healthy"] is True  # the old code is loaded until the restart
    assert (await call(client, "hotfix/changes", container=prod.name))["changes"] == []


async def test_stat_and_read_directory(client: LanguageClient, busybox: Running) -> None:
    busybox.sh("mkdir -p /www/sub && ln -s /www/index.html /www/link && ln -s /www/sub /www/dl")
    busybox.sh("ln -s /nowhere /www/dangling && touch -d @1700000000 /www/index.html")
    entries = dict(
        (name, t)
        for name, t in (await call(client, "hotfix/readDirectory", uri=uri(busybox, "/www")))[
            "entries"
        ]
    )
    assert entries == {"index.html": 1, "sub": 2, "link": 65, "dl": 66, "dangling": 64}

    st = await call(client, "hotfix/stat", uri=uri(busybox, "/www/index.html"))
    assert st["type"] == 1 and st["mtime"] == 1700000000000 and st["ctime"] == st["mtime"]
    assert st["permissions"] == 0 and st["size"] > 0
    assert (await call(client, "hotfix/stat", uri=uri(busybox, "/www/link")))["type"] == 65
    assert (await call(client, "hotfix/stat", uri=uri(busybox, "/www/dl")))["type"] == 66
    assert (await call(client, "hotfix/stat", uri=uri(busybox, "/www")))["type"] == 2
    named = await call(client, "hotfix/stat", uri=uri(busybox, "/www/index.html?engine=default"))
    assert named == st


async def test_create_rename_delete_and_directories(
    client: LanguageClient, busybox: Running
) -> None:
    await call(client, "hotfix/createDirectory", uri=uri(busybox, "/www/new"))
    w = await call(
        client,
        "hotfix/writeFile",
        uri=uri(busybox, "/www/new/a.txt"),
        data=b64(b"hello\n"),
        create=True,
        overwrite=False,
    )
    assert w["checkpointed"] is True
    assert busybox.sh("cat /www/new/a.txt") == "hello\n"
    await call(
        client,
        "hotfix/rename",
        oldUri=uri(busybox, "/www/new/a.txt"),
        newUri=uri(busybox, "/www/new/b.txt"),
        overwrite=False,
    )
    assert busybox.sh("ls /www/new") == "b.txt\n"
    await call(client, "hotfix/delete", uri=uri(busybox, "/www/new/b.txt"), recursive=False)
    assert busybox.sh("ls /www/new") == ""
    err = await error_of(client, "hotfix/createDirectory", uri=uri(busybox, "/www/new"))
    assert code_of(err) == "FileExists"


# --- every error code from a real situation ------------------------------------------------------


async def test_error_codes(
    client: LanguageClient,
    prod: Running,
    busybox: Running,
    run_container: Callable[..., Running],
    images: dict[str, str],
) -> None:
    app = uri(prod, APP)

    # FileNotFound: a missing file, an unknown container
    err = await error_of(client, "hotfix/readFile", uri=uri(prod, "/usr/src/app/nope.py"))
    assert code_of(err) == "FileNotFound" and "nope.py" in err.message
    err = await error_of(client, "hotfix/stat", uri="hotfix://no-such-container-xyz/etc/hosts")
    assert code_of(err) == "FileNotFound" and "no-such-container-xyz" in err.message

    # Conflict: someone edits the file between our read and our write
    read = await call(client, "hotfix/readFile", uri=app)
    prod.exec("sed", "-i", "s/Something is wrong/Something else is wrong/", APP)
    fixed = unb64(read["data"]).replace(b"= True", b"= False")
    err = await error_of(
        client,
        "hotfix/writeFile",
        uri=app,
        data=b64(fixed),
        baseVersion=read["version"],
        create=False,
        overwrite=True,
    )
    assert code_of(err) == "Conflict" and "reload" in err.message
    assert b"Something else is wrong" in unb64(
        (await call(client, "hotfix/readFile", uri=app))["data"]
    )

    # FileIsADirectory
    err = await error_of(client, "hotfix/readFile", uri=uri(prod, "/usr/src/app"))
    assert code_of(err) == "FileIsADirectory"

    # ValidationFailed: a syntax error does not reach production (unless forced)
    broken = b"def application(env, start_response:\n    return []\n"
    err = await error_of(
        client, "hotfix/writeFile", uri=app, data=b64(broken), create=False, overwrite=True
    )
    assert code_of(err) == "ValidationFailed" and "force" in err.message and "line 1" in err.message
    assert b"def application(env, start_response)" in unb64(
        (await call(client, "hotfix/readFile", uri=app))["data"]
    )
    forced = await call(
        client,
        "hotfix/writeFile",
        uri=uri(busybox, "/www/broken.py"),
        data=b64(broken),
        create=True,
        overwrite=False,
        force=True,
    )
    assert forced["checkpointed"] is True
    # ... and malformed params are ValidationFailed naming the field
    err = await error_of(
        client, "hotfix/writeFile", uri=app, data="**", create=False, overwrite=True
    )
    assert code_of(err) == "ValidationFailed" and "params.data" in err.message
    err = await error_of(client, "hotfix/writeFile", uri=app, data=b64(b"x"), overwrite=True)
    assert code_of(err) == "ValidationFailed" and "params.create: required" in err.message
    err = await error_of(client, "hotfix/readFile", uri="file:///etc/hosts")
    assert code_of(err) == "ValidationFailed" and "params.uri" in err.message
    err = await command_error_of(client, "hotfix.restart", container=prod.name, timeout="soon")
    assert code_of(err) == "ValidationFailed" and "timeout" in err.message

    # FileNotADirectory: a file used as a directory
    err = await error_of(client, "hotfix/readDirectory", uri=uri(busybox, "/www/index.html"))
    assert code_of(err) == "FileNotADirectory"
    err = await error_of(client, "hotfix/readDirectory", uri=uri(busybox, "/www/index.html/d"))
    assert code_of(err) == "FileNotADirectory"
    err = await error_of(
        client,
        "hotfix/writeFile",
        uri=uri(busybox, "/www/index.html/x.html"),
        data=b64(b"x"),
        create=True,
        overwrite=True,
    )
    assert code_of(err) == "FileNotADirectory"

    # FileExists: create without overwrite on an existing file
    err = await error_of(
        client,
        "hotfix/writeFile",
        uri=uri(busybox, "/www/index.html"),
        data=b64(b"x"),
        create=True,
        overwrite=False,
    )
    assert code_of(err) == "FileExists"

    # NoPermissions: a read-only root filesystem; a checkpoint URI
    ro = run_container(images["busybox"], port=8080, read_only=True)
    err = await error_of(
        client,
        "hotfix/writeFile",
        uri=uri(ro, "/www/index.html"),
        data=b64(b"<p>x</p>\n"),
        create=False,
        overwrite=True,
    )
    assert code_of(err) == "NoPermissions" and "read-only" in err.message
    for method, params in (
        ("hotfix/writeFile", {"data": b64(b"x"), "create": True, "overwrite": True}),
        ("hotfix/delete", {"recursive": False}),
        ("hotfix/createDirectory", {}),
    ):
        err = await error_of(client, method, uri=uri(prod, APP, "hotfix-checkpoint"), **params)
        assert code_of(err) == "NoPermissions" and "read-only" in err.message

    # Unavailable: deleting needs the container running (the Engine API cannot delete)
    stopped = run_container(images["busybox"])
    stopped.container.stop(timeout=1)
    err = await error_of(
        client, "hotfix/delete", uri=uri(stopped, "/www/index.html"), recursive=False
    )
    assert code_of(err) == "Unavailable" and "not running" in err.message

    # the server still serves after all of that
    assert (await call(client, "hotfix/stat", uri=app))["type"] == 1


# --- progress, cancellation, the watch ------------------------------------------------------------


async def test_restart_progress_and_cancellation(client: LanguageClient, busybox: Running) -> None:
    """A restart waiting on a probe that never answers stops when the request is cancelled."""
    task = asyncio.ensure_future(
        client.protocol.send_request_async(
            types.WORKSPACE_EXECUTE_COMMAND,
            types.ExecuteCommandParams(
                command="hotfix.restart",
                arguments=[{"container": busybox.name, "probe": "tcp:127.0.0.1:9", "timeout": 120}],
            ),
            msg_id="restart-1",
        )
    )
    deadline = time.monotonic() + 30
    while not any(
        type(r).__name__ == "WorkDoneProgressReport" and "tcp:127.0.0.1:9" in (r.message or "")
        for reports in client.progress_reports.values()
        for r in reports
    ):
        assert time.monotonic() < deadline, client.progress_reports
        await asyncio.sleep(0.05)
    # the restart waits in a worker thread: other requests are answered meanwhile
    asked = time.monotonic()
    assert (await call(client, "hotfix/stat", uri=uri(busybox, "/www")))["type"] == 2
    assert time.monotonic() - asked < 2
    assert not task.done()

    started = time.monotonic()
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="restart-1"))
    with pytest.raises(Exception) as info:
        await asyncio.wait_for(task, 10)
    assert "cancel" in str(info.value).lower()
    while True:  # the worker notices: the progress ends as cancelled
        reports = progress_of(client)
        if type(reports[-1]).__name__ == "WorkDoneProgressEnd":
            break
        assert time.monotonic() - started < 10, reports[-3:]
        await asyncio.sleep(0.05)
    assert reports[-1].message == "cancelled"
    assert time.monotonic() - started < 5
    # still serving
    assert (await call(client, "hotfix/stat", uri=uri(busybox, "/www")))["type"] == 2


async def test_probe_stops_when_its_progress_is_cancelled(
    client: LanguageClient, busybox: Running
) -> None:
    """window/workDoneProgress/cancel (the editor's Cancel button) stops the wait too."""
    task = asyncio.ensure_future(
        command(
            client, "hotfix.probe", container=busybox.name, probe="tcp:127.0.0.1:9", timeout=120
        )
    )
    deadline = time.monotonic() + 30
    while not client.progress_reports or len(next(iter(client.progress_reports.values()))) < 2:
        assert time.monotonic() < deadline and not task.done()
        await asyncio.sleep(0.05)
    (token,) = client.progress_reports
    started = time.monotonic()
    client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
    with pytest.raises(JsonRpcException) as info:
        await asyncio.wait_for(task, 10)
    err = info.value
    assert code_of(err) == "Unavailable" and "cancelled" in err.message
    assert time.monotonic() - started < 5
    end = client.progress_reports[token][-1]
    assert type(end).__name__ == "WorkDoneProgressEnd" and end.message == "cancelled"


async def test_did_change_file_after_an_external_edit(
    client: LanguageClient, busybox: Running
) -> None:
    index = uri(busybox, "/www/index.html")
    read = await call(client, "hotfix/readFile", uri=index)
    text = unb64(read["data"]).decode()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=index, language_id="html", version=1, text=text
            )
        )
    )
    # our own save is not reported
    written = await call(
        client,
        "hotfix/writeFile",
        uri=index,
        data=b64(b"<h1>ours</h1>\n"),
        baseVersion=read["version"],
        create=False,
        overwrite=True,
    )
    await asyncio.sleep(1.0)  # five poll intervals
    assert client.changed_files == []  # type: ignore[attr-defined]

    busybox.sh("echo '<h1>theirs</h1>' > /www/index.html")
    params = await asyncio.wait_for(client.wait_for_notification("hotfix/didChangeFile"), 10)
    assert params == {"uri": index}
    await asyncio.sleep(1.0)
    assert client.changed_files == [{"uri": index}]  # type: ignore[attr-defined]
    assert written["version"] != (await call(client, "hotfix/readFile", uri=index))["version"]

    # closed: no more notifications
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=index))
    )
    busybox.sh("echo '<h1>again</h1>' > /www/index.html")
    await asyncio.sleep(1.0)
    assert len(client.changed_files) == 1  # type: ignore[attr-defined]


# --- release: harvest, image, report ---------------------------------------------------------------


async def test_harvest_commit_image_and_report(
    client: LanguageClient,
    busybox: Running,
    tmp_path: Path,
    docker_client: Any,
) -> None:
    repo = tmp_path / "site"
    (repo / "www").mkdir(parents=True)
    (repo / "www" / "index.html").write_bytes(BUSYBOX_INDEX)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "site"], check=True)

    index = uri(busybox, "/www/index.html")
    read = await call(client, "hotfix/readFile", uri=index)
    fixed = unb64(read["data"]).replace(b"busybox", b"busybox, fixed")
    await call(
        client,
        "hotfix/writeFile",
        uri=index,
        data=b64(fixed),
        baseVersion=read["version"],
        create=False,
        overwrite=True,
    )

    harvested = await command(
        client, "hotfix.harvest", container=busybox.name, repo=str(repo), message="fix the title"
    )
    assert harvested["branch"].startswith("hotfix-") and harvested["commit"]
    assert [(f["path"], f["repoPath"]) for f in harvested["files"]] == [
        ("/www/index.html", "www/index.html")
    ]
    shown = subprocess.run(
        [*git, "show", f"{harvested['branch']}:www/index.html"], capture_output=True, check=True
    )
    assert shown.stdout == fixed

    tag = f"hotfix-test/lsp-commit:{busybox.name}"
    try:
        image = await command(client, "hotfix.commitImage", container=busybox.name, tag=tag)
        assert image["tag"] == tag and image["imageId"].startswith("sha256:")
        assert image["image"] == image["imageId"]
        assert [f["path"] for f in image["files"]] == ["/www/index.html"]
    finally:
        with contextlib.suppress(Exception):
            docker_client.images.remove(tag, force=True)

    report = await command(client, "hotfix.report", container=busybox.name)
    assert busybox.name in report["markdown"] and "/www/index.html" in report["markdown"]
