#!/usr/bin/env bash
# Coverage-guided fuzzing of roomtone with AFL++ through cargo-afl, on stable Rust.
#
# Targets (fuzz/src/bin/; what each does with an input is in fuzz/src/harness.rs):
#   decode    AudioReader blocks -> StreamResampler to 16 and 48 kHz -> mono 16 kHz log-mel
#   info      `roomtone info` per file: audio::inspect, the text line, the JSON record
#   remix     `roomtone remix --stems` per file, stems made from the input (no model): cleanup,
#             ducking, loudness normalisation, true-peak limiter, 24-bit WAV writer
#   tag       `roomtone tag` per file with the real YAMNet session, head, timeline, JSON/CSV rows
#             and the batch report's spectrogram thumbnail
#   separate  `roomtone separate` per file with DeepFilterNet3 (slow: a few execs/s)
#
# Usage: scripts/fuzz.sh [--seconds N] [--timeout-ms MS] [--keep] [TARGET...]
#   --seconds N     fuzz each target for N seconds (default 60); one target at a time, one core
#   --timeout-ms MS per-input time limit (default: 2000 for decode/info/remix, 10000 for tag/separate)
#   --keep          resume from fuzz/out/TARGET instead of starting again from fuzz/seeds
#   TARGET...       default: decode info remix tag
#
# Installs cargo-afl (which builds its own AFL++) when it is missing, builds the targets with
# `cargo afl build --release`, and fuzzes from fuzz/seeds with the dictionary fuzz/media.dict.
# Findings go to fuzz/out/TARGET/default/{crashes,hangs}/. Exit status: 0 when no target found a
# crash or a hang, 1 when one did (each finding's panic message and a replay command are printed),
# 2 for a usage error.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

# The cargo-afl that matches the afl crate in fuzz/Cargo.lock.
CARGO_AFL_VERSION=0.18.2
# Address-space limit per target process, in MB (afl-fuzz -m; the replay below uses the same).
MEM_MB=2048
ALL_TARGETS="decode info remix tag separate"
DEFAULT_TARGETS="decode info remix tag"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

seconds=60
timeout_ms=""
keep=0
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds=${2:?--seconds needs a number}; shift 2 ;;
        --seconds=*) seconds=${1#*=}; shift ;;
        --timeout-ms) timeout_ms=${2:?--timeout-ms needs a number}; shift 2 ;;
        --timeout-ms=*) timeout_ms=${1#*=}; shift ;;
        --keep) keep=1; shift ;;
        -h | --help) usage; exit 0 ;;
        -*) echo "fuzz.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) targets+=("$1"); shift ;;
    esac
done
if ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
    echo "fuzz.sh: --seconds must be a positive whole number, not '$seconds'" >&2
    exit 2
fi
if [ -n "$timeout_ms" ] && ! [[ $timeout_ms =~ ^[1-9][0-9]*$ ]]; then
    echo "fuzz.sh: --timeout-ms must be a positive whole number, not '$timeout_ms'" >&2
    exit 2
fi
[ ${#targets[@]} -gt 0 ] || read -r -a targets <<<"$DEFAULT_TARGETS"
needs_models=0
for t in "${targets[@]}"; do
    case " $ALL_TARGETS " in
        *" $t "*) ;;
        *) echo "fuzz.sh: unknown target '$t' (targets: $ALL_TARGETS)" >&2; exit 2 ;;
    esac
    case $t in tag | separate) needs_models=1 ;; esac
done

log() { echo "fuzz.sh: $*" >&2; }

# 1. cargo-afl, and AFL++ built for this rustc (cargo install builds it; a new rustc needs a rebuild).
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
if ! cargo afl --version >/dev/null 2>&1; then
    log "installing cargo-afl $CARGO_AFL_VERSION (it builds AFL++; takes a minute or two)"
    cargo install --locked --quiet cargo-afl --version "$CARGO_AFL_VERSION"
fi
if cargo afl tmin -h 2>&1 | grep -q "runtime was not built"; then
    log "building AFL++ for this Rust version"
    cargo afl config --build
fi

# 2. Models and ONNX Runtime for the model targets (idempotent, quick when present).
if [ "$needs_models" = 1 ]; then
    bash scripts/setup.sh --quiet
fi

# 3. The targets (all dependencies instrumented, with debug assertions and overflow checks).
log "building the fuzz targets (cargo afl build --release; the first build takes ~10 minutes)"
(cd fuzz && cargo afl build --release --locked --quiet)

