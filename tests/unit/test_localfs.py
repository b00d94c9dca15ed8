"""localfs: a container's files through its root directory, symlinks resolved inside it.

A temporary tree stands in for ``/proc/<pid>/root``. Names that exist only in the fake
root (``hotfix-unit-…``) make a wrong resolution to the host's ``/etc`` fail, never touch it.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
import uuid
from pathlib import Path

import pytest

from hotfix.core.model import OverlayDirs
from hotfix.docker import localfs

MARK = f"hotfix-unit-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "root"
    (r / "etc").mkdir(parents=True)
    (r / "etc" / MARK).write_text("fake root's file\n")
    (r / "etc" / "hosts").write_text("127.0.0.1 fake\n")
    (r / "srv" / "app").mkdir(parents=True)
    (r / "srv" / "app" / "app.py").write_text("print(1)\n")
    os.chmod(r / "srv" / "app" / "app.py", 0o640)
    (r / "file.txt").write_text("x")
    os.symlink("/etc", r / "etc_link")  # absolute: must mean the fake root's /etc
    os.symlink("/", r / "x")
    os.symlink("srv/app", r / "app")  # relative
    os.symlink("../../..", r / "srv" / "up")  # relative, climbing past the root
    os.symlink("../../../../../../etc", r / "srv" / "app" / "deep_etc")
    os.symlink("/usr", r / "host_only")  # exists on the host, not in the fake root
    os.symlink("/file.txt", r / "file_link")
    os.symlink("loop2", r / "loop1")
    os.symlink("loop1", r / "loop2")
    os.symlink("self", r / "self")
    return r


def names(root: Path, path: str) -> list[str]:
    return [e.name for e in localfs.list_dir(str(root), path)]


def test_absolute_symlink_resolves_inside_the_root(root: Path) -> None:
    assert names(root, "/etc_link") == sorted(["hosts", MARK])
    assert names(root, "/etc") == sorted(["hosts", MARK])


def test_link_to_slash_stays_in_the_root(root: Path) -> None:
    top = names(root, "/x")
    assert MARK not in top and "etc_link" in top
    assert names(root, "/x/etc") == sorted(["hosts", MARK])
    assert names(root, "/x/x/x/srv/app") == ["app.py", "deep_etc"]


def test_relative_symlinks(root: Path) -> None:
    assert names(root, "/app") == ["app.py", "deep_etc"]


def test_dotdot_cannot_climb_out(root: Path) -> None:
    top = sorted(p.name for p in root.iterdir())
    assert names(root, "/../../..") == top
    assert names(root, "/srv/up") == top  # a link of ../../.. from /srv
    assert names(root, "/srv/up/etc") == sorted(["hosts", MARK])
    assert names(root, "/srv/app/deep_etc") == sorted(["hosts", MARK])


def test_absolute_link_to_a_host_only_path_is_missing(root: Path) -> None:
    assert Path("/usr").is_dir()  # on the host it exists
    with pytest.raises(FileNotFoundError):
        localfs.list_dir(str(root), "/host_only")


@pytest.mark.parametrize("path", ["/loop1", "/self", "/loop1/etc"])
def test_symlink_loops_error(root: Path, path: str) -> None:
    with pytest.raises(OSError, match="too many levels of symbolic links"):
        localfs.open_dir(str(root), path)


def test_not_a_directory(root: Path) -> None:
    with pytest.raises(localfs.NotADirectory):
        localfs.list_dir(str(root), "/file.txt")
    with pytest.raises(localfs.NotADirectory):
        localfs.list_dir(str(root), "/file_link")
    with pytest.raises(localfs.NotADirectory):
        localfs.list_dir(str(root), "/file.txt/sub")


def test_missing_directory(root: Path) -> None:
    with pytest.raises(FileNotFoundError):
        localfs.list_dir(str(root), "/nope")
    with pytest.raises(FileNotFoundError):
        localfs.list_dir(str(root), "/etc_link/nope")


def test_open_dir_returns_the_directory_inside_the_root(root: Path) -> None:
    fd = localfs.open_dir(str(root), "/x/etc_link")
    try:
        assert os.path.samestat(os.fstat(fd), os.stat(root / "etc"))
    finally:
        os.close(fd)


def test_root_may_itself_be_a_symlink(root: Path, tmp_path: Path) -> None:
    os.symlink(root, tmp_path / "proc_root")  # like /proc/<pid>/root
    assert names(tmp_path / "proc_root", "/etc_link") == sorted(["hosts", MARK])


def test_no_descriptor_leaks(root: Path) -> None:
    before = len(os.listdir("/proc/self/fd"))
    for path in ["/x/x/srv/app", "/srv/up/etc", "/loop1", "/nope", "/file.txt/x"]:
        with contextlib.suppress(OSError):
            localfs.list_dir(str(root), path)
    assert len(os.listdir("/proc/self/fd")) == before


def test_list_dir_entries(root: Path) -> None:
    entries = {e.name: e.stat for e in localfs.list_dir(str(root), "/")}
    assert entries["etc"].kind == "dir" and entries["etc"].path == "/etc"
    assert entries["etc_link"].kind == "symlink"
    assert entries["etc_link"].link_target == "/etc"
    assert entries["app"].link_target == "srv/app"
    assert entries["file.txt"].kind == "file" and entries["file.txt"].size == 1
    assert entries["file.txt"].uid == os.getuid()
    app = localfs.list_dir(str(root), "/app")[0]
    assert (app.name, app.stat.path, app.stat.mode) == ("app.py", "/app/app.py", 0o640)


def test_unlink_through_an_absolute_link_stays_in_the_root(root: Path) -> None:
    localfs.unlink(str(root), f"/etc_link/{MARK}")
    assert not (root / "etc" / MARK).exists()
    assert (root / "etc" / "hosts").exists()


def test_unlink_removes_the_link_not_its_target(root: Path) -> None:
    localfs.unlink(str(root), "/file_link")
    assert not (root / "file_link").is_symlink()
    assert (root / "file.txt").read_text() == "x"


def test_unlink_missing(root: Path) -> None:
    with pytest.raises(FileNotFoundError):
        localfs.unlink(str(root), "/etc/never-there")


def _whiteout(path: Path) -> None:
    os.mknod(path, stat.S_IFCHR | 0o000, os.makedev(0, 0))


def test_overlay_changes_list_what_the_engines_diff_lists(tmp_path: Path) -> None:
    """A writable layer over two image layers, with each kind of entry overlay2 makes."""
    top, base, upper = (tmp_path / n for n in ("top", "base", "upper"))
    for d in (base / "etc", base / "www", base / "tmp", base / "srv", top / "etc", upper):
        d.mkdir(parents=True, exist_ok=True, mode=0o755)
    for f in ("etc/a", "etc/b", "www/index.html", "www/old", "srv/x"):
        (base / f).write_text(f)
    _whiteout(top / "etc" / "b")  # the top image layer deleted /etc/b
    (upper / "etc").mkdir(mode=0o755)
    (upper / "etc" / "new").write_text("new")  # added
    _whiteout(upper / "etc" / "a")  # deleted by the container
    (upper / "tmp").mkdir(mode=0o755)  # copied up for a file since deleted: no change
    (upper / "srv").mkdir(mode=0o700)  # chmod 700 /srv: a change
    (upper / "www").mkdir(mode=0o755)  # rm -rf /www; mkdir /www; echo > /www/index.html
    os.setxattr(upper / "www", "trusted.overlay.opaque", b"y")
    (upper / "www" / "index.html").write_text("new")
    (upper / "www" / "link").symlink_to("/etc/passwd")  # an entry, never followed

    changes = localfs.overlay_changes(OverlayDirs(str(upper), (str(top), str(base))))
    assert changes.complete
    assert changes.paths == [
        "/etc", "/etc/a", "/etc/new", "/srv", "/www", "/www/index.html", "/www/link", "/www/old",
    ]  # fmt: skip


def test_overlay_changes_refuse_relative_directories() -> None:
    with pytest.raises(FileNotFoundError):
        localfs.overlay_changes(OverlayDirs("relative/upper", ()))


@pytest.fixture
def host_canary(tmp_path: Path) -> Path:
    """A host directory with a uniquely named file: a walk that lists it left the container."""
    canary = tmp_path / "host"
    canary.mkdir()
    (canary / MARK).write_text("host only\n")
    return canary


def test_overlay_walk_never_enters_a_symlink_of_the_image(
    tmp_path: Path, host_canary: Path
) -> None:
    """The image has ``/run`` → an absolute host path; the container made ``/run`` a new
    (opaque) directory. The image's entries are read through the layer, not the link."""
    base, upper = tmp_path / "base", tmp_path / "upper"
    base.mkdir()
    os.symlink(host_canary, base / "run")
    (upper / "run").mkdir(parents=True)
    os.setxattr(upper / "run", "trusted.overlay.opaque", b"y")
    changes = localfs.overlay_changes(OverlayDirs(str(upper), (str(base),)))
    assert changes.paths == ["/run"]


