"""A first-write warning worth reading, on a real engine (issue 16, item 8): what a service
writes itself at start (a pid file, ``__pycache__``, /tmp, /run, /var/log, files it
creates) gives no warning; an image file edited by someone else (``docker exec sed -i``)
does, with the count of runtime files ignored. Saved under a bounded load loop."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import CliResult
from tests.live.conftest import LiveService
from tests.live.load import LoadLoop

pytestmark = pytest.mark.engine

Hotfix = Callable[..., CliResult]
PATHS = {"local": {}, "archive": {"HOTFIX_LOCAL_FS": "0"}}
SOMEONE_ELSE = "someone else may be editing it"

# What a service leaves behind as it starts, then the server itself as PID 1.
NOISY_START = (
    "mkdir -p /run /var/log /app/__pycache__ && echo $$ > /run/app.pid"
    " && echo $$ > /www/httpd.pid && echo bytecode > /app/__pycache__/app.cpython-311.pyc"
    " && echo upload > /tmp/upload.part && echo started > /var/log/app.log"
    " && echo generated > /www/generated.html && exec httpd -f -p 8080 -h /www"
)
RUNTIME_FILES = 6  # the files above; their new directories are not leaves


@pytest.fixture
def noisy(images: dict[str, str], live_service: Callable[..., LiveService]) -> LiveService:
    return live_service(images["busybox"], 8080, command=["sh", "-c", NOISY_START])


def first_write_under_load(hotfix: Hotfix, service: LiveService, env: dict[str, str]) -> str:
    with LoadLoop(service.url, threads=4, duration=30) as load:
        assert load.wait_for_body("hotfix-test busybox", timeout=10) is not None, load.describe()
        result = hotfix("write", f"{service.name}:/www/fix.txt", "-", input=b"fixed\n", env=env)
        load.stop()
    assert result.code == 0, result.stderr
    assert load.failed == 0, load.describe()
    return result.stderr


@pytest.mark.parametrize("way", PATHS)
def test_what_the_service_writes_itself_gives_no_warning(
    noisy: LiveService, hotfix: Hotfix, way: str
) -> None:
    assert noisy.sh("cat /run/app.pid") == "1\n"  # the start script ran to its end
    said = first_write_under_load(hotfix, noisy, PATHS[way])
    assert SOMEONE_ELSE not in said, said
    assert "runtime file" not in said, said


@pytest.mark.parametrize("way", PATHS)
def test_an_image_file_edited_by_someone_else_is_warned_of(
    noisy: LiveService, hotfix: Hotfix, way: str
) -> None:
    noisy.sh("sed -i 's/busybox/busybox, edited/' /www/index.html")
    said = first_write_under_load(hotfix, noisy, PATHS[way])
    assert (
        f"{noisy.name} already has 1 image file(s) modified or deleted before this hotfix: "
        f"/www/index.html — {SOMEONE_ELSE} (see `docker diff`); "
        f"{RUNTIME_FILES} runtime file(s) ignored"
    ) in said, said


def test_a_python_service_at_rest_gives_no_warning(
    service_images: dict[str, str], live_service: Callable[..., LiveService], hotfix: Hotfix
) -> None:
    """gunicorn + Flask: its imports leave ``__pycache__`` behind, its workers temp files."""
    service = live_service(service_images["gunicorn"], 8000)
    assert ".pyc" in service.sh("ls /srv/app/__pycache__")  # the noise is there
    with LoadLoop(service.url, threads=4, duration=30) as load:
        assert load.wait_for_body("", timeout=10) is not None, load.describe()
        result = hotfix("write", f"{service.name}:/srv/app/extra.py", "-", input=b"X = 1\n")
        load.stop()
    assert result.code == 0, result.stderr
    assert load.failed == 0, load.describe()
    assert SOMEONE_ELSE not in result.stderr, result.stderr
