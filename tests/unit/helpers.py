"""Helpers of the unit tests: a local HTTP server answering scripted statuses, a free port."""

from __future__ import annotations

import socket
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# (status, extra headers) for a request path
Responder = Callable[[str], tuple[int, dict[str, str]]]


class LocalServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, respond: Responder) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.respond = respond
        self.requests: list[str] = []

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class _Handler(BaseHTTPRequestHandler):
    server: LocalServer

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        status, headers = self.server.respond(self.path)
        body = f"status {status}\n".encode()
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def sequence(*statuses: int) -> Responder:
    """Answer each status in turn, the last one from then on."""
    remaining = list(statuses)

    def respond(path: str) -> tuple[int, dict[str, str]]:
        return (remaining.pop(0) if len(remaining) > 1 else remaining[0]), {}

    return respond


def free_port() -> int:
    """A 127.0.0.1 port nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
