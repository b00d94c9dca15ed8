"""How long work reports what it is doing, and learns that it was cancelled."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """How long work reports what it is doing and learns it was cancelled."""

    def report(self, message: str, percentage: int | None = None) -> None: ...

    def cancelled(self) -> bool: ...


class NoProgress:
    def report(self, message: str, percentage: int | None = None) -> None:
        pass

    def cancelled(self) -> bool:
        return False
