"""The lifecycle's part of the state store: a hotfixed container's identity, kept from its
first checkpoint; the fixed content kept as a blob; older state dirs opened as they are."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hotfix.core.model import ContainerInfo
from hotfix.lifecycle.stages import hotfixes
from hotfix.service.files import HotfixService
from hotfix.store.state import StateStore, version_of
from tests.unit.fakes import FakeEngine

LABELS = {
    "com.docker.compose.project": "shop",
    "com.docker.compose.service": "web",
    "com.docker.compose.container-number": "2",
    "com.example.unrelated": "x",
}


def test_the_first_save_remembers_the_container_and_keeps_the_fixed_content(tmp_path: Path):
    engine = FakeEngine()
    c = engine.add_container("shop-web-2")
    c.labels.update(LABELS)
    c.add_file("/app.py", b"old\n")
    store = StateStore(tmp_path)
    svc = HotfixService(engine, store, user="ann")  # type: ignore[arg-type]
    svc.write("shop-web-2", "/app.py", b"new\n")
    svc.write("shop-web-2", "/app.py", b"newer\n")
    who = store.container_identities()[c.id]
    assert (who.engine, who.name, who.image) == ("default", "shop-web-2", c.image)
    assert (
        "com.example.unrelated" not in who.labels
        and who.labels["com.docker.compose.service"] == "web"
    )
    assert store.get_blob(version_of(b"newer\n").removeprefix("sha256:")) == b"newer\n"
    [fix] = hotfixes(store.checkpoints(), store.lifecycle_journal(), store.container_identities())
    assert [f.fixed for f in fix.files] == [version_of(b"newer\n")] and fix.users == ("ann",)


def test_a_state_dir_from_before_the_lifecycle_opens_and_gains_the_table(tmp_path: Path):
    StateStore(tmp_path).close()
    with sqlite3.connect(tmp_path / "state.db") as db:  # as schema version 2 left it
        db.execute("DROP TABLE container_identity")
        db.execute("PRAGMA user_version=2")
    store = StateStore(tmp_path)
    assert store.container_identities() == {}
    info = ContainerInfo(id="c1", name="web", image="app:1", image_id="sha256:1", state="running")
    store.remember_container(info)
    store.remember_container(info)  # the first one stays
    assert list(store.container_identities()) == ["c1"]
    assert not store.has_checkpoints()
