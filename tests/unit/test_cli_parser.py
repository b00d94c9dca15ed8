"""cli: the parser main() builds for one named command parses as the whole parser does."""

from __future__ import annotations

import contextlib
import io
from typing import Any

import pytest

from hotfix.cli.argv import command_in
from hotfix.cli.main import main
from hotfix.cli.parser import COMMANDS, LazyHandler, build_parser

ARGVS = [
    [],
    ["-h"],
    ["--help"],
    ["--version"],
    ["--vers"],
    ["--json"],
    ["--engine"],
    ["ps"],
    ["ps", "-h"],
    ["ps", "--version"],
    ["--json", "ps", "--running"],
    ["--engine", "e2", "ps"],
    ["--eng", "e2", "ps"],
    ["--engine=e2", "ps", "--json"],
    ["ps", "--engine", "e3"],
    ["--engine", "ps", "cat", "x:/y"],  # an engine named like a command
    ["--e", "ps", "cat", "x:/y"],
    ["-h", "cat"],
    ["--version", "ps"],
    ["--", "ps"],
    ["--bogus", "ps"],
    ["nosuch"],
    ["cat"],
    ["cat", "x:/y", "--force"],
    ["cat", "x:/y", "extra"],
    ["write", "c:/p", "-", "--base-version", "sha256:1"],
    ["restart", "c", "--timeout", "0"],
    ["restart", "c", "--probe", "tcp:h:1", "--signal", "HUP", "--revert-on-failure"],
    ["probe", "c", "--expect-status", "200", "--expect-status", "204"],
    ["probe", "c", "--signal", "HUP"],
    ["apply", "c"],
    ["apply", "c", "--to", "a", "e2/b", "--rolling", "--timeout", "5"],
    ["diff", "c", "--replicas", "--with", "x"],
    ["revert", "c:/p", "--force", "--with", "x", "y"],
    ["harvest", "c", "--repo", "r", "--map", "/a=b", "--replicas"],
    ["commit", "c", "--verify", "--probe", "http://x/", "--whole-layer"],
    ["rollout", "s", "--image", "i", "--monitor", "x"],
    ["report", "c", "--output", "f"],
    ["log", "--limit", "3"],
    ["changes"],
    ["edit", "c:/p"],
    ["checkpoint"],
    ["checkpoint", "a:/b", "c:/d"],
    ["ls", "c:/"],
    ["lsp", "--tcp", "127.0.0.1:1"],
]


def _parse(parser_for: Any, argv: list[str]) -> tuple[Any, ...]:
    """What parsing argv gives: the namespace, or the exit code, and what was printed."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            namespace: dict[str, Any] | None = vars(parser_for(argv).parse_args(argv))
            code = None
        except SystemExit as exc:
            namespace, code = None, exc.code
    return namespace, code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("argv", ARGVS, ids=" ".join)
def test_one_command_parser_parses_as_the_whole_parser(argv: list[str]) -> None:
    whole = _parse(lambda _: build_parser(), argv)
    only = _parse(lambda a: build_parser(command_in(a, COMMANDS)), argv)
    assert only == whole


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["cat", "x:/y"], "cat"),
        (["--json", "--engine", "e2", "restart", "c"], "restart"),
        (["--engine=e2", "ps"], "ps"),
        (["--eng", "ps", "cat", "x:/y"], "cat"),
        (["ps", "--help"], "ps"),
        (["--help", "ps"], None),
        (["--vers", "ps"], None),
        (["nosuch"], None),
        (["--", "ps"], None),
        ([], None),
    ],
)
def test_command_in(argv: list[str], command: str | None) -> None:
    assert command_in(argv, COMMANDS) == command


def test_every_command_is_listed_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for name in COMMANDS:
        assert f"    {name} " in text


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_its_handler(name: str) -> None:
    run, _, _ = COMMANDS[name]
    assert isinstance(run, LazyHandler) and callable(run.resolve())
