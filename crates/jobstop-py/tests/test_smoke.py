"""The package imports and talks to every simulator."""

from __future__ import annotations

import asyncio

import jobstop


def test_lists_runs_from_every_simulator(sims: jobstop.sim.Simulators) -> None:
    assert sims.vendors == ["amperity", "chorus", "dataarts", "centurylink"]
    assert sims.vendors == jobstop.sim.vendors()

    async def main() -> None:
        for vendor in sims.vendors:
            ctrl = sims.controller(vendor)
            assert ctrl.vendor == vendor
            page = await ctrl.list()
            assert len(page) > 0
            assert all(r.vendor == vendor for r in page)

    asyncio.run(main())


def test_version_is_the_crate_version() -> None:
    assert jobstop.__version__.count(".") == 2
