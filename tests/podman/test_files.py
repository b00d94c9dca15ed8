"""The file tests of tests/integration/test_files.py — on both paths, local
(``/proc/<pid>/root``) and archive — run unchanged against Podman (see conftest.py)."""

from __future__ import annotations

from tests.integration.test_files import *  # noqa: F403 (the tests and their fixtures)
