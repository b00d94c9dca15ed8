"""What the operator sets: the file size limit (``HOTFIX_MAX_FILE_SIZE``), the label that
protects a container from changes, and whose name the journal records."""

from __future__ import annotations

import getpass
import os

from hotfix.core.errors import Protected, UsageError
from hotfix.core.model import ContainerInfo

DEFAULT_MAX_FILE_SIZE = 64 << 20
PROTECT_LABEL = "hotfix.protect"


def configured_max_file_size() -> int:
    """``HOTFIX_MAX_FILE_SIZE`` in bytes (a number, or one with K, M or G), else the default."""
    text = os.environ.get("HOTFIX_MAX_FILE_SIZE", "").strip().upper()
    if not text:
        return DEFAULT_MAX_FILE_SIZE
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    scale = units.get(text[-1], 1)
    number = text[:-1] if text[-1] in units else text
    try:
        return int(float(number) * scale)
    except ValueError:
        raise UsageError(
            f"HOTFIX_MAX_FILE_SIZE={text!r}: expected bytes, or a number with K, M or G"
        ) from None


def guard(container: ContainerInfo, action: str, force: bool) -> bool:
    """Refuse to change a container labelled hotfix.protect=true, unless forced.

    Returns True when a protected container is changed by force (it is journalled)."""
    if container.labels.get(PROTECT_LABEL, "").lower() not in ("true", "1", "yes"):
        return False
    if not force:
        raise Protected(
            f"{container.name} is protected (label {PROTECT_LABEL}=true): refusing to "
            f"{action}; --force overrides, and the override is journalled"
        )
    return True


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())
