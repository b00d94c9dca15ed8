"""Reading request params and command arguments: one JSON object each.

The server keeps custom methods' params as plain dicts (see ``server._converter``); nested
namedtuples, pygls' default, are accepted too. A missing or mistyped field is
:class:`~hotfix.lsp.errors.InvalidParams` naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hotfix.lsp import uris
from hotfix.lsp.convert import decode_data
from hotfix.lsp.errors import InvalidParams


def plain(value: Any) -> Any:
    """Dicts and lists all the way down (namedtuples turned back into dicts)."""
    if hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


class Params:
    """The fields of one request's params (or of one command's argument object)."""

    def __init__(self, raw: Any, where: str = "params") -> None:
        value = plain(raw) if raw is not None else {}
        if not isinstance(value, dict):
            raise InvalidParams(f"{where}: expected a JSON object, got {_json_type(value)}")
        self.values: dict[str, Any] = value
        self.where = where

    # --- required -------------------------------------------------------------------------

    def text(self, name: str) -> str:
        value = self.opt_text(name)
        if value is None:
            raise self._missing(name)
        return value

    def flag(self, name: str, default: bool | None = None) -> bool:
        value = self.values.get(name)
        if value is None:
            if default is None:
                raise self._missing(name)
            return default
        if not isinstance(value, bool):
            raise self._bad(name, "true or false", value)
        return value

    def texts(self, name: str) -> list[str]:
        value = self.opt_texts(name)
        if value is None:
            raise self._missing(name)
        return value

    def uri(self, name: str = "uri") -> uris.Location:
        return uris.parse_uri(self.text(name), f"{self.where}.{name}")

    def data(self, name: str = "data") -> bytes:
        if self.values.get(name) is None:
            raise self._missing(name)
        return decode_data(self.values[name], f"{self.where}.{name}")

    # --- optional (absent or null → None) -----------------------------------------------

    def opt_text(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is not None and not (isinstance(value, str) and value):
            raise self._bad(name, "a non-empty string", value)
        return value

    def opt_number(self, name: str) -> float | None:
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._bad(name, "a number", value)
        if value <= 0:
            raise InvalidParams(f"{self.where}.{name}: must be more than 0")
        return float(value)

    def opt_texts(self, name: str) -> list[str] | None:
        value = self.values.get(name)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self._bad(name, "a list of non-empty strings", value)
        return list(value)

    def opt_ints(self, name: str) -> list[int] | None:
        value = self.values.get(name)
        if value is None:
            return None
        items = [value] if isinstance(value, int) and not isinstance(value, bool) else value
        if not isinstance(items, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in items
        ):
            raise self._bad(name, "a list of integers", value)
        return list(items)

    def choice(self, name: str, choices: tuple[str, ...]) -> str:
        """One of ``choices``; absent or null: the first."""
        value = self.values.get(name)
        if value is None:
            return choices[0]
        if value not in choices:
            wanted = " or ".join(f'"{c}"' for c in choices)
            raise InvalidParams(f"{self.where}.{name}: expected {wanted}, got {value!r}")
        return str(value)

    def opt_text_map(self, name: str) -> dict[str, str] | None:
        """An object of strings; a list of ``KEY=VALUE`` strings is taken too."""
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, list) and all(isinstance(v, str) and "=" in v for v in value):
            return dict(v.split("=", 1) for v in value)
        if not isinstance(value, dict) or not all(
            isinstance(v, str) and v and k for k, v in value.items()
        ):
            raise self._bad(name, "an object of non-empty strings", value)
        return dict(value)

    # --- errors ---------------------------------------------------------------------------

    def _missing(self, name: str) -> InvalidParams:
        return InvalidParams(f"{self.where}.{name}: required")

    def _bad(self, name: str, expected: str, value: Any) -> InvalidParams:
        return InvalidParams(f"{self.where}.{name}: expected {expected}, got {_json_type(value)}")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string" if value else "an empty string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
