"""Mounts made explicit (issue 16, item 7): a container's bind mounts, volumes and tmpfs
mounts from inspect; the mount a path is on (the longest destination that covers it); a
save there warns, naming the host's source."""

from __future__ import annotations

from typing import Any

import pytest

from hotfix.core.model import ContainerInfo, Mount
from hotfix.docker.answers import details_from_inspect, mounts_from_inspect
from hotfix.service.files import HotfixService
from tests.unit.fakes import FakeContainer

BIND = Mount("bind", "/etc/nginx/conf.d", "/srv/conf")
VOLUME = Mount("volume", "/var/lib/app", "/var/lib/docker/volumes/appdata/_data", "appdata")
TMPFS = Mount("tmpfs", "/srv/app/scratch")
NESTED = Mount("bind", "/etc/nginx/conf.d/app.conf", "/srv/single/app.conf")


def inspect_attrs(**over: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "Id": "e" * 64,
        "Name": "/web",
        "Image": "sha256:" + "b" * 64,
        "State": {"Status": "running", "Pid": 4321, "ExitCode": 0},
        "Config": {"Image": "app:1"},
        "HostConfig": {},
        "Mounts": [
            {"Type": "bind", "Source": "/srv/conf", "Destination": "/etc/nginx/conf.d"},
            {
                "Type": "volume",
                "Name": "appdata",
                "Source": "/var/lib/docker/volumes/appdata/_data",
                "Destination": "/var/lib/app",
                "Driver": "local",
            },
            {"Type": "tmpfs", "Source": "", "Destination": "/srv/app/scratch"},
        ],
    }
    attrs.update(over)
    return attrs


def test_inspect_gives_every_mount_with_its_source() -> None:
    assert mounts_from_inspect(inspect_attrs()) == (BIND, TMPFS, VOLUME)


def test_a_tmpfs_flag_is_a_mount_too() -> None:
    """``--tmpfs /run`` shows only in HostConfig.Tmpfs, not in Mounts."""
    attrs = inspect_attrs(Mounts=[], HostConfig={"Tmpfs": {"/run": "rw,size=64m"}})
    assert mounts_from_inspect(attrs) == (Mount("tmpfs", "/run"),)


def test_details_carry_the_mounts_and_the_stop_signal() -> None:
    details = details_from_inspect(
        inspect_attrs(Config={"Image": "app:1", "StopSignal": "SIGQUIT", "StopTimeout": 3})
    )
    assert details.mounts == (BIND, TMPFS, VOLUME)
    assert details.info.mounts == details.mounts
    assert (details.stop_signal, details.stop_timeout) == ("SIGQUIT", 3)


def info_with(*mounts: Mount) -> ContainerInfo:
    return ContainerInfo("c" * 64, "web", "app:1", "sha256:i", "running", mounts=mounts)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/etc/nginx/conf.d", BIND),
        ("/etc/nginx/conf.d/site.conf", BIND),
        ("/etc/nginx/conf.d/app.conf", NESTED),  # the longest destination wins
        ("/etc/nginx/conf.dx/site.conf", None),  # a prefix of the name is not a parent
        ("/etc/nginx/nginx.conf", None),
        ("/var/lib/app/data.db", VOLUME),
        ("/srv/app/scratch/upload", TMPFS),
        ("/srv/app/app.py", None),
    ],
)
def test_the_mount_a_path_is_on(path: str, expected: Mount | None) -> None:
    assert info_with(BIND, NESTED, VOLUME, TMPFS).mount_at(path) == expected


def test_a_mount_at_the_root_covers_everything() -> None:
    assert info_with(Mount("bind", "/", "/host")).mount_at("/etc/x") == Mount("bind", "/", "/host")


@pytest.fixture
def mounted(web: FakeContainer) -> FakeContainer:
    web.mounts = (BIND, VOLUME, TMPFS)
    web.add_file("/etc/nginx/conf.d/app.conf", b"server {}\n")
    web.add_file("/var/lib/app/settings.json", b"{}\n")
    web.add_dir("/srv/app/scratch")
    return web


def test_a_save_on_a_bind_mount_names_the_hosts_file(
    service: HotfixService, mounted: FakeContainer
) -> None:
    result = service.write("web", "/etc/nginx/conf.d/app.conf", b"server { listen 81; }\n")
    assert result.warnings == [
        "web:/etc/nginx/conf.d/app.conf is on a bind mount of the host's /srv/conf: the save "
        "changed the host's file, and `hotfix commit` will not carry it"
    ]


def test_a_save_on_a_volume_names_the_volume(
    service: HotfixService, mounted: FakeContainer
) -> None:
    [warning] = service.write("web", "/var/lib/app/settings.json", b'{"a": 1}\n').warnings
    assert warning == (
        "web:/var/lib/app/settings.json is on the volume appdata (the host's "
        "/var/lib/docker/volumes/appdata/_data): the save changed the volume's file, and "
        "`hotfix commit` will not carry it"
    )


def test_a_save_on_a_tmpfs_says_it_is_lost_at_restart(
    service: HotfixService, mounted: FakeContainer
) -> None:
    [warning] = service.write("web", "/srv/app/scratch/new.txt", b"x\n").warnings
    assert warning == (
        "web:/srv/app/scratch/new.txt is on a tmpfs at /srv/app/scratch: the save is lost at "
        "restart, and is not in any image"
    )


def test_every_save_there_warns_not_only_the_first(
    service: HotfixService, mounted: FakeContainer
) -> None:
    service.write("web", "/etc/nginx/conf.d/app.conf", b"a\n")
    assert "bind mount" in service.write("web", "/etc/nginx/conf.d/app.conf", b"b\n").warnings[0]


def test_a_save_beside_the_mounts_says_nothing_of_them(
    service: HotfixService, mounted: FakeContainer
) -> None:
    assert service.write("web", "/srv/app/app.py", b"print(2)\n").warnings == []


def test_stat_and_read_name_the_mount(service: HotfixService, mounted: FakeContainer) -> None:
    st, _ = service.stat("web", "/etc/nginx/conf.d/app.conf")
    assert st.mount == BIND
    assert service.read("web", "/var/lib/app/settings.json").stat.mount == VOLUME
    assert service.stat("web", "/srv/app/app.py")[0].mount is None
