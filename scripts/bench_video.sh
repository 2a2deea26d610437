#!/usr/bin/env bash
# What video out costs next to audio out (BENCHMARKS.md, "Video out"): `roomtone remix in.mov -o
# out.mov` against `-o out.wav` on a 10-minute 1080p file, runs interleaved, wall time and peak RSS
# from /usr/bin/time.
#
#   bash scripts/bench_video.sh [SCRATCH_DIR] [RUNS]     (default bench-data/video, 3)
#
# The input is made once with ffmpeg: 600 s of 1080p25 test pattern (H.264 ultrafast, CRF 28 capped at
# 8 Mbit/s; the pattern needs about 0.2 Mbit/s, 15 MB) and the bundled example's audio looped to 600 s
# as 24-bit stereo PCM at 48 kHz (173 MB), in a MOV of about 188 MB (2.5 Mbit/s overall; not committed).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
S=${1:-$ROOT/bench-data/video}
RUNS=${2:-3}
mkdir -p "$S"
cd "$ROOT"
cargo build --release --locked -q
BIN=$ROOT/target/release/roomtone
IN=$S/in.mov
if [ ! -f "$IN" ]; then
    ffmpeg -nostdin -v error -y -f lavfi -i "testsrc=size=1920x1080:rate=25:duration=600" \
        -stream_loop -1 -i examples/speech_over_rain.ogg -t 600 -map 0:v -map 1:a \
        -c:v libx264 -preset ultrafast -crf 28 -b:v 0 -maxrate 8M -bufsize 16M -pix_fmt yuv420p -c:a pcm_s24le "$IN.tmp.mov"
    mv "$IN.tmp.mov" "$IN"
fi
ls -l "$IN"
run() { # OUT
    /usr/bin/time -f "%e %M" -o "$S/time.txt" "$BIN" remix --force --background-gain-db -12 \
        --preset ebu-r128 "$IN" -o "$1" 2>"$S/stderr.txt" || { cat "$S/stderr.txt"; exit 1; }
    cat "$S/time.txt"
}
: >"$S/wav.txt"; : >"$S/mov.txt"
for i in $(seq "$RUNS"); do
    run "$S/out.wav" | tee -a "$S/wav.txt" | sed "s/^/run $i -o out.wav: wall s, peak KB: /"
    run "$S/out.mov" | tee -a "$S/mov.txt" | sed "s/^/run $i -o out.mov: wall s, peak KB: /"
done
python3 - "$S/wav.txt" "$S/mov.txt" <<'PY'
import statistics, sys
wav = [float(l.split()[0]) for l in open(sys.argv[1])]
mov = [float(l.split()[0]) for l in open(sys.argv[2])]
mw, mm = statistics.median(wav), statistics.median(mov)
print(f"median wall: -o out.wav {mw:.1f} s, -o out.mov {mm:.1f} s, video out costs {100 * (mm / mw - 1):+.1f} %")
PY
