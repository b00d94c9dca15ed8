"""A container's secret printed in disguise: JSON-escaped, URL-encoded, base64, wrapped.

The unit tests give :func:`hotfix.core.redaction.redact` each form; the engine tests have a
container started with ``-e SECRET=…`` print them — in an ``exec:`` probe's output, in the
log lines a failed restart captures, in the name of a file it is hotfixed at — and prove
that neither ``hotfix log`` (text and ``--json``) nor ``hotfix report`` shows any of them.
Each check decodes what is left instead of trusting the forms the module knows.
"""

from __future__ import annotations

import base64
import json
import re
import time
import urllib.parse
from collections.abc import Callable

import pytest

from hotfix.core.redaction import REDACTED, encoded_forms, redact
from tests.conftest import CliResult, Running

SECRET = 'S3cr"t/+ &=v4lue?x'
OTHER = "a.b*c?[d]+(e)|f"  # regex metacharacters

JSON_FORM = json.dumps(SECRET)[1:-1]
URL_FORMS = {
    "quote": urllib.parse.quote(SECRET, safe=""),
    "quote, / kept": urllib.parse.quote(SECRET),
    "quote_plus": urllib.parse.quote_plus(SECRET),
    "lower-case hex": re.sub(
        r"%[0-9A-F]{2}", lambda m: m.group().lower(), urllib.parse.quote(SECRET)
    ),
}


def b64_in_context(prefix: bytes, suffix: bytes = b"!", urlsafe: bool = False) -> str:
    """base64 of the secret inside longer data: ``len(prefix) % 3`` is its alignment."""
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    return encode(prefix + SECRET.encode() + suffix).decode()


PRINTED = {
    "as is": f"token={SECRET}",
    "JSON": json.dumps({"token": SECRET}),
    **{f"URL ({name})": f"GET /cb?token={form} HTTP/1.1" for name, form in URL_FORMS.items()},
    "base64": base64.b64encode(SECRET.encode()).decode(),
    "base64 URL-safe": base64.urlsafe_b64encode(SECRET.encode()).decode(),
    "base64 at offset 0": "Authorization: Basic " + b64_in_context(b"tok"),
    "base64 at offset 1": "Authorization: Basic " + b64_in_context(b"u:"[:1]),
    "base64 at offset 2": "Authorization: Basic " + b64_in_context(b"u:"),
    "base64 URL-safe at offset 1": "jwt=" + b64_in_context(b"{", urlsafe=True),
    "split by \\n": f"token={SECRET[:7]}\n{SECRET[7:]} end",
    "split by \\r\\n": f"token={SECRET[:3]}\r\n{SECRET[3:11]}\r\n{SECRET[11:]}",
    "split, JSON-escaped": json.dumps({"msg": f"{SECRET[:9]}\n{SECRET[9:]}"}),
}


def secret_visible(text: str, secret: str = SECRET) -> str | None:
    """Where ``secret`` can still be read in ``text``, or None. Decodes rather than matching
    known forms: URL-unquoting, JSON string escapes, line breaks and the report's cell
    separators removed, and base64 at every alignment in both alphabets."""
    middle = secret[3:-3].encode()  # an edge byte may share a base64 character with its neighbour
    flattened = re.sub(r"\r|\n|\\r|\\n| \\?\| ", "", text)
    for name, view in {
        "plain": flattened,
        "URL-unquoted": urllib.parse.unquote_plus(flattened),
        "JSON-unescaped": flattened.replace('\\"', '"').replace("\\/", "/"),
    }.items():
        if secret in view:
            return name
    for run in re.findall(r"[A-Za-z0-9+/_-]{8,}", text):
        for alphabet in (b"+/", b"-_"):
            for shift in range(4):
                chunk = run[shift:]
                chunk = chunk[: len(chunk) - len(chunk) % 4]
                try:
                    decoded = base64.b64decode(chunk, altchars=alphabet)
                except ValueError:
                    continue
                if middle in decoded:
                    return f"base64 {run!r}"
    return None


# --- the forms, one by one --------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PRINTED))
def test_each_printed_form_is_redacted(name: str) -> None:
    printed = f"before {PRINTED[name]} after"
    assert secret_visible(printed) is not None, "the check must see the secret unredacted"
    redacted = redact(printed, {SECRET})
    assert REDACTED in redacted
    assert secret_visible(redacted) is None, redacted
    assert redacted.startswith("before ") and redacted.endswith(" after")


@pytest.mark.parametrize("prefix_length", range(6))
@pytest.mark.parametrize("suffix_length", range(4))
def test_base64_at_every_alignment_and_end(prefix_length: int, suffix_length: int) -> None:
    blob = b64_in_context(b"p" * prefix_length, b"s" * suffix_length)
    redacted = redact(blob, {SECRET})
    assert secret_visible(redacted) is None, (blob, redacted)


