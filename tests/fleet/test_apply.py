"""Replicas on real engines: apply (parallel and rolling), conflicts, two engines, TLS.

Through the real CLI; the second engine is another dockerd on this machine, reached
through docker contexts over its unix socket and over TCP with mutual TLS.
"""

from __future__ import annotations

import pytest
from unidiff import PatchSet

from tests.conftest import http_get

pytestmark = pytest.mark.engine

APP = "/usr/src/app/app.py"
PAGE = "/www/index.html"


def fix_source(hotfix, name: str) -> None:
    source = hotfix("cat", f"{name}:{APP}").stdout.replace("= True", "= False")
    assert hotfix("write", f"{name}:{APP}", input=source.encode()).code == 0


def test_rolling_apply_fixes_every_compose_replica(compose_replicas, hotfix):
    group = compose_replicas("prod", 3)
    first, *others = group
    assert all(http_get(r.url)[0] == 500 for r in group)
    fix_source(hotfix, first.name)

    result = hotfix("apply", first.name, "--to-replicas", "--rolling", "--json")
    assert result.code == 0, result.stdout + result.stderr
    data = result.json()
    assert [t["status"] for t in data["targets"]] == ["fixed", "fixed"]
    assert sorted(t["container"] for t in data["targets"]) == sorted(r.name for r in others)
    assert all(t["health"]["healthy"] for t in data["targets"])
    for replica in others:
        assert http_get(replica.url) == (200, "Hello World")
        assert replica.sh(f"stat -c '%u %g %a' {APP}").strip() == "0 0 644"

    # One change, three containers: the replica diff shows it once.
    assert hotfix("restart", first.name).code == 0
    diff = hotfix("diff", first.name, "--replicas", "--json").json()["groups"]
    assert len(diff) == 1 and sorted(diff[0]["containers"]) == sorted(r.name for r in group)
    [patched] = PatchSet(diff[0]["diff"])
    assert patched.added == 1 and patched.removed == 1

    reverted = hotfix("revert", first.name, "--replicas", "--json").json()["reverted"]
    assert sorted(reverted) == sorted(r.name for r in group)
    assert all(paths == [APP] for paths in reverted.values())


def test_rolling_apply_stops_and_reverts_at_the_first_unhealthy_replica(compose_replicas, hotfix):
    group = compose_replicas("busybox", 4, wait_http=False, command=["sleep", "3600"])
    source, *targets = group
    for replica in group:
        replica.sh("echo healthy > /etc/status")
    # The "fix" breaks health; --rolling must stop at the first target and revert it.
    assert hotfix("write", f"{source.name}:/etc/status", input=b"broken\n").code == 0
    result = hotfix(
        "apply",
        source.name,
        "--to",
        *(t.name for t in targets),
        "--rolling",
        "--probe",
        "exec:grep -q healthy /etc/status",
        "--timeout",
        "2",
        "--json",
    )
    assert result.code == 4, result.stdout + result.stderr
    statuses = [(t["container"], t["status"]) for t in result.json()["targets"]]
    assert statuses == [
        (targets[0].name, "reverted"),
        (targets[1].name, "untouched"),
        (targets[2].name, "untouched"),
    ]
    for target in targets:
        assert target.sh("cat /etc/status") == "healthy\n"


def test_a_replica_with_its_own_change_is_refused(compose_replicas, hotfix):
    group = compose_replicas("busybox", 3, wait_http=False, command=["sleep", "3600"])
    source, clean, drifted = group
    for replica in group:
        replica.sh("echo 'level=info' > /etc/app.conf")
    drifted.sh("echo 'level=debug' > /etc/app.conf")
    assert hotfix("write", f"{source.name}:/etc/app.conf", input=b"level=warn\n").code == 0

    result = hotfix("apply", source.name, "--to-replicas", "--json")
    assert result.code == 3
    by_name = {t["container"]: t for t in result.json()["targets"]}
    assert by_name[clean.name]["status"] == "written"
    assert by_name[drifted.name]["status"] == "conflict"
    assert "--force" in by_name[drifted.name]["detail"]
    assert clean.sh("cat /etc/app.conf") == "level=warn\n"
    assert drifted.sh("cat /etc/app.conf") == "level=debug\n"  # untouched


