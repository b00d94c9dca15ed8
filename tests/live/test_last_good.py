"""Last known good and a revert that finishes the job, on real servers (issue 16, items 4-5).

gunicorn: fix 1 goes live healthy, fix 2 answers HTTP 500; ``--revert-on-failure`` lands on
fix 1 (its body answers, not the incident's), an explicit ``revert`` goes to the checkpoint and
``revert --to last-good`` to fix 1. Node.js: a fix that creates a file and makes the server
exit; the revert cannot delete that file while the container is stopped, restarts it anyway,
deletes the file once it runs and ends running and healthy.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import CliResult, http_get
from tests.live.conftest import LiveService

pytestmark = pytest.mark.engine

GUNICORN_APP = "/srv/app/app.py"
NODE_SERVER = "/app/server.js"
NODE_HELPER = "/app/helper.js"  # created by the bad fix
EXIT_UNHEALTHY = 4

Hotfix = Callable[..., CliResult]


def save(hotfix: Hotfix, service: LiveService, path: str, content: str) -> None:
    result = hotfix("write", f"{service.name}:{path}", input=content.encode())
    assert result.code == 0, result.stderr


def test_revert_on_failure_lands_on_the_last_good_fix(service_images, live_service, hotfix):
    service = live_service(service_images["gunicorn"], 8000)
    original = hotfix("cat", f"{service.name}:{GUNICORN_APP}").stdout
    fix1 = original.replace("gunicorn v1", "gunicorn fix 1")
    save(hotfix, service, GUNICORN_APP, fix1)
    went = hotfix("restart", service.name, "--probe", service.url, "--expect-body", "fix 1")
    assert went.code == 0, went.stdout + went.stderr
    assert http_get(service.url) == (200, "hotfix-test gunicorn fix 1\n")

    fix2 = fix1.replace('return "hotfix-test gunicorn fix 1\\n"', "raise RuntimeError('fix 2')")
    assert fix2 != fix1
    save(hotfix, service, GUNICORN_APP, fix2)
    bad = hotfix(
        "restart", service.name, "--probe", service.url, "--timeout", "20",
        "--revert-on-failure", "--json",
    )  # fmt: skip
    assert bad.code == EXIT_UNHEALTHY, bad.stdout + bad.stderr
    answer = bad.json()
    assert answer["healthy"] is False and answer["probe"]["status"] == 500
    [reverted] = answer["revert"]["files"]
    assert (reverted["path"], reverted["to"], reverted["fallback"]) == (
        GUNICORN_APP,
        "last-good",
        False,
    )
    assert answer["afterRevert"]["healthy"] is True
    assert answer["revert"]["final"]["state"] == "running"
    assert answer["revert"]["final"]["healthy"] is True
    assert http_get(service.url) == (200, "hotfix-test gunicorn fix 1\n")  # not the incident
    # Fix 1 is still a hotfix: the diff against the checkpoint shows it.
    assert '+    return "hotfix-test gunicorn fix 1\\n"' in hotfix("diff", service.name).stdout


def test_revert_goes_to_the_checkpoint_unless_to_last_good(service_images, live_service, hotfix):
    service = live_service(service_images["gunicorn"], 8000)
    target = f"{service.name}:{GUNICORN_APP}"
    original = hotfix("cat", target).stdout
    fix1 = original.replace("gunicorn v1", "gunicorn fix 1")
    save(hotfix, service, GUNICORN_APP, fix1)
    assert hotfix("restart", service.name, "--probe", service.url).code == 0
    fix2 = fix1.replace("fix 1", "fix 2")
    save(hotfix, service, GUNICORN_APP, fix2)

    to_good = hotfix("revert", target, "--to", "last-good")
    assert to_good.code == 0, to_good.stderr
    assert to_good.stdout.startswith(f"reverted {GUNICORN_APP} to last good (went live ")
    assert hotfix("cat", target).stdout == fix1

    to_checkpoint = hotfix("revert", target, "--json")
    assert to_checkpoint.code == 0, to_checkpoint.stderr
    shape = to_checkpoint.json()
    assert (shape["to"], shape["reverted"]) == ("checkpoint", [GUNICORN_APP])
    assert shape["files"][0]["to"] == "checkpoint"
    assert hotfix("cat", target).stdout == original

    journal = hotfix("log", service.name, "--json").json()["entries"]
    reverts = [e["detail"].get("to") for e in journal if e["action"] == "revert"]
    assert reverts == ["last-good", "checkpoint"]


def test_a_crashing_fix_with_a_created_file_ends_running_and_healthy(
    service_images, live_service, hotfix
):
    service = live_service(service_images["node"], 3000, init=True)
    source = hotfix("cat", f"{service.name}:{NODE_SERVER}").stdout
    save(hotfix, service, NODE_HELPER, 'throw new Error("fix 2 is broken");\n')
    save(hotfix, service, NODE_SERVER, 'require("./helper.js");\n' + source)

    result = hotfix(
        "restart", service.name, "--probe", service.url, "--timeout", "20",
        "--revert-on-failure",
    )  # fmt: skip
    lines = result.stdout.strip().splitlines()
    # Exit 4: the fix did not go live; not 1: no step of the revert failed for good.
    assert result.code == EXIT_UNHEALTHY, result.stdout + result.stderr
    assert f"reverted {NODE_SERVER} to checkpoint (no last good for it)" in lines
    assert (
        f"reverted {NODE_HELPER} to checkpoint (no last good for it) (retried once the container ran)"
        in lines
    )
    assert lines[-1].startswith(f"final state: {service.name} running, healthy"), result.stdout
    assert http_get(service.url) == (200, "hotfix-test node v1\n")
    service.container.reload()
    assert service.container.status == "running"
    assert "No such file" in service.sh(f"ls {NODE_HELPER} 2>&1 || true")
