"""Harvest: carry a container's hotfixed files to a ``hotfix-*`` branch of the source repository.

Nothing is recreated from memory: the files are the ones the state store knows were changed
(checkpoint vs. live), read from the container as they are now. Three steps, one module each:
:mod:`.mapping` (container path → repository path), :mod:`.plan` (what to do per file,
three ways; any conflict refuses the whole harvest before anything is created) and
:mod:`.run` (the branch, the worktree, ``--test``, the commit). docs/release.md tells the rules.
"""

from hotfix.release.harvest.mapping import Mapped, PathMap, map_paths, parse_map
from hotfix.release.harvest.naming import BRANCH_PREFIX, branch_slug, commit_message, slugify
from hotfix.release.harvest.plan import HarvestConflict, conflict_hunks
from hotfix.release.harvest.results import Action, HarvestedFile, HarvestResult
from hotfix.release.harvest.run import (
    REVISION_LABEL,
    HarvestRequest,
    HarvestTestFailed,
    choose_base,
    harvest,
    previous_harvest,
)

__all__ = [
    "BRANCH_PREFIX",
    "REVISION_LABEL",
    "Action",
    "HarvestConflict",
    "HarvestRequest",
    "HarvestResult",
    "HarvestTestFailed",
    "HarvestedFile",
    "Mapped",
    "PathMap",
    "branch_slug",
    "choose_base",
    "commit_message",
    "conflict_hunks",
    "harvest",
    "map_paths",
    "parse_map",
    "previous_harvest",
    "slugify",
]
