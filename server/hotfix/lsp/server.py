"""The language server: the hotfix protocol over LSP (pygls 2).

Thin: every handler (:mod:`.files`, :mod:`.commands`, :mod:`.documents`) parses its params,
runs one call of the same :class:`~hotfix.service.HotfixService` the CLI uses in a worker
thread (Docker calls take 1–60 s; the event loop keeps reading requests, cancellations and
notifications meanwhile) and shapes the result. Only the event loop writes to the client.

``hotfix lsp`` runs it on stdio; ``hotfix lsp --tcp 127.0.0.1:2087`` on a loopback port.
docs/protocol.md is the contract.
"""

from __future__ import annotations

import asyncio
import contextvars
import ipaddress
import logging
import os
import sys
import threading
import uuid
from collections.abc import Callable, Generator
from typing import Any, TypeVar

import attrs
from cattrs import Converter
from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol import (
    JsonRPCNotification,
    JsonRPCRequestMessage,
    LanguageServerProtocol,
    default_converter,
    lsp_method,
)

from hotfix import __version__
from hotfix.engines import DEFAULT as DEFAULT_ENGINE
from hotfix.engines import Engines
from hotfix.errors import UsageError
from hotfix.lsp import commands, documents, files, registry, watch
from hotfix.lsp.errors import ExpectedErrorFilter, InvalidParams, to_rpc_error
from hotfix.lsp.params import Params
from hotfix.lsp.progress import Cancellations, WorkDone
from hotfix.lsp.uris import Location
from hotfix.service import HotfixService
from hotfix.state import StateStore

logger = logging.getLogger(__name__)

T = TypeVar("T")
ServiceFactory = Callable[[str], HotfixService]  # engine name → its service

DID_CHANGE_FILE = "hotfix/didChangeFile"
PROGRESS_CREATE_TIMEOUT = 5.0

# The client's workDoneToken of the executeCommand request being handled, if it sent one.
_work_done_token: contextvars.ContextVar[types.ProgressToken | None] = contextvars.ContextVar(
    "hotfix_work_done_token", default=None
)

__all__ = ["DID_CHANGE_FILE", "HotfixLanguageServer", "create_server", "run"]
_HANDLER_MODULES = (files, commands, documents)  # imported for their registrations


class HotfixProtocol(LanguageServerProtocol):
    """pygls' protocol plus two hooks it does not offer as API.

    - ``$/cancelRequest`` of a command: pygls answers the request as cancelled but cannot
      stop a worker thread; we also set the request's flag, which the command's
      ``progress.cancelled()`` reads, so the service stops waiting.
    - ``workspace/executeCommand``'s ``workDoneToken`` is not passed to command handlers; we
      keep it in a context variable the command's task inherits.
    """

    _server: HotfixLanguageServer

    def _handle_cancel_notification(self, msg_id: Any) -> None:
        self._server.cancellations.cancel(msg_id)
        super()._handle_cancel_notification(msg_id)

    @lsp_method(types.WORKSPACE_EXECUTE_COMMAND)
    def lsp_workspace__execute_command(
        self, params: types.ExecuteCommandParams
    ) -> Generator[Any, Any, Any]:
        _work_done_token.set(params.work_done_token)
        return (yield from super().lsp_workspace__execute_command(params))


