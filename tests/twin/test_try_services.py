"""`hotfix try` on other real services: the container's own changes (deletions too) reach the
twin; a no-shell image; a non-root USER image (Node.js); gunicorn."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliResult, Running, http_get
from tests.live.conftest import LiveService
from tests.twin.conftest import twins_of

pytestmark = pytest.mark.usefixtures("no_daemon")


def _try(
    hotfix: Callable[..., CliResult], tmp_path: Path, data: bytes, target: str, *args: str
) -> CliResult:
    src = tmp_path / "new"
    src.write_bytes(data)
    return hotfix("--json", "try", target, str(src), *args)


def test_the_containers_changes_and_deletions_reach_the_twin(
    run_container: Callable[..., Running],
    images: dict[str, str],
    hotfix: Callable[..., CliResult],
    tmp_path: Path,
    docker_client: Any,
) -> None:
    box = run_container(images["busybox"], port=8080)
    box.sh("echo added > /www/added.html && rm /www/index.html && mkdir -m 700 /www/private")
    url = box.url + "fix.html"
    res = _try(
        hotfix, tmp_path, b"fixed\n", f"{box.name}:/www/fix.html",
        "--probe", url, "--expect-body", "fixed", "--keep",
    )  # fmt: skip
    assert res.code == 0, res.stderr
    twin = docker_client.containers.get(res.json()["twin"])
    try:
        code, out = twin.exec_run(["ls", "/www"])
        assert (code, out.decode().split()) == (0, ["added.html", "fix.html", "private"])
        assert twin.exec_run(["stat", "-c", "%a", "/www/private"]).output == b"700\n"
        assert twin.exec_run(["cat", "/www/added.html"]).output == b"added\n"
    finally:
        twin.remove(force=True)
    assert box.exec("ls", "/www")[1].split() == ["added.html", "private"]  # production as it was


def test_a_no_shell_image(
    run_container: Callable[..., Running],
    images: dict[str, str],
    hotfix: Callable[..., CliResult],
    tmp_path: Path,
    docker_client: Any,
) -> None:
    box = run_container(images["noshell"], port=8080)
    before = http_get(box.url)
    res = _try(hotfix, tmp_path, b"<h1>fixed</h1>\n", f"{box.name}:/www/index.html")
    assert res.code == 0, res.stderr
    assert res.json()["result"]["body"] == "<h1>fixed</h1>\n"
    assert http_get(box.url) == before
    assert twins_of(docker_client, box.container.id) == []


def test_a_non_root_user_image(
    service_images: dict[str, str],
    live_service: Callable[..., LiveService],
    hotfix: Callable[..., CliResult],
    tmp_path: Path,
    docker_client: Any,
) -> None:
    node = live_service(service_images["node"], 3000, init=True)
    code, source = node.exec("cat", "/app/server.js")
    assert code == 0 and "hotfix-test node v1" in source
    new = source.replace("hotfix-test node v1", "hotfix-test node v2").encode()
    res = _try(
        hotfix, tmp_path, new, f"{node.name}:/app/server.js",
        "--expect-body", "node v2", "--keep",
    )  # fmt: skip
    assert res.code == 0, res.stderr
    twin = docker_client.containers.get(res.json()["twin"])
    try:
        assert twin.attrs["Config"]["User"] == node.container.attrs["Config"]["User"] != ""
        assert twin.attrs["HostConfig"]["Init"] is True
        stat = twin.exec_run(["stat", "-c", "%u:%g %a", "/app/server.js"]).output
        assert stat == b"1000:1000 640\n"  # the live file's owner and mode
    finally:
        twin.remove(force=True)
    assert "hotfix-test node v1" in http_get(node.url)[1]  # production as it was


def test_gunicorn_then_apply_with_its_reload(
    service_images: dict[str, str],
    live_service: Callable[..., LiveService],
    hotfix: Callable[..., CliResult],
    tmp_path: Path,
) -> None:
    app = live_service(service_images["gunicorn"], 8000)
    code, source = app.exec("cat", "/srv/app/app.py")
    assert code == 0 and "gunicorn v1" in source
    new = source.replace("gunicorn v1", "gunicorn v2").encode()
    app.container.reload()
    started_at = app.container.attrs["State"]["StartedAt"]
    res = _try(
        hotfix, tmp_path, new, f"{app.name}:/srv/app/app.py",
        "--expect-body", "gunicorn v2", "--then-apply",
    )  # fmt: skip
    assert res.code == 0, res.stderr
    live = res.json()["live"]
    assert live["healthy"] is True and live["action"] == "signal HUP"
    assert "gunicorn v2" in http_get(app.url)[1]
    app.container.reload()
    assert app.container.attrs["State"]["StartedAt"] == started_at  # a reload, no restart
