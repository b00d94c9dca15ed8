"""The seed incident end to end (tests/integration/test_incident.py) on a Podman container:
write, restart (uWSGI's HUP), probe 200, diff, revert — unchanged, against Podman."""

from __future__ import annotations

from tests.integration.test_incident import *  # noqa: F403 (the tests and their fixtures)