# 4. One target after another, each on one core for $seconds s.
export AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1
# Short runs: spend the time fuzzing, not re-measuring seeds.
export AFL_FAST_CAL=1 AFL_CMPLOG_ONLY_NEW=1
# The targets fuzz roomtone's own decoding: no ffmpeg fallback (a process per input would only
# measure ffmpeg, slowly).
export ROOMTONE_FFMPEG=
found=()
for t in "${targets[@]}"; do
    out="fuzz/out/$t"
    case $t in
        tag | separate) tmo=${timeout_ms:-10000} ;;
        *) tmo=${timeout_ms:-2000} ;;
    esac
    if [ "$keep" = 1 ] && [ -d "$out/default/queue" ]; then
        input=(-i -)
    else
        rm -rf "$out"
        input=(-i fuzz/seeds)
    fi
    mkdir -p "$out"
    log "fuzzing $t for $seconds s (log: $out/afl.log)"
    # -m: every target runs in well under 1 GB of address space (ONNX Runtime and the models
    # included), so an input that makes the library allocate past $MEM_MB MB (a header's claim
    # trusted) is an out-of-memory crash. -t: per-input time limit in ms.
    set +e
    cargo afl fuzz "${input[@]}" -o "$out" -x fuzz/media.dict -V "$seconds" -t "$tmo" -m "$MEM_MB" \
        -- "fuzz/target/release/$t" >"$out/afl.log" 2>&1
    status=$?
    set -e
    stats="$out/default/fuzzer_stats"
    if [ ! -f "$stats" ]; then
        log "$t: afl-fuzz did not start (exit $status); the end of $out/afl.log:"
        tail -20 "$out/afl.log" >&2
        exit 1
    fi
    stat() { awk -v k="$1" '$1 == k { print $3 }' "$stats"; }
    printf 'fuzz.sh: %-8s %6s execs, %7s execs/s, %5s paths (corpus), %s edges, %s crashes, %s hangs\n' \
        "$t" "$(stat execs_done)" "$(stat execs_per_sec)" "$(stat corpus_count)" \
        "$(stat edges_found)" "$(stat saved_crashes)" "$(stat saved_hangs)" >&2
    for kind in crashes hangs; do
        for f in "$out"/default/$kind/id:*; do
            [ -e "$f" ] && found+=("$t $kind $f")
        done
    done
done

[ ${#found[@]} -eq 0 ] && { log "no crashes or hangs"; exit 0; }

# 5. What was found, grouped by signature (each input run once outside AFL, under the same memory
#    limit): the panic's location and message, or where an allocation over the limit was made.
signature() { # TARGET KIND FILE
    local out
    if [ "$2" = hangs ]; then
        echo "hang (over the per-input time limit)"
        return
    fi
    out=$( { ulimit -v $((MEM_MB * 1024)); RUST_BACKTRACE=1 timeout 60 "fuzz/target/release/$1" <"$3"; } 2>&1 >/dev/null ) || true
    if grep -q "memory allocation of" <<<"$out"; then
        echo "out of memory (an allocation over ${MEM_MB} MB) in $(grep -E '^ +[0-9]+: ' <<<"$out" |
            grep -v -E ' (std|core|alloc|__rustc)::|rust_oom|handle_alloc' | head -2 |
            sed 's/^ *[0-9]*: //' | awk 'NR > 1 { printf " < " } { printf "%s", $0 }')"
    elif grep -q "panicked at" <<<"$out"; then
        grep -m1 -A1 "panicked at" <<<"$out" | sed -e 's/.*panicked at //' -e 's|/[^ ]*/registry/src/[^/]*/||' | paste -sd ' '
    else
        echo "no crash when run alone"
    fi
}
log "${#found[@]} finding(s); by signature (count, target | signature, one input):"
declare -A count example
for entry in "${found[@]}"; do
    read -r t kind f <<<"$entry"
    key="$t | $(signature "$t" "$kind" "$f")"
    count[$key]=$((${count[$key]:-0} + 1))
    [ -n "${example[$key]:-}" ] || example[$key]=$f
done
for key in "${!count[@]}"; do
    printf '  %3d  %s\n       %s\n' "${count[$key]}" "$key" "$ROOT/${example[$key]}" >&2
done
t=${found[0]%% *}
f=${found[0]##* }
cat >&2 <<EOF
fuzz.sh: replay one with a backtrace (a target reads one input on stdin when run outside AFL):
    (ulimit -v $((MEM_MB * 1024)); RUST_BACKTRACE=1 fuzz/target/release/$t < '$f')
  then copy it to tests/data/fuzz/ under a name that says what it is (keep the extension);
  tests/fuzz_regressions.rs replays every file there through each target's harness.
EOF
exit 1
