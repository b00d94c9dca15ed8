"""Container files through the CLI against a real engine: owner and mode, symlinks,
no-shell images, stopped containers, conflicts, read-only roots, clear errors."""

from __future__ import annotations

import json
import os
import stat
import sys
import textwrap
import time
from pathlib import Path

import pytest

from hotfix.store.state import StateStore

pytestmark = pytest.mark.engine


@pytest.fixture(autouse=True, params=["local", "archive"])
def file_path(request, monkeypatch):
    """Every test runs on both paths: /proc/<pid>/root (local engine, running container)
    and the Engine's archive API (what remote engines and stopped containers use)."""
    monkeypatch.setenv("HOTFIX_LOCAL_FS", "1" if request.param == "local" else "0")
    return request.param


@pytest.fixture
def box(images, run_container):
    """A running busybox container (has a shell, so tests can look inside)."""
    return run_container(images["busybox"], command=["sleep", "3600"])


def stat_in(box, path: str) -> str:
    return box.sh(f"stat -c '%u %g %a %s' {path}").strip()


def test_write_keeps_owner_and_mode(box, hotfix):
    box.sh(
        "printf '#!/bin/sh\\necho v1\\n' > /srv.sh && chown 1000:1000 /srv.sh && chmod 0755 /srv.sh"
    )
    before = time.time()
    result = hotfix("write", f"{box.name}:/srv.sh", input=b"#!/bin/sh\necho v2\n")
    assert result.code == 0, result.stderr
    assert stat_in(box, "/srv.sh") == "1000 1000 755 18"
    assert box.sh("cat /srv.sh") == "#!/bin/sh\necho v2\n"
    mtime = float(box.sh("stat -c %Y /srv.sh"))
    assert mtime >= int(before) - 1  # set to now, not 1970 and not the old mtime
    assert box.exec("/srv.sh") == (0, "v2\n")  # still executable


def test_new_file_takes_parent_owner_and_0644(box, hotfix):
    box.sh("mkdir /data && chown 1000:1000 /data && chmod 0750 /data")
    assert hotfix("write", f"{box.name}:/data/new.conf", input=b"x=1\n").code == 0
    assert stat_in(box, "/data/new.conf") == "1000 1000 644 4"


def test_writing_a_symlink_writes_its_target(box, hotfix):
    box.sh("echo old > /www/real.html && ln -s real.html /www/link.html")
    assert hotfix("write", f"{box.name}:/www/link.html", input=b"new\n").code == 0
    assert box.sh("readlink /www/link.html").strip() == "real.html"  # still a link
    assert box.sh("cat /www/real.html") == "new\n"
    assert hotfix("cat", f"{box.name}:/www/link.html").stdout == "new\n"


def test_no_shell_image_ls_cat_write(images, run_container, hotfix):
    noshell = run_container(images["noshell"], port=8080)
    assert noshell.exec("sh", "-c", "true")[0] != 0  # no /bin/sh: docker exec sh fails

    listing = hotfix("ls", f"{noshell.name}:/www", "--json")
    assert listing.code == 0, listing.stderr
    assert "index.html" in [e["name"] for e in listing.json()["entries"]]

    page = hotfix("cat", f"{noshell.name}:/www/index.html")
    assert page.code == 0 and page.stdout

    assert hotfix("write", f"{noshell.name}:/www/index.html", input=b"<h1>fixed</h1>\n").code == 0
    assert hotfix("cat", f"{noshell.name}:/www/index.html").stdout == "<h1>fixed</h1>\n"
    from tests.conftest import http_get

    assert http_get(noshell.url) == (200, "<h1>fixed</h1>\n")
    assert "+<h1>fixed</h1>" in hotfix("diff", noshell.name).stdout
    assert hotfix("revert", noshell.name).code == 0
    assert hotfix("cat", f"{noshell.name}:/www/index.html").stdout == page.stdout


