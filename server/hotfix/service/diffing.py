"""A checkpoint against the live file: its status, and the git-style diff between them."""

from __future__ import annotations

from hotfix.core.model import FileContent
from hotfix.core.patching import make_patch
from hotfix.service.results import ChangeStatus
from hotfix.store.state import Checkpoint

BINARY_SNIFF = 8192  # bytes looked at for a NUL, as git does


def status(cp: Checkpoint, live: FileContent | None) -> ChangeStatus:
    if live is None:
        return "deleted" if cp.present else "unchanged"
    if not cp.present:
        return "created"
    same_content = live.version == cp.version
    same_meta = (live.stat.mode, live.stat.uid, live.stat.gid) == (cp.mode, cp.uid, cp.gid)
    return "unchanged" if same_content and same_meta else "modified"


def unified_diff(cp: Checkpoint, old: bytes | None, live: FileContent | None) -> str:
    """Checkpoint → live, as ``git diff`` shows it; empty when nothing changed."""
    rel = cp.path.lstrip("/")
    new = live.data if live else None
    header = [f"diff --git a/{rel} b/{rel}\n"]
    old_mode = f"{0o100000 | cp.mode:o}" if cp.present and cp.mode is not None else None
    new_mode = f"{0o100000 | live.stat.mode:o}" if live else None
    if old is None and new is None:
        return ""
    if old is None:
        header.append(f"new file mode {new_mode}\n")
    elif new is None:
        header.append(f"deleted file mode {old_mode}\n")
    elif old_mode != new_mode:
        header += [f"old mode {old_mode}\n", f"new mode {new_mode}\n"]
    if old == new:
        return "".join(header) if len(header) > 1 else ""
    if _is_binary(old) or _is_binary(new):
        return "".join(header) + f"Binary files a/{rel} and b/{rel} differ\n"
    return "".join(header) + make_patch(cp.path, old, new)


def _is_binary(data: bytes | None) -> bool:
    return bool(data) and b"\x00" in (data or b"")[:BINARY_SNIFF]