class HotfixLanguageServer(LanguageServer):
    def __init__(self, service_factory: ServiceFactory | None = None) -> None:
        super().__init__(
            "hotfix",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            protocol_cls=HotfixProtocol,
            converter_factory=_converter,
        )
        self._service_factory = service_factory or _ServiceMaker()
        self._services: dict[str, HotfixService] = {}
        self._service_lock = threading.Lock()
        self.cancellations = Cancellations()
        self._event_loop: asyncio.AbstractEventLoop | None = None
        self.watcher = watch.Watcher(self._read_version, self._notify_changed)

    # --- the service, in a worker thread --------------------------------------------------

    def service(self, engine: str | None = None) -> HotfixService:
        """The service of an engine (``default`` when None), made on first use — so the
        server starts, and answers ``Unavailable``, while Docker is down."""
        name = engine or DEFAULT_ENGINE
        with self._service_lock:
            if name not in self._services:
                self._services[name] = self._service_factory(name)
            return self._services[name]

    async def run(self, work: Callable[[HotfixService], T], engine: str | None = None) -> T:
        """Run blocking service work in a worker thread."""
        self._event_loop = asyncio.get_running_loop()
        return await asyncio.to_thread(lambda: work(self.service(engine)))

    async def _read_version(self, loc: Location) -> str:
        return (await self.run(lambda svc: svc.read(loc.container, loc.path), loc.engine)).version

    # --- to the client (event loop only) ------------------------------------------------

    def _notify_changed(self, uri: str) -> None:
        self.protocol.notify(DID_CHANGE_FILE, {"uri": uri})

    def warn(self, message: str) -> None:
        logger.warning("%s", message)
        self.window_log_message(
            types.LogMessageParams(type=types.MessageType.Warning, message=message)
        )

    def note(self, message: str) -> None:
        logger.info("%s", message)
        self.window_log_message(
            types.LogMessageParams(type=types.MessageType.Info, message=message)
        )

    def note_from_thread(self, message: str) -> None:
        """``note`` for a worker thread (only the event loop writes to the client)."""
        self._loop().call_soon_threadsafe(self.note, message)

    async def work_done(self, title: str | None) -> WorkDone:
        """Progress for the command being handled: the client's token, else one we create
        when the client supports it, else none (cancellation works regardless)."""
        cancel = self.cancellations.register(self.protocol.msg_id)
        token = _work_done_token.get() if title else None
        if title and token is None and self._client_creates_progress():
            token = f"hotfix-{uuid.uuid4()}"
            try:
                await asyncio.wait_for(
                    self.work_done_progress.create_async(token), PROGRESS_CREATE_TIMEOUT
                )
            except Exception as exc:  # no progress is better than no command
                logger.warning("the client refused work-done progress: %s", exc)
                token = None
        self._event_loop = asyncio.get_running_loop()
        progress = WorkDone(self.work_done_progress, self._event_loop, token, cancel)
        if title:
            progress.begin(title)
        return progress

    def _loop(self) -> asyncio.AbstractEventLoop:
        if self._event_loop is None:
            raise RuntimeError("the server is not running")
        return self._event_loop

    def _client_creates_progress(self) -> bool:
        window = self.client_capabilities.window
        return bool(window and window.work_done_progress)


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

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: HotfixLanguageServer, *args: Any) -> None:
        ls.cancellations.cancel_all()
        ls.watcher.stop()

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


def _converter() -> Converter:
    """pygls' converter, but custom methods' params stay plain JSON (dicts, lists)."""
    converter: Converter = default_converter()  # type: ignore[no-untyped-call]
    for cls in (JsonRPCRequestMessage, JsonRPCNotification):
        converter.register_structure_hook(cls, _plain_message)
    return converter


def _plain_message(obj: dict[str, Any], cls: type[Any]) -> Any:
    """JSON-RPC lets a request leave ``params`` out, and members the message type lacks are
    ignored: else the message would be dropped and its request never answered."""
    names = {field.name for field in attrs.fields(cls)}
    return cls(**{"params": None, **{k: v for k, v in obj.items() if k in names}})


class _ServiceMaker:
    """As ``hotfix.cli.make_service(engine)``, once per engine name; one state store for all."""

    def __init__(self) -> None:
        self._engines: Engines | None = None
        self._store: StateStore | None = None

    def __call__(self, engine: str) -> HotfixService:
        self._engines = self._engines or Engines()
        self._store = self._store or StateStore()
        return HotfixService(self._engines.get(engine), self._store)


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
                f"--tcp {text!r}: {host} is not a loopback address; the server has no "
                "authentication, so it only listens on 127.0.0.1, ::1 or localhost"
            )
    return host, int(port_text)


def run(tcp: str | None = None) -> None:
    """Serve until the client exits: on stdio, or on ``tcp`` (loopback ``HOST:PORT``)."""
    address = parse_tcp(tcp) if tcp else None
    _configure_logging()
    server = create_server()
    if address:
        logger.info("hotfix language server on %s:%d", *address)
        server.start_tcp(*address)
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
