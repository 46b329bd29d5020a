#!/usr/bin/env python3
"""Stop runs that have been going for too long, across every account.

Dry run by default: lists the active runs (queued or running) created
more than ``--older-than`` ago in every account, and stops them only with
``--execute``. Accounts come from the ``JOBSTOP_<VENDOR>_*`` variables, from
``--config FILE`` (a jobstop TOML config), or, with ``--sim``, from the
embedded vendor simulators (offline)::

    python examples/python/kill_runaway.py --sim --older-than 2h
    python examples/python/kill_runaway.py --config jobstop.toml --execute
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from datetime import datetime, timedelta, timezone
from typing import List, Optional, Sequence, Tuple

import jobstop
from jobstop import RunState

ACTIVE = [RunState.QUEUED, RunState.RUNNING]
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``2h``, ``1d``."""
    m = re.fullmatch(r"(\d+)([smhd])", text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 30m, 2h, 1d)")
    return timedelta(seconds=int(m.group(1)) * UNITS[m.group(2)])


async def runaways(
    ctrl: jobstop.Controller, cutoff: datetime
) -> Tuple[jobstop.Controller, List[jobstop.Run], Optional[jobstop.Error]]:
    """The account's active runs created before ``cutoff``."""
    try:
        runs = [r async for r in ctrl.list_all(state=ACTIVE, created_before=cutoff)]
        return ctrl, runs, None
    except jobstop.Error as e:
        return ctrl, [], e


def age(run: jobstop.Run, now: datetime) -> str:
    if run.created_at is None:
        return "?"
    hours = (now - run.created_at).total_seconds() / 3600
    return f"{hours:.1f}h"


async def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--older-than", type=duration, default=timedelta(hours=6))
    parser.add_argument("--config", help="a jobstop TOML config file")
    parser.add_argument("--account", action="append", default=[], help="only these accounts")
    parser.add_argument("--sim", action="store_true", help="use the embedded simulators")
    parser.add_argument("--execute", action="store_true", help="stop them (default: dry run)")
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args(argv)

    if args.sim:
        with jobstop.sim.start(running=8, finished=4) as sims:
            return await kill(sims.registry(), args)
    if args.config:
        return await kill(jobstop.Registry.from_toml(args.config), args)
    return await kill(jobstop.Registry.from_env(), args)


async def kill(registry: jobstop.Registry, args: argparse.Namespace) -> int:
    """Lists the runaways of every chosen account, and stops them with
    ``--execute``."""
    names = args.account or registry.names()
    if not names:
        print("no accounts configured (set JOBSTOP_<VENDOR>_* or pass --config or --sim)")
        return 2

    now = datetime.now(timezone.utc)
    cutoff = now - args.older_than
    found = await asyncio.gather(*(runaways(registry[n], cutoff) for n in names))

    failed = 0
    total = 0
    for ctrl, runs, error in found:
        if error is not None:
            print(f"{ctrl.name}: could not list: {error}")
            failed += 1
            continue
        total += len(runs)
        for run in runs:
            print(f"{ctrl.name}\t{run.id}\t{run.state}\t{age(run, now)}\t{run.name or ''}")
    verb = "stopping" if args.execute else "would stop"
    print(f"{verb} {total} runs older than {args.older_than} in {len(names)} accounts")
    if not args.execute:
        print("dry run: pass --execute to stop them")
        return 1 if failed else 0

    for ctrl, runs, error in found:
        if error is not None or not runs:
            continue
        results = await ctrl.stop_many([r.id for r in runs], concurrency=args.concurrency)
        for result in results:
            if result.outcome is not None:
                print(f"{ctrl.name}\t{result.id}\t{result.outcome.kind}")
            else:
                print(f"{ctrl.name}\t{result.id}\tfailed: {result.error}")
                failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
