#!/usr/bin/env bash
# Runs two builds of roomtone over the same inputs and compares every output file byte for byte:
# the check that a refactoring changed no result (stems, remixes, labels, reports).
#
# Usage: scripts/compare_outputs.sh [--base REV] [--new REV] [--keep DIR]
#   --base REV  the build to compare against (default HEAD); it is built from a temporary
#               `git worktree` into target/compare-base (kept, so the next run is quick)
#   --new REV   the build to check (default: the working tree, cargo build --release); a revision
#               is built like the base, into target/compare-new
#   --keep DIR  leave both output trees in DIR/base and DIR/new (default: a temporary folder)
#
# What runs, on the bundled example and six short real-format files (16 k, 44.1 k and 48 kHz; mono,
# stereo, 5.1; WAV, Ogg Vorbis, MP3, FLAC, AAC in MP4): info --json; tag (jsonl, and csv with
# --ambience-model mapping); separate with dfn3, convtasnet and ensemble; remix from those stems and
# remix separating itself (two settings); batch --separate --remix. Fields that measure time
# (elapsed_s, wall_s) are dropped from JSON before comparing. Exit status 0 when every file is
# identical, 1 when one differs or is missing (each is named), 2 for a usage error.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
base=HEAD
new=""
keep=""
while [ $# -gt 0 ]; do
    case "$1" in
        --base) base=${2:?--base needs a revision}; shift 2 ;;
        --new) new=${2:?--new needs a revision}; shift 2 ;;
        --keep) keep=${2:?--keep needs a folder}; shift 2 ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "compare_outputs.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
log() { echo "compare_outputs.sh: $*" >&2; }

work=$(mktemp -d)
cleanup() {
    for side in base new; do
        git worktree remove --force "$work/$side" >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

# build_rev SIDE REV: builds REV from a temporary worktree into target/compare-SIDE.
build_rev() {
    local side=$1 rev
    rev=$(git rev-parse --verify "$2^{commit}") || { log "no such revision: $2"; exit 2; }
    log "building $2 (${rev:0:10}) into target/compare-$side"
    git worktree add --detach --quiet "$work/$side" "$rev"
    cp -a vendor "$work/$side/" 2>/dev/null || true
    (cd "$work/$side" && CARGO_TARGET_DIR=$ROOT/target/compare-$side \
        cargo build --release --locked --quiet --bin roomtone)
}

# The two binaries. Both read the models of this checkout.
build_rev base "$base"
base_bin=$ROOT/target/compare-base/release/roomtone
if [ -n "$new" ]; then
    build_rev new "$new"
    new_bin=$ROOT/target/compare-new/release/roomtone
else
    log "building the working tree"
    cargo build --release --locked --quiet --bin roomtone
    new_bin=$ROOT/target/release/roomtone
    new="the working tree"
fi
export ROOMTONE_MODELS=$ROOT/models

inputs=(
    "$ROOT/examples/speech_over_rain.ogg"
    "$ROOT/tests/data/clean_speech_16k.wav"
    "$ROOT/tests/data/dfn3_input.wav"
    "$ROOT/tests/data/media/mp3_44100_2ch.mp3"
    "$ROOT/tests/data/media/flac_48000_6ch.flac"
    "$ROOT/tests/data/media/vorbis_16000_1ch.ogg"
    "$ROOT/tests/data/media/aac_48000_2ch.mp4"
)

# run BINARY OUT: every command, run inside OUT with relative output paths (so the records that
# name an output are the same for both builds).
run() {
    local bin=$1 out=$2 model in name
    mkdir -p "$out/remix"
    (
        cd "$out"
        "$bin" info --json "${inputs[@]}" >info.jsonl
        "$bin" tag --format jsonl --jobs 2 "${inputs[@]}" >tags.jsonl
        "$bin" tag --format csv --ambience-model mapping --hop 0.96 "${inputs[@]}" >tags_mapping.csv
        for model in dfn3 convtasnet ensemble; do
            "$bin" separate --model "$model" --json --out-dir "stems-$model" "${inputs[@]}" \
                >"separate-$model.jsonl" 2>"separate-$model.stderr"
        done
        for in in "${inputs[@]}"; do
            name=$(basename "$in")
            "$bin" remix --stems stems-dfn3 --background-gain-db -12 --preset ebu-r128 --json \
                -o "remix/$name.stems.wav" "$in" >"remix/$name.stems.json"
            "$bin" remix --model convtasnet --duck-db 6 --clean hum,highpass,level --target-lufs -16 \
                --json -o "remix/$name.ctn.wav" "$in" >"remix/$name.ctn.json"
        done
        # Its stderr states the wall time: not kept.
        "$bin" batch --quiet --jobs 2 --separate --remix "--background-gain-db -12 --preset ebu-r128" \
            --out batch "${inputs[@]}" 2>/dev/null
        rm -f batch/.roomtone.lock # it holds the process id
    )
    # Time is not an output: drop the fields that measure it.
    find "$out" \( -name '*.json' -o -name '*.jsonl' \) -print0 | xargs -0 python3 -c '
import json, sys
def scrub(v):
    if isinstance(v, dict):
        return {k: scrub(x) for k, x in v.items() if k not in ("elapsed_s", "wall_s")}
    if isinstance(v, list):
        return [scrub(x) for x in v]
    return v
for path in sys.argv[1:]:
    text = open(path).read()
    if path.endswith(".jsonl"):
        out = "".join(json.dumps(scrub(json.loads(l)), sort_keys=True) + "\n" for l in text.splitlines() if l.strip())
    else:
        out = json.dumps(scrub(json.loads(text)), sort_keys=True) + "\n"
    open(path, "w").write(out)
'
}

out=${keep:-$work/out}
rm -rf "$out/base" "$out/new"
log "running ${base} over ${#inputs[@]} inputs"
run "$base_bin" "$out/base"
log "running $new over ${#inputs[@]} inputs"
run "$new_bin" "$out/new"

# Compare the trees: the same files, the same bytes.
differ=0
files=0
while read -r rel; do
    files=$((files + 1))
    if [ ! -f "$out/new/$rel" ]; then
        log "missing in the outputs of $new: $rel"
        differ=$((differ + 1))
    elif ! cmp -s "$out/base/$rel" "$out/new/$rel"; then
        log "differs: $rel"
        differ=$((differ + 1))
    fi
done < <(cd "$out/base" && find . -type f | sort)
while read -r rel; do
    if [ ! -f "$out/base/$rel" ]; then
        log "only in the outputs of $new: $rel"
        differ=$((differ + 1))
    fi
done < <(cd "$out/new" && find . -type f | sort)
if [ "$differ" -gt 0 ]; then
    log "$differ of $files files differ from ${base} (outputs in ${keep:-a temporary folder, pass --keep DIR to keep them})"
    exit 1
fi
log "all $files output files of $new are identical to ${base}'s"
