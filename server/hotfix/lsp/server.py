"""The language server: the hotfix protocol over LSP (pygls 2).

Thin: every handler (:mod:`.files`, :mod:`.commands`, :mod:`.documents`) parses its params,
runs one call of the same :class:`~hotfix.service.files.HotfixService` the CLI uses in a worker
thread (a Docker call can be slow; the event loop keeps reading requests, cancellations and
notifications meanwhile) and shapes the result. Only the event loop writes to the client.
:mod:`.main` wires the handlers to this server.

``hotfix lsp`` (:func:`.main.run`) runs it on stdio; ``hotfix lsp --tcp 127.0.0.1:2087`` on a loopback port,
for clients that present this start's token (:mod:`.auth`). docs/protocol.md is the contract.
"""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import inspect
import json
import logging
import os
import signal
import sys
import threading
import uuid
from collections.abc import Callable, Generator
from typing import Any, BinaryIO, TypeVar

import attrs
import cattrs
from cattrs import Converter
from lsprotocol import types
from pygls.exceptions import JsonRpcInternalError
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer
from pygls.protocol import (
    JsonRPCNotification,
    JsonRPCRequestMessage,
    JsonRPCResponseMessage,
    LanguageServerProtocol,
    default_converter,
    lsp_method,
)

from hotfix import __version__
from hotfix.core.errors import Unavailable, UsageError
from hotfix.docker.engines import DEFAULT as DEFAULT_ENGINE
from hotfix.docker.engines import Engines
from hotfix.lsp import auth, containerfeed, spool, watch, wire
from hotfix.lsp.errors import INVALID_PARAMS
from hotfix.lsp.lifecyclewatch import LIFECYCLE, EngineLines, LifecycleWatch
from hotfix.lsp.progress import Cancellations, WorkDone
from hotfix.lsp.uris import Location
from hotfix.service.config import DEFAULT_MAX_FILE_SIZE, configured_max_file_size
from hotfix.service.files import HotfixService
from hotfix.store.state import StateStore
from hotfix.views import container_view

logger = logging.getLogger(__name__)

T = TypeVar("T")
ServiceFactory = Callable[[str], HotfixService]  # engine name → its service

DID_CHANGE_FILE = "hotfix/didChangeFile"
DID_CHANGE_CONTAINERS = "hotfix/didChangeContainers"
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
PROGRESS_CREATE_TIMEOUT = 5.0

# The client's workDoneToken of the executeCommand request being handled, if it sent one.
_work_done_token: contextvars.ContextVar[types.ProgressToken | None] = contextvars.ContextVar(
    "hotfix_work_done_token", default=None
)

__all__ = ["DID_CHANGE_FILE", "HotfixLanguageServer", "ServiceFactory"]