def test_apply_across_two_engines_over_unix_and_tls(
    second_engine, second_engine_contexts, compose_replicas, hotfix
):
    engine2 = second_engine
    local = compose_replicas("busybox", 2, service="web")
    remote = compose_replicas(
        "busybox", 2, project=local.project, service="web", client=engine2.client_unix()
    )
    env = engine2.env_contexts()
    source = local[0]
    assert hotfix("write", f"{source.name}:{PAGE}", input=b"fixed everywhere\n", env=env).code == 0

    listed = hotfix("ps", "--all-engines", "--json", env=env).json()["containers"]
    engines_of = {c["name"]: c["engine"] for c in listed}
    assert engines_of[remote[0].name] in (engine2.context, engine2.tls_context)

    # The second engine over mutual TLS (REQUESTS_CA_BUNDLE in the environment must not
    # replace its CA), and over its unix socket.
    result = hotfix(
        "apply",
        source.name,
        "--to",
        local[1].name,
        f"{engine2.tls_context}/{remote[0].name}",
        f"{engine2.context}/{remote[1].name}",
        "--json",
        env=env,
    )
    assert result.code == 0, result.stdout + result.stderr
    assert [t["status"] for t in result.json()["targets"]] == ["written"] * 3
    for replica in (*local, *remote):
        assert http_get(replica.url) == (200, "fixed everywhere\n")

    cat = hotfix("cat", f"{remote[0].name}:{PAGE}", "--engine", engine2.tls_context, env=env)
    assert cat.code == 0 and cat.stdout == "fixed everywhere\n"
    unknown = hotfix("ps", "--engine", "no-such-engine", env=env)
    assert unknown.code == 2 and "unknown engine 'no-such-engine'" in unknown.stderr


def test_replicas_across_engines_are_found_with_all_engines(
    second_engine, second_engine_contexts, compose_replicas, hotfix
):
    engine2 = second_engine
    local = compose_replicas("busybox", 1, service="api")
    compose_replicas(
        "busybox", 1, project=local.project, service="api", client=engine2.client_unix()
    )
    env = engine2.env_contexts()
    assert hotfix("write", f"{local[0].name}:{PAGE}", input=b"v2\n", env=env).code == 0
    only_here = hotfix("apply", local[0].name, "--to-replicas", env=env)
    assert only_here.code == 2 and "no targets" in only_here.stderr
    everywhere = hotfix("apply", local[0].name, "--to-replicas", "--all-engines", "--json", env=env)
    assert everywhere.code == 0, everywhere.stderr
    [target] = everywhere.json()["targets"]
    assert target["engine"] in (engine2.context, engine2.tls_context)
    assert target["status"] == "written"


def test_harvest_of_replicas_takes_one_identical_change(compose_replicas, hotfix, tmp_path):
    import git

    group = compose_replicas("busybox", 3, wait_http=False, command=["sleep", "3600"])
    repo = git.Repo.init(tmp_path / "repo")
    (tmp_path / "repo" / "www").mkdir()
    original = group[0].sh("cat /www/index.html")
    (tmp_path / "repo" / "www" / "index.html").write_text(original)
    repo.index.add(["www/index.html"])
    repo.index.commit("site")

    for replica in group[:2]:
        assert hotfix("write", f"{replica.name}:{PAGE}", input=b"fixed\n").code == 0
    ok = hotfix("harvest", group[0].name, "--repo", str(tmp_path / "repo"), "--replicas", "--json")
    assert ok.code == 0, ok.stderr
    assert "one change across" in ok.stderr
    assert ok.json()["branch"].startswith("hotfix-")

    assert hotfix("write", f"{group[2].name}:{PAGE}", input=b"something else\n").code == 0
    refused = hotfix("harvest", group[0].name, "--repo", str(tmp_path / "repo"), "--replicas")
    assert refused.code == 3
    assert "2 different changes" in refused.stderr and group[2].name in refused.stderr
