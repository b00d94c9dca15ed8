"""Going live that proves itself, on real servers under load (issue 16, items 1-3 and the early
end): the strategy chosen from the container's processes, the pre-flight check, the proof that
the serving processes are new, and an HTTP 5xx that ends the wait.

Load goes only to the services' ports published on 127.0.0.1 (tests/live/load.py).
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.conftest import http_get
from tests.live.load import LoadLoop
from tests.live.test_going_live import (
    GUNICORN_APP,
    NGINX_SITE,
    UWSGI_APP,
    Hotfix,
    assert_only_new_body_at_the_end,
    save,
)

pytestmark = pytest.mark.engine

NGINX_PAGE = "hotfix-test nginx v1\n"
SETTLE = 1.0  # seconds of load kept after going live (old workers finish)


def nginx_site_answering(hotfix: Hotfix, name: str, body: str) -> str:
    site = hotfix("cat", f"{name}:{NGINX_SITE}").stdout
    new_site = site.replace(
        "\tlocation / {", f'\tlocation = / {{\n\t\treturn 200 "{body}\\n";\n\t}}\n\n\tlocation / {{'
    )
    assert new_site != site
    return new_site


def restart_json(hotfix: Hotfix, name: str, *args: str) -> tuple[int, dict[str, Any]]:
    result = hotfix("restart", name, "--json", *args)
    answer: dict[str, Any] = result.json()
    return result.code, answer


def serving_state(service: Any) -> tuple[str, list[str]]:
    """StartedAt and the PIDs of the container's processes: what must not change."""
    service.container.reload()
    pids = sorted(row[1] for row in service.container.top()["Processes"])
    return service.container.attrs["State"]["StartedAt"], pids


def test_nginx_invalid_config_is_not_applied_then_revert_applies(
    service_images, live_service, hotfix
):
    service = live_service(service_images["nginx"], 80)
    broken = nginx_site_answering(hotfix, service.name, "v2").replace(
        "listen 80", "listen 80 bogus"
    )
    with LoadLoop(service.url, threads=4, duration=60) as load:
        assert load.wait_for_body(NGINX_PAGE.strip(), timeout=10) is not None, load.describe()
        save(hotfix, service, NGINX_SITE, broken)
        started = time.monotonic()
        result = hotfix("restart", service.name, "--signal", "HUP", "--no-check", "--timeout", "20")
        took = time.monotonic() - started
        time.sleep(SETTLE)
    assert result.code == 4, result.stdout + result.stderr
    assert "not applied: nginx's workers did not restart (its config test failed?)" in result.stdout
    assert "strategy: signal HUP (--signal given)" in result.stdout
    assert took < 15, took  # nginx's settle time, not the whole timeout
    assert load.failed == 0, load.describe()
    assert_only_new_body_at_the_end(load, NGINX_PAGE.strip())  # the old config still serves

    reverted = hotfix("revert", service.name)
    assert reverted.code == 0, reverted.stderr
    code, answer = restart_json(hotfix, service.name, "--signal", "HUP", "--no-check")
    assert code == 0, answer
    assert (answer["healthy"], answer["applied"]) == (True, True)


def test_nginx_valid_config_default_strategy_proves_the_new_page(
    service_images, live_service, hotfix
):
    service = live_service(service_images["nginx"], 80)
    with LoadLoop(service.url, threads=4, duration=60) as load:
        assert load.wait_for_body(NGINX_PAGE.strip(), timeout=10) is not None, load.describe()
        save(hotfix, service, NGINX_SITE, nginx_site_answering(hotfix, service.name, "config v2"))
        code, answer = restart_json(hotfix, service.name, "--expect-body", "config v2")
        at_healthy = http_get(service.url)  # right when hotfix says healthy
        time.sleep(SETTLE)
    assert code == 0, answer
    assert answer["strategy"] == {"how": "signal HUP", "why": "nginx master detected"}
    assert answer["check"]["command"] == "nginx -t" and answer["check"]["passed"] is True
    assert answer["applied"] is True
    assert at_healthy == (200, "config v2\n")
    assert load.failed == 0, load.describe()
    assert_only_new_body_at_the_end(load, "config v2")


@pytest.mark.parametrize(
    ("server", "path", "old", "new", "why"),
    [
        ("uwsgi", UWSGI_APP, 'b"Hello World"', 'b"Hello World, fix 2"', "uWSGI master detected"),
        ("gunicorn", GUNICORN_APP, "v1", "v2 reloaded", "gunicorn master detected"),
    ],
)
def test_default_restart_picks_hup_and_fails_no_request(
    images, service_images, live_service, hotfix, server, path, old, new, why
):
    if server == "uwsgi":
        service = live_service(images["prod"], 8001)
    else:
        service = live_service(service_images["gunicorn"], 8000)
    source = hotfix("cat", f"{service.name}:{path}").stdout
    if server == "uwsgi":  # the incident's own fix first: until then every answer is a 500
        source = source.replace("= True", "= False")
        save(hotfix, service, path, source)
        assert restart_json(hotfix, service.name)[0] == 0
    assert old in source
    new_body = new.strip('b"')
    with LoadLoop(service.url, threads=4, duration=60) as load:
        assert load.wait_for_body("", timeout=10) is not None, load.describe()
        save(hotfix, service, path, source.replace(old, new))
        code, answer = restart_json(hotfix, service.name, "--expect-body", new_body)
        at_healthy = http_get(service.url)
        time.sleep(SETTLE)
    assert code == 0, answer
    assert answer["strategy"] == {"how": "signal HUP", "why": why}
    assert answer["applied"] is True
    assert new_body in at_healthy[1], at_healthy
    assert load.failed == 0, load.describe()
    assert_only_new_body_at_the_end(load, new_body)


def test_an_app_answering_500_is_unhealthy_long_before_the_timeout(
    service_images, live_service, hotfix
):
    service = live_service(service_images["gunicorn"], 8000)
    source = hotfix("cat", f"{service.name}:{GUNICORN_APP}").stdout
    failing = source.replace('return "hotfix-test gunicorn v1\\n"', 'return "broken\\n", 500')
    assert failing != source
    save(hotfix, service, GUNICORN_APP, failing)
    started = time.monotonic()
    code, answer = restart_json(hotfix, service.name, "--timeout", "60")
    took = time.monotonic() - started
    assert code == 4, answer
    assert answer["probe"]["status"] == 500
    assert "3 times in a row" in answer["probe"]["detail"]
    assert took < 15, took


def test_a_failing_check_refuses_and_leaves_the_process_untouched(
    service_images, live_service, hotfix
):
    service = live_service(service_images["nginx"], 80)
    before = serving_state(service)
    broken = nginx_site_answering(hotfix, service.name, "v2").replace(
        "listen 80", "listen 80 bogus"
    )
    save(hotfix, service, NGINX_SITE, broken)
    result = hotfix("restart", service.name)  # the default check: nginx -t
    assert result.code == 4, result.stdout + result.stderr
    assert "check nginx -t (nginx's config test): FAILED (exit 1)" in result.stdout
    assert "bogus" in result.stdout  # what the check printed
    assert "nothing went live" in result.stdout
    explicit = hotfix("restart", service.name, "--check", "exec:test -e /nonexistent", "--json")
    assert explicit.code == 4
    assert explicit.json()["refused"] is True
    assert serving_state(service) == before
    assert http_get(service.url) == (200, NGINX_PAGE)
