"""The Engine's errors as :mod:`hotfix.core.errors` that name the container and path."""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from contextlib import contextmanager

import docker.errors
import requests
import urllib3

from hotfix.core.errors import (
    AmbiguousContainer,
    ContainerNotFound,
    FileNotADirectory,
    FileNotFound,
    HotfixError,
    NoPermissions,
    Unavailable,
)
from hotfix.core.model import ContainerInfo

# Podman's 500 messages for what dockerd answers 404 ("Could not find the file" is dockerd's).
NOT_FOUND_MESSAGES = ("no such file or directory", "no such container", "no such image")
AMBIGUOUS_MESSAGE = "more than one result"


def reason(exc: BaseException) -> str:
    """What went wrong, in the Engine's words (with a hint when no engine answers)."""
    if isinstance(exc, docker.errors.APIError):
        return str(exc.explanation or exc)
    text = str(exc)
    if "Connection refused" in text or "No such file or directory" in text:
        return f"{text} — is dockerd running? (scripts/ensure-engine.sh starts one)"
    return text


@contextmanager
def engine_errors(
    container: ContainerInfo | str = "", path: str = "", parent: str = ""
) -> Iterator[None]:
    """Translate docker-py and transport errors into HotfixErrors naming container and path."""
    name = container.name if isinstance(container, ContainerInfo) else container
    where = f"{name}:{path}" if path else name
    try:
        yield
    except HotfixError:
        raise
    except docker.errors.NotFound as exc:
        raise _not_found(exc, name, where, path, parent) from exc
    except docker.errors.APIError as exc:
        if _is_not_found(exc):
            raise _not_found(exc, name, where, path, parent) from exc
        raise _refused(reason(exc), name, where, parent) from exc
    except (requests.exceptions.RequestException, docker.errors.DockerException) as exc:
        raise Unavailable(f"cannot reach the Docker engine: {reason(exc)}") from exc
    except (tarfile.TarError, OSError, urllib3.exceptions.HTTPError) as exc:
        # urllib3's errors: an archive stream cut off midway (read from the raw response)
        raise Unavailable(f"{where}: reading the engine's archive failed: {exc}") from exc


def _is_not_found(exc: docker.errors.APIError) -> bool:
    """Podman answers 500 where dockerd answers 404: its message says so."""
    return exc.status_code == 500 and any(m in reason(exc).lower() for m in NOT_FOUND_MESSAGES)


def _not_found(
    exc: docker.errors.APIError, name: str, where: str, path: str, parent: str
) -> HotfixError:
    text = reason(exc)
    if AMBIGUOUS_MESSAGE in text.lower():  # Podman's 404 for an ID prefix of two containers
        return AmbiguousContainer(f"container ID prefix {name!r} is ambiguous ({text})")
    if not path or "no such container" in text.lower():
        return ContainerNotFound(f"no such container: {name or text}")
    if parent and "could not find the file" in text.lower():
        return FileNotFound(f"{where}: parent directory {parent} does not exist")
    return FileNotFound(f"{where}: no such file or directory")


def _refused(text: str, name: str, where: str, parent: str) -> HotfixError:
    low = text.lower()
    if "read-only" in low or "read only" in low:
        return NoPermissions(f"{where}: the container's root filesystem is read-only")
    if "not a directory" in low:
        return FileNotADirectory(f"{where}: {parent or 'a parent'} is not a directory")
    if "too many links" in low:  # not FileNotFound: that would read as "absent"
        return Unavailable(f"{where}: too many levels of symbolic links")
    if "no such container" in low:
        return ContainerNotFound(f"no such container: {name}")
    if "is paused" in low:
        return Unavailable(f"{where}: the container is paused ({text})")
    if "permission denied" in low or "operation not permitted" in low:  # Podman: 500, not 403
        return NoPermissions(f"{where}: permission denied ({text})")
    return Unavailable(f"{where}: the engine refused: {text}")
