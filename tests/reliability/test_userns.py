"""User-namespaced containers: a dockerd of this module's own with ``--userns-remap=default``.

Container uid 0 is host uid START (``dockremap``'s range in /etc/subuid, made by
``tests/reliability/userns.py`` when missing), so the owner seen inside a container and the
one on the host differ. Checked on a container running as root and one with a non-root USER:
reading, writing (owner and mode as seen *inside*, ``docker exec stat``), checkpoint + diff +
revert, conflicts with ``docker exec``, a stopped container, ``hotfix commit``; and that the
local ``/proc/<pid>/root`` path is refused for them (host owners), so that everything goes
through the archive API.

The engine starts in well under a second (plus ~0.3 s to load the busybox image): it is
started once for this module, stopped and deleted after it. It fails, never skips, when it
cannot start. The last tests of this file are not xfail ones: a failure of the module's
teardown (stopping the engine) is reported on the last test, and an xfail would hide it.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from hotfix.docker import engine as engine_module
from hotfix.docker import localfs
from hotfix.docker.engine import Engine
from hotfix.service.files import HotfixService
from hotfix.store.state import StateStore
from tests.conftest import CliResult
from tests.fleet.engines import EngineError
from tests.reliability import userns

pytestmark = pytest.mark.engine

Hotfix = Callable[..., CliResult]

BUSYBOX = "hotfix-test/busybox:1"


@pytest.fixture(scope="module")
def ns_engine(
    docker_client: docker.DockerClient, images: dict[str, str]
) -> Iterator[userns.UsernsEngine]:
    """``dockerd --userns-remap=default`` with the busybox test image; deleted at the end."""
    try:
        engine = userns.start()
    except EngineError as exc:
        pytest.fail(f"user-namespaced engine: {exc}", pytrace=False)
    try:
        engine.load_image(images["busybox"], docker_client)
        yield engine
    finally:
        engine.close_clients()
        said: list[str] = []
        try:
            userns.stop(engine.dir, log=said.append)
        except EngineError as exc:
            pytest.fail(f"stopping the user-namespaced engine: {exc} {said}", pytrace=False)


@pytest.fixture(scope="module")
def ns_client(ns_engine: userns.UsernsEngine) -> docker.DockerClient:
    return ns_engine.client(timeout=30)


@dataclass
class Box:
    """A container on the remapped engine and one file in it, with its owner inside."""

    kind: str
    container: Any
    path: str
    uid: int
    gid: int
    mode: int
    content: bytes

    @property
    def name(self) -> str:
        return str(self.container.name)

    @property
    def target(self) -> str:
        return f"{self.name}:{self.path}"

    def exec(self, script: str, user: str = "") -> str:
        """``sh -c SCRIPT`` in the container, as its own user unless ``user`` says."""
        code, out = self.container.exec_run(["sh", "-c", script], user=user)
        text = str(out.decode("utf-8", "replace"))
        assert code == 0, f"sh -c {script!r} failed ({code}): {text}"
        return text

    def inside(self, path: str | None = None) -> tuple[str, bytes]:
        """``uid:gid:mode`` and content of the file as the container sees them."""
        script = 'stat -c %u:%g:%a "$1" && cat "$1"'
        code, out = self.container.exec_run(["sh", "-c", script, "sh", path or self.path], user="0")
        assert code == 0, out
        owner, _, data = bytes(out).partition(b"\n")
        return owner.decode(), data

    def owner(self, path: str) -> str:
        """``uid:gid:mode`` of any path as the container sees it."""
        code, out = self.container.exec_run(["stat", "-c", "%u:%g:%a", path], user="0")
        assert code == 0, out
        return str(out.decode().strip())

    @property
    def expected(self) -> str:
        return f"{self.uid}:{self.gid}:{self.mode:o}"


# kind: (run kwargs, file, uid, gid, mode). The root container's file: uid 0 with another
# group; the non-root container's: made by its own user in its home directory.
KINDS: dict[str, tuple[dict[str, Any], str, int, int, int]] = {
    "root": ({}, "/etc/app.conf", 0, 33, 0o640),
    "nonroot": (
        {"user": "1000:1000", "command": ["sleep", "3600"]},
        "/home/app/app.conf",
        1000,
        1000,
        0o600,
    ),
}


def _run(client: docker.DockerClient, kind: str, **extra: Any) -> Any:
    return client.containers.run(
        BUSYBOX,
        name=f"hfx-userns-{kind}-{uuid.uuid4().hex[:6]}",
        detach=True,
        **{**KINDS[kind][0], **extra},
    )


@pytest.fixture(scope="module")
def shared_containers(ns_client: docker.DockerClient) -> dict[str, Any]:
    """One running container per kind for the tests that neither stop nor reconfigure it
    (each test has a file of its own in it); removed with the engine."""
    return {kind: _run(ns_client, kind) for kind in KINDS}


@pytest.fixture
def make_box(
    ns_client: docker.DockerClient, shared_containers: dict[str, Any]
) -> Iterator[Callable[..., Box]]:
    """``make_box(kind)``: a new file in the shared container of that kind;
    ``make_box(kind, own=True, **run_kwargs)``: in a container of its own (removed after)."""
    made: list[Any] = []

    def make(kind: str, own: bool = False, **extra: Any) -> Box:
        _, path, uid, gid, mode = KINDS[kind]
        if own or extra:
            container = _run(ns_client, kind, **extra)
            made.append(container)
        else:
            container = shared_containers[kind]
            path = path.replace(".conf", f"-{uuid.uuid4().hex[:8]}.conf")
        content = f"setting = 1  # {kind}\n".encode()
        box = Box(kind, container, path, uid, gid, mode, content)
        # Made by the container's user (root's file then given another group).
        chgrp = f" && chgrp {gid} {path}" if kind == "root" else ""
        box.exec(f"printf '{content.decode()}' > {path} && chmod {mode:o} {path}{chgrp}")
        assert box.inside() == (box.expected, content)
        return box

    yield make
    for container in made:
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)


@pytest.fixture
def cli(hotfix: Hotfix, ns_engine: userns.UsernsEngine) -> Callable[..., CliResult]:
    """The ``hotfix`` CLI with DOCKER_HOST on the remapped engine (``local=False``: archive)."""

    def run(*args: str, input: bytes | None = None, local: bool = True) -> CliResult:
        env = ns_engine.env()
        if not local:
            env["HOTFIX_LOCAL_FS"] = "0"
        return hotfix(*args, input=input, env=env)

    return run


@pytest.fixture
def localfs_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every call to the local path (``hotfix.docker.localfs``) in this process, by name."""
    calls: list[str] = []
    for name in ("lstat", "read", "write", "list_dir", "unlink", "open_dir"):
        real = getattr(localfs, name)

        def spy(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            calls.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(localfs, name, spy)
    return calls


@pytest.fixture
def ns_service(
    ns_client: docker.DockerClient, state_dir: Path
) -> Iterator[Callable[..., HotfixService]]:
    stores: list[StateStore] = []

    def make(local_fs: bool | None = None) -> HotfixService:
        """``local_fs=None``: as ``HOTFIX_LOCAL_FS`` says (the local path unless it is 0)."""
        store = StateStore(state_dir)
        stores.append(store)
        return HotfixService(Engine(ns_client, local_fs=local_fs), store, user="tester")

    yield make
    for store in stores:
        store.close()


def host_owner(box: Box) -> tuple[int, int]:
    """The file's owner as the host sees it (through the container's /proc/<pid>/root)."""
    box.container.reload()
    st = Path(f"/proc/{box.container.attrs['State']['Pid']}/root{box.path}").stat()
    return st.st_uid, st.st_gid


# --------------------------------------------------------------------------- the engine


@pytest.mark.parametrize("kind", KINDS)
def test_containers_are_remapped_and_the_local_path_is_refused(
    kind: str, make_box: Callable[..., Box], ns_engine: userns.UsernsEngine, ns_client: Any
) -> None:
    box = make_box(kind)
    box.container.reload()
    pid = box.container.attrs["State"]["Pid"]
    remap = ns_engine.remap
    assert Path(f"/proc/{pid}/uid_map").read_text().split() == ["0", str(remap.uid), "65536"]
    assert host_owner(box) == (remap.host_uid(box.uid), remap.host_gid(box.gid))
    assert box.exec("id -u").strip() == str(box.uid)
    assert engine_module.local_root(Engine(ns_client).inspect(box.name).info) is None


def test_the_local_path_spy_sees_a_host_userns_container(
    make_box: Callable[..., Box],
    ns_service: Callable[..., HotfixService],
    localfs_calls: list[str],
) -> None:
    """The control of the ``localfs_calls == []`` checks: ``--userns=host`` on the same
    engine is not remapped, so the local path is taken — and the spy sees it."""
    box = make_box("root", userns_mode="host")
    assert ns_service(local_fs=True).read(box.name, box.path).data == box.content
    assert "read" in localfs_calls


# --------------------------------------------------------------------------- reading


@pytest.mark.parametrize("kind", KINDS)
def test_reads_never_use_the_local_path(
    kind: str,
    make_box: Callable[..., Box],
    ns_service: Callable[..., HotfixService],
    localfs_calls: list[str],
) -> None:
    box = make_box(kind)
    svc = ns_service(local_fs=True)
    read = svc.read(box.name, box.path)
    assert read.data == box.content and read.stat.mode & 0o7777 == box.mode
    folder, name = box.path.rsplit("/", 1)
    assert name in [e.name for e in svc.list_dir(box.name, folder)]
    assert localfs_calls == []


@pytest.mark.parametrize("kind", KINDS)
def test_cat_and_ls_of_a_stopped_container(
    kind: str, make_box: Callable[..., Box], cli: Any, ns_service: Callable[..., HotfixService]
) -> None:
    box = make_box(kind, own=True)
    box.container.kill()
    box.container.wait(timeout=10)
    cat = cli("cat", box.target)
    assert (cat.code, cat.stdout.encode()) == (0, box.content), cat.stderr
    folder, name = box.path.rsplit("/", 1)
    assert name in [e.name for e in ns_service().list_dir(box.name, folder)]


@pytest.mark.parametrize("kind", KINDS)
def test_owners_are_reported_as_the_container_sees_them(
    kind: str, make_box: Callable[..., Box], cli: Any, ns_service: Callable[..., HotfixService]
) -> None:
    box = make_box(kind)
    stat = ns_service(local_fs=True).read(box.name, box.path).stat
    folder, name = box.path.rsplit("/", 1)
    listed = cli("ls", "--json", f"{box.name}:{folder}").json()["entries"]
    entry = next(e for e in listed if e["name"] == name)
    assert (stat.uid, stat.gid) == (entry["uid"], entry["gid"]) == (box.uid, box.gid)


# --------------------------------------------------------------------------- writing


@pytest.mark.parametrize("kind", KINDS)
def test_checkpoint_write_diff_revert_keep_owner_and_mode(
    kind: str, make_box: Callable[..., Box], cli: Any
) -> None:
    """The CLI as on call would use it: checkpoint, write, diff, revert."""
    box = make_box(kind)
    new = box.content + b"fixed = true\n"
    try:
        taken = cli("checkpoint", "--json", box.target)
        assert taken.code == 0, taken.stderr
        checkpoint = taken.json()["checkpoints"][0]
        wrote = cli("write", box.target, "--base-version", checkpoint["version"], input=new)
        assert wrote.code == 0, wrote.stderr
        assert box.inside() == (box.expected, new)
        diff = cli("diff", box.name)
        assert diff.code == 0 and "+fixed = true" in diff.stdout, diff.stdout + diff.stderr
        reverted = cli("revert", box.name)
        assert reverted.code == 0, reverted.stderr
        assert box.inside() == (box.expected, box.content)
        assert (checkpoint["uid"], checkpoint["gid"]) == (box.uid, box.gid)
    finally:
        # Whatever else happened, the file must still be there (the Engine removes it first).
        assert box.inside()[1] in (new, box.content)


@pytest.mark.parametrize("path", ["local", "archive"])
@pytest.mark.parametrize("kind", KINDS)
def test_service_round_trip_never_uses_the_local_path(
    kind: str,
    path: str,
    make_box: Callable[..., Box],
    ns_service: Callable[..., HotfixService],
    localfs_calls: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In process, the local path allowed (the default) or not (``HOTFIX_LOCAL_FS=0``):
    checkpoint, write, a new file, diff, revert — none through /proc/<pid>/root."""
    if path == "archive":
        monkeypatch.setenv("HOTFIX_LOCAL_FS", "0")
    box = make_box(kind)
    svc = ns_service()
    assert svc.engine.local_fs is (path == "local")
    (checkpoint,) = svc.checkpoint(box.name, [box.path])
    assert (checkpoint.uid, checkpoint.gid, checkpoint.mode) == (box.uid, box.gid, box.mode)
    svc.write(box.name, box.path, box.content + b"x = 2\n", base_version=checkpoint.version)
    assert box.inside() == (box.expected, box.content + b"x = 2\n")
    # A new file takes its directory's owner (as the container sees it) and mode 0644.
    folder = box.path.rsplit("/", 1)[0]
    created = f"{folder}/new-{uuid.uuid4().hex[:8]}.conf"
    svc.write(box.name, created, b"new\n")
    dir_owner = box.owner(folder).rsplit(":", 1)[0]
    assert box.inside(created) == (f"{dir_owner}:644", b"new\n")
    assert "+x = 2" in svc.diff(box.name, box.path)
    svc.revert(box.name)
    assert box.inside() == (box.expected, box.content)
    code, _ = box.container.exec_run(["test", "-e", created])
    assert code == 1, "the revert did not delete the file the hotfix created"
    assert localfs_calls == []


@pytest.mark.parametrize("kind", KINDS)
def test_write_and_revert_a_stopped_container(
    kind: str, make_box: Callable[..., Box], cli: Any, ns_engine: userns.UsernsEngine
) -> None:
    box = make_box(kind, own=True)
    box.container.kill()
    box.container.wait(timeout=10)
    box.container.reload()
    # The container's writable layer, seen from the host: owners are remapped ones there.
    upper = Path(box.container.attrs["GraphDriver"]["Data"]["UpperDir"] + box.path)
    new = box.content + b"stopped = true\n"
    wrote = cli("write", box.target, input=new)
    assert wrote.code == 0, wrote.stderr
    st = upper.stat()
    remap = ns_engine.remap
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (
        remap.host_uid(box.uid),
        remap.host_gid(box.gid),
        box.mode,
    )
    assert upper.read_bytes() == new
    reverted = cli("revert", box.name)
    assert reverted.code == 0, reverted.stderr
    box.container.start()
    assert box.inside() == (box.expected, box.content)


# --------------------------------------------------------------------------- commit


def test_clean_commit_keeps_owner_and_mode(
    make_box: Callable[..., Box],
    cli: Any,
    ns_client: docker.DockerClient,
    ns_service: Callable[..., HotfixService],
) -> None:
    box = make_box("nonroot")
    new = box.content + b"committed = true\n"
    ns_service().write(box.name, box.path, new)
    tag = f"hotfix-test/userns:{uuid.uuid4().hex[:8]}"
    committed = cli("commit", box.name, "--tag", tag)
    try:
        assert committed.code == 0, committed.stdout + committed.stderr
        script = f"stat -c %u:%g:%a {box.path} && cat {box.path}"
        out = ns_client.containers.run(tag, ["sh", "-c", script], remove=True)
        assert out == f"{box.expected}\n".encode() + new
    finally:
        with contextlib.suppress(docker.errors.ImageNotFound):
            ns_client.images.remove(tag, force=True)


# --------------------------------------------------------------------------- conflicts


@pytest.mark.parametrize("kind", KINDS)
def test_conflict_with_an_exec_append(
    kind: str,
    make_box: Callable[..., Box],
    cli: Any,
    ns_service: Callable[..., HotfixService],
    state_dir: Path,
) -> None:
    box = make_box(kind)
    version = ns_service().read(box.name, box.path).version  # what an editor would have read
    box.exec(f"echo x >> {box.path}")  # as the container's user
    wrote = cli("write", box.target, "--base-version", version, input=b"mine\n")
    assert wrote.code == 3, wrote.stdout + wrote.stderr
    assert "changed in the container" in wrote.stderr
    assert box.inside() == (box.expected, box.content + b"x\n")
    store = StateStore(state_dir)
    try:
        assert [cp for cp in store.checkpoints(box.container.id) if cp.path == box.path] == []
    finally:
        store.close()
