"""The pure parts of harvest / commit / report: no engine, no repository."""

from __future__ import annotations

import subprocess

import pytest

from hotfix.core.errors import UsageError
from hotfix.core.redaction import redact
from hotfix.release.harvest import (
    HarvestedFile,
    branch_slug,
    commit_message,
    conflict_hunks,
    map_paths,
    parse_map,
    slugify,
)
from hotfix.release.harvest.plan import Sides, decide, executable_bit
from hotfix.release.imaging import (
    ancestors,
    check_reference,
    config_differences,
    default_tag,
    env_names_added,
    image_slug,
    leaves,
    split_reference,
    translate_probe,
)

APP = "/usr/src/app/app.py"


# --- --map and path mapping -----------------------------------------------------------------


def test_parse_map() -> None:
    m = parse_map("/usr/src/app/=service/")
    assert (m.container, m.repo) == ("/usr/src/app", "service")
    assert parse_map("/usr/src/app=.").repo == ""
    for bad in ("/usr/src/app", "=x", "/a=", "/a=/abs", "/a=../out", "rel=x"):
        with pytest.raises(UsageError):
            parse_map(bad)


def test_workdir_and_suffix() -> None:
    tracked = ["app.py", "README.md", "Dockerfile"]
    got = map_paths([(APP, True)], tracked, "/usr/src/app")
    assert got[APP].repo_path == "app.py"
    assert got[APP].how == "workdir"
    # Longest suffix wins over a shorter one, without any WORKDIR.
    got = map_paths([(APP, True)], ["app.py", "src/app/app.py"], None)
    assert got[APP].repo_path == "src/app/app.py"
    assert got[APP].how == "suffix"
    got = map_paths([("/etc/nginx/nginx.conf", True)], ["deploy/nginx/nginx.conf", "x.py"])
    assert got["/etc/nginx/nginx.conf"].repo_path == "deploy/nginx/nginx.conf"


def test_ambiguous_lists_candidates_and_the_map() -> None:
    with pytest.raises(UsageError) as err:
        map_paths([(APP, True)], ["service/app.py", "worker/app.py"], "/usr/src/app")
    text = str(err.value)
    assert "service/app.py" in text and "worker/app.py" in text
    assert f"--map {APP}=service/app.py" in text
    assert "--map /usr/src/app=DIR" in text


def test_no_match_refused() -> None:
    with pytest.raises(UsageError) as err:
        map_paths([("/etc/motd", True)], ["app.py"], "/usr/src/app")
    assert "--map /etc/motd=REPO_PATH" in str(err.value)


def test_map_prefix_longest_wins_and_must_be_tracked() -> None:
    maps = [parse_map("/usr/src=x"), parse_map("/usr/src/app=service")]
    got = map_paths([(APP, True)], ["service/app.py", "x/app/app.py"], None, maps)
    assert got[APP].repo_path == "service/app.py"
    assert got[APP].how.startswith("--map /usr/src/app=service")
    # A file mapped onto a path the repository does not track: the "unknown map target".
    with pytest.raises(UsageError) as err:
        map_paths([(APP, True)], ["app.py"], None, [parse_map("/usr/src/app=nowhere")])
    assert "nowhere/app.py" in str(err.value) and "does not track" in str(err.value)
    # A --map that matches no changed file is a mistake worth saying.
    with pytest.raises(UsageError) as err:
        map_paths([(APP, True)], ["app.py"], None, [parse_map("/srv=.")])
    assert "no changed file under /srv" in str(err.value)
    # A whole-file map.
    got = map_paths([(APP, True)], ["svc/main.py"], None, [parse_map(f"{APP}=svc/main.py")])
    assert got[APP].repo_path == "svc/main.py"


