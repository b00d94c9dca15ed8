"""The CLI's start-up: what a command imports, and what it says when the engine is down.

Start-up is most of what `hotfix cat` costs as a process (docs/cli.md, "Start-up"). Timings
are not tests, so these guard the cause instead: which modules a run imports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# Runs main() in a fresh interpreter, then writes the top-level packages and the hotfix
# modules it imported to the file named by $MODULES_OUT.
SCRIPT = """
import json, os, sys
from hotfix.startup.control import run_cli as main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
finally:  # a None entry is an import made to fail, not a module
    loaded = [m for m, module in sys.modules.items() if module is not None]
    names = {m.split(".")[0] for m in loaded} | {m for m in loaded if m.startswith("hotfix.")}
    with open(os.environ["MODULES_OUT"], "w") as f:
        json.dump(sorted(names), f)
sys.exit(code)
"""

# Not needed by any command below; docker-py (with requests) is needed by every command
# that reaches an engine, paramiko only by one that may reach an ssh:// engine.
LSP_AND_RELEASE = {"pygls", "lsprotocol", "cattrs", "git", "unidiff", "hotfix.lsp"}
REPLICAS_AND_RELEASE = {
    "hotfix.fleet",
    "hotfix.release.harvest",
    "hotfix.release.imaging",
    "hotfix.git.repo",
}
ENGINE = {"docker", "requests", "urllib3", "paramiko", "cryptography"}


def run_cli(
    tmp_path: Path, *args: str, input: bytes | None = None, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[bytes], set[str]]:
    out = tmp_path / "modules.json"
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args],
        input=input,
        capture_output=True,
        timeout=120,
        env={
            **os.environ,
            "HOTFIX_STATE_DIR": str(tmp_path / "state"),
            "MODULES_OUT": str(out),
            **(env or {}),
        },
    )
    return proc, set(json.loads(out.read_text()))


@pytest.mark.parametrize(
    "args",
    [["--help"], ["--version"], ["cat", "--help"], ["cat"], ["restart", "c", "--timeout", "x"]],
    ids=" ".join,
)
def test_help_version_and_usage_errors_import_no_engine_lsp_or_git(
    tmp_path: Path, args: list[str]
) -> None:
    proc, modules = run_cli(tmp_path, *args)
    assert proc.returncode in (0, 2), proc.stderr
    assert not modules & (ENGINE | LSP_AND_RELEASE | REPLICAS_AND_RELEASE)
    assert "hotfix.service.files" not in modules and "hotfix.store.state" not in modules


def test_engine_down_is_one_line_naming_the_socket(tmp_path: Path) -> None:
    sock = tmp_path / "no" / "docker.sock"
    proc, _ = run_cli(tmp_path, "ps", env={"DOCKER_HOST": f"unix://{sock}"})
    assert proc.returncode == 1
    lines = proc.stderr.decode().splitlines()
    assert lines == [
        f"hotfix: error: engine 'default' is not reachable at unix://{sock} (no such socket): "
        "is dockerd running, and does DOCKER_HOST point at it?"
    ]
    assert proc.stdout == b""


def test_engine_refusing_is_one_line_too(tmp_path: Path) -> None:
    not_a_socket = tmp_path / "plain-file"
    not_a_socket.write_text("")
    proc, _ = run_cli(
        tmp_path, "cat", "c:/etc/hostname", env={"DOCKER_HOST": f"unix://{not_a_socket}"}
    )
    assert proc.returncode == 1
    [line] = proc.stderr.decode().splitlines()
    assert f"not reachable at unix://{not_a_socket} (connection refused)" in line


def test_an_ssh_engine_still_gets_docker_pys_ssh_transport(tmp_path: Path) -> None:
    """Without paramiko docker-py would say "Install paramiko package to enable ssh://
    support"; this fails in ssh itself (whether or not there is an ssh binary)."""
    proc, modules = run_cli(tmp_path, "ps", env={"DOCKER_HOST": "ssh://nobody@127.0.0.1:1"})
    assert proc.returncode == 1
    assert "paramiko" in modules
    [line] = [x for x in proc.stderr.decode().splitlines() if x.startswith("hotfix:")]
    assert "not reachable at ssh://nobody@127.0.0.1:1 (ssh: " in line


NO_ENGINE = "unix:///nonexistent/docker.sock"  # these runs need none to tell


@pytest.mark.parametrize(
    ("args", "env", "config"),
    [
        (["ps", "--all-engines"], {"DOCKER_HOST": NO_ENGINE}, None),  # ssh contexts too
        (["--engine", "nosuch", "ps"], {"DOCKER_HOST": NO_ENGINE}, None),  # any context
        (["diff", "c", "--with", "d"], {"DOCKER_HOST": NO_ENGINE}, None),  # replicas: any
        (["ps"], {"DOCKER_HOST": "SSH://h"}, None),
        (["ps"], {"DOCKER_HOST": "", "DOCKER_CONTEXT": "remote"}, None),
        (["ps"], {"DOCKER_HOST": ""}, '{"currentContext": "remote"}'),
        (["ps"], {"DOCKER_HOST": ""}, "not json"),
    ],
    ids=str,
)
def test_runs_that_may_reach_an_ssh_engine_keep_paramiko(
    tmp_path: Path, args: list[str], env: dict[str, str], config: str | None
) -> None:
    (tmp_path / "docker").mkdir()
    if config is not None:
        (tmp_path / "docker" / "config.json").write_text(config)
    _, modules = run_cli(tmp_path, *args, env={"DOCKER_CONFIG": str(tmp_path / "docker"), **env})
    assert "paramiko" in modules


@pytest.mark.engine
def test_json_output_imports_the_shapes(
    images: dict[str, str], run_container, tmp_path: Path
) -> None:
    """The converter of the result shapes (with cattrs) is imported when JSON is printed."""
    run_container(images["busybox"], command=["sleep", "3600"])
    (tmp_path / "docker").mkdir()
    proc, modules = run_cli(
        tmp_path, "ps", "--json", env={"DOCKER_CONFIG": str(tmp_path / "docker")}
    )
    assert proc.returncode == 0, proc.stderr
    assert {"hotfix.views", "cattrs"} <= modules
    assert json.loads(proc.stdout)["containers"], proc.stdout


@pytest.mark.engine
def test_file_and_restart_commands_import_no_lsp_git_or_fleet(
    images: dict[str, str], run_container, tmp_path: Path
) -> None:
    """Nor paramiko: the default engine is no ssh:// one here (DOCKER_HOST is not, or unset
    with no current context; DOCKER_CONFIG is pointed at an empty directory)."""
    box = run_container(images["busybox"], command=["sleep", "3600"])
    (tmp_path / "docker").mkdir()
    assert not os.environ.get("DOCKER_HOST", "").lower().startswith("ssh")
    for args, stdin in [
        (["ps"], None),
        (["cat", f"{box.name}:/etc/hostname"], None),
        (["write", f"{box.name}:/tmp/new.txt"], b"fixed\n"),
        (["diff", box.name], None),
        (["restart", box.name, "--probe", "exec:true", "--timeout", "30"], None),
    ]:
        env = {"DOCKER_CONFIG": str(tmp_path / "docker")}
        proc, modules = run_cli(tmp_path, *args, input=stdin, env=env)
        assert proc.returncode == 0, (args, proc.stderr)
        assert not modules & (LSP_AND_RELEASE | REPLICAS_AND_RELEASE), args
        assert "hotfix.views" not in modules, args  # the JSON shapes: built for --json only
        assert "docker" in modules and "paramiko" not in modules, args
