"""The URIs the editor uses for container files.

``hotfix://CONTAINER/abs/path`` names a live file, ``hotfix-checkpoint://CONTAINER/abs/path``
its checkpoint (read-only). CONTAINER is a name or ID; the path is percent-encoded as
RFC 3986 says (UTF-8). An optional ``?engine=NAME`` is parsed and kept (one engine for now).

Pure functions, no I/O.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from hotfix.core.errors import HotfixError
from hotfix.core.paths import normalize
from hotfix.lsp.errors import InvalidParams

HOTFIX_SCHEME = "hotfix"
CHECKPOINT_SCHEME = "hotfix-checkpoint"
SCHEMES = (HOTFIX_SCHEME, CHECKPOINT_SCHEME)


@dataclass(frozen=True)
class Location:
    """What a hotfix URI points at."""

    scheme: str
    container: str
    path: str  # absolute, normalised
    engine: str | None = None

    @property
    def is_checkpoint(self) -> bool:
        return self.scheme == CHECKPOINT_SCHEME

    @property
    def key(self) -> tuple[str, str, str | None]:
        """The file named, whatever the scheme or spelling of the URI."""
        return (self.container, self.path, self.engine)

    def uri(self) -> str:
        return format_uri(self.scheme, self.container, self.path, self.engine)


def parse_uri(uri: str, field: str = "uri") -> Location:
    """Parse a hotfix URI; a malformed one is ``InvalidParams`` (``ValidationFailed``) naming ``field``."""
    try:
        return location_of(uri)
    except ValueError as exc:
        raise InvalidParams(f"{field}: {exc}") from None


def location_of(uri: object) -> Location:
    """Parse a hotfix URI; a malformed one is ``ValueError`` saying what is wrong with it."""
    if not isinstance(uri, str) or not uri:
        raise ValueError(f"expected a hotfix:// URI, got {uri!r}")
    scheme, sep, rest = uri.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in SCHEMES:
        raise ValueError(
            f"{uri!r} is not a container URI "
            "(expected hotfix://CONTAINER/abs/path or hotfix-checkpoint://CONTAINER/abs/path)"
        )
    rest, _, _fragment = rest.partition("#")
    rest, _, query = rest.partition("?")
    authority, slash, raw_path = rest.partition("/")
    try:
        container = urllib.parse.unquote(authority, errors="strict")
        decoded_path = urllib.parse.unquote(raw_path, errors="strict")
    except UnicodeDecodeError:
        raise ValueError(f"{uri!r} is not percent-encoded UTF-8") from None
    if not container:
        raise ValueError(f"{uri!r} names no container (hotfix://CONTAINER/path)")
    if any(c in container for c in "/:@?#\x00") or container != container.strip():
        raise ValueError(f"{container!r} in {uri!r} is not a container name or ID")
    try:
        path = normalize("/" + decoded_path if slash else "/")
    except HotfixError as exc:
        raise ValueError(str(exc)) from None
    engine = None
    for name, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
        if name == "engine" and value:
            engine = value
    return Location(scheme, container, path, engine)


def format_uri(scheme: str, container: str, path: str, engine: str | None = None) -> str:
    """The URI of a container file, percent-encoded (``parse_uri`` inverts it)."""
    text = (
        f"{scheme}://{urllib.parse.quote(container, safe='')}"
        f"{urllib.parse.quote(normalize(path), safe='/')}"
    )
    if engine:
        text += "?" + urllib.parse.urlencode({"engine": engine}, quote_via=urllib.parse.quote)
    return text


def file_uri(container: str, path: str, engine: str | None = None) -> str:
    return format_uri(HOTFIX_SCHEME, container, path, engine)


def checkpoint_uri(container: str, path: str, engine: str | None = None) -> str:
    return format_uri(CHECKPOINT_SCHEME, container, path, engine)
