"""write_many and apply on real replicas through /proc/<pid>/root: the grouped flush keeps
every guarantee of a single save (conflict, failure, owner and mode, journal, checkpoint,
no temp file)."""

from __future__ import annotations

import pytest

from hotfix import localfs
from hotfix.engine import Engine
from hotfix.errors import Conflict, HotfixError
from hotfix.fleet import Fleet, Target
from hotfix.service import HotfixService, WriteRequest, WriteResult
from hotfix.state import StateStore, version_of

pytestmark = pytest.mark.engine

CONF = "/etc/app.conf"
OLD = b"level=info\n"
NEW = b"level=warn\n"


@pytest.fixture
def local_service(docker_client, state_dir):
    store = StateStore(state_dir)
    yield HotfixService(Engine(docker_client), store, user="tester")
    store.close()


def prepare(group) -> None:
    for replica in group:
        replica.sh(f"printf 'level=info\\n' > {CONF} && chown 1000:1001 {CONF} && chmod 640 {CONF}")


def test_write_many_on_many_replicas(
    compose_replicas, run_container, images, local_service, monkeypatch
):
    seen: list[localfs.Replacement] = []
    replace_many = localfs.replace_many

    def spy(files: list[localfs.Replacement]) -> None:
        replace_many(files)
        seen.extend(files)

    monkeypatch.setattr(localfs, "replace_many", spy)
    group = list(compose_replicas("busybox", 5, wait_http=False, command=["sleep", "3600"]))
    # One more whose file lives on a read-only mount: checked fine, its write fails mid-batch.
    broken = run_container(images["busybox"], command=["sleep", "3600"], tmpfs={"/ro": "ro"})
    group.insert(4, broken)
    prepare(group)
    drifted = group[1]
    drifted.sh(f"printf 'level=debug\\n' > {CONF}")
    requests = [WriteRequest(r.name, CONF, NEW, version_of(OLD)) for r in group]
    requests[4] = WriteRequest(broken.name, "/ro/app.conf", NEW)
    results = local_service.write_many(requests)
    if localfs.group_flush_available():  # the four that could be written shared the flush
        assert sorted(f.grouped for f in seen) == [False, True, True, True, True]
    assert isinstance(results[1], Conflict)
    assert isinstance(results[4], HotfixError) and "read-only" in str(results[4])
    store = local_service.store
    for index, replica in enumerate(group):
        listing = replica.sh("ls -a /etc | grep -c hotfix || true").strip()
        assert listing == "0", "a temp file was left"
        if index in (1, 4):
            continue
        result = results[index]
        assert isinstance(result, WriteResult) and result.checkpointed
        assert replica.sh(f"cat {CONF}") == NEW.decode()
        assert replica.sh(f"stat -c '%u %g %a' {CONF}").strip() == "1000 1001 640"
        cp = store.get_checkpoint(replica.container.id, CONF)
        assert cp is not None and cp.version == version_of(OLD) and cp.uid == 1000
    assert drifted.sh(f"cat {CONF}") == "level=debug\n"
    assert store.get_checkpoint(drifted.container.id, CONF) is None
    rows = {e.container_id: e for e in store.journal() if e.action == "write"}
    assert drifted.container.id not in rows
    assert rows.pop(broken.container.id).outcome == "failed"
    assert store.get_checkpoint(broken.container.id, "/ro/app.conf") is not None  # as write()
    assert {e.outcome for e in rows.values()} == {"ok"} and len(rows) == 4


def test_apply_to_replicas_goes_through_the_group(compose_replicas, docker_client, state_dir):
    from hotfix.engines import Engines

    group = compose_replicas("busybox", 5, wait_http=False, command=["sleep", "3600"])
    prepare(group)
    source, *targets = group
    store = StateStore(state_dir)
    try:
        fleet = Fleet(Engines(), store, user="tester")
        fleet.service("default").write(source.name, CONF, NEW)
        result = fleet.apply(Target.parse(source.name), [Target.parse(t.name) for t in targets])
        assert [o.status for o in result.outcomes] == ["written"] * 4
        for replica in targets:
            assert replica.sh(f"cat {CONF}") == NEW.decode()
            assert replica.sh(f"stat -c '%u %g %a' {CONF}").strip() == "1000 1001 640"
            assert store.get_checkpoint(replica.container.id, CONF) is not None
    finally:
        store.close()
