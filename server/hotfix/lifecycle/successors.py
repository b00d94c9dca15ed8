"""Which container took a removed one's place: pure functions over plain data.

A recreated container is its predecessor's successor when it is the same Compose replica
(project + service, + container number when both have one), the same Swarm task slot
(service + slot, on the same engine), or — for a container of neither — the same name on
the same engine from the same image. A container of the same name but another Compose
service, Swarm service or image is not one: that is name reuse, not a recreation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

COMPOSE_PROJECT = "com.docker.compose.project"
COMPOSE_SERVICE = "com.docker.compose.service"
COMPOSE_NUMBER = "com.docker.compose.container-number"
SWARM_SERVICE = "com.docker.swarm.service.name"
SWARM_TASK = "com.docker.swarm.task.name"


@dataclass(frozen=True)
class Who:
    """A container as successor matching sees it."""

    id: str
    engine: str
    name: str
    image: str
    labels: dict[str, str]


def swarm_slot(labels: dict[str, str]) -> str | None:
    """The task slot from ``com.docker.swarm.task.name`` (``SERVICE.SLOT.TASKID``)."""
    service, task = labels.get(SWARM_SERVICE), labels.get(SWARM_TASK)
    if not service or not task or not task.startswith(service + "."):
        return None
    slot = task[len(service) + 1 :].split(".", 1)[0]
    return slot or None


def replica_key(who: Who) -> tuple[str, ...] | None:
    """The replica set a container belongs to: its Swarm or Compose service."""
    service = who.labels.get(SWARM_SERVICE)
    if service:
        return ("swarm", who.engine, service)
    project, compose = who.labels.get(COMPOSE_PROJECT), who.labels.get(COMPOSE_SERVICE)
    if project and compose:
        return ("compose", who.engine, project, compose)
    return None


def is_successor(old: Who, new: Who) -> bool:
    """Whether ``new`` took ``old``'s place (see the module's docstring)."""
    if new.id == old.id or new.engine != old.engine:
        return False
    old_key, new_key = replica_key(old), replica_key(new)
    if old_key is not None or new_key is not None:
        if old_key is None or old_key != new_key:
            return False
        if old_key[0] == "swarm":
            slot = swarm_slot(old.labels)
            return slot is not None and slot == swarm_slot(new.labels)
        old_number, new_number = old.labels.get(COMPOSE_NUMBER), new.labels.get(COMPOSE_NUMBER)
        if old_number and new_number:
            return old_number == new_number
        return old.name == new.name
    return old.name == new.name and old.image == new.image


def successors(old: Who, candidates: Iterable[Who]) -> list[Who]:
    """The candidates that took ``old``'s place, by name."""
    return sorted((c for c in candidates if is_successor(old, c)), key=lambda c: c.name)
