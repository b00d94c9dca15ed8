"""Podman's divergences as hotfix.docker.podman and its hooks handle them (no engine)."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import docker.errors
import pytest
import requests

from hotfix.cli.parser import build_parser
from hotfix.core.errors import AmbiguousContainer, FileNotFound, NoPermissions, UsageError
from hotfix.core.model import OverlayDirs
from hotfix.core.processes import throwaway_name
from hotfix.docker import engines, podman
from hotfix.docker.answers import details_from_inspect
from hotfix.docker.engine import Engine
from hotfix.docker.engines import Engines
from hotfix.docker.errors import engine_errors
from hotfix.docker.localfs import ChangeListing

# --- recognising it ---------------------------------------------------------------------------


def test_podman_is_recognised_by_its_ping_header() -> None:
    assert podman.is_podman({"Libpod-Api-Version": "4.3.1", "Api-Version": "1.41"})
    assert not podman.is_podman({"Api-Version": "1.41", "Server": "Docker/20.10"})


def ping_api(headers: dict[str, str], known: bool | None = None) -> Any:
    calls: list[str] = []

    def get(url: str) -> Any:
        calls.append(url)
        return SimpleNamespace(headers=headers)

    api = SimpleNamespace(base_url="http+docker://localhost", _get=get, calls=calls)
    if known is not None:
        api.hotfix_libpod = known
    return api


def test_the_engine_asks_once_and_not_when_the_connection_knew() -> None:
    api = ping_api({"Libpod-Api-Version": "4.3.1"})
    engine = Engine(SimpleNamespace(api=api))  # type: ignore[arg-type]
    assert engine.is_podman and engine.is_podman
    assert api.calls == ["http+docker://localhost/_ping"]
    known = ping_api({"Libpod-Api-Version": "4.3.1"}, known=False)
    assert Engine(SimpleNamespace(api=known)).is_podman is False  # type: ignore[arg-type]
    assert known.calls == []


# --- the container diff -----------------------------------------------------------------------


def test_podmans_own_files_and_their_folders_leave_the_diff() -> None:
    listing = ChangeListing(
        ["/dev", "/etc", "/etc/hosts", "/etc/mtab", "/proc", "/run", "/run/.containerenv"],
        added=frozenset({"/dev", "/proc", "/run/.containerenv"}),
    )
    assert podman.without_engine_files(listing) == ChangeListing([], added=frozenset())


def test_other_changes_stay_with_their_folders() -> None:
    listing = ChangeListing(
        ["/etc", "/etc/hosts", "/etc/passwd", "/run", "/run/app.pid", "/www"],
        complete=False,
        added=frozenset({"/run/app.pid"}),
    )
    kept = podman.without_engine_files(listing)
    assert kept.paths == ["/etc", "/etc/passwd", "/run", "/run/app.pid", "/www"]
    assert kept.added == {"/run/app.pid"} and kept.complete is False


# --- commit -----------------------------------------------------------------------------------


def test_what_podman_fills_in_on_commit_is_no_difference() -> None:
    original = {"Env": ["PATH=/bin"], "WorkingDir": "", "Cmd": ["httpd"]}
    committed = {
        "Env": ["PATH=/bin", "TERM=xterm", "container=podman", "HOSTNAME=0a1b2c3d4e5f"],
        "WorkingDir": "/",
        "Cmd": ["httpd"],
    }
    assert podman.comparable_config(committed) == podman.comparable_config(original)
    changed = {**committed, "Env": [*committed["Env"], "DEBUG=1"]}
    assert podman.comparable_config(changed) != podman.comparable_config(original)
    moved = {**committed, "WorkingDir": "/srv"}
    assert podman.comparable_config(moved)["WorkingDir"] == "/srv"


def test_the_order_of_a_commits_environment_is_no_difference() -> None:
    """Podman's commit writes Env from a map (the flaky "differs in Env" of a clean commit,
    seen 3 times in 12): the same names and values in another order compare equal."""
    original = {"Env": ["PATH=/bin", "LANG=C.UTF-8"]}
    committed = {"Env": ["container=podman", "LANG=C.UTF-8", "PATH=/bin", "TERM=xterm"]}
    assert podman.comparable_config(committed) == podman.comparable_config(original)
    other = {"Env": ["LANG=C", "PATH=/bin"]}
    assert podman.comparable_config(other) != podman.comparable_config(original)
    overridden = {"Env": ["LANG=C", "PATH=/bin", "LANG=C.UTF-8"]}  # the last value counts
    assert podman.comparable_config(overridden) == podman.comparable_config(original)


def test_labels_go_as_quoted_changes() -> None:
    conf = {"Labels": {"b": 'say "hi" now', "a": "x y"}, "Env": ["A=1"]}
    assert podman.label_changes(conf) == ['LABEL a="x y"', 'LABEL b="say \\"hi\\" now"']
    assert podman.label_changes(None) == []


class CommitApi:
    def __init__(self, headers: dict[str, str]) -> None:
        self.base_url = "http+docker://localhost"
        self.headers = headers
        self.committed: dict[str, Any] = {}

    def _get(self, url: str) -> Any:
        return SimpleNamespace(headers=self.headers)

    def commit(self, container: str, **kwargs: Any) -> dict[str, str]:
        self.committed = kwargs
        return {"Id": "sha256:new"}


@pytest.mark.parametrize(
    ("headers", "changes"),
    [({"Libpod-Api-Version": "4.3.1"}, ['LABEL hotfix.mode="clean"']), ({}, None)],
)
def test_a_commit_gives_podman_its_labels_as_changes(
    headers: dict[str, str], changes: list[str] | None
) -> None:
    api = CommitApi(headers)
    engine = Engine(SimpleNamespace(api=api))  # type: ignore[arg-type]
    conf = {"Labels": {"hotfix.mode": "clean"}}
    assert engine.commit("c1", conf=conf) == "sha256:new"
    assert api.committed["conf"] == conf and api.committed["changes"] == changes


def test_podmans_own_environment_is_no_runtime_secret() -> None:
    own = podman.own_env("0123456789abcdef")
    assert {"container=podman", "TERM=xterm", "HOME=/root", "HOSTNAME=0123456789ab"} <= own


# --- errors -----------------------------------------------------------------------------------


def api_error(status: int, message: str) -> docker.errors.APIError:
    response = requests.Response()
    response.status_code = status
    kind = docker.errors.NotFound if status == 404 else docker.errors.APIError
    return kind(message, response, explanation=message)


def raise_in_engine_errors(exc: Exception, path: str = "/etc/app.conf") -> None:
    with engine_errors("web", path):
        raise exc


@pytest.mark.parametrize(
    ("status", "message", "kind"),
    [
        (500, "copier: get: lstat /x: no such file or directory", FileNotFound),
        (500, "open /etc/shadow: permission denied", NoPermissions),
        (500, "chown /x: operation not permitted", NoPermissions),
        (
            404,
            "more than one result for container ID b: container already exists",
            AmbiguousContainer,
        ),
    ],
)
def test_podmans_errors_by_their_message(status: int, message: str, kind: type) -> None:
    with pytest.raises(kind):
        raise_in_engine_errors(api_error(status, message))


# --- events -----------------------------------------------------------------------------------


def test_podmans_event_names_become_dockers() -> None:
    assert podman.docker_event({"Action": "died", "status": "died"})["Action"] == "die"
    assert podman.docker_event({"Action": "exec_died"})["status"] == "exec_die"
    assert podman.docker_event({"Action": "exec"})["Action"] == "exec_start"
    start = {"Action": "start", "Type": "container"}
    assert podman.docker_event(start) is start


def test_repeated_filters_are_matched_here_not_anded_by_the_engine() -> None:
    sent: list[dict[str, Any]] = []
    stream = [
        {"Type": "container", "Action": "start", "Actor": {"ID": "a1"}},
        {"Type": "container", "Action": "died", "Actor": {"ID": "a1"}},
        {"Type": "container", "Action": "exec", "Actor": {"ID": "a1"}},
        {"Type": "image", "Action": "remove", "Actor": {"ID": "i1"}},
    ]

    def open_stream(filters: dict[str, Any]) -> list[dict[str, Any]]:
        sent.append(filters)
        return stream

    wanted = {"type": "container", "event": ["die", "start"]}
    got = list(podman.events(open_stream, wanted))
    assert sent == [{"type": "container"}]  # only one value of one filter goes to Podman
    assert [e["Action"] for e in got] == ["start", "die"]
    both = list(podman.events(open_stream, {"type": ["container", "image"]}))
    assert sent[-1] == {} and len(both) == 4


# --- health checks ----------------------------------------------------------------------------


def go_time(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + ".5Z"


def inspect(started: float, log_end: float | None = None, running: bool = True) -> dict[str, Any]:
    log = [{"End": go_time(log_end)}] if log_end else None
    return {
        "Id": "c1",
        "State": {
            "Running": running,
            "StartedAt": go_time(started),
            "Health": {"Status": "starting", "Log": log},
        },
        "Config": {"Healthcheck": {"Test": ["CMD", "true"], "Interval": 2_000_000_000}},
    }


def test_a_health_check_is_due_by_its_interval() -> None:
    now = time.time()
    assert not podman.health_due(inspect(now - 1), now)
    assert podman.health_due(inspect(now - 5), now)
    assert not podman.health_due(inspect(now - 60, log_end=now - 1), now)
    assert podman.health_due(inspect(now - 60, log_end=now - 3), now)
    assert not podman.health_due(inspect(now - 60, running=False), now)
    assert not podman.health_due({"State": {"Running": True}}, now)  # no HEALTHCHECK


def test_a_due_health_check_runs_and_its_status_is_read() -> None:
    urls: list[str] = []

    def get(url: str) -> Any:
        urls.append(url)
        return SimpleNamespace(ok=True, json=lambda: {"Status": "healthy"})

    api = SimpleNamespace(base_url="http+docker://localhost", _get=get)
    attrs = podman.run_health_check(api, inspect(0))
    assert urls == ["http+docker://localhost/v4.0.0/libpod/containers/c1/healthcheck"]
    assert details_from_inspect(attrs).info.health == "healthy"
    failing = SimpleNamespace(base_url="x", _get=lambda url: SimpleNamespace(ok=False))
    assert podman.run_health_check(failing, inspect(0)) == inspect(0)


# --- owners from the layers -------------------------------------------------------------------


def make_file(path: Path, uid: int, data: str = "x") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data)
    os.chown(path, uid, uid)


@pytest.fixture
def layers(tmp_path: Path) -> OverlayDirs:
    upper, lower, base = tmp_path / "upper", tmp_path / "lower", tmp_path / "base"
    for layer in (upper, lower, base):
        layer.mkdir()
    make_file(base / "srv" / "app.py", 1000)
    make_file(base / "srv" / "old.conf", 1000)
    make_file(lower / "srv" / "app.py", 1001)  # the image's newer layer wins
    make_file(upper / "srv" / "new.txt", 1002)
    (upper / "srv" / ".wh.old.conf").write_text("")  # deleted in the container
    make_file(base / "etc" / "secret", 1003)
    (upper / "link").symlink_to("/etc")  # a folder on the way that is a symlink
    return OverlayDirs(str(upper), (str(lower), str(base)))


def test_the_owner_comes_from_the_topmost_layer(layers: OverlayDirs) -> None:
    assert podman.layer_owner(layers, "/srv/app.py") == (1001, 1001)
    assert podman.layer_owner(layers, "/srv/new.txt") == (1002, 1002)
    assert podman.layer_owner(layers, "/srv/old.conf") is None  # whited out
    assert podman.layer_owner(layers, "/srv/missing") is None
    assert podman.layer_owner(layers, "/link/secret") is None  # never followed
    assert podman.layer_owner(layers, "/etc/secret") == (1003, 1003)


# --- naming it --------------------------------------------------------------------------------


def test_the_podman_engine_is_container_host(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))  # no docker context of that name
    monkeypatch.setenv("CONTAINER_HOST", "unix:///tmp/somewhere/podman.sock")
    assert engines.podman_host() == "unix:///tmp/somewhere/podman.sock"
    assert engines.PODMAN in Engines().names()
    monkeypatch.delenv("CONTAINER_HOST")
    monkeypatch.setattr(engines, "PODMAN_SOCKET", "/nonexistent/podman.sock")
    assert engines.podman_host() is None
    with pytest.raises(UsageError, match="CONTAINER_HOST is unset"):
        engines.connect(engines.PODMAN)


class NameFilterApi:
    """Containers listed the way an engine applies a ``name`` filter: dockerd matches the
    regex against ``/name``, Podman against ``name``; both list ``/name`` back."""

    def __init__(self, names: list[str], slash: bool) -> None:
        self.names, self.slash = names, slash
        self.removed: list[str] = []

    def containers(self, all: bool, filters: dict[str, str]) -> list[dict[str, Any]]:
        matched = [n for n in self.names if re.search(filters["name"], "/" * self.slash + n)]
        return [{"Id": n, "Names": ["/" + n]} for n in matched]

    def remove_container(self, container: str, **kwargs: Any) -> None:
        self.removed.append(container)


@pytest.mark.parametrize("slash", [True, False], ids=["dockerd", "podman"])
def test_a_dead_runs_twin_is_found_by_name_on_either_engine(slash: bool) -> None:
    dead = throwaway_name("hotfix-twin", "web").replace(f"-p{os.getpid()}-", "-p999999999-")
    api = NameFilterApi([dead, throwaway_name("hotfix-twin", "web"), "web-hotfix-twin-x"], slash)
    engine = Engine(SimpleNamespace(api=api))  # type: ignore[arg-type]
    engine._podman = not slash
    assert engine.remove_orphaned_throwaways("hotfix-twin") == [dead]
    assert api.removed == [dead]


@pytest.mark.parametrize(
    ("headers", "podmans"), [({"Libpod-Api-Version": "4.3.1"}, True), ({}, False)]
)
def test_the_environment_the_engine_sets_is_podmans_only(
    headers: dict[str, str], podmans: bool
) -> None:
    engine = Engine(SimpleNamespace(api=CommitApi(headers)))  # type: ignore[arg-type]
    own = engine.engine_env({"Id": "0123456789abcdef", "Config": {"Env": ["HOME=/root"]}})
    expected = {"HOME=/root", "HOSTNAME=0123456789ab", "TERM=xterm", "container=podman"}
    assert own == (expected if podmans else set())


def test_the_engine_option_names_podman() -> None:
    parser = build_parser()
    assert "'podman'" in parser.format_help()
    ps = parser._subparsers._group_actions[0].choices["ps"]  # type: ignore[union-attr]
    assert "'podman' (CONTAINER_HOST" in " ".join(ps.format_help().split())
