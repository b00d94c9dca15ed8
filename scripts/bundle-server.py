"""Put the hotfix server and its dependencies into the VS Code extension (`bundled/libs`).

    python scripts/bundle-server.py dist/container_hotfix-*.whl client-extension/bundled/libs

The .vsix must run on any Python >= 3.11 of any platform, so only pure-Python wheels
(py3-none-any) go in. docker-py's `ssh` extra is left out: paramiko needs bcrypt,
cryptography and PyNaCl, which are compiled for one Python and one platform. The bundled
server reaches unix, tcp and TLS engines; for ssh:// ones, choose a Python that has
paramiko installed (`hotfix.server.python`): it is imported from that Python's packages.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

# Dependencies whose extras pull compiled code into the bundle; see the docstring.
DROPPED_EXTRAS = {"docker": "ssh"}
COMPILED_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")
PURE_ONLY = [
    "--only-binary=:all:",
    "--platform=any",
    "--implementation=py",
    "--abi=none",
    "--python-version=3.11",
]


def requirements(wheel: Path) -> list[str]:
    """The wheel's unconditional Requires-Dist, with the compiled extras dropped."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(name).decode()
    wanted = []
    for line in metadata.splitlines():
        if not line.startswith("Requires-Dist:"):
            continue
        requirement = line.removeprefix("Requires-Dist:").strip()
        if "extra ==" in requirement:
            continue  # the [dev] tools
        project = re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower()
        extra = DROPPED_EXTRAS.get(project)
        if extra:
            requirement = re.sub(rf"\[\s*{extra}\s*\]", "", requirement)
        wanted.append(requirement)
    return wanted


def pip_install(target: Path, *args: str) -> None:
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*command, "--target", str(target), *args], check=True)


def check_pure(target: Path) -> None:
    compiled = [p for p in target.rglob("*") if p.name.endswith(COMPILED_SUFFIXES)]
    if compiled:
        raise SystemExit(f"bundle-server: compiled files in the bundle: {compiled[:5]}")


def check_imports(target: Path) -> None:
    """The bundle alone (no site-packages: -S) imports the language server."""
    code = "import hotfix.lsp.main, hotfix.docker.engines, hotfix.git.repo"
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}
    subprocess.run([sys.executable, "-S", "-c", code], check=True, env=env)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: bundle-server.py WHEEL TARGET_DIR", file=sys.stderr)
        return 2
    wheel, target = Path(argv[0]), Path(argv[1])
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    pip_install(target, *PURE_ONLY, *requirements(wheel))
    pip_install(target, "--no-deps", str(wheel))
    shutil.rmtree(target / "bin", ignore_errors=True)  # console scripts name the build's Python
    for cache in list(target.rglob("__pycache__")):
        shutil.rmtree(cache)
    check_pure(target)
    check_imports(target)
    print(f"bundle-server: {target} ({sum(1 for _ in target.iterdir())} entries)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
