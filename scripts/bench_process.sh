#!/usr/bin/env bash
# Whole-process front-end benchmark for BENCHMARKS.md: decode -> 16 kHz mono -> log-mel on 10-minute
# 48 kHz stereo WAV and MP3 files, and a 60-minute WAV to show that peak memory does not grow with
# length. Inputs are made from the bundled example in bench-data/ (git-ignored).
# Needs: /usr/bin/time (Debian package `time`) and lame (Debian package `lame`) for the MP3.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mkdir -p bench-data
need() { command -v "$1" >/dev/null 2>&1 || { echo "bench_process.sh: $1 missing; apt-get install -y $2" >&2; exit 1; }; }
need /usr/bin/time time
need lame lame

cargo build --release --locked --example frontend --example make_bench_input
ex=target/release/examples
[ -f bench-data/10min_48k_stereo.wav ] || "$ex/make_bench_input" bench-data/10min_48k_stereo.wav 10
[ -f bench-data/60min_48k_stereo.wav ] || "$ex/make_bench_input" bench-data/60min_48k_stereo.wav 60
[ -f bench-data/10min_48k_stereo.mp3 ] || lame --quiet -b 192 bench-data/10min_48k_stereo.wav bench-data/10min_48k_stereo.mp3

for f in 10min_48k_stereo.wav 10min_48k_stereo.mp3 60min_48k_stereo.wav; do
    # One core, as in the targets; warm the page cache first so the disk is not measured.
    cat "bench-data/$f" > /dev/null
    /usr/bin/time -v taskset -c 0 "$ex/frontend" "bench-data/$f" 2> "bench-data/time_$f.txt"
    grep -E "Maximum resident set size|Elapsed \(wall clock\)" "bench-data/time_$f.txt"
done
