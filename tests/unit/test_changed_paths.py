"""The first-write check's listing: only the leaves of the container diff, in time that
grows like n log n (a save once waited minutes on 200,000 changed paths), and a warning
that says when the check was cut short."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from hotfix.core.model import ContainerInfo
from hotfix.docker.localfs import ChangeListing, WalkLimit
from hotfix.service.files import HotfixService
from hotfix.service.firstwrite import changed_warning, leaves
from hotfix.store.state import StateStore
from tests.unit.fakes import FakeContainer, FakeEngine


def test_leaves_drop_every_ancestor() -> None:
    paths = ["/a", "/a-b", "/a/c", "/a/c/d", "/b", "/x/y/z", "/x", "/a-b/e"]
    assert leaves(paths) == ["/a-b/e", "/a/c/d", "/b", "/x/y/z"]


def _synthetic_diff(files: int) -> list[str]:
    """A diff as the Engine lists it: ``files`` files in 100 directories, parents included."""
    dirs = [f"/srv/data/d{i:03}" for i in range(100)]
    return ["/srv", "/srv/data", *dirs, *(f"{dirs[i % 100]}/f{i}" for i in range(files))]


def _best_time(work: Callable[[], object]) -> float:
    times = []
    for _ in range(5):  # the best of several: a busy machine only ever slows a run down
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def test_leaves_take_near_linear_time() -> None:
    """4 × the paths takes about 4 × the time (n log n: a little more); the old pairwise scan
    took 16 ×, so 10 × tells them apart with room for a busy machine."""
    small, large = _synthetic_diff(20_000), _synthetic_diff(80_000)
    assert len(leaves(large)) == 80_000
    small_time = _best_time(lambda: leaves(small))
    large_time = _best_time(lambda: leaves(large))
    assert large_time < 10 * small_time, (small_time, large_time)
    assert large_time < 2.0


INFO = ContainerInfo(id="c" * 64, name="web", image="img", image_id="sha256:i", state="running")


def test_a_cut_short_check_says_so() -> None:
    listing = ChangeListing(["/etc/a.conf"], complete=False, entries=50_001, seconds=0.4)
    warnings = changed_warning(INFO, listing, "/srv/app.py")
    assert warnings == [
        "web already has at least 1 path(s) changed against its image before this hotfix: "
        "/etc/a.conf — someone else may be editing it (see `docker diff`)",
        "web: first-write check stopped after 50001 paths / 0.4 s; not all changes were checked",
    ]


def test_a_whole_check_says_nothing_more() -> None:
    listing = ChangeListing(["/srv/app.py"], complete=True, entries=3, seconds=0.01)
    assert changed_warning(INFO, listing, "/srv/app.py") == []


APP = "/srv/app/app.py"


def test_the_path_lock_is_free_while_the_check_runs(
    service: HotfixService,
    engine: FakeEngine,
    web: FakeContainer,
    store: StateStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The file is written and its lock released before the first-write check is waited for:
    another save of the file never queues behind a slow container diff."""
    check_started, check_may_end = threading.Event(), threading.Event()

    def slow_diff(container: ContainerInfo, limit: WalkLimit | None = None) -> ChangeListing:
        check_started.set()
        check_may_end.wait(10)
        return ChangeListing(["/etc/app.conf"])

    monkeypatch.setattr(engine, "container_diff", slow_diff)
    with ThreadPoolExecutor(1) as pool:
        first_save = pool.submit(service.write, "web", APP, b"print(2)\n")
        try:
            assert check_started.wait(5)
            other_save = threading.Thread(target=_hold_briefly, args=(store, web.id, APP))
            other_save.start()
            other_save.join(timeout=3)
            assert not other_save.is_alive(), "the path lock is held while the check runs"
            assert web.fs[APP].data == b"print(2)\n"
        finally:
            check_may_end.set()
        assert "/etc/app.conf" in first_save.result(timeout=10).warnings[0]


def _hold_briefly(store: StateStore, container_id: str, path: str) -> None:
    with store.path_lock(container_id, path):
        pass