def test_regex_metacharacters_are_literal() -> None:
    text = f"{OTHER} then aXb*c?[d]+(e)|f and a.bbbc?d"
    assert redact(text, {OTHER}) == f"{REDACTED} then aXb*c?[d]+(e)|f and a.bbbc?d"
    split = f"{OTHER[:4]}\n{OTHER[4:]}"
    assert redact(split, {OTHER}) == REDACTED


def test_several_secrets_in_one_pass() -> None:
    text = f"{SECRET} {OTHER} " + base64.b64encode(OTHER.encode()).decode()
    assert redact(text, {SECRET, OTHER}) == f"{REDACTED} {REDACTED} {REDACTED}"


def test_short_values_and_short_base64_fragments_are_left_alone() -> None:
    assert redact("on 1 ok", {"on", "1"}) == "on 1 ok"
    # The base64 of a 3-character value is 4 characters: those occur by chance.
    assert redact("abc YWJj", {"abc"}) == f"{REDACTED} YWJj"
    assert all(len(form) >= 3 for form in encoded_forms("abc"))


def test_redaction_is_one_pass_and_fast() -> None:
    secrets = {f"secret-value-{i:02d}-{SECRET}" for i in range(40)}
    text = "an ordinary log line with nothing to hide, 0123456789 abc\n" * 20_000  # ~1.2 MB
    redact(text, secrets)  # compiles once
    started = time.monotonic()
    assert redact(text, secrets) == text
    assert time.monotonic() - started < 2.0


# --- against the engine -----------------------------------------------------------------


def _write_in(box: Running, path: str, text: str) -> None:
    code, out = box.container.exec_run(["sh", "-c", 'printf "%s" "$1" > "$2"', "sh", text, path])
    assert code == 0, out


def _assert_hidden(result: CliResult, what: str) -> None:
    assert result.code == 0, result.stderr
    found = secret_visible(result.stdout)
    assert found is None, f"{what} shows the secret ({found}):\n{result.stdout}"


def test_probe_output_and_hotfixed_path_keep_no_secret(
    run_container: Callable[..., Running],
    images: dict[str, str],
    hotfix: Callable[..., CliResult],
) -> None:
    box = run_container(images["busybox"], environment={"SECRET": SECRET})
    for index, name in enumerate(sorted(PRINTED)):
        _write_in(box, f"/tmp/form{index}", PRINTED[name])
        probe = hotfix("probe", box.name, "--probe", f"exec:cat /tmp/form{index}")
        assert probe.code == 0, (name, probe.stderr)
    # A file whose name carries the secret, URL-encoded (no "/"), hotfixed by its name.
    path = "/tmp/cb-" + URL_FORMS["quote"]
    _write_in(box, path, "old\n")
    assert hotfix("write", f"{box.name}:{path}", "-", input=b"new\n").code == 0

    log = hotfix("log", box.name, "--json")
    assert len(log.json()["entries"]) == len(PRINTED) + 1
    _assert_hidden(log, "hotfix log --json")
    _assert_hidden(hotfix("log", box.name), "hotfix log")
    _assert_hidden(hotfix("report", box.name), "hotfix report")


def test_log_lines_captured_by_a_failed_restart_keep_no_secret(
    run_container: Callable[..., Running],
    images: dict[str, str],
    hotfix: Callable[..., CliResult],
) -> None:
    # Its last five log lines are captured when it stops: the secret wrapped by \n, by \r\n,
    # and JSON-escaped with a \n in it.
    script = 'printf "%s\\n" "$1"; printf "%s\\r\\n" "$2" "$3"; printf "%s\\n" "$4"; exit 1'
    lines = [PRINTED["split by \\n"], SECRET[:8], SECRET[8:], PRINTED["split, JSON-escaped"]]
    box = run_container(
        images["busybox"],
        environment={"SECRET": SECRET},
        command=["sh", "-c", script, "sh", *lines],
    )
    box.container.wait(timeout=30)
    assert secret_visible(box.container.logs().decode()) == "plain"
    restart = hotfix("restart", box.name, "--probe", "tcp:127.0.0.1:9", "--timeout", "20")
    assert restart.code == 4, restart.stderr
    log = hotfix("log", box.name, "--json")
    (entry,) = log.json()["entries"]
    assert "last log:" in entry["detail"]["probe_result"]
    assert REDACTED in entry["detail"]["probe_result"]
    _assert_hidden(log, "hotfix log --json")
    _assert_hidden(hotfix("report", box.name), "hotfix report")
