#!/usr/bin/env python3
"""Benchmark: ``list_all`` over 100,000 runs from Python vs the Rust library.

Claim under test: listing 100,000 runs through ``list_all`` from Python
takes at most 1.5x the Rust library's time on the same simulator, measured
side by side in one run, with the Python process's peak RSS under 128 MiB.

The simulator is the DataArts one of ``list-memory serve`` (jobstop-bench),
in a process of its own so that the runs it holds are not counted here;
100,000 batch instances, 1,000 per page. In this process, round after
round, in rotating order:

- ``rust``: the Rust library alone (``JobControllerExt::list_all``, counting
  the runs, no Python object per run), called once from Python;
- ``python-async``: ``async for run in ctrl.list_all(...)`` touching
  ``run.id`` of every run;
- ``python-blocking``: the same with ``jobstop.blocking``.

All three share one controller (one connection pool), so they read the same
pages from the same server. Medians are reported; the exit code is 0 when
the claim holds. Needs release builds::

    cargo build --release -p jobstop-bench --bin list-memory
    (cd crates/jobstop-py && maturin develop --release)
    python crates/jobstop-py/bench/list_all.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List

import jobstop

ROOT = Path(__file__).resolve().parents[3]
KIND = "batch_instance"
TARGET_RATIO = 1.5
TARGET_PEAK_MIB = 128.0


def peak_rss_mib() -> float:
    """This process's peak RSS so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def start_server(binary: Path, runs: int) -> "tuple[subprocess.Popen[str], Dict[str, str]]":
    server = subprocess.Popen(
        [str(binary), "serve", "--instances", str(runs)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    env: Dict[str, str] = {}
    assert server.stdout is not None
    for line in server.stdout:
        line = line.strip()
        if line == "READY":
            return server, env
        if "=" in line and not line.startswith("STAT"):
            key, _, value = line.partition("=")
            env[key] = value
    raise SystemExit(f"{binary} ended before it was ready")


def main() -> int:
    parser = argparse.ArgumentParser(description="list_all from Python vs Rust")
    parser.add_argument("--server", type=Path, default=ROOT / "target/release/list-memory")
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--page-size", type=int, default=1000)
    args = parser.parse_args()
    if not args.server.exists():
        raise SystemExit(
            f"{args.server} is missing: cargo build --release -p jobstop-bench --bin list-memory"
        )

    server, env = start_server(args.server, args.runs)
    try:
        os.environ.update(env)
        os.environ["JOBSTOP_DATAARTS_INSTANCE_LOOKBACK"] = "366d"
        ctrl = jobstop.Registry.from_env()["dataarts"]
        sync = ctrl.blocking()
        baseline = peak_rss_mib()

        def rust() -> int:
            return ctrl._inner._rust_count_all(kind=KIND, page_size=args.page_size)

        def python_async() -> int:
            async def count() -> int:
                n = 0
                async for run in ctrl.list_all(kind=KIND, page_size=args.page_size):
                    n += bool(run.id)
                return n

            return asyncio.run(count())

        def python_blocking() -> int:
            return sum(bool(r.id) for r in sync.list_all(kind=KIND, page_size=args.page_size))

        sides: Dict[str, Callable[[], int]] = {
            "rust": rust,
            "python-async": python_async,
            "python-blocking": python_blocking,
        }
        times: Dict[str, List[float]] = {name: [] for name in sides}
        names = list(sides)
        rust()  # warm up: connections, the server's caches
        for round_ in range(args.rounds):
            order = names[round_ % len(names):] + names[: round_ % len(names)]
            for name in order:
                start = time.perf_counter()
                n = sides[name]()
                times[name].append(time.perf_counter() - start)
                if n != args.runs:
                    raise SystemExit(f"{name} listed {n} runs, expected {args.runs}")
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=30)

    median = {name: statistics.median(t) for name, t in times.items()}
    peak = peak_rss_mib()
    ratio_async = median["python-async"] / median["rust"]
    ratio_blocking = median["python-blocking"] / median["rust"]
    print(f"{args.runs:,} runs, {args.page_size} per page, {args.rounds} rounds (medians)\n")
    print("| side | seconds | runs/s | vs rust |")
    print("|---|---|---|---|")
    for name in names:
        print(
            f"| {name} | {median[name]:.3f} | {args.runs / median[name]:,.0f} "
            f"| {median[name] / median['rust']:.3f} |"
        )
    print(f"\npeak RSS of this process: {peak:.1f} MiB (after import and setup: {baseline:.1f} MiB)")
    ok = ratio_async <= TARGET_RATIO and ratio_blocking <= TARGET_RATIO and peak < TARGET_PEAK_MIB
    print(
        json.dumps(
            {
                "runs": args.runs,
                "rounds": args.rounds,
                "seconds": {k: round(v, 4) for k, v in median.items()},
                "all_seconds": {k: [round(x, 4) for x in v] for k, v in times.items()},
                "ratio_async": round(ratio_async, 3),
                "ratio_blocking": round(ratio_blocking, 3),
                "peak_rss_mib": round(peak, 1),
                "met": ok,
            }
        )
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
