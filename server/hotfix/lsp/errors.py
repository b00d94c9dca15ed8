"""Errors on the wire, mapped in one place.

Every failure becomes a JSON-RPC error whose ``data.code`` is one of the protocol's codes
(``HotfixError.code``) and whose message is the core's one-line, actionable message:

- a :class:`~hotfix.core.errors.HotfixError` keeps its code and message (JSON-RPC code -32803,
  LSP's ``RequestFailed``);
- malformed params are ``ValidationFailed`` naming the bad field (JSON-RPC -32602,
  ``InvalidParams``);
- anything else is a bug or an environment problem: ``Unavailable`` with its message, logged
  with its traceback.

``data.reason`` refines a code where the editor offers a different way out: ``"protected"``
on ``NoPermissions`` (the container's hotfix.protect label; a forced write overrides it).
"""

from __future__ import annotations

import logging

from pygls.exceptions import JsonRpcException

from hotfix.core.errors import HotfixError, Protected, ValidationFailed

logger = logging.getLogger(__name__)

REQUEST_FAILED = -32803
INVALID_PARAMS = -32602

CODES = (
    "FileNotFound",
    "FileExists",
    "FileIsADirectory",
    "FileNotADirectory",
    "NoPermissions",
    "Conflict",
    "Unavailable",
    "ValidationFailed",
)


class InvalidParams(ValidationFailed):
    """The request's params are malformed (a missing or mistyped field)."""


class HotfixRpcError(JsonRpcException):
    """A protocol error: ``data.code`` says which."""

    CODE = REQUEST_FAILED

    def __init__(
        self, message: str, code: str, rpc_code: int = REQUEST_FAILED, reason: str | None = None
    ) -> None:
        data = {"code": code} | ({"reason": reason} if reason else {})
        super().__init__(message=message, code=rpc_code, data=data)
        self.protocol_code = code


def to_rpc_error(exc: Exception, method: str) -> HotfixRpcError:
    """The JSON-RPC error for a failure while handling ``method``."""
    if isinstance(exc, HotfixRpcError):
        return exc
    if isinstance(exc, HotfixError):
        code = exc.code if exc.code in CODES else "Unavailable"
        rpc_code = INVALID_PARAMS if isinstance(exc, InvalidParams) else REQUEST_FAILED
        # FileNotFound is the normal answer to the editor's probes (.vscode/settings.json…).
        level = logging.DEBUG if code == "FileNotFound" else logging.INFO
        logger.log(level, "%s: %s: %s", method, code, exc)
        reason = "protected" if isinstance(exc, Protected) else None
        return HotfixRpcError(str(exc), code, rpc_code, reason)
    logger.error("%s failed unexpectedly", method, exc_info=exc)
    return HotfixRpcError(f"{method} failed: {type(exc).__name__}: {exc}", "Unavailable")


class ExpectedErrorFilter(logging.Filter):
    """Keep pygls from logging a traceback for every FileNotFound the editor provokes.

    pygls logs each error response with ``logger.exception``; ours are logged (once, one
    line) by :func:`to_rpc_error`, and unexpected ones there with their traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, HotfixRpcError)