def test_conflicting_external_edit_is_refused(box, hotfix):
    box.sh("echo 'mode=a' > /app.conf")
    read = hotfix("cat", f"{box.name}:/app.conf", "--json").json()
    box.sh("sed -i 's/a/b/' /app.conf")  # someone else edits it meanwhile
    refused = hotfix(
        "write", f"{box.name}:/app.conf", "--base-version", read["version"], input=b"mode=c\n"
    )
    assert refused.code == 3, refused.stderr
    assert "changed in the container since you read it" in refused.stderr
    assert box.sh("cat /app.conf") == "mode=b\n"  # untouched


def test_edit_conflict_keeps_the_edited_copy(box, hotfix, tmp_path):
    box.sh("echo 'mode=a' > /app.conf")
    # An "editor" that, while open, lets someone else change the file in the container.
    editor = tmp_path / "editor.py"
    editor.write_text(
        textwrap.dedent(f"""\
        import subprocess, sys
        subprocess.run(["docker", "exec", "{box.name}", "sed", "-i", "s/a/b/", "/app.conf"], check=True)
        open(sys.argv[1], "w").write("mode=mine\\n")
        """)
    )
    result = hotfix("edit", f"{box.name}:/app.conf", env={"EDITOR": f"{sys.executable} {editor}"})
    assert result.code == 3, result.stderr
    kept = Path(result.stderr.split("kept at ")[1].split(" ")[0])
    assert kept.read_text() == "mode=mine\n"  # the edit is not lost
    assert box.sh("cat /app.conf") == "mode=b\n"


def test_edit_writes_back_when_changed(box, hotfix, tmp_path):
    box.sh("echo 'mode=a' > /app.conf")
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/a/z/' \"$1\"\n")
    editor.chmod(0o755)
    result = hotfix("edit", f"{box.name}:/app.conf", env={"VISUAL": str(editor)})
    assert result.code == 0, result.stderr
    assert box.sh("cat /app.conf") == "mode=z\n"
    unchanged = hotfix("edit", f"{box.name}:/app.conf", env={"VISUAL": "true"})
    assert unchanged.code == 0 and "no change" in unchanged.stdout


def test_write_to_a_stopped_container(box, hotfix):
    box.sh("echo before > /note.txt")
    box.container.stop(timeout=1)
    assert hotfix("write", f"{box.name}:/note.txt", input=b"after\n").code == 0
    assert hotfix("cat", f"{box.name}:/note.txt").stdout == "after\n"
    box.container.start()
    assert box.sh("cat /note.txt") == "after\n"


def test_read_only_rootfs_is_a_clear_error(images, run_container, hotfix):
    ro = run_container(images["busybox"], command=["sleep", "3600"], read_only=True)
    result = hotfix("write", f"{ro.name}:/www/index.html", input=b"x\n")
    assert result.code == 1
    line = result.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert f"{ro.name}:/www/index.html" in line and "read-only" in line
    assert ro.sh("cat /www/index.html") != "x\n"


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("{name}:/no/such/dir/file.txt", "parent directory /no/such/dir does not exist"),
        ("{name}:/www", "is a directory"),
        ("hotfix-no-such-container-xyz:/etc/hosts", "no such container"),
        ("{name}:relative/path", "is relative"),
    ],
)
def test_bad_targets_are_one_line_errors(box, hotfix, target, message):
    result = hotfix("write", target.format(name=box.name), input=b"x\n")
    assert result.code in (1, 2)
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_ambiguous_id_prefix_and_resolution(images, docker_client, hotfix):
    created = []
    try:
        by_first: dict[str, list] = {}
        while True:  # create containers until two share a first hex digit
            c = docker_client.containers.create(images["busybox"], labels={"hotfix.test": "1"})
            created.append(c)
            by_first.setdefault(c.id[0], []).append(c)
            if len(by_first[c.id[0]]) >= 2:
                break
        a, _b = by_first[c.id[0]]
        others = [x for x in docker_client.containers.list(all=True) if x.id.startswith(c.id[0])]
        assert len(others) >= 2
        result = hotfix("cat", f"{c.id[0]}:/www/index.html")
        assert result.code == 1
        assert "ambiguous" in result.stderr
        # A full ID, a unique prefix and a name all resolve.
        for ref in (a.id, a.id[:12], a.name):
            assert hotfix("cat", f"{ref}:/www/index.html").code == 0, ref
    finally:
        for c in created:
            c.remove(force=True)


