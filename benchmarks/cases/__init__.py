"""The benchmark cases, in the order they run."""

from __future__ import annotations

from benchmarks.case import Case
from benchmarks.cases.fanout import FanOut
from benchmarks.cases.files import FileTransfer
from benchmarks.cases.golive import GoingLiveUnderLoad
from benchmarks.cases.incident import Incident
from benchmarks.cases.listing import Listing
from benchmarks.cases.restart import SaveToHealthy
from benchmarks.cases.rolling import RollingApply
from benchmarks.cases.twin import TryInTwin


def all_cases() -> list[Case]:
    return [
        FileTransfer(),
        Listing(),
        SaveToHealthy(),
        Incident(),
        FanOut(),
        GoingLiveUnderLoad(),
        TryInTwin(),
        RollingApply(),
    ]
