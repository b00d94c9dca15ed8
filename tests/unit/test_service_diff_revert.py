"""HotfixService.diff, revert and changes against a fake engine and a real state store."""

from __future__ import annotations

import pytest
from unidiff import PatchSet

from hotfix.core.errors import ContainerNotFound, FileNotFound
from hotfix.service.files import HotfixService
from hotfix.store.state import StateStore, version_of
from tests.unit.fakes import FakeContainer, FakeEngine, chmod

APP = "/srv/app/app.py"
ORIGINAL = b"print('hello')\n"
CONF = "/etc/app.conf"


def test_diff_one_line_change(service: HotfixService, web: FakeContainer) -> None:
    web.add_file("/srv/app/views.py", b"a = 1\nb = 2\nc = 3\n", uid=1000, gid=1001)
    service.write("web", "/srv/app/views.py", b"a = 1\nb = 20\nc = 3\n")
    text = service.diff("web", "/srv/app/views.py")
    assert text.startswith("diff --git a/srv/app/views.py b/srv/app/views.py\n")
    [patched] = PatchSet(text)
    assert (patched.source_file, patched.target_file) == (
        "a/srv/app/views.py",
        "b/srv/app/views.py",
    )
    assert patched.is_modified_file and (patched.added, patched.removed) == (1, 1)
    [hunk] = patched
    assert [str(line) for line in hunk if not line.is_context] == ["-b = 2\n", "+b = 20\n"]
    assert (hunk.source_start, hunk.source_length, hunk.target_length) == (1, 3, 3)


def test_diff_of_a_whole_container(service: HotfixService, web: FakeContainer) -> None:
    service.write("web", APP, b"print('bye')\n")
    service.write("web", CONF, b"level = debug\n")
    service.write("web", "/srv/app/config.json", b'{"debug": false}\n')  # same content
    patches = PatchSet(service.diff("web"))
    assert sorted(p.path for p in patches) == ["etc/app.conf", "srv/app/app.py"]


def test_diff_mode_change(service: HotfixService, web: FakeContainer) -> None:
    service.write("web", CONF, b"level = info\n")  # same content: takes the checkpoint
    assert service.diff("web", CONF) == ""
    chmod(web, CONF, 0o755)
    text = service.diff("web", CONF)
    assert text == "diff --git a/etc/app.conf b/etc/app.conf\nold mode 100644\nnew mode 100755\n"
    [patched] = PatchSet(text)
    assert patched.is_modified_file and len(patched) == 0


def test_diff_mode_and_content_change(service: HotfixService, web: FakeContainer) -> None:
    service.write("web", CONF, b"level = debug\n")
    chmod(web, CONF, 0o600)
    text = service.diff("web", CONF)
    assert "old mode 100644\nnew mode 100600\n--- a/etc/app.conf\n+++ b/etc/app.conf\n" in text
    [patched] = PatchSet(text)
    assert (patched.added, patched.removed) == (1, 1)


def test_diff_created_file(service: HotfixService, web: FakeContainer) -> None:
    service.write("web", "/srv/app/new.py", b"x = 1\ny = 2\n")
    text = service.diff("web", "/srv/app/new.py")
    assert text.splitlines()[:4] == [
        "diff --git a/srv/app/new.py b/srv/app/new.py",
        "new file mode 100644",
        "--- /dev/null",
        "+++ b/srv/app/new.py",
    ]
    [patched] = PatchSet(text)
    assert patched.is_added_file and (patched.added, patched.removed) == (2, 0)


def test_diff_deleted_file(service: HotfixService, web: FakeContainer) -> None:
    service.delete("web", CONF)
    text = service.diff("web", CONF)
    assert "deleted file mode 100644\n--- a/etc/app.conf\n+++ /dev/null\n" in text
    [patched] = PatchSet(text)
    assert patched.is_removed_file and (patched.added, patched.removed) == (0, 1)


