"""hotfix:// and hotfix-checkpoint:// URIs (no engine)."""

from __future__ import annotations

import pytest

from hotfix.core.errors import ValidationFailed
from hotfix.lsp import uris
from hotfix.lsp.uris import Location, parse_uri


def test_parse_plain() -> None:
    loc = parse_uri("hotfix://my_prod_service/usr/src/app/app.py")
    assert loc == Location("hotfix", "my_prod_service", "/usr/src/app/app.py")
    assert not loc.is_checkpoint


def test_parse_checkpoint_and_container_id() -> None:
    loc = parse_uri("hotfix-checkpoint://a3dbcdc2d4d8/etc/hosts")
    assert loc.is_checkpoint
    assert (loc.container, loc.path) == ("a3dbcdc2d4d8", "/etc/hosts")


def test_percent_decoding_utf8_and_reserved() -> None:
    loc = parse_uri("hotfix://c/srv/My%20File%20%C3%A9%2B1%25.txt")
    assert loc.path == "/srv/My File é+1%.txt"  # '+' is not a space in a path


def test_vs_code_style_encoding_of_colon_and_authority() -> None:
    # encodeURIComponent encodes the authority; VS Code encodes ':' in paths
    assert parse_uri("hotfix://my%5Fsvc/a%3Ab").key == ("my_svc", "/a:b", None)


def test_root_and_normalisation() -> None:
    assert parse_uri("hotfix://c").path == "/"
    assert parse_uri("hotfix://c/").path == "/"
    assert parse_uri("hotfix://c/a/./b/../c/").path == "/a/c"
    assert parse_uri("hotfix://c//etc//hosts").path == "/etc/hosts"
    assert parse_uri("hotfix://c/../../etc").path == "/etc"  # cannot climb above /


def test_engine_query_is_kept_and_fragment_ignored() -> None:
    loc = parse_uri("hotfix://c/etc/hosts?engine=remote%201&other=x#frag")
    assert loc.engine == "remote 1"
    assert loc.path == "/etc/hosts"
    assert parse_uri("hotfix://c/x?engine=").engine is None


def test_scheme_is_case_insensitive_container_is_not() -> None:
    loc = parse_uri("HOTFIX://MyService/x")
    assert loc.scheme == "hotfix"
    assert loc.container == "MyService"


@pytest.mark.parametrize(
    ("uri", "fragment"),
    [
        ("", "expected a hotfix:// URI"),
        ("file:///etc/hosts", "not a container URI"),
        ("hotfix:/etc/hosts", "not a container URI"),
        ("hotfix:///etc/hosts", "names no container"),
        ("hotfix://a:b/etc", "not a container name"),
        ("hotfix://user@c/etc", "not a container name"),
        ("hotfix://c/a%00b", "NUL"),
        ("hotfix://c/%FF", "not percent-encoded UTF-8"),
    ],
)
def test_malformed(uri: str, fragment: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_uri(uri, "params.uri")
    assert fragment in str(info.value)
    assert str(info.value).startswith("params.uri: ")
    assert info.value.code == "ValidationFailed"


@pytest.mark.parametrize(
    "path", ["/usr/src/app/app.py", "/a b/c#d?e", "/ü/€/%41", "/", "/x:y/@z/[1]"]
)
def test_format_round_trip(path: str) -> None:
    for scheme in uris.SCHEMES:
        for engine in (None, "e 1"):
            text = uris.format_uri(scheme, "my_prod_service", path, engine)
            assert " " not in text and "#" not in text.split("://", 1)[1]
            assert parse_uri(text) == Location(scheme, "my_prod_service", path, engine)


def test_format_shapes() -> None:
    assert uris.file_uri("svc", "/a b/ü.py") == "hotfix://svc/a%20b/%C3%BC.py"
    assert uris.checkpoint_uri("svc", "/etc/hosts") == "hotfix-checkpoint://svc/etc/hosts"
    assert uris.file_uri("svc", "/x", engine="e") == "hotfix://svc/x?engine=e"
