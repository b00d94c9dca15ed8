"""The load loop itself, against a small HTTP server in this process (no engine)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.live.load import LoadLoop, loopback_address


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, body = self.server.answer  # type: ignore[attr-defined]
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.answer = (200, "v1")  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _url(httpd: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{httpd.server_address[1]}/"


def test_stops_by_itself_at_the_request_count(server):
    load = LoadLoop(_url(server), threads=3, duration=30, max_requests=25, pause=0)
    started = time.monotonic()
    load.start().join()
    assert time.monotonic() - started < 10
    assert load.total == 25 and load.failed == 0
    assert load.spans()[0].outcome == "HTTP 200: v1"


def test_stops_by_itself_at_the_duration(server):
    load = LoadLoop(_url(server), threads=2, duration=0.3, pause=0.01)
    started = time.monotonic()
    load.start().join()
    assert 0.3 <= time.monotonic() - started < 3
    assert 0 < load.total < 200


def test_new_body_is_timed_and_non_200_answers_fail(server):
    with LoadLoop(_url(server), threads=2, duration=10, pause=0.005) as load:
        assert load.wait_for_body("v1", timeout=5) is not None
        server.answer = (500, "broken")  # type: ignore[attr-defined]
        time.sleep(0.1)
        changed = time.monotonic()
        server.answer = (200, "v2")  # type: ignore[attr-defined]
        seen = load.wait_for_body("v2", timeout=5)
    assert seen is not None and seen >= changed
    assert load.first_seen("v2") == seen
    last_v1 = load.last_seen("v1")
    assert last_v1 is not None and last_v1 < seen
    assert load.failed > 0
    assert all(a.status == 500 for a in load.failures())
    assert "HTTP 500: broken" in load.describe()


def test_refused_connections_are_failed_requests():
    with socket.socket() as sock:  # a port nobody listens on once this is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    load = LoadLoop(f"http://127.0.0.1:{port}/", threads=2, max_requests=10, pause=0)
    load.start().join()
    assert load.total == load.failed == 10
    assert load.failures()[0].outcome.startswith("error: ")
    assert load.wait_for_body("anything", timeout=0.1) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://172.17.0.2:8001/",
        "http://localhost:80/",
        "https://127.0.0.1:443/",
        "http://127.0.0.1/",
    ],
)
def test_only_127_0_0_1(url):
    with pytest.raises(ValueError, match="only to"):
        loopback_address(url)
