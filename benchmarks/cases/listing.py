"""Listing a directory of 100, 10,000 and 100,000 entries: hotfix vs ``docker exec ls -la``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from benchmarks.case import Case, Group, Target, Variant
from benchmarks.context import MODE_LABEL, MODES, Context, Mode, use_mode
from benchmarks.dockercli import exec_ls, hotfix_cli
from benchmarks.rawapi import tar_of_dir
from hotfix.lsp.uris import file_uri

TARGET_SIZE = 10_000


class Listing(Case):
    name = "listing"
    title = "List a directory"
    baseline = "`docker exec C ls -la DIR` (a process); the no-shell image has no such baseline"

    def groups(self, ctx: Context) -> Iterator[Group]:
        shell = ctx.fleet.run(ctx.images["busybox"], "ls")
        noshell = ctx.fleet.run(ctx.images["noshell"], "ls-noshell")
        try:
            for size in ctx.config.dir_sizes:
                tar = tar_of_dir(f"d{size}", size)
                for container in (shell, noshell):
                    ctx.raw.put(container.id, "/tmp", tar)
                yield self._group(ctx, shell, noshell, size)
        finally:
            ctx.fleet.remove(shell)
            ctx.fleet.remove(noshell)

    def notes(self, ctx: Context) -> list[str]:
        return [
            "Each entry is a one-line file. The archive API has no listing: a GET of a "
            "directory sends the whole subtree with contents, so its cost grows with bytes, "
            "not just entries; the fast path is one scandir + lstat per entry.",
            "On the no-shell image `docker exec ls` cannot run at all (no `ls`, no `/bin/sh`); "
            "its row shows the error docker gave.",
        ]

    def _group(self, ctx: Context, shell: Any, noshell: Any, size: int) -> Group:
        path = f"/tmp/d{size}"
        key = f"list.{size}"
        variants = [self._core(ctx, shell.id, f"{key}.core", mode, path, size) for mode in MODES]
        variants += [
            Variant(
                f"{key}.lsp",
                "hotfix language server, readDirectory",
                _lsp(ctx, shell.name, path, size),
            ),
            Variant(f"{key}.exec", "docker exec ls -la", partial(exec_ls, shell.name, path)),
        ]
        variants += [
            self._core(ctx, noshell.id, f"{key}.noshell", mode, path, size, "no-shell image, ")
            for mode in MODES
        ]
        variants.append(
            Variant(
                f"{key}.noshell.exec",
                "no-shell image, docker exec ls -la",
                partial(exec_ls, noshell.name, path),
            )
        )
        targets = []
        if size == TARGET_SIZE:
            targets = [
                *(
                    Target(
                        f"list {size:,} ≤ 1.0× docker exec ls -la ({MODE_LABEL[mode]})",
                        f"{key}.core.{mode}",
                        "ratio",
                        1.0,
                        f"{key}.exec",
                    )
                    for mode in MODES
                ),
                *(
                    Target(
                        f"list {size:,} works on the no-shell image ({MODE_LABEL[mode]})",
                        f"{key}.noshell.{mode}",
                        "works",
                    )
                    for mode in MODES
                ),
            ]
        if ctx.config.cli:
            ls = partial(hotfix_cli, "ls", f"{shell.name}:{path}", env=ctx.env("fast", "cli"))
            variants.insert(3, Variant(f"{key}.cli", "hotfix ls (CLI, resident process)", ls))
        reps = ctx.config.dir_reps[size]
        return Group(
            f"list {size:,} entries", variants, f"{key}.exec", reps, ctx.config.warmup, targets
        )

    def _core(
        self, ctx: Context, cid: str, key: str, mode: Mode, path: str, size: int, prefix: str = ""
    ) -> Variant:
        svc = ctx.service(mode)
        fn = _expect(size, partial(svc.list_dir, cid, path))
        label = f"{prefix}hotfix list_dir, in-process ({MODE_LABEL[mode]})"
        return Variant(f"{key}.{mode}", label, fn, partial(use_mode, mode), profile=True)


def _expect(count: int, fn: Callable[[], list[Any]]) -> Callable[[], None]:
    def call() -> None:
        got = len(fn())
        if got != count:
            raise AssertionError(f"listed {got} entries, expected {count}")

    return call


def _lsp(ctx: Context, container: str, path: str, size: int) -> Callable[[], None]:
    uri = file_uri(container, path)
    return _expect(size, lambda: ctx.lsp().request("hotfix/readDirectory", {"uri": uri})["entries"])