def test_ambiguity_settled_by_the_workdir_anchor() -> None:
    # settings.py is unique under service/, so the WORKDIR lives at service/: app.py follows.
    tracked = ["service/app.py", "worker/app.py", "service/settings.py"]
    files = [(APP, True), ("/usr/src/app/settings.py", True)]
    got = map_paths(files, tracked, "/usr/src/app")
    assert got[APP].repo_path == "service/app.py"
    assert got[APP].how in ("directory", "workdir")


def test_created_files_follow_their_neighbours() -> None:
    files = [(APP, True), ("/usr/src/app/helper.py", False)]
    got = map_paths(files, ["app.py"], "/usr/src/app")
    assert got["/usr/src/app/helper.py"].repo_path == "helper.py"
    got = map_paths(
        [(APP, True), ("/usr/src/app/lib/new.py", False)], ["svc/app.py"], "/usr/src/app"
    )
    assert got["/usr/src/app/lib/new.py"].repo_path == "svc/lib/new.py"
    with pytest.raises(UsageError) as err:
        map_paths([("/usr/src/app/helper.py", False)], ["app.py"], "/usr/src/app")
    assert "created in the container" in str(err.value)
    # An earlier harvest's mapping is reused.
    got = map_paths([("/x/new.py", False)], [], None, known={"/x/new.py": "lib/new.py"})
    assert got["/x/new.py"].repo_path == "lib/new.py"


def test_two_files_onto_one_path_refused() -> None:
    with pytest.raises(UsageError) as err:
        map_paths(
            [("/a/app.py", True), ("/b/app.py", True)],
            ["app.py"],
            None,
            [parse_map("/a=."), parse_map("/b=.")],
        )
    assert "both map to app.py" in str(err.value)


# --- slugs, branch names, tags --------------------------------------------------------------


def test_slugs() -> None:
    assert slugify("Cause a problem: flag!") == "cause-a-problem-flag"
    assert len(slugify("word " * 40)) <= 48
    assert branch_slug("hotfix-cause-a-problem-flag", None, []) == "cause-a-problem-flag"
    assert branch_slug("Cause a Problem Flag", "ignored", []) == "cause-a-problem-flag"
    assert branch_slug(None, "Fix the flag\n\nlong body", []) == "fix-the-flag"
    assert branch_slug(None, None, [APP]) == "app"
    assert branch_slug(None, None, ["/a/x.py", "/b/y.conf", "/c/z", "/d/w"]) == "x-y-z-and-more"
    with pytest.raises(UsageError):
        branch_slug("!!!", None, [])
    # Every slug makes a valid git branch name.
    for slug in ("cause-a-problem-flag", branch_slug(None, None, ["/x/.hidden"])):
        check = ["git", "check-ref-format", "--branch", f"hotfix-{slug}"]
        assert subprocess.run(check, capture_output=True).returncode == 0


def test_image_tags() -> None:
    assert split_reference("my_prod_service:v1.0.0") == ("my_prod_service", "v1.0.0")
    assert split_reference("localhost:5000/a/b") == ("localhost:5000/a/b", "latest")
    assert split_reference("a/b:1@sha256:abc") == ("a/b", "1")
    assert (
        default_tag("my_prod_service:v1.0.0", image_slug("hotfix-cause-a-problem-flag", []))
        == "my_prod_service:v1.0.0-hotfix-cause-a-problem-flag"
    )
    assert image_slug(None, [APP]) == "app"
    long = default_tag("x:" + "v" * 120, "s" * 60)
    assert len(split_reference(long)[1]) <= 128
    assert check_reference("registry.local:5000/team/svc:1-hotfix") == (
        "registry.local:5000/team/svc",
        "1-hotfix",
    )
    for bad in ("UPPER:1", "a:b c", "a:" + "t" * 129, ":x"):
        with pytest.raises(UsageError):
            check_reference(bad)


# --- commit message and conflicts -----------------------------------------------------------


def _file(**kw: object) -> HarvestedFile:
    base = dict(
        path=APP,
        repo_path="app.py",
        status="modified",
        action="copied",
        mapped_by="workdir",
        executable=False,
        version="sha256:x",
    )
    return HarvestedFile(**{**base, **kw})  # type: ignore[arg-type]


