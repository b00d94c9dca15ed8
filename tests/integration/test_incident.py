"""The seed incident end to end through the real CLI and a real engine.

my_prod_service answers 500 because app.py says ``cause_a_problem = True``; the fix
is ``False``. Write it, restart, probe 200, diff is the one-line change, revert → 500.
"""

from __future__ import annotations

import json

import pytest
from unidiff import PatchSet

from tests.conftest import http_get

pytestmark = pytest.mark.engine

APP = "/usr/src/app/app.py"


@pytest.fixture
def incident(images, run_container):
    return run_container(images["prod"], port=8001)


def test_incident_end_to_end(incident, hotfix, tmp_path):
    name = incident.name
    assert http_get(incident.url)[0] == 500

    # The default probe is HTTP GET / on the first published port: unhealthy now, exit 4.
    probe = hotfix("probe", name, "--timeout", "1")
    assert probe.code == 4, probe.stderr
    assert "500" in probe.stdout

    original = hotfix("cat", f"{name}:{APP}")
    assert original.code == 0
    fixed = tmp_path / "app.py"
    fixed.write_text(original.stdout.replace("cause_a_problem = True", "cause_a_problem = False"))

    write = hotfix("write", f"{name}:{APP}", str(fixed), "--json")
    assert write.code == 0, write.stderr
    assert write.json()["checkpointed"] is True

    restart = hotfix("restart", name, "--json")
    assert restart.code == 0, restart.stderr
    result = restart.json()
    assert result["healthy"] is True
    assert result["probe"]["status"] == 200
    assert 0 < result["seconds"] < 30
    assert http_get(incident.url) == (200, "Hello World")

    diff = hotfix("diff", name)
    assert diff.code == 0
    patch = PatchSet(diff.stdout)
    assert [f.path for f in patch] == [APP.lstrip("/")]
    removed = [line.value for h in patch[0] for line in h if line.is_removed]
    added = [line.value for h in patch[0] for line in h if line.is_added]
    assert removed == ["    cause_a_problem = True\n"]
    assert added == ["    cause_a_problem = False\n"]

    revert = hotfix("revert", name)
    assert revert.code == 0 and APP in revert.stdout
    assert hotfix("diff", name).stdout == ""  # nothing changed against the checkpoint any more
    again = hotfix("restart", name, "--timeout", "5")
    assert again.code == 4, again.stdout  # unhealthy: the original bug is back
    assert http_get(incident.url)[0] == 500
    assert hotfix("cat", f"{name}:{APP}").stdout == original.stdout

    log = hotfix("log", name, "--json").json()["entries"]
    actions = [(e["action"], e["outcome"]) for e in log]
    assert ("write", "ok") in actions and ("revert", "ok") in actions
    assert all(e["user"] for e in log)


def test_signal_hup_reloads_uwsgi(incident, hotfix):
    name = incident.name
    source = hotfix("cat", f"{name}:{APP}").stdout.replace("= True", "= False")
    assert hotfix("write", f"{name}:{APP}", input=source.encode()).code == 0
    restart = hotfix("restart", name, "--signal", "HUP", "--json")
    assert restart.code == 0, restart.stderr
    assert restart.json()["action"] == "signal HUP"
    assert http_get(incident.url)[0] == 200


def test_syntax_error_is_refused_unless_forced(incident, hotfix):
    name = incident.name
    broken = b"def application(env, start_response:\n"
    refused = hotfix("write", f"{name}:{APP}", input=broken)
    assert refused.code == 1
    assert "not written" in refused.stderr and "line 1" in refused.stderr
    assert "def application(env, start_response):" in hotfix("cat", f"{name}:{APP}").stdout
    forced = hotfix("write", f"{name}:{APP}", "--force", input=broken)
    assert forced.code == 0
    assert hotfix("cat", f"{name}:{APP}").stdout == broken.decode()


def test_ps_lists_the_container(incident, hotfix):
    result = hotfix("ps", "--json")
    assert result.code == 0
    rows = {c["name"]: c for c in result.json()["containers"]}
    row = rows[incident.name]
    assert row["state"] == "running"
    assert any("->8001/tcp" in p and p.startswith("127.0.0.1:") for p in row["ports"])
    assert incident.name in hotfix("ps").stdout


def test_changes_lists_edited_files(incident, hotfix):
    name = incident.name
    assert hotfix("write", f"{name}:/usr/src/app/notes.txt", input=b"hi\n").code == 0
    changes = json.loads(hotfix("changes", name, "--json").stdout)["changes"]
    assert [(c["path"], c["status"]) for c in changes] == [("/usr/src/app/notes.txt", "created")]
