"""A hostile container's strings on the operator's terminal: names, link targets, errors.

A file name may carry ESC and BEL sequences (retitle or clear the terminal), C1 controls,
bytes that are not UTF-8, and a newline followed by a line that looks like the tool's own.
Text output must show all of them escaped (hotfix.core.terminal) and keep each name on its own
line; ``--json`` must give the exact name.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from hotfix.cli.output import Output, table
from hotfix.core.terminal import printable
from tests.conftest import CliResult, Running

FAKE = "all clear: nothing changed"
# ESC ] 0 ; … BEL sets the terminal's title; U+009B is the C1 control sequence introducer.
EVIL = f"t\x1b]0;pwned\x07\n{FAKE}\x9b.html"
EVIL_SHOWN = "t\\x1b]0;pwned\\x07\\nall clear: nothing changed\\x9b.html"
LINK_TARGET = f"/nowhere/\x1b[2J\n{FAKE}"
# Anything but a line break (and spaces) that a terminal acts on, or a byte that is not UTF-8.
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffd]")


def assert_inert(text: str, shows: str = FAKE) -> None:
    """``text`` holds no raw control character and no line of the container's making."""
    assert shows in text, f"the hostile name was not printed at all:\n{text}"
    assert not RAW_CONTROL.search(text), repr(text)
    assert not any(line.startswith(FAKE) for line in text.split("\n")), text


# --- the escaping -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain é ✓ text, a\\b", "plain é ✓ text, a\\b"),
        ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),
        ("line\nfake\r\n\ttab", "line\\nfake\\r\\n\\ttab"),
        ("nul\x00 del\x7f", "nul\\x00 del\\x7f"),
        ("c1 \x85 \x9b \x9f", "c1 \\x85 \\x9b \\x9f"),
        (b"byte \x9b \xff".decode("utf-8", "surrogateescape"), "byte \\x9b \\xff"),
        ("lone \ud800", "lone \\ud800"),
    ],
)
def test_printable_escapes_control_characters(raw: str, shown: str) -> None:
    assert printable(raw) == shown
    assert not RAW_CONTROL.search(printable(raw))


def test_printable_keeps_what_it_is_told_to() -> None:
    assert printable("a\nb\tc\x1b", keep="\n\t") == "a\nb\tc\\x1b"
    assert printable(printable(EVIL)) == printable(EVIL) == EVIL_SHOWN


def test_tables_and_notes_escape_each_field(capsys: pytest.CaptureFixture[str]) -> None:
    shown = table([["NAME", "SIZE"], [EVIL, "1"]])
    assert len(shown.split("\n")) == 2
    assert EVIL_SHOWN in shown
    out = Output(as_json=False)
    out.note(f"warning: {EVIL}")
    # A command escapes each field; what it prints is escaped again but for its line breaks.
    out.result({}, "cleared\x1b[2J\nsecond line")
    captured = capsys.readouterr()
    assert captured.err == f"warning: {EVIL_SHOWN}\n"
    assert captured.out == "cleared\\x1b[2J\nsecond line\n"


# --- against the engine -----------------------------------------------------------------


def test_hostile_names_reach_the_terminal_escaped(
    box: Running, hotfix: Callable[..., CliResult]
) -> None:
    code, out = box.container.exec_run(
        [
            "sh",
            "-c",
            'touch "$1" && ln -s "$2" /www/link && echo x >> /etc/group',
            "sh",
            f"/www/{EVIL}",
            LINK_TARGET,
        ]
    )
    assert code == 0, out

    # The first write warns of the image file someone else changed; the hostile names the
    # container created are counted among the runtime files, and none reaches us raw.
    first = hotfix("write", f"{box.name}:/www/index.html", "-", input=b"fixed\n")
    assert first.code == 0, first.stderr
    assert "warning:" in first.stderr and "/etc/group" in first.stderr
    assert "runtime file(s) ignored" in first.stderr
    assert not RAW_CONTROL.search(first.stderr) and FAKE not in first.stderr, first.stderr

    wrote = hotfix("write", f"{box.name}:/www/{EVIL}", "-", input=b"mine\n")
    assert wrote.code == 0, wrote.stderr
    assert_inert(wrote.stdout)

    changes = hotfix("changes", box.name)
    assert_inert(changes.stdout)
    assert f"{box.name}:/www/{EVIL_SHOWN}" in changes.stdout
    exact = hotfix("changes", box.name, "--json").json()["changes"]
    assert f"/www/{EVIL}" in {c["path"] for c in exact}

    for command in (["ls", f"{box.name}:/www"], ["log", box.name]):
        result = hotfix(*command)
        assert result.code == 0, result.stderr
        assert_inert(result.stdout)
    names = {e["name"] for e in hotfix("ls", f"{box.name}:/www", "--json").json()["entries"]}
    assert EVIL in names

    # An error naming a path the container chose: the link's dangling target.
    error = hotfix("cat", f"{box.name}:/www/link")
    assert error.code != 0
    assert_inert(error.stderr)
    assert error.stderr.count("\n") == 1


def test_a_name_that_is_not_utf8_is_shown_by_its_bytes(
    box: Running, hotfix: Callable[..., CliResult]
) -> None:
    code, out = box.container.exec_run(["sh", "-c", 'touch "$(printf "/www/r\\233\\033c")"'])
    assert code == 0, out
    listing = hotfix("ls", f"{box.name}:/www")
    assert listing.code == 0, listing.stderr
    assert_inert(listing.stdout, shows="r\\x9b\\x1bc")
    names = {e["name"] for e in hotfix("ls", f"{box.name}:/www", "--json").json()["entries"]}
    assert b"r\x9b\x1bc".decode("utf-8", "surrogateescape") in names
