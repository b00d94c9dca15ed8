"""JSON shapes of results, shared by ``--json`` output and the language server.

One cattrs converter makes them. Its hook factory gives every result dataclass one rule: each
field under its snake_case name in camelCase (``previous_version`` → ``previousVersion``),
durations (``seconds``, ``*_seconds``) rounded to the millisecond, nested results in their own
shape. :data:`DEPARTURES` says, per result class, where its shape departs from the rule.

Importing this module imports cattrs (tens of milliseconds), so the CLI builds a view only when
it prints JSON (tests/integration/test_cli_startup.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import cattrs
from cattrs.gen import make_dict_unstructure_fn, override

if TYPE_CHECKING:  # only for annotations: the CLI should not import git to print a table
    from cattrs.gen._consts import AttributeOverride  # what override() makes

    from hotfix.core.model import ContainerInfo, FileStat
    from hotfix.fleet import ApplyResult, RolloutResult
    from hotfix.release.harvest import HarvestResult
    from hotfix.release.imaging import CommitResult
    from hotfix.service.results import Change, RestartResult, RevertResult, WriteResult
    from hotfix.service.twin import TryResult
    from hotfix.store.state import Checkpoint, JournalEntry


def camel(name: str) -> str:
    """``container_id`` → ``containerId``: the one naming rule of these shapes."""
    first, *rest = name.split("_")
    return first + "".join(word[:1].upper() + word[1:] for word in rest)


def octal(mode: int | None) -> str | None:
    return None if mode is None else f"{mode:04o}"


def seconds(value: float) -> float:
    return round(value, 3)


OMITTED: Any = object()  # what a computed key gives to be left out of the shape


@dataclass(frozen=True)
class Departure:
    """Where a class's shape departs from the rule.

    ``fields``: cattrs overrides by field name — another key (``rename``), a value hook, the
    key left out (``omit``) or shown only when not None (``omit_if_default``: the field's
    default is None). ``computed``: keys that are no field (a property, a value read from a
    nested object), by key, in place of a field's of the same key; :data:`OMITTED` leaves
    one out. ``order``: the shape's keys in order, when it is not field order (computed keys
    last); fields not named are left out."""

    fields: Mapping[str, AttributeOverride] = field(default_factory=dict)
    computed: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)
    order: tuple[str, ...] = ()


OMIT = override(omit=True)
WHEN_SET = override(omit_if_default=True)
MODE = override(unstruct_hook=octal)
NAMED_CONTAINER = override(rename="container")  # a container_name field
CONTAINER_NAME = override(unstruct_hook=attrgetter("name"))  # a ContainerInfo field
CONTAINER_ID: Mapping[str, Callable[[Any], Any]] = {"containerId": attrgetter("container.id")}
AS_TEXT = override(unstruct_hook=str)


def _probe(r: RestartResult) -> dict[str, Any]:
    return {"spec": r.probe, **view(r.result)}


def _reverted(r: RestartResult) -> Any:
    return view(r.reverted) if r.after_revert is not None else OMITTED


def _strategy(r: RestartResult) -> Any:
    return {"how": r.action, "why": r.why} if r.why is not None else OMITTED


# Keyed by class name: importing the classes would import git and the release side.
DEPARTURES: Mapping[str, Departure] = {
    "ContainerInfo": Departure(
        computed={"service": attrgetter("service")},
        order=("id", "name", "image", "state", "health", "service", "ports", "engine"),
    ),
    "FileStat": Departure(
        fields={"kind": override(rename="type"), "mode": MODE},
        order=("type", "size", "mode", "uid", "gid", "mtime", "linkTarget"),
    ),
    "WriteResult": Departure(fields={"container": CONTAINER_NAME}),
    "Checkpoint": Departure(
        fields={"container_name": NAMED_CONTAINER, "mode": MODE},
        computed={"version": attrgetter("version")},
        order=(
            "containerId",
            "container",
            "path",
            "image",
            "present",
            "version",
            "mode",
            "uid",
            "gid",
            "createdAt",
        ),
    ),
    "Change": Departure(fields={"container_name": NAMED_CONTAINER, "checkpoint": OMIT}),
    "RestartResult": Departure(
        fields={
            "container": CONTAINER_NAME,
            "after_revert": WHEN_SET,
            "check": WHEN_SET,
            "applied": WHEN_SET,
            "reason": WHEN_SET,
            "revert": WHEN_SET,
            "last_good": WHEN_SET,
        },
        computed={
            **CONTAINER_ID,
            "probe": _probe,
            "reverted": _reverted,
            "strategy": _strategy,
        },
        order=(
            "container",
            "containerId",
            "action",
            "healthy",
            "seconds",
            "attempts",
            "probe",
            "reverted",
            "afterRevert",
            "strategy",
            "check",
            "refused",
            "applied",
            "reason",
            "notes",
            "probes",
            "revert",
            "lastGood",
        ),
    ),
    # issue 16: what each path went back to, and the container's state at the end
    "RevertResult": Departure(
        fields={"container": CONTAINER_NAME, "restart": WHEN_SET, "final": WHEN_SET},
        computed={**CONTAINER_ID, "reverted": attrgetter("reverted")},
        order=("container", "containerId", "to", "reverted", "files", "restart", "final"),
    ),
    "RevertedFile": Departure(fields={"went_live_at": WHEN_SET, "error": WHEN_SET}),
    "JournalEntry": Departure(fields={"container_name": NAMED_CONTAINER}),
    "HarvestResult": Departure(
        fields={"container": CONTAINER_NAME},
        computed=CONTAINER_ID,
        order=(
            "container",
            "containerId",
            "image",
            "imageId",
            "repo",
            "branch",
            "newBranch",
            "commit",
            "parent",
            "base",
            "baseSource",
            "files",
            "test",
            "diff",
            "seconds",
            "notes",
        ),
    ),
    "HarvestedFile": Departure(fields={"blob": OMIT}),
    "TestRun": Departure(order=("command", "exitCode", "seconds", "output")),
    "CommitResult": Departure(
        fields={"container": CONTAINER_NAME},
        computed=CONTAINER_ID,
        order=(
            "container",
            "containerId",
            "mode",
            "tag",
            "imageId",
            "baseImage",
            "baseImageId",
            "files",
            "labels",
            "revision",
            "harvestBranch",
            "replaced",
            "extraPaths",
            "runtimeEnv",
            "seconds",
            "commitSeconds",
            "notes",
            "verify",
        ),
    ),
    "ImageFile": Departure(fields={"mode": MODE}),
    "VerifyResult": Departure(
        fields={"result": OMIT},
        computed={"detail": attrgetter("result.detail"), "status": attrgetter("result.status")},
    ),
    "ApplyResult": Departure(
        fields={"source": AS_TEXT, "outcomes": override(rename="targets")},
        computed={"ok": attrgetter("ok")},
        order=("source", "files", "rolling", "seconds", "ok", "warnings", "targets"),
    ),
    "TargetOutcome": Departure(
        fields={"target": override(rename="container", unstruct_hook=str)},
        computed={"engine": attrgetter("target.engine")},
        order=("container", "engine", "status", "files", "detail", "health"),
    ),
    "RolloutResult": Departure(
        computed={"converged": attrgetter("converged")},
        order=(
            "service",
            "image",
            "previousImage",
            "state",
            "converged",
            "message",
            "seconds",
            "tasks",
        ),
    ),
    "ProbeResult": Departure(fields={"elapsed": OMIT}),
    "TryResult": Departure(
        fields={
            "container": CONTAINER_NAME,
            "check": WHEN_SET,
            "reason": WHEN_SET,
            "live": WHEN_SET,
        },
        computed={**CONTAINER_ID, "healthy": attrgetter("healthy")},
    ),
}


def _field_override(name: str, departure: Departure) -> AttributeOverride:
    """The rule for one field, with the class's departure from it."""
    given = departure.fields.get(name, override())
    key = given.rename or camel(name)
    if given.omit or key in departure.computed or (departure.order and key not in departure.order):
        return OMIT
    hook = given.unstruct_hook
    if hook is None and (name == "seconds" or name.endswith("_seconds")):
        hook = seconds
    return override(omit_if_default=given.omit_if_default, rename=key, unstruct_hook=hook)


