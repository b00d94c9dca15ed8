"""Fixtures of the unit tests: a fake engine, a real state store, a local HTTP server."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hotfix.service.files import HotfixService
from hotfix.store.state import StateStore
from tests.unit.fakes import FakeContainer, FakeEngine
from tests.unit.helpers import LocalServer, Responder


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    st = StateStore(tmp_path / "state")
    yield st
    st.close()


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def web(engine: FakeEngine) -> FakeContainer:
    """A running container with an app directory owned by uid 1000."""
    c = engine.add_container("web", "c0ffee" + "0" * 58)
    c.add_dir("/srv/app", mode=0o750, uid=1000, gid=1001)
    c.add_file("/srv/app/app.py", b"print('hello')\n", mode=0o640, uid=1000, gid=1001)
    c.add_file("/srv/app/config.json", b'{"debug": false}\n', mode=0o600, uid=1000, gid=1001)
    c.add_file("/etc/app.conf", b"level = info\n")
    return c


@pytest.fixture
def service(
    engine: FakeEngine, store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> HotfixService:
    """The service over the fake engine and the real store, its fsyncs skipped for speed.

    Durability itself is tested in test_state.py; here each fsync would only cost time.
    """
    monkeypatch.setattr(os, "fsync", lambda fd: None)
    store._db.execute("PRAGMA synchronous=OFF")
    return HotfixService(engine, store, user="tester")  # type: ignore[arg-type]


@pytest.fixture
def http_server() -> Iterator[Callable[[Responder], LocalServer]]:
    """Start HTTP servers on 127.0.0.1 answering as ``respond(path)`` says; stopped afterwards."""
    started: list[tuple[LocalServer, threading.Thread]] = []

    def start(respond: Responder) -> LocalServer:
        server = LocalServer(respond)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
        thread.daemon = True
        thread.start()
        started.append((server, thread))
        return server

    yield start
    for server, thread in started:
        server.shutdown()
        server.server_close()
        thread.join(timeout=2)
