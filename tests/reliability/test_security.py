"""Security: no listener but stdio, loopback-only TCP, no shell interpolation of user input,
protected containers over the protocol, and no environment values in journal or report."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, CliResult, Running
from tests.reliability.conftest import in_container, uri
from tests.reliability.rpc import Rpc, b64, code_of, unb64

Hotfix = Callable[..., CliResult]
SERVER_DIR = REPO_ROOT / "server" / "hotfix"


# --- listeners ------------------------------------------------------------------------------


def listening_sockets(pid: int) -> list[tuple[str, str]]:
    """(protocol, local address) of every listening socket process ``pid`` holds."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for proto in ("tcp", "tcp6", "udp", "udp6"):
        with open(f"/proc/{pid}/net/{proto}") as fh:
            for line in fh.readlines()[1:]:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if inode in inodes and (state == "0A" or proto.startswith("udp")):
                    found.append((proto, local))
    with open(f"/proc/{pid}/net/unix") as fh:
        for line in fh.readlines()[1:]:
            fields = line.split()
            if fields[6] in inodes and int(fields[3], 16) & 0x10000:  # __SO_ACCEPTCON
                found.append(("unix", fields[7] if len(fields) > 7 else "@"))
    return found


def is_loopback(proto: str, local: str) -> bool:
    address = local.split(":")[0]
    if proto.endswith("6"):
        return address in ("00000000000000000000000001000000",)  # ::1
    return bytes.fromhex(address)[::-1][0] == 127  # 127.0.0.0/8, little-endian hex


