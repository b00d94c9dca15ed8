"""The language server put together and run: ``hotfix lsp`` → :func:`run`.

The feature modules (:mod:`.files`, :mod:`.commands`, :mod:`.documents`) declare their
handlers in :mod:`.registry`; :func:`create_server` wires them to a
:class:`~hotfix.lsp.server.HotfixLanguageServer`, each through an adapter that parses its
params and maps its errors (:mod:`.errors`). Only this module imports the features, so
none of them imports it back.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

from lsprotocol import types

from hotfix.core.errors import UsageError
from hotfix.lsp import commands, documents, files, lifecycle, registry, spool
from hotfix.lsp.errors import ExpectedErrorFilter, InvalidParams, to_rpc_error
from hotfix.lsp.params import Params
from hotfix.lsp.progress import WorkDone
from hotfix.lsp.server import HotfixLanguageServer, ServiceFactory

logger = logging.getLogger(__name__)

__all__ = ["create_server", "parse_tcp", "run"]
_FEATURE_MODULES = (files, commands, lifecycle)  # imported for their registrations in .registry

# --- wiring ---------------------------------------------------------------------------------


def create_server(service_factory: ServiceFactory | None = None) -> HotfixLanguageServer:
    server = HotfixLanguageServer(service_factory)
    for method, handler in registry.REQUESTS.items():
        server.feature(method)(_request_adapter(method, handler))
    for name, cmd in registry.COMMANDS.items():
        server.command(name)(_command_adapter(cmd))
    for method, note in (
        (types.TEXT_DOCUMENT_DID_OPEN, documents.did_open),
        (types.TEXT_DOCUMENT_DID_CHANGE, documents.did_change),
        (types.TEXT_DOCUMENT_DID_CLOSE, documents.did_close),
    ):
        server.feature(method)(_notification_adapter(method, note))

    @server.feature(types.INITIALIZE)
    def initialize(ls: HotfixLanguageServer, params: types.InitializeParams) -> None:
        options = params.initialization_options
        if isinstance(options, dict) and options.get("pollInterval") is not None:
            interval = options["pollInterval"]
            if isinstance(interval, int | float) and not isinstance(interval, bool):
                ls.watcher.interval = max(0.0, float(interval))
            else:
                logger.warning("ignoring initializationOptions.pollInterval=%r", interval)
        if isinstance(options, dict) and isinstance(options.get("lifecycleInterval"), int | float):
            ls.lifecycle.interval = max(0.0, float(options["lifecycleInterval"]))
        transfer = options.get("bodyTransfer") if isinstance(options, dict) else None
        if transfer == spool.FILE:
            ls.open_spool()
        elif transfer is not None and transfer != "inline":
            logger.warning("ignoring initializationOptions.bodyTransfer=%r", transfer)

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: HotfixLanguageServer, *args: Any) -> None:
        ls.cancellations.cancel_all()
        ls.watcher.stop()
        ls.lifecycle.stop()
        ls.container_feed.stop()

    return server


def _request_adapter(method: str, handler: registry.RequestHandler) -> Callable[..., Any]:
    async def adapter(ls: Any, raw: Any = None) -> Any:
        try:
            return await handler(ls, Params(raw))
        except Exception as exc:
            raise to_rpc_error(exc, method) from exc

    adapter.__name__ = f"request {method}"
    return adapter


def _command_adapter(cmd: registry.Command) -> Callable[..., Any]:
    async def adapter(ls: Any, *args: Any) -> Any:
        server: HotfixLanguageServer = ls
        progress: WorkDone | None = None
        outcome = "failed"
        try:
            if len(args) > 1:
                raise InvalidParams(
                    f"{cmd.name}: expected one JSON object argument, got {len(args)}"
                )
            params = Params(args[0] if args else None, "arguments[0]")
            title = (
                f"{cmd.title} {params.values.get('container') or ''}".strip() if cmd.title else None
            )
            progress = await server.work_done(title)
            result = await cmd.handler(server, params, progress)
            outcome = "done"
            return result
        except Exception as exc:
            outcome = "cancelled" if progress and progress.cancelled() else f"failed: {exc}"
            raise to_rpc_error(exc, cmd.name) from exc
        finally:
            if progress is not None:
                progress.end(outcome)
                server.cancellations.release(server.protocol.msg_id)

    adapter.__name__ = f"command {cmd.name}"
    return adapter


def _notification_adapter(
    method: str, handler: Callable[[HotfixLanguageServer, Any], None]
) -> Callable[..., None]:
    def adapter(ls: Any, params: Any) -> None:
        try:
            handler(ls, params)
        except Exception:  # a notification has nobody to answer: log and keep serving
            logger.exception("%s failed", method)

    adapter.__name__ = f"notification {method}"
    return adapter


# --- running ----------------------------------------------------------------------------------


def parse_tcp(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) on a loopback address, else a UsageError."""
    host, sep, port_text = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise UsageError(f"--tcp {text!r}: expected HOST:PORT, e.g. 127.0.0.1:2087")
    if host != "localhost":
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise UsageError(
                f"--tcp {text!r}: {host} is not a loopback address; the server only listens "
                "on 127.0.0.1, ::1 or localhost (its token travels in clear text)"
            )
    return host, int(port_text)


def run(tcp: str | None = None) -> None:
    """Serve until the client exits: on stdio, or on ``tcp`` (loopback ``HOST:PORT``) to a
    client that presents the token this start writes to a private file."""
    address = parse_tcp(tcp) if tcp else None
    _configure_logging()
    server = create_server()
    if address:
        server.start_tcp(*address)  # prints where it listens and where its token is
    else:
        server.start_io()


def _configure_logging() -> None:
    level = os.environ.get("HOTFIX_LOG_LEVEL", "INFO").upper()
    handler = logging.StreamHandler(sys.stderr)  # stdout is the protocol's
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level if level in logging.getLevelNamesMapping() else "INFO")
    logging.getLogger("pygls").setLevel(logging.WARNING)  # INFO logs every message in full
    logging.getLogger("pygls.protocol.json_rpc").addFilter(ExpectedErrorFilter())