def test_commit_message_names_everything_and_ends_with_trailers(tmp_path) -> None:
    text = commit_message(
        message=None,
        container_name="inc",
        container_id="c" * 64,
        image="my_prod_service:v1.0.0",
        image_id="sha256:" + "i" * 64,
        files=[_file(), _file(path="/usr/src/app/run.sh", repo_path="run.sh", executable=True)],
        base="b" * 40,
        base_source="the image's label",
    )
    subject = text.splitlines()[0]
    assert subject == "Hotfix app.py, run.sh from container inc"
    assert "inc (" + "c" * 64 + ")" in text
    assert "my_prod_service:v1.0.0 (sha256:" in text
    assert "app.py <- /usr/src/app/app.py (modified)" in text
    assert "run.sh <- /usr/src/app/run.sh (modified, executable)" in text
    # git itself finds the trailers.
    proc = subprocess.run(
        ["git", "interpret-trailers", "--parse"], input=text, capture_output=True, text=True
    )
    trailers = dict(line.split(": ", 1) for line in proc.stdout.splitlines())
    assert trailers["Hotfix-Container"] == "inc (" + "c" * 64 + ")"
    assert trailers["Hotfix-Image"].startswith("my_prod_service:v1.0.0 (sha256:")

    custom = commit_message(
        message="Turn off cause_a_problem\n\nIt broke every request.",
        container_name="inc",
        container_id="c",
        image="",
        image_id="sha256:i",
        files=[_file(action="merged")],
        base="b" * 40,
        base_source="HEAD",
    )
    assert custom.startswith("Turn off cause_a_problem\n\nIt broke every request.\n")
    assert "merged three-way" in custom


def test_conflict_hunks() -> None:
    merged = b"a\nb\n<<<<<<< repo\nX = 1\n||||||| checkpoint\nX = 0\n=======\nX = 2\n>>>>>>> container\nc\n"
    text = conflict_hunks(merged)
    assert text.startswith("@@ merged lines 1-10 @@")
    assert "<<<<<<< repo" in text and ">>>>>>> container" in text and "X = 2" in text


# --- the per-file three-way decision -----------------------------------------------------


def sides(
    base: bytes | None,
    ours: bytes | None,
    theirs: bytes | None,
    *,
    base_exec: bool | None = False,
    ours_exec: bool | None = False,
    theirs_exec: bool | None = False,
) -> Sides:
    """Exec bits default to "not executable" where the content is present, unknown where not."""
    return Sides(
        base=base,
        base_exec=base_exec if base is not None else None,
        ours=ours,
        ours_exec=ours_exec if ours is not None else None,
        theirs=theirs,
        theirs_exec=theirs_exec if theirs is not None else None,
    )


def test_decide_deletions() -> None:
    assert decide(sides(b"a", None, None), "c0ffee").verdict == "unchanged"  # gone on both
    assert decide(sides(b"a", b"a", None), "c0ffee").verdict == "deleted"
    moved_on = decide(sides(b"a", b"b", None), "c0ffee")
    assert moved_on.verdict == "conflict"
    assert moved_on.why == "deleted in the container, but the repository at c0ffee changed it"


def test_decide_copies_what_only_the_container_changed() -> None:
    assert decide(sides(b"a", b"a", b"b"), "c0ffee").verdict == "copied"
    # Created in the container, not in the repository either: a plain copy.
    assert decide(sides(None, None, b"new"), "c0ffee").verdict == "copied"
    # The repository already has the container's content.
    assert decide(sides(b"a", b"b", b"b"), "c0ffee").verdict == "unchanged"


def test_decide_mode_only() -> None:
    made_exec = sides(b"a", b"b", b"b", base_exec=False, ours_exec=False, theirs_exec=True)
    decision = decide(made_exec, "c0ffee")
    assert (decision.verdict, decision.executable) == ("mode", True)


