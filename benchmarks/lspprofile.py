"""Where the language server spends a large request: ``python -m benchmarks.lspprofile``.

Starts a busybox container (labelled ``hotfix.bench=1``, removed at the end), runs
``hotfix lsp`` under cProfile, sends readFile and writeFile requests of one size and
prints the server's hottest functions (main thread: the event loop, JSON-RPC, framing;
the service work runs in worker threads and is profiled in-process by benchmarks.run).
"""

from __future__ import annotations

import argparse
import io
import pstats
import sys
import tempfile
from pathlib import Path

from benchmarks.cases.common import Payloads
from benchmarks.cases.files import LspWriter, lsp_read
from benchmarks.context import MB, Config, Context, size_label
from benchmarks.lspclient import LspClient
from benchmarks.rawapi import tar_of
from benchmarks.timing import Stats, time_call
from hotfix.lsp.uris import file_uri
from hotfix.store.state import version_of


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.lspprofile", description=__doc__)
    p.add_argument("--size-mb", type=float, default=32)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--lines", type=int, default=25)
    p.add_argument(
        "--inline",
        action="store_true",
        help="contents as base64 in the messages (no bodyTransfer), as before it existed",
    )
    args = p.parse_args(argv)
    size = int(args.size_mb * MB)
    ctx = Context(Config.for_mode(quick=True))
    out_file = Path(tempfile.mkdtemp(prefix="hotfix-lsp-prof-")) / "lsp.prof"
    try:
        ctx.prepare()
        container = ctx.fleet.run(ctx.images["busybox"], "lspprof")
        data = Payloads.random(size, ctx.workdir, "lspprof").a
        ctx.raw.put(container.id, "/tmp", tar_of({"prof.bin": data}))
        lsp = LspClient(
            ctx.env("fast", "lsp-prof"),
            str(ctx.workdir / "lsp-prof.log"),
            timeout=600,
            python_args=["-m", "cProfile", "-o", str(out_file)],
            body_transfer=None if args.inline else "file",
        )
        lsp.initialize()
        uri = file_uri(container.name, "/tmp/prof.bin")
        writer = LspWriter(lsp, uri, Payloads.random(size, ctx.workdir, "w"))
        writer.version = version_of(data)
        reads = Stats(tuple(time_call(lambda: lsp_read(lsp, uri, size)) for _ in range(args.reps)))
        writes = []
        for _ in range(args.reps):
            writer.setup()
            writes.append(time_call(writer.write))
        lsp.close()
        label = size_label(size)
        print(
            f"readFile {label}: median {reads.median * 1e3:.0f} ms; "
            f"writeFile {label}: median {Stats(tuple(writes)).median * 1e3:.0f} ms"
        )
        text = io.StringIO()
        stats = pstats.Stats(str(out_file), stream=text).strip_dirs()
        stats.sort_stats("tottime").print_stats(args.lines)
        print(text.getvalue())
    finally:
        ctx.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
