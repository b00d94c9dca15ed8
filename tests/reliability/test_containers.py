"""Bad containers: unknown, ambiguous ID prefix, paused, restarting, read-only root, stopped.

User-namespaced containers need a daemon started with ``--userns-remap``; see
docs/reliability.md (not run here).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import docker
import pytest

from hotfix.service.files import HotfixService
from tests.conftest import CliResult, Running
from tests.reliability.conftest import in_container, uri
from tests.reliability.rpc import Rpc, b64, code_of

pytestmark = pytest.mark.engine

Hotfix = Callable[..., CliResult]


def error_line(result: CliResult) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.code != 0 and len(lines) == 1, (result.code, result.stderr)
    return lines[0]


def test_unknown_container(hotfix: Hotfix, lsp: Callable[..., Rpc]) -> None:
    result = hotfix("write", "no-such-container-x9:/tmp/a", input=b"x\n")
    assert result.code == 1
    assert "no such container: 'no-such-container-x9'" in error_line(result)
    server = lsp()
    error = server.error("hotfix/readFile", {"uri": uri("no-such-container-x9", "/etc/hostname")})
    assert code_of(error) == "FileNotFound" and "no such container" in error["message"]


def test_ambiguous_id_prefix(
    images: dict[str, str],
    run_container: Callable[..., Running],
    docker_client: docker.DockerClient,
    hotfix: Hotfix,
    lsp: Callable[..., Rpc],
) -> None:
    """A prefix two containers share is refused, naming them; nothing is written."""
    for _ in range(17):  # 16 hex digits: two IDs share their first one soon enough
        counts = Counter(c.id[0] for c in docker_client.containers.list(all=True))
        shared = [p for p, n in counts.items() if n > 1]
        if shared:
            break
        run_container(images["busybox"], command=["sleep", "3600"], stop_signal="KILL")
    prefix = shared[0]
    result = hotfix("write", f"{prefix}:/tmp/ambiguous", input=b"x\n")
    assert result.code == 1
    assert f"container ID prefix '{prefix}' is ambiguous: matches" in error_line(result)
    server = lsp()
    error = server.error("hotfix/stat", {"uri": uri(prefix, "/tmp")})
    assert code_of(error) == "FileNotFound" and "ambiguous" in error["message"]


def test_paused_container(box: Running, service: HotfixService, hotfix: Hotfix) -> None:
    """Files of a paused container are read and written (the archive API works on it); it
    stays paused."""
    box.sh("mkdir -p /srv && echo one > /srv/conf")
    box.container.pause()
    try:
        assert hotfix("cat", f"{box.name}:/srv/conf").stdout == "one\n"
        service.write(box.name, "/srv/conf", b"two\n")
        assert in_container(box, "/srv/conf") == b"two\n"
        assert "+two" in service.diff(box.name)
        assert service.revert(box.name) == ["/srv/conf"]
        assert in_container(box, "/srv/conf") == b"one\n"
        box.container.reload()
        assert box.container.status == "paused"
    finally:
        box.container.unpause()


def test_restarting_container(
    images: dict[str, str], run_container: Callable[..., Running], hotfix: Hotfix
) -> None:
    """A crash-looping container: its files can be read and fixed between restarts."""
    crashing = run_container(
        images["busybox"],
        command=["sh", "-c", "[ -f /www/fixed ] && exec sleep 3600; exit 1"],
        restart_policy={"Name": "always"},
        stop_signal="KILL",
    )
    deadline = time.monotonic() + 30
    while True:
        crashing.container.reload()
        if crashing.container.status == "restarting":
            break
        assert time.monotonic() < deadline, crashing.container.status
        time.sleep(0.1)
    read = hotfix("cat", f"{crashing.name}:/www/index.html")
    assert read.code == 0, read.stderr
    written = hotfix("write", f"{crashing.name}:/www/fixed", input=b"yes\n")
    assert written.code == 0, written.stderr
    deadline = time.monotonic() + 60
    while crashing.container.status != "running":  # the fix lets it come up
        assert time.monotonic() < deadline, crashing.container.status
        time.sleep(0.2)
        crashing.container.reload()
    assert crashing.sh("cat /www/fixed") == "yes\n"


@pytest.mark.parametrize("local_fs", ["1", "0"], ids=["local", "archive"])
def test_read_only_root_filesystem(
    images: dict[str, str],
    run_container: Callable[..., Running],
    lsp: Callable[..., Rpc],
    local_fs: str,
) -> None:
    box = run_container(
        images["busybox"], command=["sleep", "3600"], read_only=True, stop_signal="KILL"
    )
    server = lsp(env={"HOTFIX_LOCAL_FS": local_fs})
    params: dict[str, Any] = {
        "uri": uri(box, "/www/index.html"),
        "data": b64(b"changed\n"),
        "create": True,
        "overwrite": True,
    }
    error = server.error("hotfix/writeFile", params)
    assert code_of(error) == "NoPermissions"
    assert "read-only" in error["message"]
    assert b"hotfix-test busybox" in (in_container(box, "/www/index.html") or b"")
