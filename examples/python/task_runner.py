#!/usr/bin/env python3
"""An orchestrator's task (Airflow, Dagster, Prefect style) that watches a
vendor run it started and stops it when the task does not end well.

Each task holds ``ctrl.guard(run_id)`` while it watches: when the
orchestrator cancels the task (a timeout, a user's "mark failed", SIGTERM)
or the task fails, leaving the ``async with`` block stops the vendor run and
waits for it to end; when the task succeeds the run is left alone. Offline,
against the embedded simulators::

    python examples/python/task_runner.py
"""

from __future__ import annotations

import asyncio
import sys

import jobstop


async def watch(ctrl: jobstop.Controller, run_id: str, fail_after: float = 0.0) -> str:
    """The task: watches the run until it ends; fails after ``fail_after``
    seconds when given (a downstream step broke), returns early when
    ``fail_after`` is negative (the task's own work is done)."""
    async with ctrl.guard(run_id, deadline=30, min_interval=0.05) as guard:
        loop = asyncio.get_running_loop()
        started = loop.time()
        while True:
            run = await ctrl.status(run_id)
            if run.is_terminal:
                return f"the run ended: {run.state}"
            if fail_after < 0:
                return "the task's work is done; the run goes on"
            if fail_after and loop.time() - started > fail_after:
                raise RuntimeError("the downstream step failed")
            await asyncio.sleep(0.05)
    # Unreachable: the block returns or raises.
    raise AssertionError(guard)


async def main() -> int:
    with jobstop.sim.start(["amperity"], running=3, finished=0, stop_delay=0.2) as sims:
        ctrl = sims.controller("amperity")
        runs = [r.id for r in await ctrl.list(state="running")]

        # 1. The orchestrator's timeout cancels a task whose run hangs.
        try:
            await asyncio.wait_for(watch(ctrl, runs[0]), timeout=0.3)
        except asyncio.TimeoutError:
            print(f"task 1 timed out: {runs[0]} is now {(await ctrl.status(runs[0])).state}")

        # 2. The task fails.
        try:
            await watch(ctrl, runs[1], fail_after=0.2)
        except RuntimeError as e:
            print(f"task 2 failed ({e}): {runs[1]} is now {(await ctrl.status(runs[1])).state}")

        # 3. The task succeeds: the run keeps going.
        print(f"task 3: {await watch(ctrl, runs[2], fail_after=-1)}")
        print(f"task 3 succeeded: {runs[2]} is now {(await ctrl.status(runs[2])).state}")

        stops = sims.stop_requests("amperity")
        print(f"stop requests sent: {stops}")
        return 0 if stops == 2 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
