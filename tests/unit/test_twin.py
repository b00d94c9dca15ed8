"""The twin: its spec from a container's inspect (config copied, labels stripped, mounts
dropped, network none), its probes, `hotfix try`'s arguments, and a try on the fake engine."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from hotfix.cli.twin import try_files
from hotfix.core.errors import Conflict, HotfixError, UsageError
from hotfix.core.model import FileContent
from hotfix.core.probes import AllProbes, ProbeResult, parse_probe
from hotfix.docker.twins import TWIN_LABEL, TWIN_OWNER_LABEL, TwinSpec, twin_spec
from hotfix.service.files import HotfixService
from hotfix.service.twin import TryFile, TryOptions, TwinTrial
from hotfix.service.twinprobes import InNamespace, default_probe_text, twin_probe_text
from hotfix.store.state import StateStore
from tests.unit.fakes import FakeContainer, FakeEngine

ATTRS: dict[str, Any] = {
    "Id": "c0ffee" * 10 + "abcd",
    "Image": "sha256:" + "ab" * 32,
    "Config": {
        "Entrypoint": ["/entry"],
        "Cmd": ["uwsgi", "--master"],
        "Env": ["PATH=/usr/bin", "DB_PASSWORD=s3cret"],
        "User": "1000:1000",
        "WorkingDir": "/srv/app",
        "Healthcheck": {"Test": ["CMD", "/health"]},
        "Labels": {
            "team": "web",
            "com.docker.compose.project": "shop",
            "com.docker.compose.service": "web",
            "com.docker.swarm.service.name": "shop_web",
            "com.docker.stack.namespace": "shop",
        },
    },
    "HostConfig": {
        "NetworkMode": "shop_default",
        "Binds": ["/srv/data:/data"],
        "PortBindings": {"8001/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18001"}]},
        "Init": True,
        "CapAdd": ["NET_ADMIN"],
    },
    "Mounts": [
        {"Type": "bind", "Source": "/srv/data", "Destination": "/data"},
        {"Type": "volume", "Name": "shop_db", "Destination": "/var/lib/db"},
    ],
}


def test_the_spec_copies_the_config() -> None:
    spec = twin_spec(ATTRS, "hotfix-twin-web-x", owner_pid=4321)
    assert spec.image == ATTRS["Image"]
    config = spec.config
    assert config["entrypoint"] == ["/entry"] and config["command"] == ["uwsgi", "--master"]
    assert config["environment"] == ["PATH=/usr/bin", "DB_PASSWORD=s3cret"]
    assert (config["user"], config["working_dir"]) == ("1000:1000", "/srv/app")
    assert config["healthcheck"] == {"Test": ["CMD", "/health"]}
    assert spec.host_config["init"] is True and spec.host_config["cap_add"] == ["NET_ADMIN"]


def test_the_spec_strips_compose_and_swarm_labels_and_marks_a_twin() -> None:
    labels = twin_spec(ATTRS, "t", owner_pid=4321).config["labels"]
    assert labels == {"team": "web", TWIN_LABEL: ATTRS["Id"], TWIN_OWNER_LABEL: "4321"}


def test_the_spec_drops_every_mount_port_and_network() -> None:
    spec = twin_spec(ATTRS, "t")
    assert spec.host_config["network_mode"] == "none"
    assert "binds" not in spec.host_config and "port_bindings" not in spec.host_config
    assert "volumes" not in spec.config and spec.volume_copies == []
    assert spec.dropped_mounts == ["bind /srv/data -> /data", "volume shop_db -> /var/lib/db"]


def test_with_volumes_makes_anonymous_copies_and_same_network_is_asked_for() -> None:
    spec = twin_spec(ATTRS, "t", network="same", with_volumes=True)
    assert spec.config["volumes"] == ["/data", "/var/lib/db"]
    assert spec.volume_copies == ["/data", "/var/lib/db"]
    assert spec.host_config["network_mode"] == "shop_default"
    assert "binds" not in spec.host_config  # anonymous volumes, filled by copying
    with pytest.raises(UsageError, match="--network 'host'"):
        twin_spec(ATTRS, "t", network="host")


def test_probes_of_published_ports_point_at_the_twins_own_port() -> None:
    published = [("127.0.0.1", 18001, "8001/tcp"), ("0.0.0.0", 18443, "8443/tcp")]
    assert twin_probe_text("http://127.0.0.1:18001/health", published, "h") == (
        "http://127.0.0.1:8001/health"
    )
    assert twin_probe_text("https://h:18443/", published, "h") == "https://127.0.0.1:8443/"
    assert twin_probe_text("tcp:localhost:18001", published, "h") == "tcp:127.0.0.1:8001"
    # Not a published port: taken as the twin's own.
    assert twin_probe_text("http://127.0.0.1:9000/", published, "h") == "http://127.0.0.1:9000/"
    assert twin_probe_text("exec:cat /x", published, "h") == "exec:cat /x"
    assert twin_probe_text("healthcheck", published, "h") == "healthcheck"


def test_the_default_probe() -> None:
    assert default_probe_text(True, [], []) == "healthcheck"
    assert default_probe_text(False, [("", 1, "53/udp"), ("", 2, "80/tcp")], []) == (
        "http://127.0.0.1:80/"
    )
    assert default_probe_text(False, [], ["8001/tcp"]) == "http://127.0.0.1:8001/"
    with pytest.raises(UsageError, match="give a probe"):
        default_probe_text(False, [], [])


def test_network_probes_run_through_the_namespace_others_in_the_twin() -> None:
    entered: list[str] = []

    def enter(work: Any) -> ProbeResult:
        entered.append("in")
        return ProbeResult(True, "tcp ok")

    class Hooks:
        def health(self) -> str | None:
            return "healthy"

        def exec(self, argv: list[str]) -> tuple[int, bytes]:
            return 0, b""

    probes = AllProbes((parse_probe("tcp:127.0.0.1:1"), parse_probe("healthcheck")))
    result = InNamespace(probes, enter).check(Hooks())
    assert result.ok and entered == ["in"]
    failing = InNamespace(probes, lambda work: ProbeResult(False, "refused"))
    assert failing.check(Hooks()).detail == "tcp:127.0.0.1:1: refused"


def test_try_arguments(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"A")
    (tmp_path / "b").write_bytes(b"B")
    assert try_files(["web:/srv/a", str(tmp_path / "a")]) == ("web", [TryFile("/srv/a", b"A")])
    pairs = [f"web:/srv/a={tmp_path / 'a'}", f"web:/srv/b={tmp_path / 'b'}"]
    assert try_files(pairs)[1] == [TryFile("/srv/a", b"A"), TryFile("/srv/b", b"B")]
    with pytest.raises(UsageError, match="one container per try"):
        try_files([f"web:/a={tmp_path / 'a'}", f"db:/b={tmp_path / 'b'}"])
    with pytest.raises(UsageError, match="CONTAINER:PATH=SRC"):
        try_files([f"web:/a={tmp_path / 'a'}", "web:/b"])
    with pytest.raises(HotfixError, match="CONTAINER:PATH"):
        try_files(["web", str(tmp_path / "a")])
    with pytest.raises(HotfixError, match="cannot read"):
        try_files(["web:/a", str(tmp_path / "missing")])


class TwinEngine(FakeEngine):
    """The fake engine with twins: a twin is a copy of the container's files, its spec kept."""

    def __init__(self) -> None:
        super().__init__()
        self.specs: dict[str, TwinSpec] = {}

    def remove_orphaned_throwaways(self, *prefixes: str) -> list[str]:
        return []

    def create_twin(self, spec: TwinSpec) -> str:
        source = self._find(spec.config["labels"][TWIN_LABEL])
        twin = self.add_container(spec.name)
        twin.fs, twin.state, twin.logs = copy.deepcopy(source.fs), "created", "twin log\n"
        self.specs[twin.id] = spec
        return twin.id

    def copy_changes(
        self, source_id: str, twin_id: str, skip: set[str], whiteouts_here: bool
    ) -> Any:
        from hotfix.docker.twins import CopiedChanges

        return CopiedChanges(0, 0)

    def put_contents(self, container_id: str, files: list[FileContent]) -> None:
        for f in files:
            self._fc(container_id).add_file(f.stat.path, f.data, mode=f.stat.mode)

    def start_container(self, container_id: str) -> None:
        self._fc(container_id).state = "running"

    def keep_twin(self, container_id: str, name: str) -> str:
        self._fc(container_id).name = f"{name}-kept"
        return f"{name}-kept"


