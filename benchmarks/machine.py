"""The machine the numbers were taken on."""

from __future__ import annotations

import compileall
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import docker

import hotfix
from hotfix import __version__ as hotfix_version

REPO = Path(__file__).resolve().parent.parent


def describe(client: docker.DockerClient, bytecode: str) -> dict[str, Any]:
    version = client.version()
    info = client.info()
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": round(_mem_total_kb() / 1024 / 1024, 1),
        "kernel": platform.release(),
        "os": _os_name(),
        "docker_engine": version.get("Version"),
        "docker_api": version.get("ApiVersion"),
        "storage_driver": info.get("Driver"),
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "hotfix": hotfix_version,
        "hotfix_bytecode": bytecode,
        "commit": _git_commit(),
        "root": os.geteuid() == 0,
    }


def compile_hotfix() -> str:
    """Compile hotfix's modules, as installing its wheel does: an editable install run with
    PYTHONDONTWRITEBYTECODE (as on this machine) compiles all 18 of them in every CLI
    process (≈70 ms) — a cost users do not pay."""
    package = Path(hotfix.__file__).parent
    ok = compileall.compile_dir(package, quiet=1)
    return f"compiled ({package})" if ok else f"compiling {package} failed: cold imports"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_kb() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.platform()


def _git_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(REPO), *args], capture_output=True, text=True, check=False
        ).stdout.strip()

    head = git("rev-parse", "--short", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "server")
    return f"{head}{' + uncommitted server changes' if dirty else ''}" if head else "unknown"
