"""Every async method of Controller, against the simulators."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import List

import pytest

import jobstop
from jobstop import RunState

from conftest import STOPPED, running_ids


def test_list_pages_follow_the_cursor(sims: jobstop.sim.Simulators) -> None:
    async def main() -> None:
        for vendor in sims.vendors:
            ctrl = sims.controller(vendor)
            seen: List[str] = []
            cursor = None
            pages = 0
            while True:
                page = await ctrl.list(limit=3, cursor=cursor)
                assert len(page.runs) <= 3
                assert isinstance(page.runs, tuple)
                seen.extend(r.id for r in page)
                pages += 1
                cursor = page.next_cursor
                if cursor is None:
                    break
            assert pages >= 2, vendor
            assert sorted(seen) == sorted(sims.ids(vendor)), vendor

    asyncio.run(main())


def test_list_filters_by_state_and_name(amperity: jobstop.sim.Simulators) -> None:
    ctrl = amperity.controller("amperity")

    async def main() -> None:
        page = await ctrl.list(state=RunState.RUNNING)
        assert {r.id for r in page} == set(running_ids(amperity, "amperity"))
        assert all(r.state is RunState.RUNNING for r in page)
        # A plain string and an iterable of states work too.
        assert {r.id for r in await ctrl.list(state="running")} == {r.id for r in page}
        both = await ctrl.list(state=["running", RunState.SUCCEEDED], limit=100)
        assert {r.state for r in both} <= {RunState.RUNNING, RunState.SUCCEEDED}
        assert len(both) > len(page)
        name = page.runs[0].name
        assert name is not None
        named = await ctrl.list(name_contains=name)
        assert named.runs and all(name in (r.name or "") for r in named)

    asyncio.run(main())


def test_list_filters_by_creation_time(amperity: jobstop.sim.Simulators) -> None:
    ctrl = amperity.controller("amperity")

    async def main() -> None:
        runs = [r async for r in ctrl.list_all()]
        times = sorted(r.created_at for r in runs if r.created_at is not None)
        middle = times[len(times) // 2]
        after = [r async for r in ctrl.list_all(created_after=middle)]
        assert after and all(r.created_at is not None and r.created_at >= middle for r in after)
        assert len(after) < len(runs)
        future = datetime.now(timezone.utc) + timedelta(days=3650)
        assert [r async for r in ctrl.list_all(created_after=future)] == []
        with pytest.raises(jobstop.InvalidInput):
            await ctrl.list(created_after=datetime(2026, 1, 1))  # naive: no instant

    asyncio.run(main())


def test_list_all_yields_every_run_once(sims: jobstop.sim.Simulators) -> None:
    async def main() -> None:
        for vendor in sims.vendors:
            ctrl = sims.controller(vendor)
            ids = [r.id async for r in ctrl.list_all(page_size=2)]
            assert sorted(ids) == sorted(sims.ids(vendor)), vendor
            assert len(ids) == len(set(ids))
            first = [r.id async for r in ctrl.list_all(page_size=2, limit=3)]
            assert first == ids[:3]
            running = [r async for r in ctrl.list_all(state="running")]
            assert running and all(r.state == "running" for r in running)

    asyncio.run(main())


def test_leaving_list_all_early_stops_reading_pages(amperity: jobstop.sim.Simulators) -> None:
    ctrl = amperity.controller("amperity")

    async def main() -> None:
        amperity.clear_requests("amperity")
        listing = ctrl.list_all(page_size=1)
        async for _ in listing:
            break
        await listing.aclose()  # type: ignore[attr-defined]
        await asyncio.sleep(0.3)
        # The first page and the few read ahead meanwhile: not all twelve.
        assert 1 <= amperity.request_count("amperity") <= 4

    asyncio.run(main())


def test_run_is_typed_and_immutable(amperity: jobstop.sim.Simulators) -> None:
    ctrl = amperity.controller("amperity")

    async def main() -> None:
        run = (await ctrl.list(state="running", limit=1)).runs[0]
        assert isinstance(run, jobstop.Run)
        assert isinstance(run.state, RunState) and run.state == "running"
        assert run.is_active and not run.is_terminal
        assert run.vendor == "amperity" and run.vendor_state == "running"
        assert isinstance(run.created_at, datetime)
        assert run.created_at.tzinfo is not None
        assert run.created_at.utcoffset() == timedelta(0)
        raw = run.raw
        assert isinstance(raw, dict) and raw["id"] == run.id
        raw["id"] = "changed"
        assert run.raw is not None and run.raw["id"] == run.id  # built anew on access
        with pytest.raises(AttributeError):
            run.state = RunState.STOPPED  # type: ignore[misc]
        again, third = await ctrl.status(run.id), await ctrl.status(run.id)
        assert again.id == run.id and again is not third
        assert again == third and hash(again) == hash(third)
        assert again != (await ctrl.list(state="running", limit=2)).runs[1]
        assert "amperity" in repr(run) and run.id in repr(run)

    asyncio.run(main())


def test_status_stop_and_outcomes(sims: jobstop.sim.Simulators) -> None:
    async def main() -> None:
        for vendor in sims.vendors:
            ctrl = sims.controller(vendor)
            rid = running_ids(sims, vendor)[0]
            run = await ctrl.status(rid)
            assert run.id == rid and run.state == RunState.RUNNING
            outcome = await ctrl.stop(rid)
            assert isinstance(outcome, jobstop.StopOutcome)
            assert outcome.kind in ("requested", "stopped"), vendor
            assert outcome.run.id == rid
            assert sims.stop_requests(vendor, rid) == 1
            final = await ctrl.wait_until_terminal(rid, timeout=10, min_interval=0.02)
            assert final.is_terminal and final.state in STOPPED, vendor
            # Stopping a finished run is success, not an error.
            again = await ctrl.stop(rid)
            assert again.kind == "already_finished", vendor

    asyncio.run(main())


def test_stop_and_wait_reports_the_stop(sims: jobstop.sim.Simulators) -> None:
    async def main() -> None:
        for vendor in sims.vendors:
            ctrl = sims.controller(vendor)
            rid = running_ids(sims, vendor)[0]
            report = await ctrl.stop_and_wait(rid, timeout=10, min_interval=0.02, max_interval=0.05)
            assert isinstance(report, jobstop.StopReport)
            assert report.stop_won
            assert report.final_run.state in STOPPED
            assert report.outcome.kind in ("requested", "stopped")
            assert report.elapsed >= 0 and report.polls >= 0
            assert sims.stop_requests(vendor, rid) == 1

    asyncio.run(main())


def test_stop_many_answers_every_id(sims: jobstop.sim.Simulators) -> None:
    async def main() -> None:
        for vendor in sims.vendors:
            ctrl = sims.controller(vendor)
            ids = running_ids(sims, vendor)
            results = await ctrl.stop_many(ids, concurrency=2)
            assert sorted(r.id for r in results) == sorted(ids)
            assert all(r.ok and r.outcome is not None and r.error is None for r in results)
            assert sims.stop_requests(vendor) == len(ids)
        # An id the vendor does not know is answered with its error.
        ctrl = sims.controller("amperity")
        [bad] = await ctrl.stop_many(["wf-20990101-00000-nothere"])
        assert not bad.ok and bad.outcome is None
        assert isinstance(bad.error, jobstop.NotFound)
        with pytest.raises(jobstop.InvalidInput):
            await ctrl.stop_many(["x"], concurrency=0)

    asyncio.run(main())


def test_controller_from_keyword_settings(amperity: jobstop.sim.Simulators) -> None:
    settings = amperity.settings["amperity"]
    ctrl = jobstop.Controller("amperity", name="prod", client={"retries": 1}, **settings)
    assert ctrl.name == "prod" and ctrl.vendor == "amperity"
    assert ctrl.base_url == settings["base_url"]

    async def main() -> None:
        page = await ctrl.list()
        assert len(page) > 0

    asyncio.run(main())