class HotfixProtocol(LanguageServerProtocol):
    """pygls' protocol plus hooks it does not offer as API.

    - ``$/cancelRequest`` of a command: pygls answers the request as cancelled but cannot
      stop a worker thread; we also set the request's flag, which the command's
      ``progress.cancelled()`` reads, so the service stops waiting.
    - ``workspace/executeCommand``'s ``workDoneToken`` is not passed to command handlers; we
      keep it in a context variable the command's task inherits.
    - Frames come in through :meth:`handle_frame` (the server's read loop, :mod:`.wire`),
      not pygls' loop, which drops what it cannot parse: a body that is not JSON is
      answered ``-32700``, one that is not a JSON-RPC 2.0 message ``-32600``, params that
      do not fit an LSP method's type ``-32602``, a frame above the size limit (not read)
      ``-32600`` naming both sizes; a request after ``shutdown`` ``-32600``.
    - :meth:`_send_data` writes big base64 strings without JSON-encoding them, and counts
      Content-Length in bytes.
    """

    _server: HotfixLanguageServer
    _writes: set[asyncio.Future[Any]] = set()  # noqa: RUF012 (kept until done, then removed)

    # --- frames in ---------------------------------------------------------------------

    def handle_frame(self, frame: wire.Frame) -> None:
        """Parse, check and dispatch one frame; every request gets an answer."""
        if frame.body is None:
            limit = self._server.frame_limit
            self._reply_error(
                wire.peek_id(frame.head, frame.tail),
                INVALID_REQUEST,
                f"Invalid Request: the message is {wire.mib(frame.length)} (Content-Length "
                f"{frame.length}), above this server's {wire.mib(limit)} limit (the base64 of "
                f"{wire.FORCED_FACTOR} × HOTFIX_MAX_FILE_SIZE "
                f"{wire.mib(self._server.max_file_size)}, plus 1 MiB); it was not read: start "
                "the server with a larger HOTFIX_MAX_FILE_SIZE",
            )
            return
        try:
            obj = wire.loads(frame.body)
        except ValueError as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self._reply_error(None, PARSE_ERROR, f"Parse error: the message is not JSON ({reason})")
            return
        problem = _invalid_request(obj)
        if problem is not None:
            msg_id, reason = problem
            self._reply_error(msg_id, INVALID_REQUEST, f"Invalid Request: {reason}")
            return
        is_request = "method" in obj and "id" in obj
        if is_request and self._shutdown and obj["method"] != types.EXIT:
            self._reply_error(
                obj["id"], INVALID_REQUEST, "Invalid Request: the server is shutting down"
            )
            return
        try:
            message = self._structure(obj)
        except Exception as exc:
            reason = _structure_error(exc)
            if is_request:
                self._reply_error(
                    obj["id"], INVALID_PARAMS, f"Invalid params of {obj['method']}: {reason}"
                )
            else:
                logger.warning("dropped a message that does not fit its type: %s", reason)
            return
        self.handle_message(message)

    def _structure(self, obj: dict[str, Any]) -> Any:
        """The message as pygls' ``structure_message`` makes it (typed LSP messages, our
        plain ones for custom methods), for a checked JSON-RPC message."""
        if "method" in obj:
            fallback = JsonRPCRequestMessage if "id" in obj else JsonRPCNotification
            cls = self.get_message_type(obj["method"]) or fallback
        elif "error" in obj:
            cls = types.ResponseErrorMessage
        else:
            cls = self._result_types.pop(obj["id"], None) or JsonRPCResponseMessage
        return self._converter.structure(obj, cls)

    def _reply_error(self, msg_id: wire.MsgId | None, code: int, message: str) -> None:
        logger.info("answered %s to request %r: %s", code, msg_id, message)
        self._send_data(
            {
                "jsonrpc": "2.0",
                "id": msg_id,
                "error": {"code": code, "message": message, "data": {"code": "ValidationFailed"}},
            }
        )

    # --- frames out --------------------------------------------------------------------

    def _send_data(self, data: Any) -> None:
        """pygls' ``_send_data``, with :func:`wire.dumps`: a result's ``Base64Text`` is
        written as it is, in its own write (no copy of a file's base64 into the JSON)."""
        if not data:
            return
        if self.writer is None:
            logger.error("Unable to send data, no available transport!")
            return
        try:
            pieces = wire.dumps(data, self._serialize_message)
            if self._include_headers:
                length = sum(len(piece) for piece in pieces)
                header = (
                    f"Content-Length: {length}\r\n"
                    f"Content-Type: {self.CONTENT_TYPE}; charset={self.CHARSET}\r\n\r\n"
                ).encode("ascii")
                pieces = [header + bytes(pieces[0]), *pieces[1:]]
            else:  # one message per write (websockets)
                pieces = [b"".join(pieces)]
            for piece in pieces:
                res = self.writer.write(piece)  # type: ignore[arg-type]
                if inspect.isawaitable(res):  # an async writer (websockets)
                    task = asyncio.ensure_future(res)
                    self._writes.add(task)
                    task.add_done_callback(self._writes.discard)
        except BrokenPipeError:
            logger.exception("Error sending data. BrokenPipeError", exc_info=True)
            raise
        except Exception as error:
            logger.exception("Error sending data", exc_info=True)
            self._server._report_server_error(error, JsonRpcInternalError)

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(
        self, params: types.InitializeParams
    ) -> Generator[Any, Any, types.InitializeResult]:
        """pygls' initialize, plus what the server agreed to of the client's options
        (``capabilities.experimental.hotfix``): the body transfer, when it was asked for."""
        result: types.InitializeResult = yield from super().lsp_initialize(params)
        body = self._server.spool
        if body is not None:
            result.capabilities.experimental = {"hotfix": {"bodyTransfer": body.capability()}}
        return result

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
    protocol: HotfixProtocol

    def __init__(
        self, service_factory: ServiceFactory | None = None, max_file_size: int | None = None
    ) -> None:
        self.max_file_size = max_file_size or _max_file_size()
        self.frame_limit = wire.frame_limit(self.max_file_size)
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
        self._engine_lines = EngineLines()
        self.lifecycle = LifecycleWatch(self._hotfix_lines, self._notify_lifecycle, self.alert)
        self._listing_due = containerfeed.ListingDue()
        self.container_feed = containerfeed.ContainerFeed(
            self._list_container_views, self._notify_containers
        )
        self.spool: spool.Spool | None = None  # when the client asked for bodyTransfer "file"
        self._tcp_token_file: auth.TokenFile | None = None  # served on TCP: who may connect
        self._tcp_client_connected = False

    # --- transports: pygls' loops, reading frames with .wire --------------------------------

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """Serve on stdio: one worker thread reads whole frames (headers and body in one
        go, bounded by ``frame_limit``), the event loop handles them."""
        self._stop_event = stop_event = threading.Event()
        reader = wire.FrameReader(stdin or sys.stdin.buffer, self.frame_limit)
        self._clean_up_on_sigterm()
        self.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))

        async def serve() -> None:
            loop = asyncio.get_running_loop()
            while not stop_event.is_set():
                frame = await loop.run_in_executor(self.thread_pool, reader.read)
                if frame is None:
                    break
                self.protocol.handle_frame(frame)
                del frame  # a big body is freed once its handler is done with it

        try:
            asyncio.run(serve())
        except BrokenPipeError:
            logger.error("Connection to the client is lost! Shutting down the server.")
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self.close_spool()
            self.shutdown()  # type: ignore[no-untyped-call]

    def start_tcp(self, host: str, port: int) -> None:
        """Serve one client on a loopback TCP port, frames read as on stdio. A connection
        must open with ``initialize`` carrying this start's token (:mod:`.auth`); any other
        is answered one error and closed, and the server keeps waiting for its client."""
        self._stop_event = threading.Event()
        self._tcp_client_connected = False

        async def serve() -> None:
            try:
                self._server = await asyncio.start_server(self._tcp_connection, host, port)
            except OSError as exc:
                reason = os.strerror(exc.errno) if exc.errno else str(exc)
                message = f"hotfix lsp --tcp: cannot listen on {host}:{port}: {reason}"
                raise Unavailable(message) from None
            # made once the port is ours: nothing is accepted before this coroutine yields
            self._tcp_token_file = auth.TokenFile(port)
            print(auth.announce(host, port, self._tcp_token_file), file=sys.stderr, flush=True)
            async with self._server:
                await self._server.serve_forever()

        self._clean_up_on_sigterm()
        try:
            asyncio.run(serve())
        except asyncio.CancelledError:
            logger.debug("Server was cancelled")
        finally:
            self.remove_token_file()

    async def _tcp_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        first = await auth.read_first_frame(reader)
        if first is None or self._tcp_token_file is None:
            writer.close()
            return
        msg_id, refusal = auth.check(first, self._tcp_token_file.token)
        if refusal is None and self._tcp_client_connected:
            refusal = "busy: another client is connected; this server serves one"
        if refusal is not None:
            logger.warning("refused %s: %s", _peer(writer), refusal)
            await auth.refuse(reader, writer, msg_id, refusal)
            return
        self._tcp_client_connected = True
        self.protocol.set_writer(writer)
        stop = self._stop_event
        frame: wire.Frame | None = first
        while frame is not None and not (stop and stop.is_set()):
            self.protocol.handle_frame(frame)
            del frame  # a big body is freed once its handler is done with it
            frame = await wire.read_frame_async(reader, self.frame_limit)
        self.close_spool()
        self.shutdown()  # type: ignore[no-untyped-call]

    # --- the spool: big contents beside the stream ------------------------------------------

    def open_spool(self) -> None:
        """Start spooling big contents (the client asked for ``bodyTransfer: "file"``); a
        spool directory that cannot be made leaves contents inline, with a warning."""
        self.close_spool()
        try:
            self.spool = spool.Spool()
        except OSError as exc:
            logger.warning("no spool directory (%s): file contents stay inline base64", exc)
            return
        atexit.register(self.close_spool)

    def close_spool(self) -> None:
        """Remove the spool directory and what is left in it (on exit, SIGTERM, disconnect)."""
        found, self.spool = self.spool, None
        if found is not None:
            found.close()
            atexit.unregister(self.close_spool)

    def remove_token_file(self) -> None:
        """Remove the TCP token file (on exit, SIGTERM); its token is of no use any more."""
        found, self._tcp_token_file = self._tcp_token_file, None
        if found is not None:
            found.remove()

    def _clean_up_on_sigterm(self) -> None:
        """SIGTERM still kills the server as it did, but removes the spool directory and
        the token file first."""
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return

        def on_sigterm(signum: int, frame: Any) -> None:
            self.close_spool()
            self.remove_token_file()
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

        signal.signal(signal.SIGTERM, on_sigterm)

    # --- the service, in a worker thread --------------------------------------------------

    def service(self, engine: str | None = None) -> HotfixService:
        """The service of an engine (``default`` when None), made on first use — so the
        server starts, and answers ``Unavailable``, while Docker is down."""
        name = engine or DEFAULT_ENGINE
        with self._service_lock:
            if name not in self._services:
                service = self._service_factory(name)
                self._services[name] = service
                for settled in service.settled:  # saves a killed process left midway
                    self._loop().call_soon_threadsafe(self.alert, settled)
            return self._services[name]

    async def run(self, work: Callable[[HotfixService], T], engine: str | None = None) -> T:
        """Run blocking service work in a worker thread."""
        self._event_loop = asyncio.get_running_loop()
        self.lifecycle.start()  # once there is work, there are hotfixes to watch
        return await asyncio.to_thread(lambda: work(self.service(engine)))

    async def _hotfix_lines(self) -> list[dict[str, Any]] | None:
        return await asyncio.to_thread(lambda: self._engine_lines(self.service()))

    def _notify_lifecycle(self, params: dict[str, Any]) -> None:
        self.protocol.notify(LIFECYCLE, params)

    async def _read_version(self, loc: Location) -> str:
        return (await self.run(lambda svc: svc.read(loc.container, loc.path), loc.engine)).version

    async def _list_container_views(self) -> list[dict[str, Any]] | None:
        """The containers as ``hotfix/containers`` shows them, or None when no event since the
        last time says the list changed (:class:`hotfix.lsp.containerfeed.ListingDue`)."""

        def listing(svc: HotfixService) -> list[dict[str, Any]] | None:
            generation = svc.engine.listing_generation()
            if not self._listing_due(generation):
                return None
            self._listing_due.listing(generation)
            return [container_view(c) for c in svc.containers(all=True)]

        return await self.run(listing)

    # --- to the client (event loop only) ------------------------------------------------

    def _notify_containers(self, views: list[dict[str, Any]]) -> None:
        self.protocol.notify(DID_CHANGE_CONTAINERS, {"containers": views})

    def _notify_changed(self, uri: str) -> None:
        self.protocol.notify(DID_CHANGE_FILE, {"uri": uri})

    def warn(self, message: str) -> None:
        logger.warning("%s", message)
        self.window_log_message(
            types.LogMessageParams(type=types.MessageType.Warning, message=message)
        )

    def alert(self, message: str) -> None:
        """A warning the user must see: shown, not only logged."""
        logger.warning("%s", message)
        self.window_show_message(
            types.ShowMessageParams(type=types.MessageType.Warning, message=message)
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


def _invalid_request(obj: Any) -> tuple[wire.MsgId | None, str] | None:
    """Why a parsed body is not a JSON-RPC 2.0 message (with the id to answer, when one can
    be read), or None when it is one."""
    if not isinstance(obj, dict):
        kind = (
            "an array (batches are not part of LSP)" if isinstance(obj, list) else "not an object"
        )
        return None, f"the message is {kind}"
    raw_id = obj.get("id")
    msg_id = raw_id if isinstance(raw_id, str) or _is_int(raw_id) else None
    if obj.get("jsonrpc") != "2.0":
        return msg_id, f'"jsonrpc" must be "2.0", got {json.dumps(obj.get("jsonrpc"))[:40]}'
    if "id" in obj and msg_id is None:
        return None, f'"id" must be an integer or a string, got {json.dumps(raw_id)[:40]}'
    if "method" in obj:
        if not isinstance(obj["method"], str) or not obj["method"]:
            return msg_id, '"method" must be a non-empty string'
        return None
    if msg_id is None:
        return None, 'a message needs a "method" (request, notification) or an "id" (response)'
    if ("result" in obj) == ("error" in obj):
        return msg_id, 'a response needs one of "result" and "error"'
    return None


def _peer(writer: asyncio.StreamWriter) -> str:
    """A TCP client's address, for the log."""
    address = writer.get_extra_info("peername")
    return f"{address[0]}:{address[1]}" if isinstance(address, tuple) else "a client"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _structure_error(exc: Exception) -> str:
    """One line for a message that does not fit its LSP type."""
    cause = exc.__cause__ or exc
    try:
        found = cattrs.transform_error(cause)
    except Exception:
        found = [str(cause)]
    return "; ".join(line.replace("\n", " ") for line in found[:3]) or type(cause).__name__


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


def _max_file_size() -> int:
    """HOTFIX_MAX_FILE_SIZE, as the service reads it; the default when it is malformed (the
    service then answers every request with what is wrong with it)."""
    try:
        return configured_max_file_size()
    except UsageError:
        return DEFAULT_MAX_FILE_SIZE


class _ServiceMaker:
    """One service per engine name, made on first use (so the server starts with Docker
    down); one state store for all."""

    def __init__(self) -> None:
        self._engines: Engines | None = None
        self._store: StateStore | None = None

    def __call__(self, engine: str) -> HotfixService:
        self._engines = self._engines or Engines(watch=True)
        self._store = self._store or StateStore()
        return HotfixService(self._engines.get(engine), self._store, prefetch=True)
