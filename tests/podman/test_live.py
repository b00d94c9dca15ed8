"""Going live on Podman with real servers (tests/live): uWSGI's and gunicorn's HUP reload
under the bounded load loop with no failed request — gunicorn's by the default strategy,
which finds the server through Podman — and ``--revert-on-failure`` landing on the last
good fix."""

from __future__ import annotations

import pytest

from tests.conftest import http_get
from tests.live.test_going_live import (  # noqa: F401
    GUNICORN_APP,
    assert_only_new_body_at_the_end,
    save_and_go_live_under_load,
    test_gunicorn_reload_serves_the_new_app,
    test_uwsgi_reload_under_load_fails_no_request,
)
from tests.live.test_last_good import test_revert_on_failure_lands_on_the_last_good_fix  # noqa: F401

pytestmark = pytest.mark.engine


def test_gunicorn_default_strategy_is_its_reload(service_images, live_service, hotfix):
    service = live_service(service_images["gunicorn"], 8000)
    assert http_get(service.url) == (200, "hotfix-test gunicorn v1\n")
    source = hotfix("cat", f"{service.name}:{GUNICORN_APP}").stdout
    new = source.replace("v1", "default v2")
    load, answer = save_and_go_live_under_load(hotfix, service, GUNICORN_APP, new, "default v2")
    assert answer["action"] == "signal HUP"  # found as gunicorn, not restarted
    assert load.failed == 0, load.describe()
    assert_only_new_body_at_the_end(load, "gunicorn default v2")
