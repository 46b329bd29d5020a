"""Shared fixtures: the simulators, started once per test that asks."""

from __future__ import annotations

from typing import Iterator

import pytest

import jobstop


@pytest.fixture
def sims() -> Iterator[jobstop.sim.Simulators]:
    """Every vendor's simulator, stops taking 0.2 s to end a run."""
    with jobstop.sim.start(running=4, finished=6, stop_delay=0.2) as s:
        yield s
