"""Harvest's words: the ``hotfix-<slug>`` branch name and the commit message."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence

from hotfix.core.errors import UsageError
from hotfix.release.harvest.results import HarvestedFile

BRANCH_PREFIX = "hotfix-"
SLUG_MAX = 48


def slugify(text: str, max_len: int = SLUG_MAX) -> str:
    """Lower-case words joined by '-': "Cause a problem: flag!" → "cause-a-problem-flag"."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > max_len:
            if not slug:
                slug = word[:max_len]
            break
        slug = candidate
    return slug


def branch_slug(branch: str | None, message: str | None, paths: Sequence[str]) -> str:
    """The slug of ``hotfix-<slug>``: from --branch, else the message's subject, else the names."""
    if branch:
        name = branch.strip()
        for prefix in ("hotfix-", "hotfix/", "hotfix_"):
            if name.lower().startswith(prefix):
                name = name[len(prefix) :]
        slug = slugify(name)
        if not slug:
            raise UsageError(f"--branch {branch!r}: no letters or digits to name a branch with")
        return slug
    if message and slugify(message.strip().splitlines()[0] if message.strip() else ""):
        return slugify(message.strip().splitlines()[0])
    stems = []
    for p in paths:
        stem = slugify(posixpath.splitext(posixpath.basename(p))[0] or posixpath.basename(p))
        if stem and stem not in stems:
            stems.append(stem)
    slug = slugify("-".join(stems[:3]) + ("-and-more" if len(stems) > 3 else ""))
    return slug or "files"


def default_subject(container_name: str, files: Sequence[HarvestedFile]) -> str:
    names = [posixpath.basename(f.repo_path) for f in files]
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return f"Hotfix {shown} from container {container_name}"


def commit_message(
    *,
    message: str | None,
    container_name: str,
    container_id: str,
    image: str,
    image_id: str,
    files: Sequence[HarvestedFile],
    base: str,
    base_source: str,
) -> str:
    """Subject, a body naming container, image and files, then the Hotfix-* trailers."""
    text = (message or "").strip()
    subject, _, rest = text.partition("\n")
    subject = subject.strip() or default_subject(container_name, files)
    lines = [subject, ""]
    if rest.strip():
        lines += [rest.strip(), ""]
    lines.append(
        f"Harvested from container {container_name} ({container_id}), running image "
        f"{image or '(unknown)'} ({image_id})."
    )
    lines += ["", "Files:"]
    for f in files:
        how = {"copied": "", "merged": ", merged three-way", "deleted": "", "mode": ", mode only"}
        exec_note = ", executable" if f.executable and f.action != "deleted" else ""
        lines.append(f"  {f.repo_path} <- {f.path} ({f.status}{how.get(f.action, '')}{exec_note})")
    lines += ["", f"Base: {base[:12]} ({base_source})", ""]
    lines.append(f"Hotfix-Container: {container_name} ({container_id})")
    lines.append(f"Hotfix-Image: {image or '(unknown)'} ({image_id})")
    return "\n".join(lines) + "\n"
