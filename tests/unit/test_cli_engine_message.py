"""engines: one helpful line when an engine does not answer (docs/cli.md, "Conventions")."""

from __future__ import annotations

import errno

import pytest

from hotfix.docker.engines import unreachable_message


def _wrapped(cause: BaseException) -> Exception:
    """As docker-py raises it: its DockerException over requests' and urllib3's wrappers."""
    try:
        try:
            try:
                raise cause
            except BaseException as exc:
                raise ConnectionError(("Connection aborted.", exc)) from exc
        except ConnectionError as exc:
            raise RuntimeError(f"Error while fetching server API version: {exc}") from exc
    except RuntimeError as exc:
        return exc


@pytest.mark.parametrize(
    ("cause", "why"),
    [
        (FileNotFoundError(errno.ENOENT, "No such file or directory"), "no such socket"),
        (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), "connection refused"),
        (TimeoutError("timed out"), "no answer in time"),
        (OSError(errno.EHOSTUNREACH, "No route to host"), "no route to host"),
    ],
)
def test_names_engine_address_reason_and_what_to_check(cause: OSError, why: str) -> None:
    text = unreachable_message("default", "unix:///run/x.sock", "DOCKER_HOST", _wrapped(cause))
    assert text == (
        f"engine 'default' is not reachable at unix:///run/x.sock ({why}): "
        "is dockerd running, and does DOCKER_HOST point at it?"
    )


def test_the_default_socket_says_nothing_points_elsewhere() -> None:
    exc = _wrapped(FileNotFoundError(errno.ENOENT, "No such file or directory"))
    text = unreachable_message("default", "unix:///var/run/docker.sock", "the default socket", exc)
    assert "not reachable at unix:///var/run/docker.sock (no such socket)" in text
    assert "is dockerd running?" in text
    assert "DOCKER_HOST is unset" in text


def test_permission_denied_asks_about_the_user() -> None:
    exc = _wrapped(PermissionError(errno.EACCES, "Permission denied"))
    text = unreachable_message("e2", "unix:///s", "docker context 'e2'", exc)
    assert text.startswith("engine 'e2' is not reachable at unix:///s (permission denied): ")
    assert "docker group" in text or "its group" in text


def test_ssh_names_the_ssh_command_to_try() -> None:
    exc = _wrapped(ConnectionResetError("Remote end closed connection without response"))
    text = unreachable_message("far", "ssh://me@host.example:2222", "docker context 'far'", exc)
    assert "not reachable at ssh://me@host.example:2222 (ssh: " in text
    assert "`ssh -p 2222 me@host.example docker version`" in text


def test_an_engine_that_answers_wrongly_keeps_its_own_words() -> None:
    exc = RuntimeError("Error while fetching server API version: 404 Client Error: Not Found")
    text = unreachable_message("default", "tcp://h:2375", "DOCKER_HOST", exc)
    assert text == f"engine 'default' (tcp://h:2375): {exc}"
