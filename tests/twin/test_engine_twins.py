"""The Engine's twin parts against the real engine: the container diff read from overlay2's
directories and the Engine's own diff give the twin the same files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from hotfix.docker.engine import Engine
from hotfix.docker.twins import twin_spec
from tests.conftest import Running


@pytest.mark.parametrize("source", ["overlay", "engine diff"])
def test_the_diff_reaches_the_twin(
    source: str,
    run_container: Callable[..., Running],
    images: dict[str, str],
    docker_client: Any,
) -> None:
    box = run_container(images["busybox"], command=["sleep", "3600"])
    box.sh(
        "echo new > /www/new.html && rm /www/index.html && mkdir -p /srv/a/b && "
        "echo deep > /srv/a/b/c && chmod 600 /srv/a/b/c && rm -r /home/app && "
        "echo changed >> /etc/passwd"
    )
    engine = Engine(docker_client)
    info = engine.inspect(box.name).info
    assert info.overlay is not None
    if source == "engine diff":
        info = replace(info, overlay=None)
    spec = twin_spec(engine.container_attrs(info.id), f"{box.name}-twin-{source.split()[0]}")
    twin_id = engine.create_twin(spec)
    try:
        copied = engine.copy_changes(info, twin_id, set(), whiteouts_here=True)
        assert copied.deleted == 2 and copied.notes == []
        engine.start_container(twin_id)
        twin = docker_client.containers.get(twin_id)
        listing = twin.exec_run(["sh", "-c", "ls /www; ls -A /home; stat -c '%a %s' /srv/a/b/c"])
        assert listing.output.decode().splitlines() == ["new.html", "600 5"]
        home = twin.exec_run(["stat", "-c", "%a %u", "/home"]).output
        assert home == box.exec("stat", "-c", "%a %u", "/home")[1].encode()
        assert twin.exec_run(["tail", "-n", "1", "/etc/passwd"]).output == b"changed\n"
        assert twin.attrs["HostConfig"]["NetworkMode"] == "none"
    finally:
        engine.remove_container(twin_id)
