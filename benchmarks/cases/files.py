"""Read and write of one file (4 KB, 1 MB, 32 MB): hotfix vs docker cp, docker exec, the raw API."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from benchmarks.case import Case, Group, Target, Variant
from benchmarks.cases.common import CliWriter, CoreWriter, FirstWriter, Payloads
from benchmarks.context import MODE_LABEL, MODES, Context, Mode, size_label
from benchmarks.dockercli import cp_in, cp_out, exec_cat, exec_write, hotfix_cli
from benchmarks.lspclient import LspClient
from benchmarks.rawapi import tar_of
from hotfix.lsp.uris import file_uri
from hotfix.service.files import HotfixService
from hotfix.store.state import version_of

DIR = "/tmp/bench"
LSP_OVERHEAD = 0.005  # seconds per request
FAST_SAVE = 0.005  # seconds, in-process with the fast path


class FileTransfer(Case):
    name = "files"
    title = "Read and write one file"
    baseline = "`docker cp` (a process), beside `docker exec cat` and the raw archive API"

    def groups(self, ctx: Context) -> Iterator[Group]:
        container = ctx.fleet.run(ctx.images["busybox"], "files")
        try:
            ctx.raw.put(container.id, "/tmp", tar_of({"bench/probe.txt": b"probe\n"}))
            for mode in MODES:
                ctx.check_paths(mode, container.id, f"{DIR}/probe.txt")
            for size in ctx.config.file_sizes:
                yield self._read_group(ctx, container, size)
                yield self._write_group(ctx, container, size)
        finally:
            ctx.fleet.remove(container)

    def notes(self, ctx: Context) -> list[str]:
        used = {
            m: "/proc/<pid>/root" if any(u.values()) else "archive API"
            for m, u in ctx.path_used.items()
        }
        return [
            "File access taken by the Engine, checked by counting calls into hotfix.docker.localfs: "
            + "; ".join(f"{MODE_LABEL[m]} mode → {used.get(m, '?')}" for m in MODES)
            + ". If both say archive API, the fast path was not wired when this ran.",
            "The language server runs in the default (fast) mode, with the body transfer the "
            'editor\'s extension asks for (initializationOptions.bodyTransfer "file": '
            "contents of 64 KiB or more as spool files, smaller ones as base64); its round "
            "trip includes the client's JSON and base64 work and the writing, reading and "
            "removing of spool files, as an editor pays it.",
            "“first save” = a fresh service and state store each time, the file opened (read, "
            "untimed) before the timed save, as in an editor: conflict check + durable "
            "checkpoint (blob fsynced, SQLite FULL) + the container-diff warning + the write.",
            "In-process services are built as the language server builds them: the engine "
            "watches its event stream (resolved containers kept while it is quiet), and the "
            "archive path keeps what it last read or wrote (a HEAD that still matches stands "
            "for the download).",
        ]

    # --- read -----------------------------------------------------------------------------

    def _read_group(self, ctx: Context, container: Any, size: int) -> Group:
        cid, name = container.id, container.name
        label = size_label(size)
        path = f"{DIR}/read-{size}.bin"
        ctx.raw.put(cid, DIR, tar_of({f"read-{size}.bin": _content(size)}))
        key = f"read.{size}"
        variants = [
            *(
                Variant(
                    f"{key}.core.{mode}",
                    f"hotfix core, in-process ({MODE_LABEL[mode]})",
                    reader.read,
                    setup=reader.setup,
                    profile=True,
                )
                for mode in MODES
                for reader in [_FreshReader(ctx, mode, cid, path)]
            ),
            Variant(
                f"{key}.lsp",
                "hotfix language server, readFile",
                partial(lsp_read, ctx.lsp(), file_uri(name, path), size),
            ),
            Variant(f"{key}.cp", "docker cp C:path -", partial(cp_out, name, path)),
            Variant(f"{key}.exec", "docker exec cat", partial(exec_cat, name, path)),
            Variant(f"{key}.raw", "raw GET /archive (floor)", partial(ctx.raw.get, cid, path)),
        ]
        targets = [
            *(
                Target(
                    f"read {label} ≤ 1.0× docker cp ({MODE_LABEL[mode]})",
                    f"{key}.core.{mode}",
                    "ratio",
                    1.0,
                    f"{key}.cp",
                )
                for mode in MODES
            ),
            Target(
                f"language server read {label}: ≤ +5 ms over in-process",
                f"{key}.lsp",
                "overhead",
                LSP_OVERHEAD,
                f"{key}.core.fast",
            ),
        ]
        if ctx.config.cli:
            env = ctx.env("fast", "cli")
            cat = partial(hotfix_cli, "cat", f"{name}:{path}", env=env)
            variants.insert(3, Variant(f"{key}.cli", "hotfix cat (CLI, resident process)", cat))
        reps = ctx.config.file_reps[size]
        return Group(f"read {label}", variants, f"{key}.cp", reps, ctx.config.warmup + 1, targets)

    # --- write ----------------------------------------------------------------------------

    def _write_group(self, ctx: Context, container: Any, size: int) -> Group:
        cid, name = container.id, container.name
        label = size_label(size)
        key = f"write.{size}"
        initial = _content(size)
        names = ["core.fast", "core.archive", "first.fast", "first.archive", "lsp", "cli"]
        names += ["cp", "exec", "raw"]
        paths = {n: f"{DIR}/{n.replace('.', '-')}-{size}.bin" for n in names}
        ctx.raw.put(cid, DIR, tar_of({p.rsplit("/", 1)[1]: initial for p in paths.values()}))
        version = version_of(initial)

        def payloads(tag: str) -> Payloads:
            return Payloads.random(size, ctx.workdir, f"{tag}-{size}")

        spec = _WriteSpec(paths, payloads, version)
        variants = [self._core(ctx, cid, key, m, spec) for m in MODES]
        variants += [self._first(ctx, cid, key, m, spec) for m in MODES]
        variants += self._front_ends(ctx, name, key, spec)
        variants += self._baselines(ctx, container, key, size, spec)
        reps = ctx.config.file_reps[size]
        targets = self._write_targets(ctx, key, size)
        return Group(f"write {label}", variants, f"{key}.cp", reps, ctx.config.warmup + 1, targets)

    def _front_ends(self, ctx: Context, name: str, key: str, spec: _WriteSpec) -> list[Variant]:
        """The language server (always) and the CLI as a process (full mode)."""
        lsp = LspWriter(ctx.lsp(), file_uri(name, spec.paths["lsp"]), spec.payloads("lsp"))
        lsp.version = spec.version
        found = [Variant(f"{key}.lsp", "hotfix language server, writeFile", lsp.write, lsp.setup)]
        if ctx.config.cli:
            env = ctx.env("fast", "cli")
            cli = CliWriter(env, name, spec.paths["cli"], spec.payloads("cli"), spec.version)
            found.append(
                Variant(f"{key}.cli", "hotfix write (CLI, resident process)", cli.write, cli.setup)
            )
        return found

    def _baselines(
        self, ctx: Context, container: Any, key: str, size: int, spec: _WriteSpec
    ) -> list[Variant]:
        name, files = container.name, spec.payloads("cp")
        tars = [tar_of({f"raw-{size}.bin": files.a}), tar_of({f"raw-{size}.bin": files.b})]

        def raw_put() -> None:
            tars.reverse()
            ctx.raw.put(container.id, DIR, tars[0])

        return [
            Variant(
                f"{key}.cp",
                "docker cp FILE C:path",
                lambda: cp_in(str(files.next()[1]), name, spec.paths["cp"]),
            ),
            Variant(
                f"{key}.exec",
                "docker exec -i sh -c 'cat > path'",
                lambda: exec_write(name, spec.paths["exec"], str(files.next()[1])),
            ),
            Variant(f"{key}.raw", "raw PUT /archive (floor)", raw_put),
        ]

    def _write_targets(self, ctx: Context, key: str, size: int) -> list[Target]:
        label = size_label(size)
        targets = [
            Target(
                f"{kind} {label} ≤ 1.5× docker cp write ({MODE_LABEL[mode]})",
                f"{key}.{stem}.{mode}",
                "ratio",
                1.5,
                f"{key}.cp",
            )
            for stem, kind in (("core", "save"), ("first", "first save (checkpoint)"))
            for mode in MODES
        ]
        targets.append(
            Target(
                f"language server save {label}: ≤ +5 ms over in-process",
                f"{key}.lsp",
                "overhead",
                LSP_OVERHEAD,
                f"{key}.core.fast",
            )
        )
        if size == min(ctx.config.file_sizes):
            targets.append(
                Target(
                    f"save {label} with the fast path ≤ 5 ms in-process",
                    f"{key}.core.fast",
                    "absolute",
                    FAST_SAVE,
                )
            )
        return targets

    def _core(self, ctx: Context, cid: str, key: str, mode: Mode, spec: _WriteSpec) -> Variant:
        path, data = spec.paths[f"core.{mode}"], spec.payloads(mode)
        w = CoreWriter(ctx.service(mode), mode, cid, path, data, spec.version)
        label = f"hotfix save, in-process ({MODE_LABEL[mode]})"
        return Variant(f"{key}.core.{mode}", label, w.write, w.setup, profile=True)

    def _first(self, ctx: Context, cid: str, key: str, mode: Mode, spec: _WriteSpec) -> Variant:
        path, data = spec.paths[f"first.{mode}"], spec.payloads(f"first-{mode}")
        w = FirstWriter(ctx, mode, cid, path, data, version=spec.version)
        label = f"hotfix first save + checkpoint ({MODE_LABEL[mode]})"
        return Variant(f"{key}.first.{mode}", label, w.write, w.setup, w.after, profile=True)


class _FreshReader:
    """A read by a service that has not read the file yet (a download, not the archive
    path's content cache): what opening a file costs the first time."""

    def __init__(self, ctx: Context, mode: Mode, container: str, path: str) -> None:
        self.ctx, self.mode, self.container, self.path = ctx, mode, container, path
        self.service: HotfixService | None = None

    def setup(self) -> None:
        # Without the first-save diff a fresh service starts at its first read: 30 "first
        # opens" in a row would run 30 container diffs (0.2-0.5 s of dockerd each) under
        # every variant of the group, the baselines too. An editor runs one per container
        # per CHANGED_PATHS_TTL.
        self.service = self.ctx.fresh_service(self.mode, prefetch=False)

    def read(self) -> None:
        assert self.service is not None
        self.service.read(self.container, self.path)


def lsp_read(lsp: LspClient, uri: str, size: int) -> bytes:
    """hotfix/readFile as the extension does it: the bytes in hand, from base64 or from
    the spool file (read and removed), in the timed round trip."""
    data, _ = lsp.read_file(uri)
    assert len(data) == size, f"read {len(data)} bytes of {size}"
    return data


class LspWriter:
    """Saves through the language server as the extension makes them: hotfix/writeFile
    with baseVersion, the content inline or as a spool file (written in the timed call)."""

    def __init__(self, lsp: LspClient, uri: str, payloads: Payloads) -> None:
        self.lsp, self.uri, self.payloads = lsp, uri, payloads
        self.version: str | None = None
        self._data = b""

    def setup(self) -> None:
        if self.version is None:
            self.version = self.lsp.read_file(self.uri)[1]
        self._data, _ = self.payloads.next()

    def write(self) -> None:
        res = self.lsp.write_file(
            self.uri, self._data, baseVersion=self.version, create=True, overwrite=True
        )
        self.version = res["version"]


class _WriteSpec:
    """The files of one write group: a path per variant, payload makers, the initial version."""

    def __init__(
        self, paths: dict[str, str], payloads: Callable[[str], Payloads], version: str
    ) -> None:
        self.paths, self.payloads, self.version = paths, payloads, version


def _content(size: int) -> bytes:
    """Text-like content (base64 of random bytes): what a config or source file looks like."""
    return base64.b64encode(os.urandom(size))[:size]
