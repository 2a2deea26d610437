#!/usr/bin/env bash
# Makes the 200-clip library of the batch benchmark (BENCHMARKS.md, "Batch (issue 6)") from the
# bundled example (a real recording: rain with speech, 12 s, Ogg Vorbis 48 kHz stereo).
# Clips are 10-60 s (the example looped from a varying offset), at 48, 44.1, 32 or 16 kHz, stereo or
# mono, as WAV 16-bit, FLAC, MP3 (lame) and Ogg Vorbis (oggenc), in 10 folders.
# Needs: sox, lame, flac, vorbis-tools (Debian: apt-get install -y sox lame flac vorbis-tools).
# Usage: scripts/make_batch_bench.sh [OUTDIR]   (default bench-data/batch)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=${1:-bench-data/batch}
for t in sox lame flac oggenc oggdec; do
    command -v "$t" >/dev/null || { echo "make_batch_bench.sh: $t missing (apt-get install -y sox lame flac vorbis-tools)" >&2; exit 1; }
done
mkdir -p "$OUT"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
oggdec -Q -o "$TMP/src.wav" examples/speech_over_rain.ogg
# 72 s of material to cut from.
sox "$TMP/src.wav" "$TMP/long.wav" repeat 5
rates=(48000 44100 32000 16000)
formats=(wav flac mp3 ogg)
for i in $(seq 0 199); do
    dir="$OUT/reel_$((i % 10))"
    mkdir -p "$dir"
    dur=$((10 + (i * 37) % 51))          # 10..60 s
    off=$(( (i * 7) % 12 ))               # start offset in s
    rate=${rates[$((i % 4))]}
    ch=$(( (i / 4) % 2 + 1 ))
    fmt=${formats[$(( (i / 8) % 4 ))]}
    base="$dir/clip_$(printf %03d "$i")"
    sox "$TMP/long.wav" -r "$rate" -c "$ch" -b 16 "$TMP/c.wav" trim "$off" "$dur"
    case $fmt in
        wav) mv "$TMP/c.wav" "$base.wav" ;;
        flac) flac -s -f -o "$base.flac" "$TMP/c.wav" ;;
        mp3) lame --quiet -b 160 "$TMP/c.wav" "$base.mp3" ;;
        ogg) oggenc -Q -q 4 -o "$base.ogg" "$TMP/c.wav" ;;
    esac
done
echo "made $(find "$OUT" -type f | wc -l) clips in $OUT"
