"""Fail when a function's body in server/ is longer than the limit (docs/architecture.md).

    python scripts/check-function-length.py [--max 60] [PATH ...]

The body is counted from its first statement after the docstring to its last line, so a
long docstring or signature does not count; nested functions count within their parent
and again on their own. One line per offender, then a count; exit 1 when there is one.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from pathlib import Path

DEFAULT_MAX = 60


def body_length(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    body = node.body
    if len(body) > 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    end = node.end_lineno or body[-1].lineno
    return end - body[0].lineno + 1


def long_functions(path: Path, limit: int) -> Iterator[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = body_length(node)
            if length > limit:
                yield f"{path}:{node.lineno}: {node.name} is {length} lines long (limit {limit})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=int, default=DEFAULT_MAX)
    parser.add_argument("paths", nargs="*", type=Path, default=[Path("server")])
    args = parser.parse_args(argv)
    files = sorted(f for p in args.paths for f in ([p] if p.is_file() else p.rglob("*.py")))
    found = [line for f in files for line in long_functions(f, args.max)]
    for line in found:
        print(line)
    print(f"{len(found)} function(s) over {args.max} lines in {len(files)} file(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
