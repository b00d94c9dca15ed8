"""Guards an on-call engineer relies on: protected containers and the file size limit."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.engine


@pytest.fixture
def protected(images, run_container):
    return run_container(
        images["busybox"], command=["sleep", "3600"], labels={"hotfix.protect": "true"}
    )


def test_protected_container_refuses_changes_unless_forced(protected, hotfix):
    name = protected.name
    refused = hotfix("write", f"{name}:/www/index.html", input=b"changed\n")
    assert refused.code == 1
    assert "protected (label hotfix.protect=true)" in refused.stderr
    assert protected.sh("cat /www/index.html") != "changed\n"
    assert hotfix("restart", name, "--probe", "exec:true").code == 1

    forced = hotfix("write", f"{name}:/www/index.html", "--force", input=b"changed\n")
    assert forced.code == 0
    assert protected.sh("cat /www/index.html") == "changed\n"
    assert hotfix("revert", name).code == 1  # revert changes the container too
    assert hotfix("revert", name, "--force").code == 0
    assert hotfix("restart", name, "--probe", "exec:true", "--force").code == 0

    entries = hotfix("log", name, "--json").json()["entries"]
    forced_actions = [e["action"] for e in entries if e["detail"].get("forced_protected")]
    assert forced_actions == ["write", "revert", "restart"]


def test_files_above_the_size_limit_are_refused_unless_forced(images, run_container, hotfix):
    box = run_container(images["busybox"], command=["sleep", "3600"])
    box.sh("dd if=/dev/zero of=/big.bin bs=1024 count=300 2>/dev/null")
    env = {"HOTFIX_MAX_FILE_SIZE": "256K"}
    read = hotfix("cat", f"{box.name}:/big.bin", env=env)
    assert read.code == 1 and "above the 0.2 MiB limit (HOTFIX_MAX_FILE_SIZE)" in read.stderr
    assert len(hotfix("cat", f"{box.name}:/big.bin", "--force", env=env).stdout) == 300 * 1024

    payload = b"x" * (300 * 1024)
    write = hotfix("write", f"{box.name}:/new.bin", env=env, input=payload)
    assert write.code == 1 and "above the" in write.stderr
    assert box.exec("test", "-e", "/new.bin")[0] != 0  # nothing written
    assert hotfix("write", f"{box.name}:/new.bin", "--force", env=env, input=payload).code == 0
    assert box.sh("wc -c < /new.bin").strip() == str(300 * 1024)

    bad = hotfix("cat", f"{box.name}:/big.bin", env={"HOTFIX_MAX_FILE_SIZE": "lots"})
    assert bad.code == 2 and "HOTFIX_MAX_FILE_SIZE='LOTS'" in bad.stderr
