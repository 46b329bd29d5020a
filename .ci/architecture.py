#!/usr/bin/env python3
"""Checks the README's architecture list against the workspace.

The README's "Architecture" section lists every workspace crate with its
dependencies on other workspace crates, between the markers
`<!-- architecture:begin -->` and `<!-- architecture:end -->`, one line per
crate: `- NAME → DEP, DEP?` (`?` for an optional dependency; a crate without
any is listed alone). Dev-dependencies are left out. This script reads
`cargo metadata --no-deps` and fails (exit 1) with the differences when the
list and the crates disagree: a crate missing or extra, an arrow missing or
extra, or optional where the manifest says required (or the reverse).
"""

import json
import re
import subprocess
import sys
from pathlib import Path


def readme_edges(text):
    m = re.search(r"<!-- architecture:begin -->(.*?)<!-- architecture:end -->", text, re.S)
    if not m:
        sys.exit("README.md: no architecture list between the markers")
    edges = {}
    for line in m.group(1).strip().splitlines():
        line = line.strip()
        if not line.startswith("- "):
            continue
        name, _, deps = line[2:].partition("→")
        edges[name.strip()] = {d.strip() for d in deps.split(",") if d.strip()}
    return edges


def cargo_edges(root):
    out = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        cwd=root, check=True, capture_output=True, text=True,
    ).stdout
    packages = json.loads(out)["packages"]
    names = {p["name"] for p in packages}
    edges = {}
    for p in packages:
        deps = set()
        for d in p["dependencies"]:
            if d["name"] in names and d["kind"] is None:
                deps.add(d["name"] + ("?" if d.get("optional") else ""))
        edges[p["name"]] = deps
    return edges


def main():
    root = Path(__file__).resolve().parent.parent
    want = cargo_edges(root)
    have = readme_edges((root / "README.md").read_text())
    problems = []
    for name in sorted(set(want) | set(have)):
        if name not in have:
            problems.append(f"{name}: a crate the README does not list")
        elif name not in want:
            problems.append(f"{name}: listed in the README, not a workspace crate")
        elif want[name] != have[name]:
            missing = sorted(want[name] - have[name])
            extra = sorted(have[name] - want[name])
            problems.append(f"{name}: README misses {missing}, has extra {extra}")
    if problems:
        print("README architecture list disagrees with Cargo.toml:")
        for p in problems:
            print("  " + p)
        return 1
    print(f"README architecture list matches the {len(want)} workspace crates")
    return 0


if __name__ == "__main__":
    sys.exit(main())