@pytest.fixture
def twins(store: StateStore) -> tuple[TwinEngine, HotfixService, FakeContainer]:
    engine = TwinEngine()
    web = engine.add_container("web")
    web.add_file("/srv/app.py", b"print('old')\n", mode=0o640, uid=1000)
    web.labels = {"com.docker.compose.project": "shop"}
    return engine, HotfixService(engine, store, user="tester"), web  # type: ignore[arg-type]


def _answer_new(engine: TwinEngine) -> None:
    """exec probes pass where app.py holds the new content."""
    engine.exec_handler = lambda cid, argv: (
        (0, b"") if b"new" in engine.containers[cid].node("/srv/app.py").data else (1, b"old")
    )


def test_a_try_on_the_fake_engine_leaves_production_alone(
    twins: tuple[TwinEngine, HotfixService, FakeContainer],
) -> None:
    engine, svc, web = twins
    _answer_new(engine)
    options = TryOptions(probes=["exec:check"], timeout=2)
    res = TwinTrial(svc).run("web", [TryFile("/srv/app.py", b"print('new')\n")], options)
    assert res.healthy and res.result.detail == "exit 0"
    assert web.node("/srv/app.py").data == b"print('old')\n"
    assert svc.checkpoints("web") == []
    assert len(engine.containers) == 1  # the twin was removed
    assert [e.action for e in svc.journal("web")] == ["try"]
    assert svc.journal("web")[0].detail["verdict"] == "healthy"


