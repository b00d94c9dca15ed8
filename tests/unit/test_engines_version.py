"""engines: the API version comes from /_ping's header, and from /version without it."""

from __future__ import annotations

from typing import Any

import requests

from hotfix.docker.engines import _api_version


class Probe:
    """A docker-py APIClient as _api_version uses it, answering /_ping with ``headers``."""

    base_url = "http+docker://localhost"
    timeout = 60

    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers
        self.asked: list[str] = []

    def get(self, url: str, timeout: int) -> requests.Response:
        self.asked.append(url)
        response = requests.Response()
        response.status_code = 200
        response.headers.update(self.headers)
        return response

    def version(self, api_version: bool) -> dict[str, Any]:
        self.asked.append("/version")
        return {"ApiVersion": "1.24"}


def test_the_ping_header_answers_without_asking_version() -> None:
    probe = Probe({"Api-Version": "1.41"})
    assert _api_version(probe) == "1.41"  # type: ignore[arg-type]
    assert probe.asked == ["http+docker://localhost/_ping"]


def test_an_engine_without_the_header_is_asked_version() -> None:
    probe = Probe({})
    assert _api_version(probe) == "1.24"  # type: ignore[arg-type]
    assert probe.asked == ["http+docker://localhost/_ping", "/version"]
