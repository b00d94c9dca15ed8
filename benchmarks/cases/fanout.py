"""Fan-out: the same save to 1, 5 and 20 replicas."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from benchmarks.case import Case, Group, Target, Variant
from benchmarks.context import MODE_LABEL, MODES, Context, Mode, use_mode
from benchmarks.dockercli import cp_in
from benchmarks.profiling import attribute
from benchmarks.rawapi import RawArchive, tar_of
from hotfix.service.files import HotfixService
from hotfix.store.state import version_of

DIR = "/www"
RATIO = 4.0


@dataclass
class Replicas:
    """N containers holding the same file, and each one's current version of it."""

    ids: list[str]
    names: list[str]
    versions: dict[str, str] = field(default_factory=dict)
    turn: int = 0

    def content(self) -> bytes:
        self.turn += 1
        return f"fan-out save {self.turn}\n".encode() * 64


class FanOut(Case):
    name = "fanout"
    title = "Fan-out save to N replicas"
    baseline = "N sequential `docker cp FILE C:path`"

    def groups(self, ctx: Context) -> Iterator[Group]:
        started: list[Any] = []
        try:
            for n in ctx.config.replicas:
                while len(started) < n:
                    started.append(ctx.fleet.run(ctx.images["busybox"], f"fan{len(started)}"))
                yield self._group(ctx, started[:n])
        finally:
            for container in started:
                ctx.fleet.remove(container)

    def notes(self, ctx: Context) -> list[str]:
        return [
            "Measured: parallel HotfixService.write across the N containers (a thread pool of "
            "N, each write with its base_version), against N sequential `docker cp`. This is "
            "the write phase of `hotfix apply` without --rolling (Fleet._apply_parallel: one "
            "checked service.write per target on a pool of up to 16); apply itself is not "
            "timed in a loop because each round would first have to re-checkpoint the source.",
            "Replicas are busybox containers; the file is 4 KB.",
            "The floors are the same file work without hotfix, on as many threads: a bare "
            "temp file + fsync + rename + fsync of the directory in each container's "
            "/proc/<pid>/root (what the fast path must do to be atomic and durable), and a raw "
            "PUT /archive to each container on its own connection. How they grow from 1 to N "
            "replicas is the filesystem's and dockerd's, not hotfix's.",
        ]

    def _group(self, ctx: Context, containers: list[Any]) -> Group:
        n = len(containers)
        initial = b"initial\n" * 512
        files = {f"fanout-{tag}.txt": initial for tag in (*MODES, "cp")}
        for c in containers:
            ctx.raw.put(c.id, DIR, tar_of(files))
        key = f"fanout.{n}"
        variants = []
        for mode in MODES:
            reps = Replicas([c.id for c in containers], [c.name for c in containers])
            reps.versions = dict.fromkeys(reps.ids, version_of(initial))
            variants.append(self._parallel(ctx, key, mode, reps))
        local = ctx.workdir / "fanout.txt"
        local.write_bytes(b"docker cp fan-out\n" * 227)
        names = [c.name for c in containers]

        def sequential_cp() -> None:
            for name in names:
                cp_in(str(local), name, f"{DIR}/fanout-cp.txt")

        variants.append(
            Variant(f"{key}.cp", "docker cp to each replica, sequential", sequential_cp)
        )
        variants += _floors(key, containers)
        targets = []
        if n == max(ctx.config.replicas) and n > 1:
            targets = [
                Target(
                    f"fan-out to {n} ≤ 4× one replica ({MODE_LABEL[mode]})",
                    f"{key}.{mode}",
                    "ratio",
                    RATIO,
                    f"fanout.1.{mode}",
                )
                for mode in MODES
            ]
        word = "replica" if n == 1 else "replicas"
        return Group(f"{n} {word}", variants, f"{key}.cp", ctx.config.fanout_reps, 1, targets)

    def _parallel(self, ctx: Context, key: str, mode: Mode, reps: Replicas) -> Variant:
        svc = ctx.service(mode)
        pool = ThreadPoolExecutor(max_workers=len(reps.ids))
        data = {"now": b""}

        def setup() -> None:
            use_mode(mode)
            data["now"] = reps.content()

        path = f"{DIR}/fanout-{mode}.txt"

        def save(cid: str) -> None:
            res = svc.write(cid, path, data["now"], base_version=reps.versions[cid])
            reps.versions[cid] = res.version

        def fan_out() -> None:
            for future in [pool.submit(save, cid) for cid in reps.ids]:
                future.result()

        label = f"hotfix, parallel service.write ({MODE_LABEL[mode]})"
        return Variant(
            f"{key}.{mode}",
            label,
            fan_out,
            setup,
            profile=True,
            profiler=partial(attribute, parts=_parts(svc)),
        )


def _parts(svc: HotfixService) -> dict[str, tuple[object, str]]:
    """The pieces of a save, to see which ones the threads queue on."""
    engine, store = svc.engine, svc.store
    return {
        "HotfixService.write (whole)": (svc, "write"),
        **{
            f"Engine.{m}": (engine, m)
            for m in ("inspect", "stat", "read", "write", "changed_paths")
        },
        **{
            f"StateStore.{m}": (store, m)
            for m in (
                "checkpoints",
                "get_checkpoint",
                "put_checkpoint",
                "journal_start",
                "journal_finish",
            )
        },
    }


def _floors(key: str, containers: list[Any]) -> list[Variant]:
    """The file work of a fan-out without hotfix, in parallel: what the disk and dockerd allow."""
    pool = ThreadPoolExecutor(max_workers=len(containers))
    ids = [c.id for c in containers]
    for c in containers:
        c.reload()
    roots = [f"/proc/{c.attrs['State']['Pid']}/root{DIR}" for c in containers]
    raws = [RawArchive() for _ in containers]
    payload = b"fan-out floor\n" * 292
    tar = tar_of({"fanout-floor.txt": payload})

    def bare_replace(root: str) -> None:
        directory = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fd = os.open(
                "fanout-floor.tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644, dir_fd=directory
            )
            try:
                os.write(fd, payload)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(
                "fanout-floor.tmp", "fanout-floor.txt", src_dir_fd=directory, dst_dir_fd=directory
            )
            os.fsync(directory)
        finally:
            os.close(directory)

    def local_floor() -> None:
        list(pool.map(bare_replace, roots))

    def archive_floor() -> None:
        list(pool.map(lambda pair: pair[0].put(pair[1], DIR, tar), zip(raws, ids, strict=True)))

    return [
        Variant(
            f"{key}.floor.fast", "bare temp + fsync + rename in each, parallel (floor)", local_floor
        ),
        Variant(
            f"{key}.floor.archive", "raw PUT /archive to each, parallel (floor)", archive_floor
        ),
    ]
