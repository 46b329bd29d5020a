"""Every method of jobstop.blocking.Controller, against the simulators."""

from __future__ import annotations

import pytest

import jobstop
from jobstop import RunState, blocking

from conftest import STOPPED, running_ids


def test_every_blocking_method(sims: jobstop.sim.Simulators) -> None:
    for vendor in sims.vendors:
        ctrl = blocking.Controller.from_settings(vendor, sims.settings[vendor])
        assert ctrl.vendor == vendor
        page = ctrl.list(limit=2)
        assert len(page) == 2 and page.next_cursor is not None
        seen = [r.id for r in page]
        while page.next_cursor is not None:
            page = ctrl.list(limit=2, cursor=page.next_cursor)
            seen.extend(r.id for r in page)
        assert sorted(seen) == sorted(sims.ids(vendor))
        ids = [r.id for r in ctrl.list_all(page_size=2)]
        assert sorted(ids) == sorted(sims.ids(vendor))
        assert len(list(ctrl.list_all(limit=3))) == 3
        first, second, *others = running_ids(sims, vendor)
        assert ctrl.status(first).state == RunState.RUNNING
        assert ctrl.stop(first).kind in ("requested", "stopped")
        final = ctrl.wait_until_terminal(first, timeout=10, min_interval=0.02)
        assert final.state in STOPPED
        report = ctrl.stop_and_wait(second, timeout=10, min_interval=0.02)
        assert report.stop_won and report.final_run.is_terminal
        results = ctrl.stop_many(others, concurrency=2)
        assert sorted(r.id for r in results) == sorted(others) and all(r.ok for r in results)
        assert sims.stop_requests(vendor) == 2 + len(others)


def test_blocking_errors(amperity: jobstop.sim.Simulators) -> None:
    ctrl = amperity.controller("amperity").blocking()
    with pytest.raises(jobstop.NotFound):
        ctrl.status("wf-20990101-00000-nothere")
    with pytest.raises(jobstop.EndlessListing):
        list(ctrl.list_all(page_size=2, max_pages=1))
    with pytest.raises(jobstop.Timeout):
        ctrl.stop_and_wait(running_ids(amperity, "amperity")[0], timeout=0.05)


def test_blocking_registry(amperity: jobstop.sim.Simulators) -> None:
    registry = amperity.registry().blocking()
    assert registry.names() == ["amperity"] and len(registry) == 1
    assert "amperity" in registry and list(registry) == ["amperity"]
    assert isinstance(registry["amperity"], blocking.Controller)
    assert len(registry["amperity"].list()) > 0
    with pytest.raises(KeyError):
        registry["prod"]