def test_first_write_warns_about_other_changes(box, hotfix):
    box.sh("echo tampered >> /etc/group")  # an image file: a file created since is not warned of
    first = hotfix("write", f"{box.name}:/www/index.html", input=b"a\n")
    assert first.code == 0
    assert "warning:" in first.stderr and "/etc/group" in first.stderr
    second = hotfix("write", f"{box.name}:/www/index.html", input=b"b\n")
    assert "warning:" not in second.stderr  # only before the first write


def test_revert_on_failure_restores_and_restarts(box, hotfix):
    box.sh("echo healthy=1 > /etc/app.conf")
    probe = "exec:grep -q healthy=1 /etc/app.conf"
    assert hotfix("write", f"{box.name}:/etc/app.conf", input=b"healthy=0\n").code == 0
    result = hotfix(
        "restart", box.name, "--probe", probe, "--timeout", "3", "--revert-on-failure", "--json"
    )
    assert result.code == 4  # the hotfix failed, even though the revert recovered
    data = result.json()
    assert data["healthy"] is False
    assert data["reverted"] == ["/etc/app.conf"]
    assert data["afterRevert"]["healthy"] is True
    assert box.sh("cat /etc/app.conf") == "healthy=1\n"


def test_probe_kinds(images, run_container, docker_client, hotfix, tmp_path):
    web = run_container(images["busybox"], port=8080)
    port = web.url.rsplit(":", 1)[1].strip("/")
    assert hotfix("probe", web.name, "--probe", f"tcp:127.0.0.1:{port}").code == 0
    assert hotfix("probe", web.name, "--probe", f"{web.url}missing", "--timeout", "1").code == 4
    assert (
        hotfix("probe", web.name, "--probe", f"{web.url}missing", "--expect-status", "404").code
        == 0
    )
    # exec: probes run an argv, never a shell: "$(id)" reaches echo literally.
    literal = hotfix("probe", web.name, "--probe", 'exec:echo "$(id); rm -rf /"', "--json")
    assert literal.code == 0
    assert literal.json()["probe"]["detail"] == "exit 0: $(id); rm -rf /"

    context = tmp_path / "hc"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f"FROM {images['busybox']}\nHEALTHCHECK --interval=1s --timeout=1s CMD test -f /www/index.html\n"
    )
    image, _ = docker_client.images.build(
        path=str(context), tag="hotfix-test/healthcheck:1", rm=True
    )
    checked = run_container(image.id, command=["sleep", "3600"])
    result = hotfix("restart", checked.name, "--timeout", "20", "--json")
    assert result.code == 0, result.stdout + result.stderr
    assert result.json()["probe"]["spec"] == "healthcheck"  # the image's own HEALTHCHECK


def test_no_probe_possible_is_a_usage_error(box, hotfix):
    result = hotfix("restart", box.name)
    assert result.code == 2
    assert "publishes no port and has no HEALTHCHECK" in result.stderr


def test_checkpoint_rebaselines(box, hotfix):
    box.sh("echo one > /f.txt")
    assert hotfix("write", f"{box.name}:/f.txt", input=b"two\n").code == 0
    assert "+two" in hotfix("diff", f"{box.name}:/f.txt").stdout
    assert hotfix("checkpoint", f"{box.name}:/f.txt").code == 0
    assert hotfix("diff", box.name).stdout == ""
    assert hotfix("write", f"{box.name}:/f.txt", input=b"three\n").code == 0
    diff = hotfix("diff", box.name).stdout
    assert "-two" in diff and "+three" in diff and "one" not in diff


