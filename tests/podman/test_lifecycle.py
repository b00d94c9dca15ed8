"""`hotfix status` / `hotfix reapply` on Podman (tests/lifecycle/test_compose.py, unchanged):
a Compose-labelled replica recreated (rm -f + run with its name and labels) is lost (exit
5), reapply restores it (HTTP 200 via 127.0.0.1); name reuse by another image is no
successor."""

from __future__ import annotations

import pytest

from tests.fleet.conftest import compose_replicas  # noqa: F401 (fixtures of the tests below)
from tests.lifecycle.conftest import recreate  # noqa: F401
from tests.lifecycle.test_compose import (  # noqa: F401
    test_a_conflicting_successor_is_refused_with_the_hunk,
    test_name_reuse_of_a_plain_container_from_another_image,
    test_name_reuse_with_another_service_or_image_is_no_successor,
    test_recreated_replica_is_lost_then_reapplied,
)

pytestmark = pytest.mark.engine
