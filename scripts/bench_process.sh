#!/usr/bin/env bash
# Whole-process benchmarks for BENCHMARKS.md, on one core (taskset -c 0):
#  - front end: decode -> 16 kHz mono -> log-mel on 10-minute 48 kHz stereo WAV and MP3 files, and a
#    60-minute WAV to show that peak memory does not grow with length;
#  - tagging: the bare YAMNet model, then `roomtone tag` end to end on the 10-minute WAV and a
#    2-hour WAV (peak memory).
# Inputs are made from the bundled example in bench-data/ (git-ignored).
# Needs: /usr/bin/time (Debian package `time`) and lame (Debian package `lame`) for the MP3.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mkdir -p bench-data
need() { command -v "$1" >/dev/null 2>&1 || { echo "bench_process.sh: $1 missing; apt-get install -y $2" >&2; exit 1; }; }
need /usr/bin/time time
need lame lame

cargo build --release --locked --bin roomtone --example frontend --example make_bench_input --example yamnet_bare
ex=target/release/examples
[ -f bench-data/10min_48k_stereo.wav ] || "$ex/make_bench_input" bench-data/10min_48k_stereo.wav 10
[ -f bench-data/60min_48k_stereo.wav ] || "$ex/make_bench_input" bench-data/60min_48k_stereo.wav 60
[ -f bench-data/120min_48k_stereo.wav ] || "$ex/make_bench_input" bench-data/120min_48k_stereo.wav 120
[ -f bench-data/10min_48k_stereo.mp3 ] || lame --quiet -b 192 bench-data/10min_48k_stereo.wav bench-data/10min_48k_stereo.mp3

for f in 10min_48k_stereo.wav 10min_48k_stereo.mp3 60min_48k_stereo.wav; do
    # One core, as in the targets; warm the page cache first so the disk is not measured.
    cat "bench-data/$f" > /dev/null
    /usr/bin/time -v taskset -c 0 "$ex/frontend" "bench-data/$f" 2> "bench-data/time_$f.txt"
    grep -E "Maximum resident set size|Elapsed \(wall clock\)" "bench-data/time_$f.txt"
done

echo "== tagging"
taskset -c 0 "$ex/yamnet_bare" 3000
for f in 10min_48k_stereo.wav 120min_48k_stereo.wav; do
    cat "bench-data/$f" > /dev/null
    start=$(date +%s.%N)
    /usr/bin/time -v taskset -c 0 target/release/roomtone tag --jobs 1 --format jsonl "bench-data/$f" \
        > "bench-data/tag_$f.jsonl" 2> "bench-data/time_tag_$f.txt"
    end=$(date +%s.%N)
    python3 -c "import json,sys; d=json.load(open('bench-data/tag_$f.jsonl'))['duration_s']; w=$end-$start; print(f'roomtone tag $f: {d:.0f} s of audio in {w:.2f} s wall = {d/w:.0f}x real time')"
    grep -E "Maximum resident set size" "bench-data/time_tag_$f.txt"
    # CPU time of the process itself (the wall figure is inflated when the core is shared).
    awk -v f="$f" '/User time/ {u=$4} /System time/ {s=$4} END {printf "  CPU (user+sys) %.2f s\n", u+s}' "bench-data/time_tag_$f.txt"
    uptime
done
