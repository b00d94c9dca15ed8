"""validation: syntax checks run before new content goes live."""

from __future__ import annotations

import pytest

from hotfix.core import validation
from hotfix.core.validation import Problem


def test_python_syntax_error_position_is_zero_based() -> None:
    source = b"import os\n\ndef f(:\n    pass\n"
    [problem] = validation.check("/srv/app/app.py", source)
    assert problem.source == "python"
    assert (problem.line, problem.column) == (2, 6)  # line 3, column 7 as people count
    assert problem.end_line == 2 and problem.end_column > problem.column
    assert str(problem).startswith("line 3, column 7: ")


def test_python_unclosed_bracket_points_at_the_bracket() -> None:
    [problem] = validation.check("/x.py", b"x = 1\ny = (\n")
    assert (problem.line, problem.column) == (1, 4)
    assert "never closed" in problem.message


def test_valid_python_and_syntax_warnings_are_fine() -> None:
    assert validation.check("/x.py", b"import os\nprint(os.sep)\n") == []
    # an invalid escape is a SyntaxWarning (3.12+) or DeprecationWarning, never an error
    assert validation.check("/x.py", b"p = '\\d+'\n") == []


def test_python_with_nul_byte_is_a_problem() -> None:
    [problem] = validation.check("/x.py", b"x = 1\x00\n")
    assert problem.source == "python"
    assert (problem.line, problem.column, problem.end_column) == (0, 0, 1)


def test_json_error_position_is_zero_based() -> None:
    [problem] = validation.check("/etc/app/settings.json", b'{"a": 1,\n "b": }\n')
    assert problem == Problem("Expecting value", 1, 6, 1, 7, "json")


def test_valid_json() -> None:
    assert validation.check("/x.JSON", b'{"a": [1, 2, {"b": null}]}') == []


def test_non_utf8_json_is_a_problem() -> None:
    [problem] = validation.check("/x.json", b'"caf\xe9"\n')
    assert problem.message.startswith("not valid UTF-8")
    assert (problem.line, problem.column) == (0, 0)


def test_non_utf8_python_without_coding_line_is_a_problem() -> None:
    [problem] = validation.check("/x.py", b'"caf\xe9"\n')
    assert "utf-8" in problem.message.lower()
    assert problem.line == 0


@pytest.mark.parametrize(
    ("path", "data", "language"),
    [
        ("/usr/local/bin/tool", b"#!/usr/bin/env python3\nprint(1)\n", "python"),
        ("/usr/local/bin/tool", b"#!/usr/bin/python3.11 -u\n", "python"),
        ("/usr/local/bin/tool", b"#!/bin/sh\necho python\n", None),
        ("/usr/local/bin/tool", b"print(1)\n#!/usr/bin/python\n", None),
        ("/app/x.PYW", b"", "python"),
        ("/app/x.txt", b"{", None),
    ],
)
def test_language_of(path: str, data: bytes, language: str | None) -> None:
    assert validation.language_of(path, data) == language


def test_shebang_script_without_extension_is_checked() -> None:
    problems = validation.check("/usr/local/bin/tool", b"#!/usr/bin/env python3\nif True\n")
    assert [p.line for p in problems] == [1]


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/etc/nginx/nginx.conf", b"server { listen 80; "),
        ("/app/x.yaml", b"a: [unclosed"),
        ("/bin/run", b"#!/bin/sh\nif then fi\n"),
        ("/app/blob.bin", b"\xff\xfe\x00"),
    ],
)
def test_files_not_checked_have_no_problems(path: str, data: bytes) -> None:
    assert validation.check(path, data) == []


def test_python_with_utf8_bom_is_valid() -> None:
    # `python3 app.py` runs this file; the check says "invalid non-printable character U+FEFF".
    assert validation.check("/x.py", b"\xef\xbb\xbfprint('hi')\n") == []


def test_python_with_coding_declaration_is_valid() -> None:
    source = b"# -*- coding: latin-1 -*-\nname = 'caf\xe9'\n"
    compile(source, "x.py", "exec")  # Python itself accepts it
    assert validation.check("/x.py", source) == []
