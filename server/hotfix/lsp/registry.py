"""Where handlers declare what they answer; :func:`hotfix.lsp.main.create_server` wires them.

A request handler takes the server and the request's :class:`Params` and returns a JSON
object; a command handler also gets the :class:`WorkDone` progress of its run. Neither
catches errors: the wiring maps them (:mod:`hotfix.lsp.errors`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from hotfix.lsp.params import Params
from hotfix.lsp.progress import WorkDone
from hotfix.lsp.server import HotfixLanguageServer

Result = dict[str, Any]
RequestHandler = Callable[[HotfixLanguageServer, Params], Awaitable[Result]]
CommandHandler = Callable[[HotfixLanguageServer, Params, WorkDone], Awaitable[Result]]
R = TypeVar("R", bound=RequestHandler)
C = TypeVar("C", bound=CommandHandler)


@dataclass(frozen=True)
class Command:
    name: str
    handler: CommandHandler
    title: str | None  # shown as work-done progress while it runs; None: no progress


REQUESTS: dict[str, RequestHandler] = {}
COMMANDS: dict[str, Command] = {}


def request(method: str) -> Callable[[R], R]:
    """Register a custom request (``hotfix/…``)."""

    def decorate(fn: R) -> R:
        REQUESTS[method] = fn
        return fn

    return decorate


def command(name: str, progress: str | None = None) -> Callable[[C], C]:
    """Register a ``workspace/executeCommand`` command; ``progress`` titles its progress."""

    def decorate(fn: C) -> C:
        COMMANDS[name] = Command(name, fn, progress)
        return fn

    return decorate