def test_diff_binary(service: HotfixService, web: FakeContainer) -> None:
    web.add_file("/srv/app/logo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    service.write("web", "/srv/app/logo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x01")
    text = service.diff("web", "/srv/app/logo.png")
    assert text == (
        "diff --git a/srv/app/logo.png b/srv/app/logo.png\n"
        "Binary files a/srv/app/logo.png and b/srv/app/logo.png differ\n"
    )
    [patched] = PatchSet(text)
    assert patched.is_binary_file


def test_diff_missing_newline_at_end(service: HotfixService, web: FakeContainer) -> None:
    web.add_file("/srv/app/VERSION", b"name\n1.0")
    service.write("web", "/srv/app/VERSION", b"name\n1.1")
    text = service.diff("web", "/srv/app/VERSION")
    assert "-1.0\n\\ No newline at end of file\n+1.1\n\\ No newline at end of file\n" in text
    [patched] = PatchSet(text)
    [hunk] = patched
    assert [str(line) for line in hunk if line.is_added or line.is_removed] == ["-1.0\n", "+1.1\n"]
    assert (hunk.source_length, hunk.target_length) == (2, 2)


def test_diff_newline_added_at_end(service: HotfixService, web: FakeContainer) -> None:
    web.add_file("/srv/app/VERSION", b"1.0")
    service.write("web", "/srv/app/VERSION", b"1.0\n")
    text = service.diff("web", "/srv/app/VERSION")
    assert text.endswith("-1.0\n\\ No newline at end of file\n+1.0\n")
    assert text.count("No newline") == 1


def test_diff_empty_when_unchanged(service: HotfixService, web: FakeContainer) -> None:
    service.checkpoint("web", [APP])
    assert service.diff("web") == ""
    assert service.diff("web", APP) == ""
    service.write("web", "/srv/app/tmp.txt", b"x")
    service.revert("web", "/srv/app/tmp.txt")
    assert service.diff("web", "/srv/app/tmp.txt") == ""


def test_diff_without_checkpoint(service: HotfixService, web: FakeContainer) -> None:
    with pytest.raises(FileNotFound, match="no checkpoint"):
        service.diff("web", CONF)


def test_diff_through_a_symlink_uses_the_target(service: HotfixService, web: FakeContainer) -> None:
    web.add_symlink("/srv/current", APP)
    service.write("web", APP, b"print('bye')\n")
    assert PatchSet(service.diff("web", "/srv/current"))[0].path == "srv/app/app.py"


def test_diff_of_a_file_with_a_form_feed(service: HotfixService, web: FakeContainer) -> None:
    # Form feeds between sections are common in Python and C sources; git splits at \n only.
    old = b"import os\n\x0c\ndef f():\n    return 1\n"
    web.add_file("/srv/app/mod.py", old)
    service.write("web", "/srv/app/mod.py", old.replace(b"return 1", b"return 2"))
    text = service.diff("web", "/srv/app/mod.py")
    assert "No newline" not in text
    [hunk] = PatchSet(text)[0]
    assert (hunk.source_length, hunk.target_length) == (4, 4)


# --- revert -------------------------------------------------------------------------------------


def test_revert_restores_content_owner_and_mode(
    service: HotfixService, store: StateStore, web: FakeContainer
) -> None:
    service.write("web", APP, b"print('bye')\n")
    node = web.node(APP)
    node.uid, node.gid, node.mode = 0, 0, 0o777
    assert service.revert("web", APP) == [APP]
    node = web.node(APP)
    assert (node.data, node.uid, node.gid, node.mode) == (ORIGINAL, 1000, 1001, 0o640)
    entry = store.journal()[-1]
    assert (entry.action, entry.outcome, entry.path) == ("revert", "ok", APP)
    assert (entry.version_before, entry.version_after) == (
        version_of(b"print('bye')\n"),
        version_of(ORIGINAL),
    )


def test_revert_of_owner_only_change(service: HotfixService, web: FakeContainer) -> None:
    service.checkpoint("web", [CONF])
    web.node(CONF).uid = 33
    assert service.revert("web") == [CONF]
    assert web.node(CONF).uid == 0


def test_revert_deletes_a_created_file(
    service: HotfixService, engine: FakeEngine, web: FakeContainer
) -> None:
    service.write("web", "/srv/app/new.py", b"x = 1\n")
    assert service.revert("web", "/srv/app/new.py") == ["/srv/app/new.py"]
    assert "/srv/app/new.py" not in web.fs
    assert engine.called("delete") == [("delete", web.id, "/srv/app/new.py")]


def test_revert_brings_back_a_deleted_file(service: HotfixService, web: FakeContainer) -> None:
    service.delete("web", APP)
    assert service.revert("web") == [APP]
    node = web.node(APP)
    assert (node.data, node.uid, node.gid, node.mode) == (ORIGINAL, 1000, 1001, 0o640)


def test_revert_skips_unchanged_files(
    service: HotfixService, engine: FakeEngine, web: FakeContainer
) -> None:
    service.write("web", APP, b"print('bye')\n")
    service.write("web", CONF, b"level = debug\n")
    service.write("web", CONF, b"level = info\n")  # back to the original by hand
    service.write("web", "/srv/app/gone.txt", b"x")
    del web.fs["/srv/app/gone.txt"]  # created, then removed: nothing to revert
    writes_before = len(engine.called("write"))
    assert service.revert("web") == [APP]
    assert len(engine.called("write")) == writes_before + 1
    assert engine.called("delete") == []
    assert service.revert("web") == []


def test_revert_unknown_path(service: HotfixService, web: FakeContainer) -> None:
    with pytest.raises(FileNotFound, match="no checkpoint"):
        service.revert("web", APP)


# --- changes ------------------------------------------------------------------------------------


def test_changes_statuses(service: HotfixService, engine: FakeEngine, web: FakeContainer) -> None:
    service.write("web", APP, b"print('bye')\n")
    service.write("web", "/srv/app/new.py", b"x = 1\n")
    service.delete("web", CONF)
    service.checkpoint("web", ["/srv/app/config.json"])
    changes = {c.path: c for c in service.changes("web")}
    assert {p: c.status for p, c in changes.items()} == {
        APP: "modified",
        "/srv/app/new.py": "created",
        CONF: "deleted",
    }
    assert all(c.container_exists and c.container_name == "web" for c in changes.values())
    everything = {c.path: c.status for c in service.changes("web", include_unchanged=True)}
    assert everything["/srv/app/config.json"] == "unchanged"
    assert {c.path for c in service.changes()} == set(changes)


def test_changes_of_mode_only_is_modified(service: HotfixService, web: FakeContainer) -> None:
    service.checkpoint("web", [CONF])
    assert service.changes("web") == []
    chmod(web, CONF, 0o640)
    assert [(c.path, c.status) for c in service.changes("web")] == [(CONF, "modified")]


def test_changes_of_a_removed_container_still_listed(
    service: HotfixService, engine: FakeEngine, web: FakeContainer
) -> None:
    db = engine.add_container("db")
    db.add_file("/etc/db.conf", b"a\n")
    service.write("web", APP, b"print('bye')\n")
    service.write("db", "/etc/db.conf", b"b\n")
    engine.remove_container(web.id)
    with pytest.raises(ContainerNotFound):
        engine.inspect("web")

    everything = {(c.container_name, c.path): c for c in service.changes()}
    gone = everything[("web", APP)]
    assert (gone.container_id, gone.container_exists, gone.status) == (web.id, False, "modified")
    assert everything[("db", "/etc/db.conf")].container_exists

    [by_name] = service.changes("web")
    assert (by_name.path, by_name.container_exists) == (APP, False)
    [by_prefix] = service.changes(web.id[:8])
    assert by_prefix.container_id == web.id
    assert [e.action for e in service.journal("web")] == ["write"]
    with pytest.raises(ContainerNotFound):
        service.changes("never-existed")