def _shape_hook(cls: type, converter: cattrs.Converter) -> Callable[[Any], dict[str, Any]]:
    """The unstructure hook of one result class: cattrs' generated function for its fields,
    then its computed keys, in the shape's order."""
    departure = DEPARTURES.get(cls.__name__, Departure())
    overrides: dict[str, Any] = {
        f.name: _field_override(f.name, departure) for f in dataclasses.fields(cls)
    }
    fields_of: Callable[[Any], dict[str, Any]] = make_dict_unstructure_fn(
        cls, converter, **overrides
    )
    if not departure.computed and not departure.order:
        return fields_of

    def unstructure(obj: Any) -> dict[str, Any]:
        shape = fields_of(obj)
        for key, compute in departure.computed.items():
            value = compute(obj)
            if value is not OMITTED:
                shape[key] = value
        if not departure.order:
            return shape
        return {key: shape[key] for key in departure.order if key in shape}

    return unstructure


def _is_result(cls: Any) -> bool:
    return isinstance(cls, type) and dataclasses.is_dataclass(cls)


@cache
def converter() -> cattrs.Converter:
    """The one converter of these shapes, configured on first use."""
    made = cattrs.Converter()
    made.register_unstructure_hook_factory(_is_result, _shape_hook)
    return made


def view(result: object) -> Any:
    """A result (a dataclass instance, or a list or dict of them) in its JSON shape."""
    return converter().unstructure(result)


# --- the shapes by name, for the front ends ---------------------------------------------------

container_view: Callable[[ContainerInfo], dict[str, Any]] = view
stat_view: Callable[[FileStat], dict[str, Any]] = view
write_view: Callable[[WriteResult], dict[str, Any]] = view
checkpoint_view: Callable[[Checkpoint], dict[str, Any]] = view
change_view: Callable[[Change], dict[str, Any]] = view
restart_view: Callable[[RestartResult], dict[str, Any]] = view
revert_view: Callable[[RevertResult], dict[str, Any]] = view
journal_view: Callable[[JournalEntry], dict[str, Any]] = view
harvest_view: Callable[[HarvestResult], dict[str, Any]] = view
commit_image_view: Callable[[CommitResult], dict[str, Any]] = view
apply_view: Callable[[ApplyResult], dict[str, Any]] = view
rollout_view: Callable[[RolloutResult], dict[str, Any]] = view
try_view: Callable[[TryResult], dict[str, Any]] = view
