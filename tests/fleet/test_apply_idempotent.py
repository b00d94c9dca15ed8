"""Apply is idempotent, on real servers (issue 16): a rolling apply over Compose-labelled
gunicorn replicas fails no request under load; run again, it restarts nothing and reports
every replica ``already fixed``; an apply of a change that never went live warns.

Through the real CLI; the load goes only to the replicas' ports published on 127.0.0.1.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from typing import Any

import pytest

from tests.conftest import Running, http_get
from tests.live.conftest import service_images
from tests.live.load import LoadLoop

pytestmark = pytest.mark.engine

__all__ = ["service_images"]  # the fixture, for the tests of this module

APP = "/srv/app/app.py"
OLD_BODY = "hotfix-test gunicorn v1"
NEW_BODY = "hotfix-test gunicorn v2"


def started_at(replica: Running) -> tuple[str, list[int]]:
    """When the container started and its processes' PIDs: a HUP renews gunicorn's workers,
    a restart the whole container."""
    replica.container.reload()
    pids = [int(row[1]) for row in replica.container.top()["Processes"]]
    return replica.container.attrs["State"]["StartedAt"], sorted(pids)


def test_rolling_apply_under_load_then_again_restarts_nothing(
    compose_replicas: Any, service_images: dict[str, str], hotfix: Any
) -> None:
    group = compose_replicas(service_images["gunicorn"], 4, port=8000)
    source, *targets = group
    fixed = hotfix("cat", f"{source.name}:{APP}").stdout.replace(OLD_BODY, NEW_BODY)
    assert hotfix("write", f"{source.name}:{APP}", input=fixed.encode()).code == 0
    assert hotfix("restart", source.name).code == 0  # the fix went live on its source
    urls = [t.url for t in targets]

    with ExitStack() as stack:
        loads = [stack.enter_context(LoadLoop(url, threads=2, duration=90)) for url in urls]
        assert all(load.wait_for_body(OLD_BODY, 10) for load in loads)
        first = hotfix("apply", source.name, "--to-replicas", "--rolling", "--json")
        assert first.code == 0, first.stdout + first.stderr
        assert all(load.wait_for_body(NEW_BODY, 10) for load in loads)
        time.sleep(0.5)  # old workers finishing their last answers
    for load in loads:
        assert load.failed == 0, load.describe()  # the rolling order drops nothing
    data = first.json()
    assert data["warnings"] == []
    assert [t["status"] for t in data["targets"]] == ["fixed"] * 3
    assert {t["health"]["action"] for t in data["targets"]} == {"signal HUP"}
    assert "warning" not in first.stderr

    before = {t.name: started_at(t) for t in targets}
    again = hotfix("apply", source.name, "--to-replicas", "--rolling")
    assert again.code == 0, again.stdout + again.stderr
    for target in targets:
        assert f"  {target.name}: already fixed (HTTP 200" in again.stdout
        assert started_at(target) == before[target.name]  # neither restarted nor reloaded
        assert http_get(target.url) == (200, NEW_BODY + "\n")
    log = hotfix("log", targets[0].name, "--json").json()
    actions = [e["action"] for e in log["entries"]]
    assert actions.count("write") == 1 and actions.count("restart") == 1


def test_a_mixed_set_writes_only_the_replicas_without_the_fix(
    compose_replicas: Any, service_images: dict[str, str], hotfix: Any
) -> None:
    source, done, todo = compose_replicas(service_images["gunicorn"], 3, port=8000)
    fixed = hotfix("cat", f"{source.name}:{APP}").stdout.replace(OLD_BODY, NEW_BODY)
    assert hotfix("write", f"{source.name}:{APP}", input=fixed.encode()).code == 0
    assert hotfix("restart", source.name).code == 0
    assert hotfix("apply", source.name, "--to", done.name, "--rolling").code == 0
    done_before = started_at(done)
    todo_before = started_at(todo)

    result = hotfix("apply", source.name, "--to-replicas", "--rolling", "--json")
    assert result.code == 0, result.stdout + result.stderr
    statuses = {t["container"]: t["status"] for t in result.json()["targets"]}
    assert statuses == {done.name: "already fixed", todo.name: "fixed"}
    assert started_at(done) == done_before
    assert started_at(todo)[1] != todo_before[1]  # its workers were renewed by the HUP
    assert http_get(todo.url) == (200, NEW_BODY + "\n")


def test_apply_of_a_change_that_never_went_live_warns(
    compose_replicas: Any, service_images: dict[str, str], hotfix: Any
) -> None:
    source, target = compose_replicas(service_images["gunicorn"], 2, port=8000)
    fixed = hotfix("cat", f"{source.name}:{APP}").stdout.replace(OLD_BODY, NEW_BODY)
    assert hotfix("write", f"{source.name}:{APP}", input=fixed.encode()).code == 0

    result = hotfix("apply", source.name, "--to-replicas", "--json")
    assert result.code == 0, result.stdout + result.stderr
    [warning] = result.json()["warnings"]
    assert "never went live healthy" in warning and APP in warning
    [line] = [line for line in result.stderr.splitlines() if "never went live" in line]
    assert line.startswith(f"warning: {source.name}'s change never went live healthy")
    assert hotfix("cat", f"{target.name}:{APP}").stdout == fixed  # applied all the same

    # Once the source went live healthy, the same apply has nothing to warn of.
    assert hotfix("restart", source.name).code == 0
    quiet = hotfix("apply", source.name, "--to-replicas")
    assert quiet.code == 0 and "warning" not in quiet.stderr, quiet.stderr
