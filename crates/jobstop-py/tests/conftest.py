"""Shared fixtures and helpers: the simulators (real HTTP servers on
127.0.0.1, inside the test process)."""

from __future__ import annotations

from typing import Iterator, List

import pytest

import jobstop
from jobstop import RunState

#: The states a stopped run ends in (Chorus reports a stopped workfile idle).
STOPPED = (RunState.STOPPED, RunState.IDLE)


@pytest.fixture
def sims() -> Iterator[jobstop.sim.Simulators]:
    """Every vendor's simulator; an accepted stop takes 0.2 s to end a run."""
    with jobstop.sim.start(running=4, finished=6, stop_delay=0.2) as s:
        yield s


@pytest.fixture
def amperity() -> Iterator[jobstop.sim.Simulators]:
    """The Amperity simulator alone; an accepted stop takes 0.2 s."""
    with jobstop.sim.start(["amperity"], running=6, finished=6, stop_delay=0.2) as s:
        yield s


def running_ids(sims: jobstop.sim.Simulators, vendor: str) -> List[str]:
    """The ids of the runs the simulator holds as running."""
    active = {"running", "RUNNING", "Running"}
    return [i for i in sims.ids(vendor) if sims.raw_state(vendor, i) in active]
