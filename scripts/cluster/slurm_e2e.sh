#!/usr/bin/env bash
# End-to-end test of examples/cluster/ on a real Slurm: a throwaway single-node cluster (munged,
# slurmctld and slurmd as root, localhost only, config and state in a temporary folder), the label
# array and the merge as a user would submit them, with the failures a cluster brings:
#   1. label.sbatch as an array of 4 tasks over ~200 short clips cut from the real recordings in this
#      repository, plus broken files; merge.sbatch held with --dependency=afterany;
#   2. one array task killed with `scancel --signal=KILL` while it works, then `scontrol requeue`d:
#      it resumes its share from its journal;
#   3. a second copy of another task submitted as its own job together with the array (a duplicate
#      the scheduler may produce), so the two start side by side: one holds the share's lock, the
#      other stops at once, and nothing is recorded twice;
#   4. the merge released; its labels.jsonl and labels.csv must equal, byte for byte, those of one
#      `roomtone batch` over the same library on this machine: every file once, broken files as
#      error records.
# Every daemon it started is stopped by pid and its folder removed, whatever happens.
#
# Usage: scripts/cluster/slurm_e2e.sh [ROOMTONE]   (default: target/debug/roomtone, built if missing)
# Needs root (or sudo) for apt-get and the daemons; installs Debian's slurm-wlm and munge if missing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
repo=$PWD
say() { echo "slurm_e2e: $*" >&2; }
fail() { say "FAILED: $*"; exit 1; }

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null || ! command -v ffmpeg >/dev/null; then
    say "installing slurm-wlm, munge and ffmpeg (Debian packages)"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends slurm-wlm munge ffmpeg >/dev/null
fi

ROOMTONE=${1:-$repo/target/debug/roomtone}
if [ ! -x "$ROOMTONE" ]; then
    say "building roomtone"
    cargo build --locked --bin roomtone
fi
ROOMTONE=$(readlink -f "$ROOMTONE")

