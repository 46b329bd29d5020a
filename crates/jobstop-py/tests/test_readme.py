"""The README's Python example runs, against the simulators."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import jobstop

README = Path(__file__).resolve().parents[3] / "README.md"


def test_readme_example_runs() -> None:
    text = README.read_text()
    section = text.split("## From Python", 1)[1]
    m = re.search(r"```python\n(.*?)```", section, re.S)
    assert m, "no python block in the README's From Python section"
    code = m.group(1)
    assert len(code.strip().splitlines()) <= 13
    with jobstop.sim.start(["amperity"], running=3, finished=2, stop_delay=0.1) as sims:
        env = {k: v for k, v in os.environ.items() if not k.startswith("JOBSTOP_")}
        env.update(sims.env)
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        first, second = done.stdout.splitlines()
        assert first.startswith("3 wf-") and " running " in first
        assert second == "requested stopped True"
        # stop_and_wait's stop only: the guard's block ended normally.
        assert sims.stop_requests("amperity") == 1
