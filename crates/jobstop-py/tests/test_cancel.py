"""Cancelling the awaiting asyncio task cancels the Rust future: no request
reaches the simulator after the cancel. And blocking calls release the GIL."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Coroutine

import pytest

import jobstop

from conftest import running_ids


async def cancel_once_busy(
    sims: jobstop.sim.Simulators, vendor: str, call: Coroutine[Any, Any, object], busy: int
) -> int:
    """Runs ``call`` until the simulator has seen ``busy`` requests, cancels
    it, and returns how many requests the simulator had then."""
    sims.clear_requests(vendor)
    task = asyncio.ensure_future(call)
    for _ in range(500):
        if sims.request_count(vendor) >= busy:
            break
        await asyncio.sleep(0.01)
    assert sims.request_count(vendor) >= busy, "the call never got going"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return sims.request_count(vendor)


def test_cancelling_a_wait_sends_nothing_more(amperity: jobstop.sim.Simulators) -> None:
    ctrl = amperity.controller("amperity")
    rid = running_ids(amperity, "amperity")[0]

    async def main() -> None:
        # A run that never ends, polled every 10 ms: requests keep coming.
        call = ctrl.wait_until_terminal(rid, timeout=60, min_interval=0.01, max_interval=0.01)
        at_cancel = await cancel_once_busy(amperity, "amperity", call, busy=5)
        await asyncio.sleep(0.3)  # thirty polls' worth
        assert amperity.request_count("amperity") == at_cancel

    asyncio.run(main())


def test_cancelling_a_listing_sends_nothing_more(amperity: jobstop.sim.Simulators) -> None:
    ctrl = amperity.controller("amperity")
    amperity.inject("amperity", latency=0.05, method="GET")

    async def main() -> None:
        async def read_all() -> int:
            return len([r async for r in ctrl.list_all(page_size=1)])

        at_cancel = await cancel_once_busy(amperity, "amperity", read_all(), busy=2)
        await asyncio.sleep(0.3)
        assert amperity.request_count("amperity") == at_cancel
        assert at_cancel < len(amperity.ids("amperity"))

    asyncio.run(main())


def test_cancelling_a_stop_in_flight_sends_no_read_back(amperity: jobstop.sim.Simulators) -> None:
    ctrl = amperity.controller("amperity")
    rid = running_ids(amperity, "amperity")[0]
    # The stop is answered slowly; then stop_and_wait would poll.
    amperity.inject("amperity", latency=0.3, method="POST")

    async def main() -> None:
        call = ctrl.stop_and_wait(rid, timeout=30, min_interval=0.01)
        at_cancel = await cancel_once_busy(amperity, "amperity", call, busy=1)
        await asyncio.sleep(0.6)
        assert amperity.request_count("amperity") == at_cancel

    asyncio.run(main())


def test_blocking_calls_release_the_gil(amperity: jobstop.sim.Simulators) -> None:
    ctrl = amperity.controller("amperity").blocking()
    rid = running_ids(amperity, "amperity")[0]
    amperity.inject("amperity", latency=0.5, method="GET", times=1)
    result: list[jobstop.Run] = []
    worker = threading.Thread(target=lambda: result.append(ctrl.status(rid)))
    worker.start()
    ticks = 0
    while worker.is_alive():
        ticks += 1  # runs only while the worker does not hold the GIL
        time.sleep(0.005)
    worker.join()
    assert result and result[0].id == rid
    assert ticks >= 20
