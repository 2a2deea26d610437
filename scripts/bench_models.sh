#!/usr/bin/env bash
# Whole-process speed of `roomtone separate` for each --model on one file, pinned to one core, in the
# same run: wall, user, sys (CPU = user + sys) and peak RSS per run, from /usr/bin/time.
# Usage: scripts/bench_models.sh INPUT.wav OUTDIR [REPEAT=3] [CORE=0]
# (60 s of 48 kHz mono as used in BENCHMARKS.md: bench/bench48k_mono.wav from scripts/bench_separation.py.)
set -euo pipefail
in=$1; out=$2; repeat=${3:-3}; core=${4:-0}
bin="$(dirname "${BASH_SOURCE[0]}")/../target/release/roomtone"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for spec in "dfn3" "convtasnet" "convtasnet --ctn-precision f32" "ensemble"; do
    for i in $(seq "$repeat"); do
        # shellcheck disable=SC2086
        /usr/bin/time -f "$spec | run $i | wall %e s | user %U s | sys %S s | maxrss %M KB" \
            taskset -c "$core" "$bin" separate --force --model $spec --out-dir "$out" "$in" 2>&1 >/dev/null \
            | grep -v " done$"
    done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
