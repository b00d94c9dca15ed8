"""Carrying a change as a patch: made with difflib, replayed with unidiff."""

from __future__ import annotations

import pytest

from hotfix.core.errors import Conflict
from hotfix.core.patching import apply_patch, make_patch

ORIGINAL = b"".join(f"line {i}\n".encode() for i in range(1, 21))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (ORIGINAL, ORIGINAL.replace(b"line 3\n", b"line three\n")),
        (ORIGINAL, ORIGINAL + b"tail without newline"),
        (b"no newline", b"no newline\n"),
        (b"", b"created\n"),
        (b"a\nb\n", b""),
        (b"x\n\x0cy\n", b"x\n\x0cY\n"),  # a form feed is not a line break
    ],
)
def test_patch_round_trips(old: bytes, new: bytes) -> None:
    assert apply_patch(make_patch("/f", old, new), old, "c:/f") == new


def test_patch_applies_where_the_context_moved() -> None:
    new = ORIGINAL.replace(b"line 10\n", b"line ten\n")
    shifted = b"header 1\nheader 2\n" + ORIGINAL
    patched = apply_patch(make_patch("/f", ORIGINAL, new), shifted, "c:/f")
    assert patched == b"header 1\nheader 2\n" + new


def test_a_patch_that_does_not_fit_is_a_conflict() -> None:
    new = ORIGINAL.replace(b"line 10\n", b"line ten\n")
    other = ORIGINAL.replace(b"line 10\n", b"line X\n")
    with pytest.raises(Conflict, match="does not apply"):
        apply_patch(make_patch("/f", ORIGINAL, new), other, "c:/f")


def test_names_follow_git() -> None:
    text = make_patch("/usr/src/app/app.py", b"a\n", b"b\n")
    assert text.startswith("--- a/usr/src/app/app.py\n+++ b/usr/src/app/app.py\n")
    assert make_patch("/x", None, b"n\n").startswith("--- /dev/null\n+++ b/x\n")
