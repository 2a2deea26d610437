#!/usr/bin/env python3
"""The ambience timeline on concatenations of different ambiences, scored with heads that never saw
their sources (issue 10, point 7).

    PYTHONPATH=target/tagger-py python3 scripts/loso_tagger.py bench-data/tagset/features --models '' \
        --group-heads bench-data/tagset/group-heads
    python3 scripts/eval_timeline.py [--tagset bench-data/tagset] [--heads bench-data/tagset/group-heads] \
        [--bin target/release/roomtone] [--per-group 8] [--seconds 20] [--seed 7]

For each group of packages (bench-data/tagset/group-heads/group-K: a head trained without them and
the list of them), makes concatenations of three clips of different ambience labels from those
packages only (each cut to --seconds, or shorter when the clip is), once from clips without speech
and once from clips with speech laid over them; runs the real CLI (`roomtone tag`, the group's head
through ROOMTONE_MODELS) on them; and prints, per kind:
  * segment-boundary error: for each true boundary, the distance to the nearest boundary of the
    reported timeline (a timeline with none counts the distance to the clip's ends); median and 90th
    percentile;
  * segment label accuracy: the share of true segments whose most-covering reported label is theirs;
    and the share of time labelled right.
Standard library only, plus ffmpeg on PATH (decoding the clips). Deterministic for a seed.
"""
import argparse
import array
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AMBIENCE = ["rain", "traffic", "crowd", "hvac", "wind", "water", "nature"]
RATE = 16000


def decode(path: Path, seconds: float) -> array.array:
    p = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-ac", "1", "-ar", str(RATE),
                        "-t", f"{seconds:.3f}", "-f", "f32le", "-"], capture_output=True, check=True)
    a = array.array("f")
    a.frombytes(p.stdout)
    return a


def write_wav(path: Path, samples: array.array) -> None:
    pcm = array.array("h", (max(-32768, min(32767, round(v * 32767))) for v in samples))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())


def models_folder(head: Path, into: Path) -> Path:
    """A models folder: every entry of the checkout's models/ linked, but tagging/ with `head`."""
    into.mkdir(parents=True, exist_ok=True)
    for entry in (ROOT / "models").iterdir():
        if entry.name != "tagging":
            (into / entry.name).symlink_to(entry)
    (into / "tagging").mkdir()
    shutil.copy(ROOT / "models/tagging/taxonomy.toml", into / "tagging/taxonomy.toml")
    shutil.copy(head, into / "tagging/ambience_head.json")
    return into


def percentile(v, q):
    v = sorted(v)
    if not v:
        return float("nan")
    k = (len(v) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def score(truth, segments, duration):
    """Boundary errors and label hits of one concatenation against its reported segments."""
    bounds = [s["start_s"] for s in segments[1:]]
    errors = []
    for _, end, _ in truth[:-1]:
        errors.append(min((abs(b - end) for b in bounds), default=min(end, duration - end)))
    hits, right_s = 0, 0.0
    for start, end, label in truth:
        cover = {}
        for s in segments:
            o = max(0.0, min(end, s["end_s"]) - max(start, s["start_s"]))
            if o > 0:
                cover[s["label"]] = cover.get(s["label"], 0.0) + o
        hits += bool(cover) and max(cover, key=cover.get) == label
        right_s += cover.get(label, 0.0)
    return errors, hits, right_s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tagset", default=str(ROOT / "bench-data/tagset"))
    ap.add_argument("--heads", default=None)
    ap.add_argument("--bin", default=str(ROOT / "target/release/roomtone"))
    ap.add_argument("--per-group", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    tagset = Path(a.tagset)
    heads = Path(a.heads) if a.heads else tagset / "group-heads"
    rows = list(csv.DictReader(open(tagset / "clips.csv")))
    rng = random.Random(a.seed)
    results = {False: [], True: []}
    work = Path(tempfile.mkdtemp(prefix="rt-timeline-"))
    try:
        for group in sorted(heads.glob("group-*")):
            packages = set((group / "packages.txt").read_text().split())
            models = models_folder(group / "ambience_head.json", work / group.name / "models")
            files, truths = [], []
            for speech in (False, True):
                pool = [r for r in rows if r["package"] in packages and r["label"] in AMBIENCE
                        and (r.get("speech", "0") == "1") == speech and float(r["duration_s"]) >= 6]
                by_label = {}
                for r in pool:
                    by_label.setdefault(r["label"], []).append(r)
                if len(by_label) < 2:
                    continue
                for n in range(a.per_group):
                    labels = rng.sample(sorted(by_label), min(3, len(by_label)))
                    samples, truth, t = array.array("f"), [], 0.0
                    for label in labels:
                        clip = rng.choice(by_label[label])
                        x = decode(tagset / clip["path"], a.seconds)
                        samples.extend(x)
                        truth.append((t, t + len(x) / RATE, label))
                        t += len(x) / RATE
                    path = work / group.name / f"{'speech' if speech else 'ambience'}-{n:02d}.wav"
                    write_wav(path, samples)
                    files.append((path, speech))
                    truths.append(truth)
            if not files:
                continue
            env = dict(os.environ, ROOMTONE_MODELS=str(models))
            p = subprocess.run([a.bin, "tag", "--format", "jsonl", "--no-speech-segments", "--jobs", "2",
                                *[str(f) for f, _ in files]], capture_output=True, text=True, env=env)
            if p.returncode not in (0, 1):
                sys.exit(f"roomtone tag failed: {p.stderr[-2000:]}")
            for (path, speech), truth, line in zip(files, truths, p.stdout.splitlines()):
                r = json.loads(line)
                results[speech].append(score(truth, r["segments"], r["duration_s"]) + (truth,))
            print(f"  {group.name}: {len(files)} concatenations from {', '.join(sorted(packages))}", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("| concatenations | n | boundaries | boundary error median s | 90th percentile s | segments labelled right | time labelled right |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for speech in (False, True):
        res = results[speech]
        if not res:
            continue
        errors = [e for r in res for e in r[0]]
        segs = sum(len(r[3]) for r in res)
        total = sum(r[3][-1][1] for r in res)
        print(f"| {'with speech over them' if speech else 'ambience alone'} | {len(res)} | {len(errors)} | "
              f"{percentile(errors, 0.5):.2f} | {percentile(errors, 0.9):.2f} | "
              f"{sum(r[1] for r in res) / segs:.3f} | {sum(r[2] for r in res) / total:.3f} |")


if __name__ == "__main__":
    main()
