"""Stage derivation over plain data: checkpoints, journal rows, successors' versions."""

from __future__ import annotations

import pytest

from hotfix.lifecycle.stages import STAGES, Successor, hotfixes, judge
from hotfix.lifecycle.successors import Who
from hotfix.store.state import Checkpoint, ContainerIdentity, JournalEntry

ORIGINAL = "a" * 64
FIXED = "sha256:" + "b" * 64
PATH = "/app/app.py"


def checkpoint(cid: str = "c1", path: str = PATH) -> Checkpoint:
    return Checkpoint(
        cid, path, "web-1", "app:1", "sha256:img", True, ORIGINAL, 3, 0o644, 0, 0, 1.0, 100.0
    )


def row(
    action: str, cid: str = "c1", path: str | None = PATH, after: str | None = FIXED, **detail
) -> JournalEntry:
    row.counter += 1  # type: ignore[attr-defined]
    return JournalEntry(
        row.counter,
        100.0 + row.counter,
        "ann",
        action,
        cid,
        "web-1",
        "app:1",
        path,
        None,
        after,
        "ok",
        detail,
    )  # type: ignore[attr-defined]


row.counter = 0  # type: ignore[attr-defined]


def one(*rows: JournalEntry, cps: list[Checkpoint] | None = None):
    identities = {"c1": ContainerIdentity("c1", "default", "web-1", "app:1", "sha256:img", {}, 1.0)}
    [fix] = hotfixes(cps or [checkpoint()], list(rows), identities)
    return fix


def successor(
    version: str | None, image: str = "app:1", image_id: str = "sha256:img", own: bool = False
) -> Successor:
    return Successor(Who("c2", "default", "web-1", image, {}), image_id, {PATH: version}, own)


def test_a_saved_file_in_a_present_container_is_live_then_harvested_then_imaged():
    write = row("write")
    assert judge(one(write), present=True).stage == "live"
    assert judge(one(write), present=True).next_step == "harvest"
    harvested = one(write, row("harvest", path=None, after=None, branch="hotfix-x", commit="abc"))
    judged = judge(harvested, present=True)
    assert (judged.stage, judged.next_step, harvested.branch) == ("harvested", "commit", "hotfix-x")
    imaged = one(
        write,
        row("harvest", path=None, after=None, branch="hotfix-x"),
        row("commit-image", path=None, after=None, tag="app:1-hotfix", image_id="sha256:new"),
    )
    assert judge(imaged, present=True).stage == "imaged"
    assert judge(imaged, present=True).next_step == "rollout"


def test_a_file_written_back_to_its_checkpoint_is_reverted():
    fix = one(row("write"), row("revert", after="sha256:" + ORIGINAL))
    assert judge(fix, present=True).stage == "reverted"
    assert judge(fix, present=False).stage == "reverted"


def test_a_re_baseline_by_checkpoint_counts_from_the_new_checkpoint():
    cp = checkpoint()
    rebased = Checkpoint(**{**cp.__dict__, "blob": FIXED.removeprefix("sha256:")})
    taken = JournalEntry(
        998, 400.0, "ann", "checkpoint", "c1", "web-1", "app:1", PATH, FIXED, None, "ok", {}
    )
    assert judge(one(row("write"), taken, cps=[rebased]), present=True).stage == "reverted"


def test_a_gone_container_without_a_successor_is_lost():
    judged = judge(one(row("write")), present=False)
    assert judged.stage == "lost" and judged.next_step == "reapply"


def test_a_successor_without_the_change_makes_it_lost_with_it_the_next_step_reapply():
    judged = judge(one(row("write")), present=False, successors=[successor("sha256:" + ORIGINAL)])
    assert judged.stage == "lost"
    assert "web-1 runs without it" in judged.notes[0]


def test_a_successor_whose_own_image_holds_the_fix_is_in_image():
    assert (
        judge(one(row("write")), present=False, successors=[successor(FIXED)]).stage == "in-image"
    )


def test_a_successor_on_the_hotfix_image_is_rolled_out():
    fix = one(
        row("write"),
        row("commit-image", path=None, after=None, tag="app:1-hotfix", image_id="sha256:new"),
    )
    by_tag = successor(FIXED, image="app:1-hotfix", image_id="sha256:other")
    by_id = successor(FIXED, image="registry/app@sha256:x", image_id="sha256:new")
    assert judge(fix, present=False, successors=[by_tag]).stage == "rolled-out"
    assert judge(fix, present=False, successors=[by_id]).stage == "rolled-out"
    # on the hotfix image but without the content: lost all the same
    assert (
        judge(fix, present=False, successors=[successor(None, image="app:1-hotfix")]).stage
        == "lost"
    )


def test_a_successor_holding_it_as_its_own_hotfix_carries_it():
    judged = judge(one(row("write")), present=False, successors=[successor(FIXED, own=True)])
    assert judged.carried and judged.stage == "live"


def test_a_hotfix_reapplied_elsewhere_is_carried_even_when_that_container_is_gone_too():
    identities = {}
    rows = [
        row("write", cid="c1"),
        row("reapply", cid="c2", path=None, after=None, **{"from": "c1"}),
        row("write", cid="c2"),
    ]
    fixes = {
        f.container_id: f for f in hotfixes([checkpoint("c1"), checkpoint("c2")], rows, identities)
    }
    assert fixes["c1"].reapplied and fixes["c2"].predecessor == "c1"
    assert judge(fixes["c1"], present=False).carried
    assert judge(fixes["c2"], present=False).stage == "lost"


def test_failed_rows_do_not_count():
    failed = JournalEntry(
        999, 500.0, "ann", "write", "c1", "web-1", "app:1", PATH, None, FIXED, "failed", {}
    )
    assert judge(one(failed), present=True).stage == "reverted"


@pytest.mark.parametrize("stage", STAGES)
def test_the_stage_names_are_the_documented_ones(stage):
    assert stage in {"live", "harvested", "imaged", "rolled-out", "in-image", "reverted", "lost"}
