"""The container diff behind the first-save warning and the whole-layer commit preview: on
the fast path it is read from the overlay2 upper directory, and must list what the Engine's
own diff lists. The scenario makes every kind of entry the upper directory can hold."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import docker
import pytest

from hotfix.docker.engine import Engine

pytestmark = pytest.mark.engine

CHANGES = " && ".join(
    [
        "echo added > /etc/added",  # a new file under a directory of the image
        "echo more >> /www/index.html",  # a file of the image, changed: copied up
        "mkdir -p /srv/a/b && echo c > /srv/a/b/c",  # a new tree
        "rm /bin/wc",  # a file of the image deleted: a whiteout
        "chmod 700 /bin/tr",  # metadata only: copied up
        "ln -s /etc/added /etc/link",  # a symlink (never followed)
        "touch /tmp/gone && rm /tmp/gone",  # leaves only its copied-up parent
        "rm -rf /www && mkdir /www && echo new > /www/index.html",  # an opaque directory
    ]
)


@pytest.mark.parametrize("image", ["busybox", "prod"])
def test_the_upper_directory_lists_what_the_engine_lists(
    docker_client: docker.DockerClient, images: dict[str, str], run_container: Callable[..., Any],
    image: str,
) -> None:  # fmt: skip
    box = run_container(images[image], command=["sleep", "3600"])
    if image == "busybox":
        box.sh(CHANGES)
    else:  # Debian's tools: the same kinds of change in a 200 MB image
        box.sh(CHANGES.replace("/www", "/usr/src/app").replace("/index.html", "/app.py"))
        # The image's /var/run is a link to the absolute /run: made a directory (opaque),
        # the image's entries there are read through the layer, never through the link.
        box.sh("rm /var/run && mkdir /var/run && touch /var/run/own")
    local, archive = Engine(docker_client), Engine(docker_client, local_fs=False)
    info = local.resolve(box.name)
    assert info.overlay and local._local_root(info), "the fast path should apply here"

    from_upper = local.changed_paths(info)
    from_engine = archive.changed_paths(archive.resolve(box.name))
    assert from_upper == sorted(from_engine)
    assert {"/etc/added", "/srv/a/b/c", "/etc/link"} <= set(from_upper)
    assert {"/bin/wc", "/usr/bin/wc"} & set(from_upper)  # Debian's /bin is a link to usr/bin
    assert "/tmp" not in from_upper  # copied up for a file since deleted: the Engine agrees
    if image == "prod":
        assert [p for p in from_upper if p.startswith("/var/run")] == ["/var/run", "/var/run/own"]


def test_a_stopped_container_is_asked_of_the_engine(
    docker_client: docker.DockerClient, images: dict[str, str], run_container: Callable[..., Any]
) -> None:
    box = run_container(images["busybox"], command=["sleep", "3600"])
    box.sh("echo x > /etc/added")
    box.container.stop(timeout=0)
    engine = Engine(docker_client)
    info = engine.resolve(box.name)
    assert engine._local_root(info) is None  # not running: no fast path
    assert "/etc/added" in engine.changed_paths(info)
