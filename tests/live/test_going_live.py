"""Going live on real servers under load: today's behaviour that must keep holding (issue 16).

Each test saves a change with the real CLI while a bounded load loop (tests/live/load.py)
GETs the service on its fixed 127.0.0.1 port, then checks the new version answers and, for
a graceful reload, that no request failed on the way.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.conftest import CliResult, http_get
from tests.live.conftest import LiveService
from tests.live.load import LoadLoop

pytestmark = pytest.mark.engine

UWSGI_APP = "/usr/src/app/app.py"
GUNICORN_APP = "/srv/app/app.py"
NGINX_SITE = "/etc/nginx/sites-enabled/default"  # a link to sites-available/default
NODE_SERVER = "/app/server.js"

NEW_BODY_WAIT = 20.0  # seconds; a reload is done in about one here, a restart in two
SETTLE = 1.0  # seconds of load after the new body first answered (old workers finish)

Hotfix = Callable[..., CliResult]


def save(hotfix: Hotfix, service: LiveService, path: str, content: str) -> None:
    result = hotfix("write", f"{service.name}:{path}", input=content.encode())
    assert result.code == 0, result.stderr


def go_live(hotfix: Hotfix, service: LiveService, *restart_args: str) -> dict[str, object]:
    result = hotfix("restart", service.name, "--json", *restart_args)
    assert result.code == 0, result.stdout + result.stderr
    answer: dict[str, object] = result.json()
    assert answer["healthy"] is True
    return answer


def save_and_go_live_under_load(
    hotfix: Hotfix,
    service: LiveService,
    path: str,
    content: str,
    new_body: str,
    *restart_args: str,
) -> tuple[LoadLoop, dict[str, object]]:
    """Save CONTENT to PATH and go live while the load loop runs; stop once NEW_BODY has
    answered for a while. Returns the load (stopped) and the restart's JSON answer."""
    with LoadLoop(service.url, threads=4, duration=90) as load:
        assert load.wait_for_body("", timeout=10) is not None, load.describe()
        save(hotfix, service, path, content)
        answer = go_live(hotfix, service, *restart_args)
        seen = load.wait_for_body(new_body, timeout=NEW_BODY_WAIT)
        assert seen is not None, f"{new_body!r} never answered\n{load.describe()}"
        time.sleep(SETTLE)
    return load, answer


def assert_only_new_body_at_the_end(load: LoadLoop, new_body: str) -> None:
    last = load.spans()[-1]
    assert last.outcome.startswith("HTTP 200") and new_body in last.outcome, load.describe()


def test_uwsgi_reload_under_load_fails_no_request(images, live_service, hotfix):
    service = live_service(images["prod"], 8001)
    fixed = hotfix("cat", f"{service.name}:{UWSGI_APP}").stdout.replace("= True", "= False")
    save(hotfix, service, UWSGI_APP, fixed)  # the incident's fix, live before the load starts
    go_live(hotfix, service, "--signal", "HUP")
    assert http_get(service.url) == (200, "Hello World")

    second = fixed.replace('b"Hello World"', 'b"Hello World, fix 2"')
    load, answer = save_and_go_live_under_load(
        hotfix, service, UWSGI_APP, second, "fix 2", "--signal", "HUP"
    )
    assert answer["action"] == "signal HUP"
    assert load.failed == 0, load.describe()
    assert_only_new_body_at_the_end(load, "fix 2")


def test_gunicorn_reload_serves_the_new_app(service_images, live_service, hotfix):
    service = live_service(service_images["gunicorn"], 8000)
    assert http_get(service.url) == (200, "hotfix-test gunicorn v1\n")
    source = hotfix("cat", f"{service.name}:{GUNICORN_APP}").stdout
    load, answer = save_and_go_live_under_load(
        hotfix, service, GUNICORN_APP, source.replace("v1", "v2"), "v2", "--signal", "HUP"
    )
    assert answer["action"] == "signal HUP"
    assert load.failed == 0, load.describe()
    assert_only_new_body_at_the_end(load, "gunicorn v2")


def test_nginx_reload_serves_a_valid_new_config(service_images, live_service, hotfix):
    service = live_service(service_images["nginx"], 80)
    assert http_get(service.url) == (200, "hotfix-test nginx v1\n")
    site = hotfix("cat", f"{service.name}:{NGINX_SITE}").stdout
    new_site = site.replace(
        "\tlocation / {",
        '\tlocation = / {\n\t\treturn 200 "hotfix-test nginx config v2\\n";\n\t}\n\n\tlocation / {',
    )
    assert new_site != site
    load, answer = save_and_go_live_under_load(
        hotfix, service, NGINX_SITE, new_site, "config v2", "--signal", "HUP"
    )
    assert answer["action"] == "signal HUP"
    assert load.failed == 0, load.describe()
    assert_only_new_body_at_the_end(load, "config v2")
    # Written through the link: the link stays, its target has the new config.
    assert (
        service.sh("readlink /etc/nginx/sites-enabled/default")
        .strip()
        .endswith("sites-available/default")
    )
    assert service.sh("nginx -t 2>&1; echo exit=$?").strip().endswith("exit=0")


def test_node_as_non_root_keeps_owner_and_mode_and_restarts(service_images, live_service, hotfix):
    # --init: node as PID 1 ignores SIGTERM, and each restart would wait out Docker's 10 s.
    service = live_service(service_images["node"], 3000, init=True)
    stat = f"stat -c '%U:%G %a' {NODE_SERVER}"
    assert service.sh(stat).strip() == "app:app 640"
    source = hotfix("cat", f"{service.name}:{NODE_SERVER}").stdout
    save(hotfix, service, NODE_SERVER, source.replace("v1", "v2"))
    assert service.sh(stat).strip() == "app:app 640"

    answer = go_live(hotfix, service)
    assert answer["action"] == "restart"
    assert http_get(service.url) == (200, "hotfix-test node v2\n")
    top = service.container.top(ps_args="-o pid,uid,args")["Processes"]
    assert [uid for _, uid, args in top if args.startswith("node ")] == ["1000"]


def test_two_fixes_of_one_size_within_a_second_both_go_live(service_images, live_service, hotfix):
    """Python reuses a module's bytecode while its source keeps its whole-second mtime and
    size: the second of two same-size saves in one second would run the first's code."""
    service = live_service(service_images["gunicorn"], 8000)
    source = hotfix("cat", f"{service.name}:{GUNICORN_APP}").stdout
    time.sleep(1 - time.time() % 1)  # at the start of a second: both saves fall in it
    save(hotfix, service, GUNICORN_APP, source.replace("v1", "v7"))
    code, out = service.container.exec_run(["python3", "-m", "py_compile", GUNICORN_APP])
    assert code == 0, out  # the bytecode of v7, as a worker importing it would leave it
    save(hotfix, service, GUNICORN_APP, source.replace("v1", "v8"))
    with LoadLoop(service.url, threads=2, duration=60) as load:
        go_live(hotfix, service)  # the default: gunicorn's HUP, proven
        assert http_get(service.url) == (200, "hotfix-test gunicorn v8\n")
        load.stop()
    assert load.failed == 0, load.describe()