def test_decide_refuses_what_cannot_be_merged() -> None:
    assert "does not have it" in decide(sides(b"a", None, b"b"), "c0ffee").why
    created = decide(sides(None, b"x", b"y"), "c0ffee")
    assert (created.verdict, created.why) == (
        "conflict",
        "created in the container, and the repository at c0ffee has different content",
    )
    binary = decide(sides(b"a\0", b"b\0", b"c\0"), "c0ffee")
    assert binary.verdict == "conflict" and binary.binary
    assert "binary files are not merged" in binary.why


def test_decide_merges_text_both_sides_changed() -> None:
    decision = decide(sides(b"a\n", b"a\nb\n", b"c\na\n"), "c0ffee")
    assert (decision.verdict, decision.why, decision.binary) == ("merge", "", False)


def test_exec_bit_three_ways() -> None:
    # The container changed the bit: its bit wins over the repository's.
    assert executable_bit(sides(b"a", b"a", b"a", base_exec=False, theirs_exec=True))
    assert not executable_bit(
        sides(b"a", b"a", b"a", base_exec=True, ours_exec=True, theirs_exec=False)
    )
    # It did not: the repository's bit stands.
    assert executable_bit(sides(b"a", b"a", b"b", ours_exec=True))
    # Unknown on one side (created, or not in the repository): the container's.
    assert executable_bit(sides(None, None, b"x", theirs_exec=True))
    # Deleted in the container: no bit.
    assert not executable_bit(sides(b"a", b"a", None, ours_exec=True))


# --- image commit helpers -------------------------------------------------------------------


def test_leaves_and_env() -> None:
    changed = ["/usr", "/usr/src", "/usr/src/app", APP, "/tmp", "/tmp/service.log"]
    assert leaves(changed) == ["/tmp/service.log", APP]
    # '-' sorts before '/': /a-b between /a and /a/c must not make /a look like a leaf.
    assert leaves(["/a", "/a-b", "/a/c", "/a.d/e", "/a.d"]) == ["/a-b", "/a.d/e", "/a/c"]
    assert leaves(["/srv/", "/srv/x"]) == ["/srv/x"]
    assert list(ancestors("/usr/src/app/")) == ["/usr/src", "/usr", "/"]
    runtime = ["PATH=/bin", "LANG=C.UTF-8", "SECRET=x", "LANG2=y"]
    assert env_names_added(runtime, ["PATH=/bin", "LANG=C.UTF-8"]) == ["LANG2", "SECRET"]
    # A changed value counts as set at run time.
    assert env_names_added(["PATH=/other"], ["PATH=/bin"]) == ["PATH"]


def test_translate_probe() -> None:
    original = [("127.0.0.1", 18001, "8001/tcp")]
    verify = [("127.0.0.1", 32999, "8001/tcp")]
    assert (
        translate_probe("http://127.0.0.1:18001/health?x=1", original, verify)
        == "http://127.0.0.1:32999/health?x=1"
    )
    assert translate_probe("tcp:localhost:18001", original, verify) == "tcp:127.0.0.1:32999"
    assert translate_probe("healthcheck", original, verify) == "healthcheck"
    assert translate_probe("exec:cat /x", original, verify) == "exec:cat /x"
    with pytest.raises(UsageError):
        translate_probe("http://127.0.0.1:9/", original, verify)


def test_config_differences() -> None:
    base = {"Cmd": ["a"], "Env": ["A=1"], "Labels": {"x": "1"}, "Volumes": None}
    assert config_differences(base, {**base, "Labels": {"y": "2"}, "Volumes": {}}) == []
    assert config_differences(base, {**base, "Env": ["A=1", "B=2"]}) == ["Env"]


def test_redact() -> None:
    text = "token s3cr3t in a line; short 1 stays"
    assert redact(text, {"s3cr3t", "1"}) == "token [redacted] in a line; short 1 stays"