def test_overlay_walk_lists_a_symlink_of_the_writable_layer_as_an_entry(
    tmp_path: Path, host_canary: Path
) -> None:
    base, upper = tmp_path / "base", tmp_path / "upper"
    (base / "srv").mkdir(parents=True)
    upper.mkdir()
    os.symlink(host_canary, upper / "srv")  # rm -r /srv; ln -s /host/dir /srv
    changes = localfs.overlay_changes(OverlayDirs(str(upper), (str(base),)))
    assert changes.paths == ["/srv"]


def _writable_layer(tmp_path: Path, files: int) -> OverlayDirs:
    base, upper = tmp_path / "base", tmp_path / "upper"
    base.mkdir(parents=True)
    (upper / "many").mkdir(parents=True)
    for i in range(files):
        os.close(os.open(upper / "many" / str(i), os.O_CREAT | os.O_WRONLY, 0o644))
    return OverlayDirs(str(upper), (str(base),))


def test_overlay_walk_stops_at_its_entry_limit(tmp_path: Path) -> None:
    dirs = _writable_layer(tmp_path, 300)
    cut = localfs.overlay_changes(dirs, localfs.WalkLimit(entries=100, seconds=60))
    assert not cut.complete and cut.entries == 101 and len(cut.paths) == 100 - 1  # and /many
    whole = localfs.overlay_changes(dirs, localfs.WalkLimit(entries=301, seconds=60))
    assert whole.complete and len(whole.paths) == 301  # the files and /many