work=$(mktemp -d /tmp/roomtone-slurm.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
    local status=$?
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    if [ $status -ne 0 ] && [ -d "$work/log" ]; then
        for f in "$work"/log/*; do say "--- $f"; tail -n 20 "$f" >&2 || true; done
    fi
    rm -rf "$work"
    exit $status
}
trap cleanup EXIT INT TERM

# --- The library: ~200 clips of 1-3 s in four formats, five folders, plus broken files. -------------
lib="$work/footage"
sources=("$repo/examples/speech_over_rain.ogg" "$repo/tests/data/clean_speech_16k.wav" "$repo/tests/data/dfn3_input.wav")
lengths=(12.0 3.0 2.0)
formats=(wav flac ogg mp3)
for i in $(seq 0 199); do
    s=$((i % 3))
    dir="$lib/day$((i % 5 + 1))"
    mkdir -p "$dir"
    dur=$(awk -v i="$i" 'BEGIN { printf "%.2f", 1.0 + (i * 0.37) % 2.0 }')
    len=${lengths[$s]}
    off=$(awk -v i="$i" -v l="$len" -v d="$dur" 'BEGIN { m = l - d; if (m < 0) m = 0; printf "%.2f", (i * 1.13) % (m + 0.01) }')
    fmt=${formats[$((i % 4))]}
    ffmpeg -v error -nostdin -y -ss "$off" -t "$dur" -i "${sources[$s]}" "$dir/clip$(printf %03d "$i").$fmt"
done
printf 'RIFF\x24\x00\x00\x00WAVEjunkjunk' > "$lib/day1/broken.wav"
: > "$lib/day2/empty.mp3"
head -c 4096 /dev/urandom > "$lib/day3/noise.flac"
head -c 3000 "$lib/day4/$(ls "$lib/day4" | grep '\.wav$' | head -1)" > "$lib/day4/truncated.wav"
say "library: $(find "$lib" -type f | wc -l) files"

# --- The reference: one batch on this machine. --------------------------------------------------------
set +e
"$ROOMTONE" batch "$lib" --out "$work/single" --jobs 2 --quiet
status=$?
set -e
[ $status -le 1 ] || fail "single-machine batch exited $status"

# --- munge and a single-node Slurm. ----------------------------------------------------------------
mkdir -p "$work/munge" "$work/state" "$work/spool" "$work/log" "$work/out"
chmod 700 "$work/munge"
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$work/munge/munge.key"
munged --force --key-file="$work/munge/munge.key" --socket="$work/munge/munge.socket" \
    --pid-file="$work/munge/munged.pid" --log-file="$work/log/munged.log" \
    --seed-file="$work/munge/munge.seed"
for _ in $(seq 50); do [ -s "$work/munge/munged.pid" ] && break; sleep 0.1; done
pids+=("$(cat "$work/munge/munged.pid")")

host=$(hostname -s)
cpus=8   # declared (config_overrides): 4 tasks of 2 CPUs and a duplicate run side by side
cat > "$work/slurm.conf" <<CONF
ClusterName=roomtone-e2e
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$work/munge/munge.socket
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
JobRequeue=1
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
MinJobAge=3600
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=20000 State=UNKNOWN
PartitionName=e2e Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
export SLURM_CONF="$work/slurm.conf"
slurmctld -f "$SLURM_CONF"
for _ in $(seq 100); do [ -s "$work/slurmctld.pid" ] && break; sleep 0.1; done
pids+=("$(cat "$work/slurmctld.pid")")
slurmd -f "$SLURM_CONF"
for _ in $(seq 100); do [ -s "$work/slurmd.pid" ] && break; sleep 0.1; done
pids+=("$(cat "$work/slurmd.pid")")
for _ in $(seq 150); do
    state=$(sinfo -h -N -o %T 2>/dev/null | head -1)
    [ "$state" = idle ] && break
    sleep 0.2
done
[ "$state" = idle ] || fail "the node did not come up (state: ${state:-none})"
say "cluster up: $(sinfo -h -N -o '%N %T %c CPUs')"

# --- Submit, kill, requeue, duplicate, merge. ----------------------------------------------------------
labels="$work/labels"
cd "$work/out"
export ROOMTONE
jid=$(sbatch --parsable --requeue --array=0-3 "$repo/examples/cluster/label.sbatch" "$lib" "$labels")
mid=$(sbatch --parsable --hold --dependency="afterany:$jid" "$repo/examples/cluster/merge.sbatch" "$labels")
# 3. A duplicate of task 2 as its own job, submitted with the array so that they run side by side.
dup=$(sbatch --parsable --export=ALL,SLURM_ARRAY_TASK_ID=2,SLURM_ARRAY_TASK_COUNT=4 \
    --output="$work/out/duplicate-%j.log" "$repo/examples/cluster/label.sbatch" "$lib" "$labels")
say "submitted array $jid, a duplicate of its task 2 as job $dup, and merge $mid (held)"

journal_lines() { cat "$labels/shard-$1/labels.partial.jsonl" 2>/dev/null | wc -l; }
task_state() { squeue -h -j "${jid}_$1" -o %T 2>/dev/null | head -1; }

# 2. Task 1: killed once it has recorded a few files, then requeued.
for _ in $(seq 600); do [ "$(journal_lines 1)" -ge 3 ] && break; sleep 0.1; done
[ "$(journal_lines 1)" -ge 3 ] || fail "task 1 recorded nothing in 60 s"
[ -e "$labels/shard-1/labels.jsonl" ] && fail "task 1 finished before it could be killed"
before=$(journal_lines 1)
scancel --signal=KILL "${jid}_1"
for _ in $(seq 100); do
    s=$(task_state 1); [ -z "$s" ] || [ "$s" != RUNNING ] && break; sleep 0.1
done
scontrol requeue "${jid}_1"
say "task 1 killed after $before records and requeued"


# Wait for the array (including the requeued task) and the duplicate.
for _ in $(seq 1800); do
    left=$(squeue -h -j "$jid,$dup" -o %i 2>/dev/null | wc -l)
    [ "$left" -eq 0 ] && break
    sleep 0.2
done
[ "$left" -eq 0 ] || fail "the array did not finish in 6 minutes"
scontrol release "$mid"
for _ in $(seq 600); do
    [ -z "$(squeue -h -j "$mid" -o %i 2>/dev/null)" ] && break
    sleep 0.2
done
[ -f "$labels/all/labels.jsonl" ] || fail "the merge wrote nothing ($(cat "$work"/out/roomtone-merge-*.log 2>/dev/null))"

# --- Checks. ------------------------------------------------------------------------------------------
# The duplicate and task 2 overlapped: one of them was refused the share's lock.
busy=$(grep -l "another roomtone run" "$work"/out/duplicate-*.log "$work"/out/roomtone-label-"${jid}"_2.log 2>/dev/null || true)
[ -n "$busy" ] || fail "the duplicate and task 2 did not overlap (no lock refusal in their logs)"
say "duplicate: $(basename "$busy") was refused the lock of shard-2 while the other ran"
# The requeued task kept what the killed one had finished (its summary counts them as skipped).
summary=$(grep -h " skipped" "$work"/out/roomtone-label-"${jid}"_1.log | tail -1)
kept=$(echo "$summary" | sed -n 's/.* \([0-9]*\) skipped.*/\1/p')
[ -n "$kept" ] && [ "$kept" -ge "$before" ] || fail "the requeued task 1 did not resume: $summary"
say "task 1 after requeue: $summary"
python3 - "$work/single" "$labels/all" <<'PY'
import json, sys
single, merged = sys.argv[1], sys.argv[2]
for name in ("labels.jsonl", "labels.csv"):
    a = open(f"{single}/{name}", encoding="utf-8").read()
    b = open(f"{merged}/{name}", encoding="utf-8").read()
    if a != b:
        sys.exit(f"{name}: the merged file differs from the single-machine batch")
records = [json.loads(l) for l in open(f"{merged}/labels.jsonl", encoding="utf-8")]
paths = [r["path"] for r in records]
if len(paths) != len(set(paths)):
    sys.exit("a file is recorded twice")
errors = [r["path"] for r in records if "error" in r]
print(f"slurm_e2e: {len(records)} records, each file once, {len(errors)} error records "
      f"({', '.join(p.rsplit('/', 1)[1] for p in errors)}); labels.jsonl and labels.csv equal "
      "the single-machine batch", file=sys.stderr)
if len(errors) != 4:
    sys.exit(f"expected the 4 broken files as error records, got {errors}")
PY
say "requeued task: $(scontrol show job "${jid}_1" 2>/dev/null | grep -o 'Restarts=[0-9]*' | head -1)"
say "passed"
