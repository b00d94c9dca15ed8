"""JSON shapes of results, shared by ``--json`` output and the language server.

One rule names the keys: a field's snake_case name in camelCase (``previous_version`` →
``previousVersion``). :data:`SHAPES` lists, per result class, the keys of its shape in
order, and where one departs from the rule: another key name, a value read from a nested
object, a conversion (:func:`octal`, :func:`seconds`). Nested results take their own shape.

Not a cattrs converter: ``ps``, ``write`` and ``restart`` build these shapes, and must not
import cattrs (tests/integration/test_cli_startup.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, is_dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only for annotations: the CLI should not import git to print a table
    from hotfix.core.model import ContainerInfo, FileStat
    from hotfix.fleet import ApplyResult, RolloutResult
    from hotfix.release.harvest import HarvestResult
    from hotfix.release.imaging import CommitResult
    from hotfix.service.results import Change, RestartResult, WriteResult
    from hotfix.store.state import Checkpoint, JournalEntry

Convert = Callable[[Any], Any]


def camel(name: str) -> str:
    """``container_id`` → ``containerId``: the one naming rule of these shapes."""
    first, *rest = name.split("_")
    return first + "".join(word[:1].upper() + word[1:] for word in rest)


def octal(mode: int) -> str:
    return f"{mode:04o}"


def seconds(value: float) -> float:
    return round(value, 3)


@dataclass(frozen=True)
class Key:
    """One key of a shape: the value at ``source`` (an attribute, a dotted path into a nested
    object, or "" for the object itself), named ``name`` (when empty, the last attribute in
    camelCase), converted by ``convert`` (None stays None), shown only when attribute ``when``
    is not None."""

    source: str
    name: str = ""
    convert: Convert | None = None
    when: str = ""

    def key(self) -> str:
        return self.name or camel(self.source.rpartition(".")[2])

    def value(self, obj: Any) -> Any:
        value = obj
        for attribute in filter(None, self.source.split(".")):
            value = getattr(value, attribute)
        if value is not None and self.convert is not None:
            return self.convert(value)
        return _json(value)


Entry = str | Key  # a plain attribute name: that attribute, key in camelCase, value as is

CONTAINER = Key("container.name", "container")
CONTAINER_ID = Key("container.id", "containerId")
SECONDS = Key("seconds", convert=seconds)
MODE = Key("mode", convert=octal)


def _probe(r: RestartResult) -> dict[str, Any]:
    return {"spec": r.probe, **shape(r.result)}


def _strategy(r: RestartResult) -> dict[str, Any]:
    return {"how": r.action, "why": r.why}


# Keyed by class name: importing the classes would import git and the release side.
SHAPES: Mapping[str, tuple[Entry, ...]] = {
    "ContainerInfo": ("id", "name", "image", "state", "health", "service", "ports", "engine"),
    "FileStat": (Key("kind", "type"), "size", MODE, "uid", "gid", "mtime", "link_target"),
    "WriteResult": (CONTAINER, "path", "version", "previous_version", "checkpointed", "warnings"),
    "Checkpoint": (
        "container_id",
        Key("container_name", "container"),
        "path",
        "image",
        "present",
        "version",
        MODE,
        "uid",
        "gid",
        "created_at",
    ),
    "Change": (
        "container_id",
        Key("container_name", "container"),
        "path",
        "status",
        "container_exists",
    ),
    "RestartResult": (
        CONTAINER,
        CONTAINER_ID,
        "action",
        "healthy",
        SECONDS,
        "attempts",
        Key("", "probe", convert=_probe),
        Key("reverted", when="after_revert"),
        Key("after_revert", when="after_revert"),
        Key("", "strategy", convert=_strategy, when="why"),
        Key("check", when="check"),
        "refused",
        Key("applied", when="applied"),
        Key("reason", when="reason"),
        "notes",
        "probes",
    ),
    "CheckResult": ("command", "why", "exit_code", "output", "passed"),
    "JournalEntry": (
        "id",
        "time",
        "user",
        "action",
        "container_id",
        Key("container_name", "container"),
        "image",
        "path",
        "version_before",
        "version_after",
        "outcome",
        "detail",
    ),
    "HarvestResult": (
        CONTAINER,
        CONTAINER_ID,
        "image",
        "image_id",
        "repo",
        "branch",
        "new_branch",
        "commit",
        "parent",
        "base",
        "base_source",
        "files",
        "test",
        "diff",
        SECONDS,
        "notes",
    ),
    "HarvestedFile": (
        "path",
        "repo_path",
        "status",
        "action",
        "mapped_by",
        "executable",
        "version",
        "binary",
    ),
    "TestRun": ("command", "exit_code", SECONDS, "output"),
    "CommitResult": (
        CONTAINER,
        CONTAINER_ID,
        "mode",
        "tag",
        "image_id",
        "base_image",
        "base_image_id",
        "files",
        "labels",
        "revision",
        "harvest_branch",
        "replaced",
        "extra_paths",
        "runtime_env",
        SECONDS,
        Key("commit_seconds", convert=seconds),
        "notes",
        "verify",
    ),
    "ImageFile": ("path", "status", MODE, "uid", "gid", "version"),
    "VerifyResult": (
        "container",
        "probe",
        "healthy",
        SECONDS,
        "attempts",
        Key("result.detail"),
        Key("result.status"),
    ),
    "ApplyResult": (
        Key("source", convert=str),
        "files",
        "rolling",
        SECONDS,
        "ok",
        Key("outcomes", "targets"),
    ),
    "TargetOutcome": (
        Key("target", "container", convert=str),
        Key("target.engine"),
        "status",
        "files",
        "detail",
        "health",
    ),
    "RolloutResult": (
        "service",
        "image",
        "previous_image",
        "state",
        "converged",
        "message",
        SECONDS,
        "tasks",
    ),
    "TaskReport": ("slot", "state", "image", "container_id", "message"),
    "ProbeResult": ("ok", "detail", "status", "body"),
}


def shape(result: object) -> dict[str, Any]:
    """A result (a dataclass instance) in its shape from :data:`SHAPES`."""
    entries = SHAPES.get(type(result).__name__)
    if entries is None:
        raise TypeError(f"no JSON shape for {type(result).__name__}: add it to views.SHAPES")
    keys = (entry if isinstance(entry, Key) else Key(entry) for entry in entries)
    return {
        key.key(): key.value(result)
        for key in keys
        if not key.when or getattr(result, key.when) is not None
    }


def _json(value: Any) -> Any:
    """JSON values all the way down: nested results in their shapes."""
    if isinstance(value, list | tuple):
        return [_json(item) for item in value]
    if isinstance(value, dict):
        return {key: _json(item) for key, item in value.items()}
    return shape(value) if is_dataclass(value) else value


# --- the shapes by name, for the front ends ---------------------------------------------------

container_view: Callable[[ContainerInfo], dict[str, Any]] = shape
stat_view: Callable[[FileStat], dict[str, Any]] = shape
write_view: Callable[[WriteResult], dict[str, Any]] = shape
checkpoint_view: Callable[[Checkpoint], dict[str, Any]] = shape
change_view: Callable[[Change], dict[str, Any]] = shape
restart_view: Callable[[RestartResult], dict[str, Any]] = shape
journal_view: Callable[[JournalEntry], dict[str, Any]] = shape
harvest_view: Callable[[HarvestResult], dict[str, Any]] = shape
commit_image_view: Callable[[CommitResult], dict[str, Any]] = shape
apply_view: Callable[[ApplyResult], dict[str, Any]] = shape
rollout_view: Callable[[RolloutResult], dict[str, Any]] = shape
