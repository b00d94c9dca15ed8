"""Last known good (issue 16): the store's table and its migration, what a revert goes back
to, revert-on-failure landing on the last good fix, and a revert that finishes the job."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from hotfix.core.errors import Unavailable
from hotfix.core.model import ContainerInfo
from hotfix.lsp.commands import RevertArgs
from hotfix.lsp.errors import InvalidParams
from hotfix.lsp.params import Params
from hotfix.service import lastgood
from hotfix.service.files import HotfixService
from hotfix.store.state import SCHEMA_VERSION, Checkpoint, LastGood, StateStore, version_of
from hotfix.views import restart_view, revert_view
from tests.unit.fakes import FakeContainer, FakeEngine
from tests.unit.helpers import LocalServer, Responder

APP = "/srv/app/app.py"
NEW = "/srv/app/helper.py"
ORIGINAL = b"print('hello')\n"  # the incident: answers 500
FIX1 = b"print('fix 1')\n"
FIX2 = b"print('fix 2')\n"  # bad

StartServer = Callable[[Responder], LocalServer]


def _checkpoint(created_at: float, present: bool = True) -> Checkpoint:
    blob = version_of(ORIGINAL).removeprefix("sha256:") if present else None
    return Checkpoint(
        "c1", APP, "web", "img", "sha256:1", present, blob, 15, 0o644, 0, 0, 1.0, created_at
    )


def _good(went_live_at: float) -> LastGood:
    blob = version_of(FIX1).removeprefix("sha256:")
    return LastGood("c1", APP, True, blob, 0o640, 1000, 1001, went_live_at)


def _answers_fix1_only(web: FakeContainer) -> Responder:
    """HTTP 200 while the container runs with fix 1 in place; the incident and fix 2 fail."""
    return lambda path: (200 if web.state == "running" and web.node(APP).data == FIX1 else 500, {})


# --- the store --------------------------------------------------------------------------------


def test_last_good_round_trip_shares_the_checkpoint_blobs(store: StateStore) -> None:
    stored = store.put_last_good(_good(100.0), FIX1)
    assert stored.version == version_of(FIX1) and stored.present
    assert store.get_blob(stored.blob or "") == FIX1
    assert store.get_last_good("c1", APP) == stored
    absent = store.put_last_good(LastGood("c1", NEW, False, None, None, None, None, 101.0), None)
    assert (absent.present, absent.blob) == (False, None)
    assert [g.path for g in store.last_goods("c1")] == [APP, NEW]
    assert store.get_last_good("c2", APP) is None


def test_an_old_state_directory_is_migrated_keeping_what_it_holds(tmp_path: Path) -> None:
    directory = tmp_path / "state"
    old = StateStore(directory)
    old.put_checkpoint(_checkpoint(1.0), ORIGINAL)
    old._db.execute("DROP TABLE last_good")  # as schema 1 had it
    old._db.execute("PRAGMA user_version=1")
    old._db.commit()
    old.close()

    store = StateStore(directory)
    version = store._db.execute("PRAGMA user_version").fetchone()[0]
    assert version == SCHEMA_VERSION >= 2
    assert store.get_checkpoint("c1", APP) is not None
    store.put_last_good(_good(2.0), FIX1)
    assert store.get_last_good("c1", APP) is not None
    store.close()
    with sqlite3.connect(directory / "state.db") as db:  # reopened, nothing migrated twice
        assert db.execute("SELECT count(*) FROM last_good").fetchone()[0] == 1


# --- the choice -------------------------------------------------------------------------------


def test_choose_last_good_when_asked_and_known() -> None:
    source = lastgood.choose(_checkpoint(10.0), _good(20.0), "last-good")
    assert (source.to, source.version, source.went_live_at, source.fallback) == (
        "last-good",
        version_of(FIX1),
        20.0,
        False,
    )
    assert (source.mode, source.uid, source.gid) == (0o640, 1000, 1001)


def test_choose_the_checkpoint_when_asked_or_none_is_known() -> None:
    explicit = lastgood.choose(_checkpoint(10.0), _good(20.0), "checkpoint")
    assert (explicit.to, explicit.version, explicit.fallback) == (
        "checkpoint",
        version_of(ORIGINAL),
        False,
    )
    missing = lastgood.choose(_checkpoint(10.0), None, "last-good")
    assert (missing.to, missing.fallback) == ("checkpoint", True)
    created = lastgood.choose(_checkpoint(10.0, present=False), None, "last-good")
    assert (created.to, created.present, created.version) == ("checkpoint", False, None)


def test_a_last_good_older_than_a_new_baseline_is_not_used() -> None:
    stale = lastgood.choose(_checkpoint(30.0), _good(20.0), "last-good")
    assert (stale.to, stale.fallback) == ("checkpoint", True)


# --- recording, and revert-on-failure landing on it ----------------------------------------------


def _fix1_live(service: HotfixService, server: LocalServer) -> float:
    service.write("web", APP, FIX1)
    before = time.time()
    assert service.restart("web", server.url + "/", timeout=2).healthy
    return before


def test_a_healthy_going_live_records_each_checkpointed_path(
    service: HotfixService, store: StateStore, web: FakeContainer, http_server: StartServer
) -> None:
    server = http_server(_answers_fix1_only(web))
    service.write("web", "/srv/app/config.json", b'{"debug": true}\n')
    before = _fix1_live(service, server)
    good = store.get_last_good(web.id, APP)
    assert good is not None and good.version == version_of(FIX1) and good.went_live_at >= before
    assert store.get_last_good(web.id, "/srv/app/config.json") is not None
    restart_row = [e for e in store.journal() if e.action == "restart"][-1]
    assert sorted(restart_row.detail["last_good"]) == [APP, "/srv/app/config.json"]
    assert good.journal_id == restart_row.id


def test_an_unhealthy_going_live_records_nothing(
    service: HotfixService, store: StateStore, web: FakeContainer, http_server: StartServer
) -> None:
    server = http_server(_answers_fix1_only(web))
    service.write("web", APP, FIX2)
    result = service.restart("web", server.url + "/", timeout=0.3)
    assert not result.healthy and result.last_good is None
    assert store.last_goods(web.id) == []


def test_revert_on_failure_lands_on_the_last_good_fix(
    service: HotfixService, engine: FakeEngine, web: FakeContainer, http_server: StartServer
) -> None:
    server = http_server(_answers_fix1_only(web))
    _fix1_live(service, server)
    service.write("web", APP, FIX2)
    service.write("web", NEW, b"x = 1\n")  # created by fix 2: it has no last good
    result = service.restart("web", server.url + "/", timeout=0.3, revert_on_failure=True)

    assert not result.healthy and result.last_good is not None
    assert result.after_revert is not None and result.after_revert.healthy
    assert web.node(APP).data == FIX1 and NEW not in web.fs
    assert result.revert is not None
    files = {f.path: f for f in result.revert.files}
    assert (files[APP].to, files[APP].fallback) == ("last-good", False)
    assert files[APP].described_to.startswith("last good (went live ")
    assert (files[NEW].to, files[NEW].fallback) == ("checkpoint", True)
    assert result.revert.final is not None and result.revert.final.healthy
    assert result.revert.final.state == "running"
    assert "+print('fix 1')" in service.diff("web", APP)  # still a hotfix against the checkpoint
    shape = restart_view(result)
    assert shape["revert"]["to"] == "last-good" and shape["revert"]["final"]["healthy"] is True
    assert {f["path"]: f["to"] for f in shape["revert"]["files"]} == {
        APP: "last-good",
        NEW: "checkpoint",
    }
    assert isinstance(shape["lastGood"], float)


def test_revert_on_failure_without_a_last_good_goes_to_the_checkpoint(
    service: HotfixService, web: FakeContainer, http_server: StartServer
) -> None:
    server = http_server(lambda path: (200 if web.node(APP).data == ORIGINAL else 500, {}))
    service.write("web", APP, FIX2)
    result = service.restart("web", server.url + "/", timeout=0.3, revert_on_failure=True)
    assert result.revert is not None
    [only] = result.revert.files
    assert (only.to, only.fallback) == ("checkpoint", True)
    assert result.revert.summary.startswith("reverted to checkpoint (no last good for it)")
    assert web.node(APP).data == ORIGINAL


def test_explicit_revert_goes_to_the_checkpoint_unless_asked(
    service: HotfixService, store: StateStore, web: FakeContainer, http_server: StartServer
) -> None:
    server = http_server(_answers_fix1_only(web))
    _fix1_live(service, server)
    service.write("web", APP, FIX2)

    to_good = service.revert_files("web", APP, to="last-good")
    assert to_good.reverted == [APP] and to_good.files[0].to == "last-good"
    assert web.node(APP).data == FIX1
    row = store.journal()[-1]
    assert (row.action, row.detail["to"], row.version_after) == (
        "revert",
        "last-good",
        version_of(FIX1),
    )
    assert service.revert_files("web", APP, to="last-good").files == []  # there already

    to_checkpoint = service.revert_files("web", APP)
    assert to_checkpoint.files[0].to == "checkpoint" and not to_checkpoint.files[0].fallback
    assert web.node(APP).data == ORIGINAL
    shape = revert_view(to_checkpoint)
    assert (shape["to"], shape["reverted"], shape["container"]) == ("checkpoint", [APP], "web")
    assert "wentLiveAt" not in shape["files"][0] and "error" not in shape["files"][0]


# --- a revert that finishes the job --------------------------------------------------------------


def _no_delete_unless_running(engine: FakeEngine, always: bool = False) -> None:
    """As the archive API: a file can be deleted only in a running container."""
    delete = engine.delete

    def refusing(container: ContainerInfo, path: str) -> None:
        if always or container.state != "running":
            raise Unavailable(
                f"{container.name}:{path}: cannot delete: the container is not running"
            )
        delete(container, path)

    engine.delete = refusing  # type: ignore[method-assign]


def _crashes_on_fix2(web: FakeContainer) -> None:
    def on_restart(container: FakeContainer) -> None:
        if container.node(APP).data == FIX2:
            container.state, container.exit_code = "exited", 1

    web.on_restart = on_restart


def test_a_failed_step_is_retried_once_the_container_runs(
    service: HotfixService, engine: FakeEngine, web: FakeContainer, http_server: StartServer
) -> None:
    server = http_server(lambda path: (200 if web.state == "running" else 500, {}))
    _crashes_on_fix2(web)
    _no_delete_unless_running(engine)
    service.write("web", APP, FIX2)
    service.write("web", NEW, b"import nothing\n")
    result = service.restart("web", server.url + "/", timeout=1.5, revert_on_failure=True)

    assert not result.healthy and result.revert is not None
    assert result.revert.failed == []
    files = {f.path: f for f in result.revert.files}
    assert files[NEW].retried and files[NEW].error is None and not files[APP].retried
    assert NEW not in web.fs and web.node(APP).data == ORIGINAL
    final = result.revert.final
    assert final is not None and (final.state, final.healthy) == ("running", True)
    assert len(engine.called("restart")) == 2


def test_a_step_that_keeps_failing_still_restarts_and_reports_it(
    service: HotfixService, engine: FakeEngine, web: FakeContainer, http_server: StartServer
) -> None:
    server = http_server(lambda path: (200 if web.state == "running" else 500, {}))
    _crashes_on_fix2(web)
    _no_delete_unless_running(engine, always=True)
    service.write("web", APP, FIX2)
    service.write("web", NEW, b"import nothing\n")
    result = service.restart("web", server.url + "/", timeout=1.5, revert_on_failure=True)

    assert result.revert is not None
    [failed] = result.revert.failed
    assert failed.path == NEW and failed.retried and "cannot delete" in (failed.error or "")
    assert web.node(APP).data == ORIGINAL  # the other path went back all the same
    final = result.revert.final
    assert final is not None and (final.state, final.healthy) == ("running", True)
    assert "1 step(s) failed" in result.revert.summary


def test_the_plain_revert_tries_every_path_before_raising(
    service: HotfixService, engine: FakeEngine, web: FakeContainer
) -> None:
    _no_delete_unless_running(engine, always=True)
    service.write("web", NEW, b"x = 1\n")
    service.write("web", APP, FIX2)
    with pytest.raises(Unavailable, match="cannot delete"):
        service.revert("web")
    assert web.node(APP).data == ORIGINAL


def test_revert_and_restart_in_one_call(
    service: HotfixService, engine: FakeEngine, web: FakeContainer, http_server: StartServer
) -> None:
    server = http_server(_answers_fix1_only(web))
    _fix1_live(service, server)
    service.write("web", APP, FIX2)
    result = service.revert_and_restart("web", to="last-good", probe=server.url + "/", timeout=2)
    assert result.reverted == [APP] and web.node(APP).data == FIX1
    assert result.restart is not None and result.restart.healthy
    assert result.final is not None and result.final.healthy
    assert revert_view(result)["restart"]["healthy"] is True


# --- the protocol's param ------------------------------------------------------------------------


def test_the_to_param_takes_the_two_names_only() -> None:
    assert Params({"container": "web"}).read(RevertArgs).to == "checkpoint"
    assert Params({"container": "web", "to": "last-good"}).read(RevertArgs).to == "last-good"
    with pytest.raises(InvalidParams, match=r'params\.to: expected "checkpoint" or "last-good"'):
        Params({"container": "web", "to": "lastgood"}).read(RevertArgs)
