"""The Python examples (examples/python/) run against the simulators."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import List

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "python"


def run(*args: str) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=120, check=False
    )


def rows(out: str) -> List[List[str]]:
    return [line.split("\t") for line in out.splitlines() if "\t" in line]


def test_kill_runaway_is_a_dry_run_by_default() -> None:
    done = run(str(EXAMPLES / "kill_runaway.py"), "--sim", "--older-than", "2h")
    assert done.returncode == 0, done.stderr
    listed = rows(done.stdout)
    m = re.search(r"would stop (\d+) runs older than 2:00:00 in 4 accounts", done.stdout)
    assert m, done.stdout
    assert int(m.group(1)) == len(listed) > 0
    assert {r[2] for r in listed} <= {"queued", "running"}
    accounts = {r[0] for r in listed}
    assert accounts <= {"amperity", "chorus", "dataarts", "centurylink"} and len(accounts) >= 2
    assert "dry run" in done.stdout
    # No stop outcome is printed: nothing was stopped.
    assert not any(r[-1] in ("requested", "stopped") for r in listed)


def test_kill_runaway_execute_stops_them() -> None:
    done = run(str(EXAMPLES / "kill_runaway.py"), "--sim", "--older-than", "2h", "--execute")
    assert done.returncode == 0, done.stdout + done.stderr
    m = re.search(r"stopping (\d+) runs", done.stdout)
    assert m, done.stdout
    outcomes = [r for r in rows(done.stdout) if len(r) == 3]
    assert len(outcomes) == int(m.group(1)) > 0
    assert {r[2] for r in outcomes} <= {"requested", "stopped"}


def test_kill_runaway_with_a_long_limit_finds_nothing() -> None:
    done = run(str(EXAMPLES / "kill_runaway.py"), "--sim", "--older-than", "3650d")
    assert done.returncode == 0, done.stderr
    assert "would stop 0 runs" in done.stdout


def test_task_runner() -> None:
    done = run(str(EXAMPLES / "task_runner.py"))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert re.match(r"task 1 timed out: \S+ is now stopped", lines[0]), lines
    assert re.match(r"task 2 failed \(.*\): \S+ is now stopped", lines[1]), lines
    assert re.match(r"task 3 succeeded: \S+ is now running", lines[3]), lines
    assert lines[-1] == "stop requests sent: 2"
