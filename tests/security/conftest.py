"""Fixtures of the attack suite (docs/reliability.md, "Security").

Each test here plays an attacker — a hostile container, or another local user — against the
real engine and proves the attack fails. The reliability suite's fixtures (``box``, ``lsp``,
``killed``, ``tmp_env``) are shared; ``other_user`` is a throwaway local account.
"""

from __future__ import annotations

import os
import pwd
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.reliability.conftest import box, killed, lsp, tmp_env  # noqa: F401  (fixtures)


@dataclass(frozen=True)
class LocalUser:
    """A local account made for one test: run commands as it with ``as_user``."""

    name: str
    uid: int
    gid: int
    home: str

    def demote(self) -> None:
        """``preexec_fn`` that drops a child process to this user (groups included)."""
        os.setgroups([])
        os.setgid(self.gid)
        os.setuid(self.uid)

    def env(self) -> dict[str, str]:
        return {"HOME": self.home, "USER": self.name, "LOGNAME": self.name, "PATH": os.defpath}


@pytest.fixture
def other_user() -> Iterator[LocalUser]:
    """A fresh unprivileged user (``useradd``), removed with its home afterwards."""
    name = f"hfx{uuid.uuid4().hex[:8]}"
    subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", name], check=True)
    entry = pwd.getpwnam(name)
    try:
        yield LocalUser(name, entry.pw_uid, entry.pw_gid, entry.pw_dir)
    finally:
        subprocess.run(["pkill", "-KILL", "-u", name], check=False)
        subprocess.run(["userdel", "--remove", name], check=False, capture_output=True)
