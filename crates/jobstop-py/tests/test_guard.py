"""The scoped-run guard: a run is stopped when its block is left by an
exception or a cancellation, and left running otherwise."""

from __future__ import annotations

import asyncio
import gc

import pytest

import jobstop
from jobstop import RunState

from conftest import running_ids


def test_guard_stops_the_run_on_exception(amperity: jobstop.sim.Simulators) -> None:
    ctrl = amperity.controller("amperity")
    rid = running_ids(amperity, "amperity")[0]

    async def main() -> jobstop.Guard:
        guard = ctrl.guard(rid, deadline=10, min_interval=0.02)
        with pytest.raises(RuntimeError, match="downstream"):
            async with guard:
                assert guard.armed
                raise RuntimeError("the downstream step failed")
        return guard

    guard = asyncio.run(main())
    assert not guard.armed
    assert guard.outcome is not None and guard.outcome.kind == "stopped"
    assert guard.outcome.report is not None and guard.outcome.report.stop_won
    assert amperity.stop_requests("amperity", rid) == 1
    assert amperity.raw_state("amperity", rid) != "running"


def test_guard_stops_the_run_on_cancel(amperity: jobstop.sim.Simulators) -> None:
    ctrl = amperity.controller("amperity")
    rid = running_ids(amperity, "amperity")[0]

    async def main() -> jobstop.Guard:
        guard = ctrl.guard(rid, deadline=10, min_interval=0.02)
        entered = asyncio.Event()

        async def task() -> None:
            async with guard:
                entered.set()
                await asyncio.sleep(3600)  # the task hangs

        t = asyncio.ensure_future(task())
        await entered.wait()
        assert amperity.stop_requests("amperity", rid) == 0
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        return guard

    guard = asyncio.run(main())
    assert guard.outcome is not None and guard.outcome.kind == "stopped"
    assert amperity.stop_requests("amperity", rid) == 1
    final = asyncio.run(ctrl.status(rid))
    assert final.state == RunState.STOPPED


def test_guard_leaves_the_run_running_on_success(amperity: jobstop.sim.Simulators) -> None:
    ctrl = amperity.controller("amperity")
    rid = running_ids(amperity, "amperity")[0]

    async def main() -> jobstop.Guard:
        async with ctrl.guard(rid) as guard:
            await asyncio.sleep(0.01)
        return guard

    guard = asyncio.run(main())
    assert guard.outcome is not None and guard.outcome.kind == "disarmed"
    assert amperity.stop_requests("amperity") == 0
    assert amperity.raw_state("amperity", rid) == "running"


def test_guard_without_waiting_still_stops(amperity: jobstop.sim.Simulators) -> None:
    ctrl = amperity.controller("amperity")
    rid = running_ids(amperity, "amperity")[0]

    async def main() -> None:
        guard = ctrl.guard(rid, wait=False, deadline=10, min_interval=0.02)
        with pytest.raises(KeyError):
            async with guard:
                raise KeyError("boom")
        assert guard.outcome is None  # not waited for
        outcome = await guard.result()
        assert outcome.kind == "stopped"

    asyncio.run(main())
    assert amperity.stop_requests("amperity", rid) == 1


def test_stop_failure_is_reported(amperity: jobstop.sim.Simulators) -> None:
    ctrl = jobstop.Controller("amperity", client={"retries": 0}, **amperity.settings["amperity"])
    rid = running_ids(amperity, "amperity")[0]
    amperity.inject("amperity", status=403, method="POST")

    async def main() -> jobstop.Guard:
        guard = ctrl.guard(rid, deadline=5)
        with pytest.raises(ValueError):
            async with guard:
                raise ValueError("bad")
        return guard

    guard = asyncio.run(main())
    assert guard.outcome is not None and guard.outcome.kind == "stop_failed"
    assert isinstance(guard.outcome.error, jobstop.PermissionDenied)


def test_blocking_guard(amperity: jobstop.sim.Simulators) -> None:
    ctrl = amperity.controller("amperity").blocking()
    first, second = running_ids(amperity, "amperity")[:2]
    with pytest.raises(KeyboardInterrupt):
        with ctrl.guard(first, deadline=10, min_interval=0.02) as guard:
            raise KeyboardInterrupt
    assert guard.outcome is not None and guard.outcome.kind == "stopped"
    with ctrl.guard(second) as kept:
        pass
    assert kept.outcome is not None and kept.outcome.kind == "disarmed"
    assert amperity.stop_requests("amperity", first) == 1
    assert amperity.stop_requests("amperity", second) == 0


def test_a_collected_armed_guard_stops_the_run(amperity: jobstop.sim.Simulators) -> None:
    ctrl = amperity.controller("amperity").blocking()
    rid = running_ids(amperity, "amperity")[0]
    guard = ctrl.guard(rid, deadline=10, min_interval=0.02)
    del guard
    gc.collect()
    final = ctrl.wait_until_terminal(rid, timeout=10, min_interval=0.02)
    assert final.state == RunState.STOPPED
    assert amperity.stop_requests("amperity", rid) == 1
