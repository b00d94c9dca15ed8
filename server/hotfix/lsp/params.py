"""Request params and command arguments: each handler declares its own as a frozen dataclass,
and one cattrs converter reads the JSON object into it.

The converter follows the result shapes' naming rule backwards (``baseVersion`` →
``base_version``, :func:`hotfix.views.camel`); a JSON ``null`` counts as absent; unknown keys
are ignored. It is strict where cattrs is lenient by default: a string must be a non-empty
string (not a number made into one), a flag ``true`` or ``false``, a number a positive number.
A missing or mistyped field is :class:`~hotfix.lsp.errors.InvalidParams` naming it.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable, Mapping
from functools import cache, partial, reduce
from types import NoneType, UnionType
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

import cattrs
from cattrs.errors import AttributeValidationNote, ClassValidationError
from cattrs.gen import make_dict_structure_fn, override

from hotfix.lsp import uris
from hotfix.lsp.convert import decode_base64
from hotfix.lsp.errors import InvalidParams
from hotfix.views import camel

T = TypeVar("T")


def plain(value: Any) -> Any:
    """Dicts and lists all the way down (namedtuples, pygls' default, turned back into dicts)."""
    if hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


class Params:
    """One request's params (or one command's argument object), as it came: read it into the
    handler's dataclass with :meth:`read`."""

    def __init__(self, raw: Any, where: str = "params") -> None:
        value = plain(raw) if raw is not None else {}
        if not isinstance(value, dict):
            raise InvalidParams(f"{where}: expected a JSON object, got {_json_type(value)}")
        self.values: dict[str, Any] = {k: v for k, v in value.items() if v is not None}
        self.where = where

    def read(self, cls: type[T]) -> T:
        try:
            return converter().structure(self.values, cls)
        except ClassValidationError as exc:
            raise InvalidParams(_first_problem(exc, self.where)) from None


def _first_problem(error: ClassValidationError, where: str) -> str:
    """``where.field: what is wrong`` for the first field that could not be read."""
    for problem in error.exceptions:
        notes = getattr(problem, "__notes__", [])
        field = next((n.name for n in notes if isinstance(n, AttributeValidationNote)), None)
        at = f"{where}.{camel(field)}" if field else where
        if isinstance(problem, KeyError):
            return f"{at}: required"
        return f"{at}: {problem}"
    return f"{where}: {error}"


# --- the converter ---------------------------------------------------------------------------


@cache
def converter() -> cattrs.Converter:
    made = cattrs.Converter(detailed_validation=True)
    made.register_structure_hook_factory(dataclasses.is_dataclass, _fields_hook)
    made.register_structure_hook_factory(_is_optional, _optional_hook)
    made.register_structure_hook_factory(_is_literal, _literal_hook)
    for cls, hook in _CLASS_HOOKS.items():
        made.register_structure_hook(cls, hook)
    for type_, hook in _TYPE_HOOKS.items():  # ``list[str]`` is no class: matched by equality
        made.register_structure_hook_func(partial(operator.eq, type_), hook)
    return made


def _fields_hook(cls: type, made: cattrs.Converter) -> Callable[[Any, Any], Any]:
    """Every field under its camelCase key."""
    overrides = {f.name: override(rename=camel(f.name)) for f in dataclasses.fields(cls)}
    return make_dict_structure_fn(cls, made, **overrides)  # type: ignore[arg-type]


def _is_optional(type_: Any) -> bool:
    return get_origin(type_) in (Union, UnionType) and NoneType in get_args(type_)


def _optional_hook(type_: Any, made: cattrs.Converter) -> Callable[[Any, Any], Any]:
    """``X | None``: X's hook (nulls never get this far: they are taken out as absent)."""
    given = reduce(operator.or_, [t for t in get_args(type_) if t is not NoneType])
    inner = made.get_structure_hook(given)
    return lambda value, _: inner(value, given)


def _is_literal(type_: Any) -> bool:
    return get_origin(type_) is Literal


def _literal_hook(type_: Any, _: cattrs.Converter) -> Callable[[Any, Any], Any]:
    """One of a few strings (e.g. a revert's ``to``)."""
    choices = get_args(type_)
    wanted = " or ".join(f'"{choice}"' for choice in choices)

    def one_of(value: Any, _: Any) -> Any:
        if value not in choices:
            raise ValueError(f"expected {wanted}, got {value!r}")
        return value

    return one_of


def _text(value: Any, _: Any) -> str:
    if not (isinstance(value, str) and value):
        raise _expected("a non-empty string", value)
    return value


def _flag(value: Any, _: Any) -> bool:
    if not isinstance(value, bool):
        raise _expected("true or false", value)
    return value


def _positive_number(value: Any, _: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _expected("a number", value)
    if value <= 0:
        raise ValueError("must be more than 0")
    return float(value)


def _texts(value: Any, _: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _expected("a list of non-empty strings", value)
    return list(value)


def _text_or_texts(value: Any, _: Any) -> str | list[str]:
    """A probe: one text, or a list of them (all must pass)."""
    return _texts(value, _) if isinstance(value, list) else _text(value, _)


def _integers(value: Any, _: Any) -> list[int]:
    """A list of integers; one integer alone is taken too."""
    items = [value] if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(items, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in items
    ):
        raise _expected("a list of integers", value)
    return list(items)


def _text_map(value: Any, _: Any) -> dict[str, str]:
    """An object of strings; a list of ``KEY=VALUE`` strings is taken too."""
    if isinstance(value, list) and all(isinstance(v, str) and "=" in v for v in value):
        return dict(v.split("=", 1) for v in value)
    if not isinstance(value, dict) or not all(
        isinstance(v, str) and v and k for k, v in value.items()
    ):
        raise _expected("an object of non-empty strings", value)
    return dict(value)


def _location(value: Any, _: Any) -> uris.Location:
    return uris.location_of(_text(value, _))


_CLASS_HOOKS: dict[type, Callable[[Any, Any], Any]] = {
    str: _text,
    bool: _flag,
    float: _positive_number,
    bytes: lambda value, _: decode_base64(value),
    uris.Location: _location,  # a dataclass, but read from a URI
}
_TYPE_HOOKS: dict[Any, Callable[[Any, Any], Any]] = {
    list[str]: _texts,
    list[int]: _integers,
    dict[str, str]: _text_map,
    str | list[str]: _text_or_texts,
}


def _expected(what: str, value: Any) -> ValueError:
    return ValueError(f"expected {what}, got {_json_type(value)}")


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
