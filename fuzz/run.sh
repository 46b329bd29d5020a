#!/usr/bin/env bash
# Runs fuzz targets one after another for SECONDS each (default 600), with the
# committed seeds and the JSON dictionary; logs go to fuzz/logs/<target>.log.
# Usage: fuzz/run.sh [seconds] [target...]   (needs nightly and cargo-fuzz)
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-600}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(amperity chorus dataarts centurylink config cli_parsers)
fi
mkdir -p logs
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    cargo +nightly fuzz run "$t" "corpus/$t" "seeds/$t" -- \
        -dict=json.dict -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 \
        > "logs/$t.log" 2>&1
    grep -E "^Done|stat::number_of_executed_units|stat::average_exec_per_sec" "logs/$t.log" | sed "s/^/$t: /"
done