def test_an_unhealthy_twin_says_its_log_and_then_apply_does_nothing(
    twins: tuple[TwinEngine, HotfixService, FakeContainer],
) -> None:
    engine, svc, web = twins
    _answer_new(engine)
    options = TryOptions(probes=["exec:check"], timeout=0.3, then_apply=True)
    res = TwinTrial(svc).run("web", [TryFile("/srv/app.py", b"print('old 2')\n")], options)
    assert res.verdict == "unhealthy" and res.log == "twin log" and res.live is None
    assert web.node("/srv/app.py").data == b"print('old')\n"
    assert [e.outcome for e in svc.journal("web")] == ["failed"]


def test_then_apply_refuses_a_file_changed_since_the_try_started(
    twins: tuple[TwinEngine, HotfixService, FakeContainer],
) -> None:
    engine, svc, web = twins

    def meanwhile(cid: str, argv: list[str]) -> tuple[int, bytes]:
        web.node("/srv/app.py").data = b"print('theirs')\n"
        return 0, b""

    engine.exec_handler = meanwhile
    options = TryOptions(probes=["exec:check"], timeout=2, then_apply=True)
    with pytest.raises(Conflict, match="changed since the try started"):
        TwinTrial(svc).run("web", [TryFile("/srv/app.py", b"print('new')\n")], options)
    assert web.node("/srv/app.py").data == b"print('theirs')\n"
    assert svc.checkpoints("web") == []


def test_a_twin_that_exits_as_it_starts_is_unhealthy_without_a_check(
    twins: tuple[TwinEngine, HotfixService, FakeContainer],
) -> None:
    engine, svc, web = twins

    def crash(container_id: str) -> None:
        twin = engine.containers[container_id]
        twin.state, twin.exit_code, twin.processes = "exited", 1, []

    engine.start_container = crash  # type: ignore[method-assign]
    options = TryOptions(probes=["exec:check"], check="nginx -t", timeout=2)
    res = TwinTrial(svc).run("web", [TryFile("/srv/app.py", b"print('new')\n")], options)
    assert res.verdict == "unhealthy" and res.reason == "the twin exited with code 1 as it started"
    assert res.log == "twin log" and engine.called("exec") == []
    assert web.node("/srv/app.py").data == b"print('old')\n"
