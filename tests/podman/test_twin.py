"""`hotfix try` on Podman (tests/twin, unchanged): a healthy verdict with production
untouched and the twin removed; a killed run's twin removed by the next run's sweep; the
container's diff (read from Podman's overlay directories, and from its diff API) with its
deletions as whiteouts in the twin; a no-shell image; a non-root image (Node.js) whose
file keeps its owner and mode; gunicorn tried, then applied with its
reload. The isolation check is Podman's own: a twin of network ``none`` is in no network
there (dockerd lists one named "none"), so its namespace is checked to hold only ``lo``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliResult, Running
from tests.twin.conftest import no_daemon  # noqa: F401 (a fixture of the tests below)
from tests.twin.test_engine_twins import test_the_diff_reaches_the_twin  # noqa: F401
from tests.twin.test_try_demo import (  # noqa: F401 (the tests and their fixture)
    FIXED,
    _try,
    prod,
    test_good_fix_is_healthy_in_the_twin_and_production_is_untouched,
    test_sigkill_during_a_try_the_next_run_removes_the_twin,
)
from tests.twin.test_try_services import (  # noqa: F401
    test_a_no_shell_image,
    test_a_non_root_user_image,
    test_gunicorn_then_apply_with_its_reload,
    test_the_containers_changes_and_deletions_reach_the_twin,
)

pytestmark = pytest.mark.usefixtures("no_daemon")

APP = "/usr/src/app/app.py"


def interfaces(pid: int) -> set[str]:
    """The network interfaces of the namespace process ``pid`` is in."""
    lines = Path(f"/proc/{pid}/net/dev").read_text().splitlines()[2:]
    return {line.split(":")[0].strip() for line in lines}


def test_isolation_network_none_no_mounts_yet_probed(
    run_container: Callable[..., Running],
    images: dict[str, str],
    hotfix: Callable[..., CliResult],
    tmp_path: Path,
    docker_client: Any,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    served = run_container(images["prod"], port=8001, volumes={str(data): {"bind": "/data"}})
    res = _try(hotfix, tmp_path, FIXED, f"{served.name}:{APP}", "--keep")
    assert res.code == 0, res.stderr
    shown = res.json()
    assert (shown["verdict"], shown["network"]) == ("healthy", "none")  # probed on its loopback
    assert len(shown["droppedMounts"]) == 1
    twin = docker_client.containers.get(shown["twin"])
    try:
        assert twin.attrs["HostConfig"]["NetworkMode"] == "none"
        assert twin.attrs["HostConfig"]["PortBindings"] in (None, {})
        assert twin.attrs["Mounts"] == []
        assert twin.labels["hotfix.twin.of"] == served.container.id
        assert interfaces(twin.attrs["State"]["Pid"]) == {"lo"}
        assert "lo" in interfaces(served.container.attrs["State"]["Pid"]) != {"lo"}
    finally:
        twin.remove(force=True, v=True)
    same = _try(hotfix, tmp_path, FIXED, f"{served.name}:{APP}", "--keep", "--network", "same")
    assert same.code == 0, same.stderr
    twin = docker_client.containers.get(same.json()["twin"])
    try:
        assert twin.name.endswith("-kept")
        assert interfaces(twin.attrs["State"]["Pid"]) != {"lo"}
    finally:
        twin.remove(force=True, v=True)
