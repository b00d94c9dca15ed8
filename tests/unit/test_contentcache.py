"""The archive path's content cache: a HEAD stat that still matches stands for a download."""

from __future__ import annotations

import time

import pytest

from hotfix.core.errors import Conflict
from hotfix.core.model import FileContent, FileStat
from hotfix.docker.contentcache import FINE_RACY_WINDOW, RACY_WINDOW, ContentCache
from hotfix.service.files import HotfixService
from hotfix.store.state import version_of
from tests.unit.fakes import FakeContainer, FakeEngine

APP = "/srv/app/app.py"
OLD = 1_700_000_000.25


def stat(size: int = 5, mtime: float = OLD, mode: int = 0o644) -> FileStat:
    return FileStat(path="/f", kind="file", size=size, mode=mode, mtime=mtime)


def content(data: bytes = b"hello") -> FileContent:
    return FileContent(data, stat(len(data)))


def test_a_matching_stat_gives_the_content_back() -> None:
    cache = ContentCache()
    cache.put("c1", "/f", stat(), content())
    assert cache.get("c1", "/f", stat()) == content()
    assert cache.get("c2", "/f", stat()) is None  # another container
    assert cache.get("c1", "/f", stat(mtime=OLD + 1e-9 * 1000)) is None
    assert cache.get("c1", "/f", stat(size=6)) is None
    assert cache.get("c1", "/f", stat(mode=0o755)) is None


def test_a_read_of_a_file_changed_just_before_is_not_kept() -> None:
    """Racy: a rewrite of the same size in the same clock tick would keep size and mtime.
    A whole-second mtime may come from a coarse clock: it must be RACY_WINDOW old."""
    cache = ContentCache()
    now = float(int(time.time()))
    young, old = now - RACY_WINDOW / 2, now - 2 * RACY_WINDOW
    cache.put_read("c1", "/f", stat(mtime=young), content(), started=now + 0.5)
    assert cache.get("c1", "/f", stat(mtime=young)) is None
    cache.put_read("c1", "/f", stat(mtime=old), content(), started=now + 0.5)
    assert cache.get("c1", "/f", stat(mtime=old)) == content()


def test_a_sub_second_mtime_shows_a_fine_clock() -> None:
    """A filesystem keeping sub-second times ticks every jiffy: 50 ms old is enough."""
    cache = ContentCache()
    now = time.time()
    mtime = float(int(now)) - 1 + 0.123456789
    started = mtime + FINE_RACY_WINDOW / 2
    cache.put_read("c1", "/f", stat(mtime=mtime), content(), started=started)
    assert cache.get("c1", "/f", stat(mtime=mtime)) is None
    cache.put_read("c1", "/f", stat(mtime=mtime), content(), started=mtime + 0.2)
    assert cache.get("c1", "/f", stat(mtime=mtime)) == content()
    # an engine whose clock is known only to within 0.5 s: 0.2 s is not old enough
    cache.drop("c1", "/f")
    cache.put_read("c1", "/f", stat(mtime=mtime), content(), mtime + 0.2, clock_error=0.5)
    assert cache.get("c1", "/f", stat(mtime=mtime)) is None


def test_the_budget_drops_the_least_recently_used() -> None:
    cache = ContentCache(budget=10)
    cache.put("c", "/a", stat(4), content(b"aaaa"))
    cache.put("c", "/b", stat(4), content(b"bbbb"))
    assert cache.get("c", "/a", stat(4)) is not None  # /a is now the most recent
    cache.put("c", "/c", stat(4), content(b"cccc"))
    assert cache.get("c", "/b", stat(4)) is None
    assert cache.get("c", "/a", stat(4)) is not None
    cache.put("c", "/big", stat(6), content(b"x" * 6))  # above half the budget: not kept
    assert cache.get("c", "/big", stat(6)) is None


@pytest.fixture
def in_place(engine: FakeEngine) -> FakeEngine:
    engine.atomic_writes = False  # the archive path
    return engine


def test_saves_on_the_archive_path_download_once(
    service: HotfixService, in_place: FakeEngine, web: FakeContainer
) -> None:
    first = service.read("web", APP)
    result = service.write("web", APP, b"v1\n", base_version=first.version)
    result = service.write("web", APP, b"v2\n", base_version=result.version)
    service.write("web", APP, b"v3\n", base_version=result.version)
    assert len(in_place.called("read")) == 1
    assert web.node(APP).data == b"v3\n"
    assert (web.node(APP).uid, web.node(APP).gid, web.node(APP).mode) == (1000, 1001, 0o640)


def test_a_change_in_the_container_is_still_a_conflict(
    service: HotfixService, in_place: FakeEngine, web: FakeContainer
) -> None:
    first = service.read("web", APP)
    written = service.write("web", APP, b"v1\n", base_version=first.version)
    web.add_file(APP, b"v1 but edited by hand\n", uid=1000, gid=1001, mode=0o640)
    with pytest.raises(Conflict):
        service.write("web", APP, b"v2\n", base_version=written.version)
    assert web.node(APP).data == b"v1 but edited by hand\n"


def test_the_local_path_does_not_cache(
    service: HotfixService, engine: FakeEngine, web: FakeContainer
) -> None:
    service.read("web", APP)
    service.read("web", APP)
    assert len(engine.called("read")) == 2
    assert service.read("web", APP).version == version_of(b"print('hello')\n")