@pytest.mark.engine
def test_the_stdio_server_listens_on_nothing(
    lsp: Callable[..., Rpc], docker_client: object
) -> None:
    server = lsp()
    server.result("hotfix/containers")  # Docker reached: its connection is not a listener
    assert listening_sockets(server.proc.pid) == []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_tcp_listens_on_loopback_only(host: str, tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hotfix", "lsp", "--tcp", f"{host}:{port}"],
        env={**os.environ, "HOTFIX_STATE_DIR": str(tmp_path / "state")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not (found := listening_sockets(proc.pid)):
            assert proc.poll() is None and time.monotonic() < deadline, "never listened"
            time.sleep(0.05)
        time.sleep(0.2)  # every address of the host name bound by now
        found = listening_sockets(proc.pid)
        assert found and all(is_loopback(p, a) for p, a in found), found
        assert all(int(a.split(":")[1], 16) == port for _, a in found)
    finally:
        proc.kill()
        proc.wait(10)


@pytest.mark.parametrize("host", ["0.0.0.0", "[::]", "192.0.2.10", "example.com"])
def test_tcp_refuses_anything_but_loopback(host: str, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hotfix", "lsp", "--tcp", f"{host}:2087"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "not a loopback address" in proc.stderr


# --- no shell -------------------------------------------------------------------------------


def test_no_shell_in_the_code() -> None:
    """Containers are reached with argv lists only; the one shell is harvest's ``--test``,
    the user's own command run in the worktree (documented)."""
    shells = []
    for path in sorted(SERVER_DIR.rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#")[0]
            if re.search(
                r"shell\s*=\s*True|os\.system\(|os\.popen\(|[\"']sh[\"'],\s*[\"']-c", code
            ):
                shells.append(f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}")
    assert [s for s in shells if "git/repo.py" not in s] == []
    assert len(shells) <= 1, shells  # Worktree.run: `harvest --test CMD`


MARK = f"PWNED{uuid.uuid4().hex[:8]}"
NASTY = [
    f"$(touch {MARK}).txt",
    f"`touch {MARK}`.txt",
    f"x;touch {MARK};.txt",
    f"a|touch {MARK}&.txt",
    f"q'\"{MARK}>x<y.txt",
    "-rf",
    "--help",
    "*",
    "a b  c.txt",
    "new\nline.txt",
    "tab\tx",
    "ünïcødé-雪.txt",
    "%2F%00.txt",
    "~root",
    "back\\slash",
]


CLI_NAMES = (NASTY[0], "-rf", "new\nline.txt")


def no_mark_anywhere(box: Running) -> None:
    assert box.sh(f"find / -xdev -name '{MARK}*' 2>/dev/null; true").strip() == ""
    for directory in (Path.cwd(), Path("/tmp"), Path("/")):
        assert not any(p.name.startswith(MARK) for p in directory.iterdir())


@pytest.mark.engine
@pytest.mark.parametrize("local_fs", ["1", "0"], ids=["local", "archive"])
def test_shell_metacharacters_in_paths_are_literal(
    box: Running,
    hotfix: Hotfix,
    lsp: Callable[..., Rpc],
    monkeypatch: pytest.MonkeyPatch,
    local_fs: str,
) -> None:
    monkeypatch.setenv("HOTFIX_LOCAL_FS", local_fs)
    # Every name on the local path; on the archive path (HTTP, and `rm` by exec for a delete)
    # the ones a shell would act on.
    names = NASTY if local_fs == "1" else [*NASTY[:5], "-rf", "new\nline.txt"]
    box.sh("mkdir -p /srv/meta")
    server = lsp()
    for i, name in enumerate(names):
        path = f"/srv/meta/{name}"
        content = f"content {i}\n".encode()
        if name in CLI_NAMES:  # the CLI's CONTAINER:PATH argument too
            written = hotfix("write", f"{box.name}:{path}", input=content)
            assert written.code == 0, (name, written.stderr)
        else:
            server.result(
                "hotfix/writeFile",
                {"uri": uri(box, path), "data": b64(content), "create": True, "overwrite": True},
            )
        assert in_container(box, path) == content, name
    listing = server.result("hotfix/readDirectory", {"uri": uri(box, "/srv/meta")})
    assert sorted(name for name, _ in listing["entries"]) == sorted(names)
    read = server.result("hotfix/readFile", {"uri": uri(box, f"/srv/meta/{names[1]}")})
    assert unb64(read["data"]) == b"content 1\n"
    # Delete one through the protocol (archive mode: `rm` run by exec, as an argv), and
    # revert the rest (files the hotfix created are deleted again).
    server.result("hotfix/delete", {"uri": uri(box, f"/srv/meta/{names[0]}"), "recursive": False})
    assert in_container(box, f"/srv/meta/{names[0]}") is None
    reverted = hotfix("revert", box.name)
    assert reverted.code == 0, reverted.stderr
    assert box.sh("ls -A /srv/meta") == ""
    no_mark_anywhere(box)


@pytest.mark.engine
def test_exec_probe_and_container_names_are_not_run_by_a_shell(
    box: Running, hotfix: Hotfix
) -> None:
    probe = hotfix(
        "probe", box.name, "--probe", f"exec:echo $(touch /{MARK}) ; touch /{MARK}", "--json"
    )
    assert probe.code == 0, probe.stderr
    assert f"$(touch /{MARK}) ; touch /{MARK}" in probe.json()["probe"]["detail"]  # echoed
    for ref in (f"$(touch {MARK})", f"x;touch {MARK}", f"`touch {MARK}`"):
        missing = hotfix("cat", f"{ref}:/etc/hostname")
        assert missing.code == 1 and "no such container" in missing.stderr
    no_mark_anywhere(box)


# --- protected containers over the protocol -------------------------------------------------


@pytest.mark.engine
def test_protected_container_over_the_protocol(
    images: dict[str, str],
    run_container: Callable[..., Running],
    lsp: Callable[..., Rpc],
    hotfix: Hotfix,
) -> None:
    box = run_container(
        images["busybox"],
        command=["sleep", "3600"],
        stop_signal="KILL",
        labels={"hotfix.protect": "true"},
    )
    box.sh("mkdir -p /srv && echo original > /srv/a.txt")
    server = lsp()
    params = {"uri": uri(box, "/srv/a.txt"), "data": b64(b"changed\n"), "create": True}
    refused = server.error("hotfix/writeFile", {**params, "overwrite": True})
    assert code_of(refused) == "NoPermissions"
    assert "protected (label hotfix.protect=true)" in refused["message"]
    assert in_container(box, "/srv/a.txt") == b"original\n"

    for method, extra in (
        ("hotfix/createDirectory", {"uri": uri(box, "/srv/new")}),
        ("hotfix/delete", {"uri": uri(box, "/srv/a.txt"), "recursive": False}),
        ("hotfix/rename", {"oldUri": uri(box, "/srv/a.txt"), "newUri": uri(box, "/srv/b.txt")}),
    ):
        assert code_of(server.error(method, extra)) == "NoPermissions", method
    assert box.sh("ls /srv") == "a.txt\n"

    forced = server.result("hotfix/writeFile", {**params, "overwrite": True, "force": True})
    assert forced["checkpointed"] is True
    assert in_container(box, "/srv/a.txt") == b"changed\n"
    for name, args in (("hotfix.revert", {}), ("hotfix.restart", {"probe": "exec:true"})):
        answer = server.command(name, container=box.name, **args)
        assert code_of(answer["error"]) == "NoPermissions", name
    assert in_container(box, "/srv/a.txt") == b"changed\n"

    entries = hotfix("log", box.name, "--json").json()["entries"]
    assert [(e["action"], e["detail"].get("forced_protected")) for e in entries] == [
        ("write", True)
    ]


# --- environment values ---------------------------------------------------------------------


@pytest.mark.engine
def test_journal_and_report_never_hold_environment_values(
    images: dict[str, str],
    run_container: Callable[..., Running],
    hotfix: Hotfix,
    docker_client: object,
) -> None:
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    box = run_container(
        images["busybox"],
        command=[
            "sh",
            "-c",
            'echo "starting with token $SECRET_TOKEN"; [ -f /srv/crash ] && exit 3; exec sleep 3600',
        ],
        environment={"SECRET_TOKEN": secret},
        stop_signal="KILL",
    )
    box.sh("mkdir -p /srv")
    # A probe whose output prints the environment, failing.
    probe = hotfix("probe", box.name, "--probe", 'exec:sh -c "env; exit 1"', "--timeout", "0.5")
    assert probe.code == 4 and secret in probe.stdout  # shown to the person, at the terminal
    # A hotfix that makes the service crash on restart: the last log lines are quoted.
    assert hotfix("write", f"{box.name}:/srv/crash", input=b"boom\n").code == 0
    restart = hotfix("restart", box.name, "--probe", "tcp:127.0.0.1:9", "--timeout", "20")
    assert restart.code == 4, restart.stderr
    assert "exited with code 3" in restart.stdout

    log = hotfix("log", box.name, "--json")
    assert log.code == 0
    assert "last log" in log.stdout and "SECRET_TOKEN" in log.stdout  # names are fine
    assert secret not in log.stdout
    report = hotfix("report", box.name)
    assert report.code == 0 and secret not in report.stdout

    box.container.remove(force=True)  # gone: the report can no longer look its values up
    assert secret not in hotfix("log", "--json").stdout
    assert secret not in hotfix("report").stdout
