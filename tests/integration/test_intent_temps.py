"""An archive-path save killed while it writes its intent (docs/architecture.md, "State"):
the next run removes the temp file its dead process left, and keeps a live process's."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import CliResult, Running
from tests.reliability.conftest import run_killed

ARCHIVE_PATH = {"HOTFIX_LOCAL_FS": "0"}  # the path that extracts in place, so keeps intents
INTENT_TEMP = re.compile(r"\.\d+\.new\.(\d+)\.\d+\.tmp")
KILL_AT_THE_INTENTS_RENAME = """
from hotfix.store import state as _state

def _replace(source, target, *args, **kwargs):
    if "/intents/" in str(target):
        die()
    return real(source, target, *args, **kwargs)

_state.os.replace = _replace
"""


def test_the_next_run_removes_the_intent_temp_of_a_save_killed_while_writing_it(
    images: dict[str, str],
    run_container: Callable[..., Running],
    state_dir: Path,
    hotfix: Callable[..., CliResult],
) -> None:
    box = run_container(images["busybox"], command=["sleep", "3600"])
    target = f"{box.name}:/tmp/app.conf"
    first = hotfix("write", target, input=b"first\n", env=ARCHIVE_PATH)
    assert first.code == 0, first.stderr
    # The second save keeps an intent (the content before is no checkpoint blob); it dies
    # in _write_whole with the intent's temp file written, before its rename.
    # (Not at the save's first rename: that stores the new content as a blob, for reapply.)
    killed = run_killed(
        state_dir, ["write", target], at="hotfix.store.state:os.replace", when="never",
        prelude=KILL_AT_THE_INTENTS_RENAME, input=b"second, never renamed into place\n",
        env=ARCHIVE_PATH,
    )  # fmt: skip
    assert killed.code == -9, killed.stderr
    intents = state_dir / "intents"
    [left] = [p for p in intents.iterdir() if INTENT_TEMP.fullmatch(p.name)]
    assert left.read_bytes() == b"second, never renamed into place\n"
    live = intents / f".999.new.{os.getpid()}.1.tmp"  # a writer still at work: this process
    live.write_bytes(b"in progress")

    after = hotfix("log", box.name, "--json", env=ARCHIVE_PATH)
    assert after.code == 0, after.stderr
    assert not left.exists()
    assert live.read_bytes() == b"in progress"
    assert box.exec("cat", "/tmp/app.conf") == (0, "first\n")
    rows: list[dict[str, Any]] = after.json()["entries"]
    assert [r["outcome"] for r in rows if r["action"] == "write"] == ["ok", "incomplete"]
