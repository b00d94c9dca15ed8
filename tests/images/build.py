"""Build the test images locally (no registry), cached by recipe.

    python tests/images/build.py          # build what is missing, print refs + timings
    python tests/images/build.py --services  # also the real servers (nginx, gunicorn, node)
    HOTFIX_REBUILD_IMAGES=1 python ...    # rebuild the images (reuse cached rootfs tarballs)
    HOTFIX_REBUILD_IMAGES=all python ...  # also redo the rootfs tarballs (debootstrap again)

From the tests: ``from tests.images.build import ensure_images`` (and
``ensure_service_images``, which only the tests that use those servers call).

Every image carries the label ``hotfix.test.recipe=<sha256 of its recipe inputs>``; an image
whose label matches is not touched. Rootfs tarballs are cached under
``/var/cache/container-hotfix/`` (``$HOTFIX_IMAGE_CACHE``) keyed by the same kind of hash.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import docker
import docker.errors

HERE = Path(__file__).resolve().parent
PROD_DIR = HERE / "my_prod_service"

RECIPE_LABEL = "hotfix.test.recipe"
# Bump to force every image (and rootfs tarball) to be rebuilt after a change of this file
# that alters what gets built.
RECIPE_VERSION = 1

BUSYBOX_REF = "hotfix-test/busybox:1"
NOSHELL_REF = "hotfix-test/noshell:1"
PROD_BASE_REF = "my_prod_service:base"
PROD_REF = "my_prod_service:v1.0.0"

BUSYBOX_BIN = Path("/bin/busybox")  # from Debian's busybox-static
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Applets linked into /bin of hotfix-test/busybox (the binary has ~300; these are enough).
BUSYBOX_APPLETS = sorted(
    {
        *("sh", "ash", "ls", "cat", "echo", "sleep", "httpd", "sed", "rm", "mkdir", "rmdir"),
        *("chmod", "chown", "chgrp", "touch", "id", "stat", "true", "false", "kill", "killall"),
        *("wc", "head", "tail", "grep", "egrep", "fgrep", "env", "cp", "mv", "ln", "find"),
        *("xargs", "ps", "pwd", "printf", "test", "[", "[[", "readlink", "realpath", "basename"),
        *("dirname", "date", "du", "df", "hostname", "uname", "whoami", "sort", "uniq", "tr"),
        *("cut", "diff", "patch", "md5sum", "sha256sum", "tee", "awk", "tar", "gzip", "gunzip"),
        *("vi", "wget", "nc", "mktemp", "dd", "mkfifo", "pidof", "usleep", "seq", "timeout"),
        *("sync", "less", "more", "which"),
    }
)

BUSYBOX_INDEX = b"<html><body><h1>hotfix-test busybox</h1></body></html>\n"
NOSHELL_INDEX = b"<html><body><h1>hotfix-test noshell</h1></body></html>\n"

DEBOOTSTRAP = {
    "suite": "bookworm",
    "variant": "minbase",
    "include": ["python3-minimal", "uwsgi-core", "uwsgi-plugin-python3"],
}
# Left out of the rootfs tarball: downloaded .debs and apt lists (about 60 MB, never used).
ROOTFS_EXCLUDES = [
    "./var/cache/apt/archives/*.deb",
    "./var/cache/apt/*.bin",
    "./var/lib/apt/lists/*",
    "./proc/*",
    "./sys/*",
]

# The real servers of tests/live: one Debian root shared by the three images. Measured: one
# combined root is far smaller than three separate ones (tests/images/README.md).
SERVICES_DIR = HERE / "services"
SERVICES_BASE_REF = "hotfix-test/services-base:1"
SERVICE_REFS = {
    "nginx": "hotfix-test/nginx:1",
    "gunicorn": "hotfix-test/gunicorn:1",
    "node": "hotfix-test/node:1",
}
SERVICES_DEBOOTSTRAP = {
    "suite": "bookworm",
    "variant": "minbase",
    "include": ["nginx-light", "gunicorn", "python3-flask", "nodejs"],
}

Log = Callable[[str], Any]


# --------------------------------------------------------------------------- helpers


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _recipe_hash(recipe: dict[str, Any]) -> str:
    blob = json.dumps({"v": RECIPE_VERSION, **recipe}, sort_keys=True).encode()
    return _sha256_bytes(blob)


def _rebuild_mode() -> str:
    """'' (use caches), 'images' (rebuild images) or 'all' (also redo rootfs tarballs)."""
    value = os.environ.get("HOTFIX_REBUILD_IMAGES", "").strip().lower()
    if value in ("", "0", "no", "false"):
        return ""
    return "all" if value in ("all", "rootfs", "2") else "images"


def cache_dir() -> Path:
    env = os.environ.get("HOTFIX_IMAGE_CACHE")
    if env:
        path = Path(env)
    elif os.geteuid() == 0:
        path = Path("/var/cache/container-hotfix")
    else:
        path = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "container-hotfix"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def _build_lock(log: Log) -> Iterator[None]:
    """Serialise builders on this machine (tests may run in parallel)."""
    lock_path = cache_dir() / ".build.lock"
    with lock_path.open("a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log("[images] another build holds the lock; waiting")
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


_apt_updated = False


def _apt_install(packages: list[str], log: Log) -> None:
    global _apt_updated
    if os.geteuid() != 0 or not Path("/etc/debian_version").exists():
        raise RuntimeError(
            f"need the Debian packages {' '.join(packages)}; install them (as root) and rerun"
        )
    t0 = time.monotonic()
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if not _apt_updated:
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        _apt_updated = True
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    log(f"[images] apt-get install {' '.join(packages)}: {time.monotonic() - t0:.1f} s")


def _is_static_elf(path: Path) -> bool:
    """True for an ELF executable without a program interpreter (PT_INTERP)."""
    try:
        data = path.read_bytes()
    except OSError:
        return False
    if data[:4] != b"\x7fELF" or data[4] != 2:  # 64-bit only; all we need here
        return False
    end = "<" if data[5] == 1 else ">"
    (phoff,) = struct.unpack_from(end + "Q", data, 0x20)
    phentsize, phnum = struct.unpack_from(end + "HH", data, 0x36)
    for i in range(phnum):
        (p_type,) = struct.unpack_from(end + "I", data, phoff + i * phentsize)
        if p_type == 3:  # PT_INTERP: dynamically linked
            return False
    return True


def _static_busybox(log: Log) -> Path:
    if not _is_static_elf(BUSYBOX_BIN):
        _apt_install(["busybox-static"], log)
    if not _is_static_elf(BUSYBOX_BIN):
        raise RuntimeError(f"{BUSYBOX_BIN} is not a static busybox even after apt-get install")
    return BUSYBOX_BIN


def debian_mirror() -> str:
    """The Debian mirror apt uses on this machine ($HOTFIX_DEBIAN_MIRROR overrides)."""
    env = os.environ.get("HOTFIX_DEBIAN_MIRROR")
    if env:
        return env
    candidates: list[str] = []
    for src in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        for stanza in re.split(r"\n\s*\n", src.read_text(errors="replace")):
            fields: dict[str, str] = {}
            for line in stanza.splitlines():
                if ":" in line and not line.lstrip().startswith("#"):
                    key, _, value = line.partition(":")
                    fields[key.strip().lower()] = value.strip()
            if "deb" not in fields.get("types", "").split():
                continue
            suites = fields.get("suites", "").split()
            if any("security" in s for s in suites) or not suites:
                continue
            candidates += fields.get("uris", "").split()
    lists = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*.list"))]
    for lst in lists:
        if not lst.exists():
            continue
        for line in lst.read_text(errors="replace").splitlines():
            parts = line.split("#", 1)[0].split()
            if len(parts) >= 3 and parts[0] == "deb":
                rest = [p for p in parts[1:] if not p.startswith("[")]
                if len(rest) >= 2 and "security" not in rest[1]:
                    candidates.append(rest[0])
    for uri in candidates:
        if uri.startswith(("http://", "https://")) and "security" not in uri:
            return uri.rstrip("/")
    return "http://deb.debian.org/debian"


# --------------------------------------------------------------------------- docker


def _image_recipe(client: docker.DockerClient, ref: str) -> str | None:
    try:
        image = client.images.get(ref)
    except docker.errors.ImageNotFound:
        return None
    return (image.labels or {}).get(RECIPE_LABEL)


def _image_id(client: docker.DockerClient, ref: str) -> str | None:
    try:
        return str(client.images.get(ref).id)
    except docker.errors.ImageNotFound:
        return None


def _drop_if_dangling(client: docker.DockerClient, image_id: str | None, log: Log) -> None:
    """Remove the image a rebuild replaced, if nothing refers to it any more."""
    if not image_id:
        return
    try:
        if client.images.get(image_id).tags:
            return
        client.images.remove(image_id)
        log(f"[images]   removed the replaced image {image_id[:19]}")
    except docker.errors.APIError:
        pass  # still used by a container or as a parent: leave it


def _import_tarball(
    client: docker.DockerClient, tarball: Path, ref: str, changes: list[str]
) -> str:
    repository, _, tag = ref.rpartition(":")
    with tarball.open("rb") as f:
        result = client.api.import_image(src=f, repository=repository, tag=tag, changes=changes)
    image_id = None
    for line in str(result).splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if "error" in msg or "errorDetail" in msg:
            raise RuntimeError(f"docker import {ref}: {msg.get('error') or msg['errorDetail']}")
        status = msg.get("status", "")
        if status.startswith("sha256:"):
            image_id = status
    if image_id is None:
        raise RuntimeError(f"docker import {ref}: no image id in the answer: {result!r}")
    # Podman's import (4.3) names the image REPOSITORY:latest, whatever the tag asked for.
    client.images.get(image_id).tag(repository, tag)
    return image_id


def _import_changes(recipe: str, cmd: list[str] | None, extra: Sequence[str] = ()) -> list[str]:
    changes = [f"ENV PATH={DEFAULT_PATH}", f"LABEL {RECIPE_LABEL}={recipe}", *extra]
    if cmd is not None:
        changes.append("CMD " + json.dumps(cmd))
    return changes


# --------------------------------------------------------------------------- rootfs tars


class _TarWriter:
    """Builds a rootfs tar in memory: root-owned entries unless told otherwise."""

    def __init__(self) -> None:
        self.buf = io.BytesIO()
        self.tar = tarfile.TarFile(fileobj=self.buf, mode="w", format=tarfile.GNU_FORMAT)
        self.mtime = 1_700_000_000  # fixed: same inputs, same bytes

    def _info(self, name: str, kind: bytes, mode: int, uid: int, gid: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.type = kind
        info.mode = mode
        info.uid, info.gid = uid, gid
        info.uname = info.gname = ""
        info.mtime = self.mtime
        return info

    def dir(self, name: str, mode: int = 0o755, uid: int = 0, gid: int = 0) -> None:
        self.tar.addfile(self._info(name, tarfile.DIRTYPE, mode, uid, gid))

    def file(self, name: str, data: bytes, mode: int = 0o644, uid: int = 0, gid: int = 0) -> None:
        info = self._info(name, tarfile.REGTYPE, mode, uid, gid)
        info.size = len(data)
        self.tar.addfile(info, io.BytesIO(data))

    def symlink(self, name: str, target: str) -> None:
        info = self._info(name, tarfile.SYMTYPE, 0o777, 0, 0)
        info.linkname = target
        self.tar.addfile(info)

    def bytes(self) -> bytes:
        self.tar.close()
        return self.buf.getvalue()


def _busybox_rootfs(busybox: bytes) -> bytes:
    t = _TarWriter()
    for d in ("bin", "sbin", "etc", "root", "home", "usr", "usr/bin", "var", "www"):
        t.dir(d, 0o700 if d == "root" else 0o755)
    t.dir("tmp", 0o1777)
    t.dir("home/app", 0o755, 1000, 1000)
    t.file("bin/busybox", busybox, 0o755)
    for applet in BUSYBOX_APPLETS:
        if applet != "busybox":
            t.symlink(f"bin/{applet}", "busybox")
    t.file(
        "etc/passwd",
        b"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n",
    )
    t.file("etc/group", b"root:x:0:\napp:x:1000:\n")
    t.file("www/index.html", BUSYBOX_INDEX)
    return t.bytes()


def _noshell_rootfs(busybox: bytes) -> bytes:
    # Like distroless: no shell, only the service binary (busybox picks its applet by argv[0]).
    t = _TarWriter()
    for d in ("etc", "www"):
        t.dir(d)
    t.dir("tmp", 0o1777)
    t.file("httpd", busybox, 0o755)
    t.file(
        "etc/passwd",
        b"root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n",
    )
    t.file("etc/group", b"root:x:0:\nnonroot:x:65532:\n")
    t.file("www/index.html", NOSHELL_INDEX)
    return t.bytes()


def _cached_tarball(name: str, recipe: str, make: Callable[[Path], None], log: Log) -> Path:
    """Path of the cached rootfs tarball ``NAME-RECIPE.tar``, made with ``make(tmp)`` if needed."""
    path = cache_dir() / f"{name}-{recipe[:16]}.tar"
    if path.exists() and _rebuild_mode() != "all":
        return path
    tmp = path.with_suffix(".tar.tmp")
    tmp.unlink(missing_ok=True)
    t0 = time.monotonic()
    make(tmp)
    os.replace(tmp, path)
    size = path.stat().st_size / 1e6
    log(f"[images]   rootfs {path.name}: {size:.1f} MB in {time.monotonic() - t0:.1f} s")
    # Older tarballs of the same name are stale now.
    for old in path.parent.glob(f"{name}-*.tar"):
        if old != path:
            old.unlink(missing_ok=True)
    return path


# --------------------------------------------------------------------------- images


def _ensure_tar_image(
    client: docker.DockerClient,
    ref: str,
    name: str,
    recipe_inputs: dict[str, Any],
    rootfs: Callable[[], bytes],
    cmd: list[str],
    log: Log,
) -> None:
    recipe = _recipe_hash(recipe_inputs)
    if _rebuild_mode() == "" and _image_recipe(client, ref) == recipe:
        log(f"[images] {ref}: up to date")
        return
    t0 = time.monotonic()
    old = _image_id(client, ref)
    tarball = _cached_tarball(name, recipe, lambda tmp: tmp.write_bytes(rootfs()), log)
    _import_tarball(client, tarball, ref, _import_changes(recipe, cmd))
    _drop_if_dangling(client, old, log)
    log(f"[images] {ref}: built in {time.monotonic() - t0:.1f} s")


def _ensure_busybox_images(client: docker.DockerClient, log: Log) -> None:
    busybox_path = _static_busybox(log)
    busybox = busybox_path.read_bytes()
    bb_hash = _sha256_bytes(busybox)
    _ensure_tar_image(
        client,
        BUSYBOX_REF,
        "busybox",
        {
            "busybox": bb_hash,
            "applets": BUSYBOX_APPLETS,
            "index": _sha256_bytes(BUSYBOX_INDEX),
            "layout": 1,
        },
        lambda: _busybox_rootfs(busybox),
        ["/bin/httpd", "-f", "-p", "8080", "-h", "/www"],
        log,
    )
    _ensure_tar_image(
        client,
        NOSHELL_REF,
        "noshell",
        {"busybox": bb_hash, "index": _sha256_bytes(NOSHELL_INDEX), "layout": 1},
        lambda: _noshell_rootfs(busybox),
        ["/httpd", "-f", "-p", "8080", "-h", "/www"],
        log,
    )


def _mounts_under(root: Path) -> list[str]:
    prefix = str(root.resolve()) + "/"
    mounts = []
    with open("/proc/mounts") as f:
        for line in f:
            target = line.split()[1].replace("\\040", " ")
            if target.startswith(prefix):
                mounts.append(target)
    return sorted(mounts, key=len, reverse=True)


def _remove_tree(root: Path) -> None:
    """rm -rf a chroot, after unmounting whatever a killed debootstrap left mounted in it."""
    if not root.exists():
        return
    for target in _mounts_under(root):
        subprocess.run(["umount", "-l", target], check=False)
    if _mounts_under(root):
        raise RuntimeError(f"{root} still has mounts; not deleting it")
    shutil.rmtree(root)


def _stop_chroot_daemons(root: Path, log: Log) -> None:
    """Kill what a package's postinst started inside the new root (a server's init script):
    it would keep a port of the host and keep the root busy."""
    real_root = str(root.resolve())
    for proc_dir in Path("/proc").iterdir():
        if not proc_dir.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if os.readlink(proc_dir / "root") == real_root:
                log(f"[images]   stopping pid {proc_dir.name}, started in the new root")
                os.kill(int(proc_dir.name), 9)


def _debootstrap_tarball(
    tmp: Path,
    mirror: str,
    log: Log,
    spec: dict[str, Any] = DEBOOTSTRAP,
    name: str = "prod-base",
) -> None:
    if os.geteuid() != 0:
        raise RuntimeError(f"debootstrap needs root (the {name} rootfs)")
    if shutil.which("debootstrap") is None:
        _apt_install(["debootstrap"], log)
    root = tmp.parent / "work" / f"{name}-root"
    _remove_tree(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    log(f"[images]   debootstrap {spec['suite']} from {mirror} (about 35-90 s)")
    cmd = [
        "debootstrap",
        f"--variant={spec['variant']}",
        "--include=" + ",".join(spec["include"]),
        spec["suite"],
        str(root),
        mirror,
    ]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-30:])
        log_file = root / "debootstrap" / "debootstrap.log"
        if log_file.exists():
            tail += "\n--- debootstrap.log ---\n" + "\n".join(
                log_file.read_text(errors="replace").splitlines()[-30:]
            )
        raise RuntimeError(f"debootstrap failed ({proc.returncode}):\n{tail}")
    log(f"[images]   debootstrap: {time.monotonic() - t0:.1f} s")
    _stop_chroot_daemons(root, log)
    try:
        t1 = time.monotonic()
        excludes = [f"--exclude={pattern}" for pattern in ROOTFS_EXCLUDES]
        subprocess.run(
            [
                "tar",
                "--numeric-owner",
                "--xattrs",
                "-C",
                str(root),
                "-cf",
                str(tmp),
                *excludes,
                ".",
            ],
            check=True,
        )
        log(f"[images]   tar: {time.monotonic() - t1:.1f} s")
    finally:
        _remove_tree(root)


def _ensure_prod_images(client: docker.DockerClient, log: Log) -> None:
    # --- my_prod_service:base: debootstrap rootfs, imported
    base_recipe = _recipe_hash({"debootstrap": DEBOOTSTRAP, "excludes": ROOTFS_EXCLUDES})
    if _rebuild_mode() == "" and _image_recipe(client, PROD_BASE_REF) == base_recipe:
        log(f"[images] {PROD_BASE_REF}: up to date")
    else:
        t0 = time.monotonic()
        old = _image_id(client, PROD_BASE_REF)
        mirror = debian_mirror()
        tarball = _cached_tarball(
            "prod-base", base_recipe, lambda tmp: _debootstrap_tarball(tmp, mirror, log), log
        )
        t1 = time.monotonic()
        _import_tarball(
            client, tarball, PROD_BASE_REF, _import_changes(base_recipe, None, ["ENV LANG=C.UTF-8"])
        )
        log(f"[images]   import: {time.monotonic() - t1:.1f} s")
        _drop_if_dangling(client, old, log)
        log(f"[images] {PROD_BASE_REF}: built in {time.monotonic() - t0:.1f} s")

    # --- my_prod_service:v1.0.0: docker build of tests/images/my_prod_service/
    recipe = _recipe_hash(
        {
            "base": base_recipe,
            "Dockerfile": _sha256_file(PROD_DIR / "Dockerfile"),
            "app.py": _sha256_file(PROD_DIR / "app.py"),
        }
    )
    _docker_build(client, PROD_DIR, PROD_REF, recipe, log)


def _docker_build(
    client: docker.DockerClient, context: Path, ref: str, recipe: str, log: Log
) -> None:
    """``docker build`` CONTEXT as REF labelled with RECIPE, unless an image of it exists."""
    if _rebuild_mode() == "" and _image_recipe(client, ref) == recipe:
        log(f"[images] {ref}: up to date")
        return
    t0 = time.monotonic()
    old = _image_id(client, ref)
    try:
        client.images.build(
            path=str(context),
            tag=ref,
            labels={RECIPE_LABEL: recipe},
            rm=True,
            forcerm=True,
            pull=False,
        )
    except docker.errors.BuildError as exc:
        lines = [str(chunk.get("stream", chunk)).rstrip() for chunk in exc.build_log]
        raise RuntimeError(f"docker build {ref} failed: {exc}\n" + "\n".join(lines)) from exc
    _drop_if_dangling(client, old, log)
    log(f"[images] {ref}: built in {time.monotonic() - t0:.1f} s")


def _ensure_services_base(client: docker.DockerClient, log: Log) -> str:
    """hotfix-test/services-base:1 (debootstrap root with the servers); returns its recipe."""
    recipe = _recipe_hash({"debootstrap": SERVICES_DEBOOTSTRAP, "excludes": ROOTFS_EXCLUDES})
    if _rebuild_mode() == "" and _image_recipe(client, SERVICES_BASE_REF) == recipe:
        log(f"[images] {SERVICES_BASE_REF}: up to date")
        return recipe
    t0 = time.monotonic()
    old = _image_id(client, SERVICES_BASE_REF)
    mirror = debian_mirror()
    tarball = _cached_tarball(
        "services-base",
        recipe,
        lambda tmp: _debootstrap_tarball(tmp, mirror, log, SERVICES_DEBOOTSTRAP, "services-base"),
        log,
    )
    changes = _import_changes(recipe, None, ["ENV LANG=C.UTF-8"])
    _import_tarball(client, tarball, SERVICES_BASE_REF, changes)
    _drop_if_dangling(client, old, log)
    log(f"[images] {SERVICES_BASE_REF}: built in {time.monotonic() - t0:.1f} s")
    return recipe


def ensure_service_images(
    client: docker.DockerClient | None = None,
    log: Log = print,
    names: Sequence[str] = tuple(SERVICE_REFS),
) -> dict[str, str]:
    """The real servers (built on demand: a first build debootstraps for about a minute).

    Names: ``nginx`` (nginx-light on 80), ``gunicorn`` (gunicorn + Flask, 2 workers, on 8000),
    ``node`` (Node.js as user ``app``, on 3000). Each ``/`` answers ``hotfix-test NAME v1``.
    ``names``: only those (the Podman tests build one).
    """
    client = client or docker.from_env()
    t0 = time.monotonic()
    with _build_lock(log):
        base_recipe = _ensure_services_base(client, log)
        for name in names:
            ref, context = SERVICE_REFS[name], SERVICES_DIR / name
            files = {f.name: _sha256_file(f) for f in sorted(context.iterdir()) if f.is_file()}
            recipe = _recipe_hash({"base": base_recipe, "files": files})
            _docker_build(client, context, ref, recipe, log)
    log(f"[images] service images ready in {time.monotonic() - t0:.2f} s")
    return {name: SERVICE_REFS[name] for name in names}


def ensure_images(client: docker.DockerClient | None = None, log: Log = print) -> dict[str, str]:
    """Make sure every test image exists and is current; return logical name → image ref.

    Names: ``busybox`` (shell + httpd on 8080), ``noshell`` (httpd on 8080, no /bin/sh),
    ``prod_base`` (Debian + python3 + uWSGI) and ``prod`` (the incident service on 8001).
    """
    client = client or docker.from_env()
    try:
        client.ping()
    except Exception as exc:  # any failure means "no engine"
        raise RuntimeError(
            f"no Docker engine answers ({exc}); start one with scripts/ensure-engine.sh"
        ) from exc
    t0 = time.monotonic()
    with _build_lock(log):
        _ensure_busybox_images(client, log)
        _ensure_prod_images(client, log)
    log(f"[images] all images ready in {time.monotonic() - t0:.2f} s")
    return {
        "busybox": BUSYBOX_REF,
        "noshell": NOSHELL_REF,
        "prod_base": PROD_BASE_REF,
        "prod": PROD_REF,
    }


def main() -> int:
    t0 = time.monotonic()
    try:
        refs = ensure_images()
        if "--services" in sys.argv[1:]:
            refs |= ensure_service_images()
    except RuntimeError as exc:
        print(f"[images] error: {exc}", file=sys.stderr)
        return 1
    for name, ref in refs.items():
        print(f"{name:10} {ref}")
    print(f"[images] total {time.monotonic() - t0:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
