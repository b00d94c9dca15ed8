"""The first-write check's listing: only the leaves of the container diff, in time that
grows like n log n (a save once waited minutes on 200,000 changed paths), and a warning
that says when the check was cut short."""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from hotfix.core.model import ContainerInfo, OverlayDirs
from hotfix.docker import localfs
from hotfix.docker.archive import ArchiveFiles
from hotfix.docker.localfs import ChangeListing, WalkLimit
from hotfix.service.files import HotfixService
from hotfix.service.firstwrite import FIRST_WRITE_CHECK, changed_warning, leaves
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
        "web already has at least 1 image file(s) modified or deleted before this hotfix: "
        "/etc/a.conf — someone else may be editing it (see `docker diff`)",
        "web: first-write check stopped after 50001 paths / 0.4 s; not all changes were checked",
    ]


RUNTIME_NOISE = [
    "/run/nginx.pid",
    "/var/run/uwsgi.sock",
    "/tmp/wsgi-upload",
    "/var/cache/nginx/client_temp",
    "/var/log/nginx/error.log",
    "/srv/app/gunicorn.ctl.pid",
    "/srv/app/__pycache__/app.cpython-311.pyc",
    "/usr/lib/python3/dist-packages/x.pyc",
    "/srv/app/control.sock",
]


def test_what_the_service_itself_writes_is_counted_not_shown() -> None:
    listing = ChangeListing([*RUNTIME_NOISE, "/etc/nginx/nginx.conf"], entries=10)
    [warning] = changed_warning(INFO, listing, "/srv/app/app.py")
    assert warning == (
        "web already has 1 image file(s) modified or deleted before this hotfix: "
        "/etc/nginx/nginx.conf — someone else may be editing it (see `docker diff`); "
        f"{len(RUNTIME_NOISE)} runtime file(s) ignored"
    )


def test_only_runtime_files_give_no_warning() -> None:
    listing = ChangeListing(RUNTIME_NOISE, entries=9)
    assert changed_warning(INFO, listing, "/srv/app/app.py") == []


def test_files_created_since_the_start_are_ignored_wherever_they_are() -> None:
    """Kind 1 (added) is the service's own doing; an image file it modified or deleted is
    not, even beside it in the same directory."""
    paths = ["/etc/app/new.conf", "/etc/app/old.conf", "/srv/app/uploads/a.bin"]
    added = frozenset({"/etc/app/new.conf", "/srv/app/uploads/a.bin"})
    [warning] = changed_warning(INFO, ChangeListing(paths, added=added), "/srv/app/app.py")
    assert "before this hotfix: /etc/app/old.conf — someone else" in warning
    assert warning.endswith("; 2 runtime file(s) ignored")


def test_look_alikes_of_runtime_paths_are_still_warned_of() -> None:
    """``/runtime`` is not under ``/run``, ``app.pid.conf`` is no pid file."""
    paths = ["/runtime/app.conf", "/etc/app.pid.conf", "/tmpl/index.html", "/srv/pycache.py"]
    [warning] = changed_warning(INFO, ChangeListing(paths), "/srv/app/app.py")
    assert "4 image file(s)" in warning
    assert "runtime file" not in warning


def test_names_that_are_not_utf8_are_still_filtered_and_shown() -> None:
    """A name the container chose need not be UTF-8: it arrives surrogate-escaped."""
    odd, noise = "/etc/caf\udce9.conf", "/run/caf\udce9.pid"
    [warning] = changed_warning(INFO, ChangeListing([odd, noise]), "/srv/app/app.py")
    assert "before this hotfix: /etc/caf\\xe9.conf — someone else" in warning
    assert warning.endswith("; 1 runtime file(s) ignored")


def test_a_cut_short_check_counts_what_it_ignored() -> None:
    listing = ChangeListing(["/run/a.pid"], complete=False, entries=50_001, seconds=5.0)
    assert changed_warning(INFO, listing, "/srv/app.py") == [
        "web: first-write check stopped after 50001 paths / 5.0 s; not all changes were "
        "checked; 1 runtime file(s) ignored"
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


# --- which changes are additions: the overlay2 walk says it as the Engine's Kind 1 does ---------


def test_the_overlay_walk_tells_added_from_modified(tmp_path: Path) -> None:
    top, base, upper = (tmp_path / n for n in ("top", "base", "upper"))
    for d in (base / "etc", base / "www", top / "etc", upper / "etc", upper / "www"):
        d.mkdir(parents=True, exist_ok=True, mode=0o755)
    for f in ("etc/a", "etc/b", "etc/c", "www/index.html"):
        (base / f).write_text(f)
    _whiteout(top / "etc" / "b")  # the image deleted /etc/b …
    (upper / "etc" / "b").write_text("again")  # … so the container's /etc/b is new
    (upper / "etc" / "a").write_text("edited")  # modified
    _whiteout(upper / "etc" / "c")  # deleted
    (upper / "etc" / "new.pid").write_text("1")  # added
    (upper / "www" / "index.html").write_text("edited")  # modified
    (upper / "cache" / "deep").mkdir(parents=True)  # a new directory and all under it
    (upper / "cache" / "deep" / "f").write_text("x")

    changes = localfs.overlay_changes(OverlayDirs(str(upper), (str(top), str(base))))
    assert changes.paths == [
        "/cache", "/cache/deep", "/cache/deep/f", "/etc", "/etc/a", "/etc/b", "/etc/c",
        "/etc/new.pid", "/www", "/www/index.html",
    ]  # fmt: skip
    assert changes.added == {"/cache", "/cache/deep", "/cache/deep/f", "/etc/b", "/etc/new.pid"}


def _whiteout(path: Path) -> None:
    os.mknod(path, stat.S_IFCHR | 0o000, os.makedev(0, 0))


def test_the_engines_diff_kind_1_is_added() -> None:
    rows = [
        {"Path": "/etc", "Kind": 0},
        {"Path": "/etc/app.conf", "Kind": 0},
        {"Path": "/run/app.pid", "Kind": 1},
        {"Path": "/var/old", "Kind": 2},
    ]
    api = _DiffApi(rows)
    listing = ArchiveFiles(api, INFO, lambda: (0, 0), _no_exec).changes(FIRST_WRITE_CHECK)
    assert listing.paths == ["/etc", "/etc/app.conf", "/run/app.pid", "/var/old"]
    assert listing.added == {"/run/app.pid"}


class _DiffApi:
    """docker-py's low-level calls an archive-path diff makes."""

    def __init__(self, rows: list[dict[str, object]]) -> None:
        self.rows = rows

    def _url(self, template: str, *args: str) -> str:
        return template.format(*args)

    def _get(self, url: str, **kwargs: object) -> object:
        return url

    def _result(self, res: object, json: bool) -> list[dict[str, object]]:
        return self.rows


def _no_exec(container_id: str, argv: list[str]) -> tuple[int, bytes]:
    raise AssertionError("no exec for a diff")
