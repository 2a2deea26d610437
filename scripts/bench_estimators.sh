#!/usr/bin/env bash
# Separation speed with Conv-TasNet and the ensemble, a revision against the working tree, measured
# in the same run on one core: `roomtone separate` on 2-minute stereo files at 16, 44.1 and 48 kHz
# (the example looped), CPU seconds (user + system) and peak memory from /usr/bin/time -v; each
# command runs twice, interleaved with the other build's (so both see the same load), and the
# faster run counts.
#
# Usage: scripts/bench_estimators.sh [--base REV]   (default base: HEAD)
# The base is built from a temporary git worktree into target/compare-base, as
# scripts/compare_outputs.sh does. Inputs go to bench-data/ (git-ignored).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
base=HEAD
[ "${1:-}" = "--base" ] && base=${2:?--base needs a revision}
log() { echo "bench_estimators.sh: $*" >&2; }
[ -x /usr/bin/time ] || { log "/usr/bin/time missing; apt-get install -y time"; exit 1; }

work=$(mktemp -d)
trap 'git worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
rev=$(git rev-parse --verify "$base^{commit}")
log "building $base (${rev:0:10}) into target/compare-base, and the working tree"
git worktree add --detach --quiet "$work/base" "$rev"
cp -a vendor "$work/base/" 2>/dev/null || true
(cd "$work/base" && CARGO_TARGET_DIR=$ROOT/target/compare-base cargo build --release --locked --quiet --bin roomtone)
cargo build --release --locked --quiet --bin roomtone --example make_bench_input
export ROOMTONE_MODELS=$ROOT/models

mkdir -p bench-data
for rate in 16000 44100 48000; do
    f=bench-data/2min_${rate}_stereo.wav
    [ -f "$f" ] || target/release/examples/make_bench_input "$f" 2 "$rate" >/dev/null
done

# run_once BIN MODEL FILE: "cpu_seconds peak_MB" of one run.
run_once() {
    rm -rf "$work/stems"
    /usr/bin/time -v taskset -c 0 "$1" separate --force --model "$2" --out-dir "$work/stems" "$3" \
        >/dev/null 2>"$work/time.txt"
    awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 }
        /Maximum resident/ { m = $2 } END { printf "%.1f %.0f\n", u + s, m / 1024 }' "$work/time.txt"
}

# faster A B: the run with less CPU time.
faster() { awk -v a="${1% *}" -v b="${2% *}" 'BEGIN { exit !(a <= b) }' && echo "$1" || echo "$2"; }

printf '| model | input | %s CPU s | this tree CPU s | change | %s peak MB | this tree peak MB |\n' "$base" "$base"
printf '|---|---|---|---|---|---|---|\n'
for model in convtasnet ensemble; do
    for rate in 16000 44100 48000; do
        f=bench-data/2min_${rate}_stereo.wav
        cat "$f" >/dev/null
        # Interleaved (base, tree, base, tree), so both builds see the same load.
        b1=$(run_once "$ROOT/target/compare-base/release/roomtone" "$model" "$f")
        t1=$(run_once "$ROOT/target/release/roomtone" "$model" "$f")
        b2=$(run_once "$ROOT/target/compare-base/release/roomtone" "$model" "$f")
        t2=$(run_once "$ROOT/target/release/roomtone" "$model" "$f")
        read -r c0 m0 <<<"$(faster "$b1" "$b2")"
        read -r c1 m1 <<<"$(faster "$t1" "$t2")"
        change=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%+.0f %%", (b - a) / a * 100 }')
        printf '| %s | 120 s, %s Hz stereo | %s | %s | %s | %s | %s |\n' "$model" "$rate" "$c0" "$c1" "$change" "$m0" "$m1"
    done
done