def test_mode_change_shows_in_diff_and_reverts(box, hotfix):
    box.sh("echo 'echo hi' > /run.sh && chmod 0644 /run.sh")
    assert hotfix("checkpoint", f"{box.name}:/run.sh").code == 0
    box.sh("chmod 0755 /run.sh")
    diff = hotfix("diff", box.name).stdout
    assert "old mode 100644" in diff and "new mode 100755" in diff
    assert hotfix("revert", box.name).code == 0
    assert stat_in(box, "/run.sh").split()[2] == "644"


def test_checkpoint_survives_sigkill_between_checkpoint_and_write(box, state_dir):
    """The checkpoint is on disk before the container is touched."""
    import subprocess

    box.sh("echo original > /precious.txt")
    # Die exactly where the write to the container would happen.
    script = textwrap.dedent(f"""
        import os, signal
        from hotfix.docker import engine
        engine.Engine.write = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
        from hotfix.cli.main import main
        main(["write", "{box.name}:/precious.txt", "-"])
    """)
    proc = subprocess.run(
        [sys.executable, "-c", script],
        input=b"replacement\n",
        env={**os.environ, "HOTFIX_STATE_DIR": str(state_dir)},
        capture_output=True,
    )
    assert proc.returncode == -9
    assert box.sh("cat /precious.txt") == "original\n"  # the container was not written
    store = StateStore(state_dir)
    [cp] = store.checkpoints()
    assert cp.path == "/precious.txt"
    assert store.get_blob(cp.blob or "") == b"original\n"
    stale = store.mark_stale_incomplete()
    assert [(e.action, e.path) for e in stale] == [("write", "/precious.txt")]
    assert store.journal()[-1].outcome == "incomplete"


def test_log_keeps_edits_of_a_removed_container(images, docker_client, hotfix):
    container = docker_client.containers.run(
        images["busybox"], command=["sleep", "3600"], detach=True, labels={"hotfix.test": "1"}
    )
    name = container.name
    assert hotfix("write", f"{name}:/www/index.html", input=b"gone soon\n").code == 0
    container.remove(force=True)
    log = hotfix("log", name, "--json")
    assert log.code == 0, log.stderr
    entries = log.json()["entries"]
    assert [e["action"] for e in entries] == ["write"]
    assert entries[0]["container"] == name and entries[0]["image"] == images["busybox"]


def test_ls_shows_owner_mode_and_links(box, hotfix):
    box.sh("mkdir /d && touch /d/a && chown 1000:1000 /d/a && chmod 0600 /d/a && ln -s a /d/l")
    rows = {e["name"]: e for e in hotfix("ls", f"{box.name}:/d", "--json").json()["entries"]}
    assert rows["a"]["uid"] == 1000 and rows["a"]["mode"] == "0600"
    assert rows["l"]["type"] == "symlink" and rows["l"]["linkTarget"] == "a"
    text = hotfix("ls", f"{box.name}:/d").stdout
    assert "-rw-------" in text and "l -> a" in text
    assert json.loads(hotfix("ls", f"{box.name}:/d", "--json").stdout)["path"] == "/d"
    # Listing also works on a stopped container (archive API instead of /proc/<pid>/root).
    box.container.stop(timeout=1)
    stopped = {e["name"]: e for e in hotfix("ls", f"{box.name}:/d", "--json").json()["entries"]}
    assert stopped.keys() == rows.keys()
    assert stopped["a"]["uid"] == 1000 and stat.S_IMODE(int(stopped["a"]["mode"], 8)) == 0o600


def test_new_file_directly_under_root(box, hotfix):
    assert hotfix("write", f"{box.name}:/top.txt", input=b"at the top\n").code == 0
    assert box.sh("cat /top.txt") == "at the top\n"
    assert stat_in(box, "/top.txt") == "0 0 644 11"
