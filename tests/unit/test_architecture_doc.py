"""docs/architecture.md stays true to the code: it names every module of the package."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "server" / "hotfix"
DOC = REPO / "docs" / "architecture.md"


def modules() -> list[str]:
    """Dotted names below ``hotfix`` (``docker.engine``, ``cli.main``); packages' own
    ``__init__`` and ``__main__`` are not modules of their own here."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name in ("__init__.py", "__main__.py"):
            continue
        found.append(".".join(path.relative_to(PACKAGE).with_suffix("").parts))
    return found


def test_every_module_is_named_in_the_architecture_doc() -> None:
    text = DOC.read_text()
    missing = [m for m in modules() if f"`{m}`" not in text]
    assert missing == [], f"docs/architecture.md does not name: {', '.join(missing)}"


def test_every_subpackage_is_named_in_the_architecture_doc() -> None:
    text = DOC.read_text()
    packages = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())
    assert [p for p in packages if f"hotfix/{p}/" not in text and f"`{p}/`" not in text] == []
