"""paths: absolute container paths and the CLI's CONTAINER:PATH."""

from __future__ import annotations

import pytest

from hotfix.core import paths
from hotfix.core.errors import UsageError


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("/etc/hosts", "/etc/hosts"),
        ("//x", "/x"),
        ("///x//y/", "/x/y"),
        ("/a/./b/../c", "/a/c"),
        ("/../../etc/passwd", "/etc/passwd"),
        ("/a/b/../../..", "/"),
        ("/", "/"),
    ],
)
def test_normalize(given: str, expected: str) -> None:
    assert paths.normalize(given) == expected


@pytest.mark.parametrize(
    ("given", "fragment"),
    [
        ("", "empty path"),
        ("etc/hosts", "relative"),
        ("./x", "relative"),
        ("../x", "relative"),
        ("/etc/ho\x00sts", "NUL"),
    ],
)
def test_normalize_refuses(given: str, fragment: str) -> None:
    with pytest.raises(UsageError, match=fragment):
        paths.normalize(given)


def test_split_and_join() -> None:
    assert paths.split("/a//b/c") == ("/a/b", "c")
    assert paths.split("/c") == ("/", "c")
    assert paths.join("/a/b", "c") == "/a/b/c"
    with pytest.raises(UsageError, match="root directory"):
        paths.split("/")
    with pytest.raises(UsageError, match="root directory"):
        paths.split("/a/..")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("web:/srv/app/app.py", ("web", "/srv/app/app.py")),
        ("web://srv//app/../app.py", ("web", "/srv/app.py")),
        ("c0ffee:/a:b", ("c0ffee", "/a:b")),  # only the first colon separates
    ],
)
def test_parse_target(text: str, expected: tuple[str, str]) -> None:
    assert paths.parse_target(text) == expected


@pytest.mark.parametrize("text", ["web", "web:", ":/etc/hosts", ""])
def test_parse_target_needs_container_and_path(text: str) -> None:
    with pytest.raises(UsageError):
        paths.parse_target(text)


def test_parse_target_relative_path_refused() -> None:
    with pytest.raises(UsageError, match="relative"):
        paths.parse_target("web:etc/hosts")
    with pytest.raises(UsageError, match="relative"):
        paths.parse_target("web:etc/hosts", path_required=False)


def test_parse_target_container_alone_when_optional() -> None:
    assert paths.parse_target("web", path_required=False) == ("web", None)
    assert paths.parse_target("web:", path_required=False) == ("web", None)
    assert paths.parse_target("web:/x", path_required=False) == ("web", "/x")
    with pytest.raises(UsageError):
        paths.parse_target(":", path_required=False)