def test_overlay_walk_stops_at_its_time_limit(tmp_path: Path) -> None:
    dirs = _writable_layer(tmp_path, 10)
    cut = localfs.overlay_changes(dirs, localfs.WalkLimit(entries=10_000, seconds=0))
    assert not cut.complete and cut.entries == 1


def test_overlay_walk_stops_at_its_depth_limit(tmp_path: Path) -> None:
    base, upper = tmp_path / "base", tmp_path / "upper"
    base.mkdir()
    upper.mkdir()
    fd = os.open(upper, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(localfs.MAX_WALK_DEPTH + 20):  # deeper than PATH_MAX allows to name
        os.mkdir("d" * 100, dir_fd=fd)
        deeper = os.open("d" * 100, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = deeper
    os.close(fd)
    changes = localfs.overlay_changes(OverlayDirs(str(upper), (str(base),)))
    assert not changes.complete
    assert len(changes.paths) == localfs.MAX_WALK_DEPTH + 1
    assert _open_under(tmp_path) == []  # every directory it opened is closed again


def _open_under(directory: Path) -> list[str]:
    """What this process holds open below ``directory`` (other threads' descriptors come and
    go meanwhile, so a count of all of them would not tell)."""
    held = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # closed since the listing
        if target.startswith(str(directory)):
            held.append(target)
    return held


def test_read_never_opens_a_fifo(tmp_path: Path) -> None:
    """A FIFO's writer blocks in open() until a reader opens it: it must stay blocked."""
    os.mkfifo(tmp_path / "fifo")
    writer = threading.Thread(target=lambda: os.close(os.open(tmp_path / "fifo", os.O_WRONLY)))
    writer.start()
    try:
        with pytest.raises(localfs.NotARegularFile) as refused:
            localfs.read(str(tmp_path), "/fifo")
        assert refused.value.kind == "fifo"
        writer.join(timeout=0.3)
        assert writer.is_alive(), "read opened the FIFO"
    finally:
        os.close(os.open(tmp_path / "fifo", os.O_RDONLY | os.O_NONBLOCK))  # frees the writer
        writer.join(timeout=5)


@pytest.mark.parametrize(("path", "kind"), [("/file_link", "symlink"), ("/etc", "dir")])
def test_read_refuses_what_is_no_regular_file(root: Path, path: str, kind: str) -> None:
    with pytest.raises(localfs.NotARegularFile) as refused:
        localfs.read(str(root), path)
    assert refused.value.kind == kind


def test_read_refuses_a_file_above_its_limit(root: Path) -> None:
    assert localfs.read(str(root), "/srv/app/app.py", max_size=9).data == b"print(1)\n"
    with pytest.raises(localfs.AboveLimit) as refused:
        localfs.read(str(root), "/srv/app/app.py", max_size=8)
    assert (refused.value.size, refused.value.limit) == (9, 8)


def test_read_stops_at_its_limit_whatever_the_stat_said() -> None:
    """A file that says it is empty (as /proc's do) but gives more is cut at limit + 1."""
    assert os.stat("/proc/self/status").st_size == 0
    with pytest.raises(localfs.AboveLimit) as refused:
        localfs.read("/", "/proc/self/status", max_size=16)
    assert refused.value.size is None
    assert localfs.read("/", "/proc/self/status").data.startswith(b"Name:")
