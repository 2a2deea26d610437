#!/usr/bin/env python3
"""Score `roomtone tag` on the development set's held-out split, through the real CLI.

    python3 scripts/eval_tagger.py [--devset bench-data/devset] [--split test] [--bin target/release/roomtone]

Runs the tagger twice on the same clips, once with the trained head and once with the plain AudioSet
class mapping (`--ambience-model mapping`), and prints accuracy and macro-F1 of `ambience` on the
clips without speech and with speech laid over, and the accuracy of `speech`, as a Markdown table for
BENCHMARKS.md. Standard library only.
"""
import argparse
import csv
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def macro_f1(truth, pred, labels):
    f1s = []
    for l in labels:
        tp = sum(t == l and p == l for t, p in zip(truth, pred))
        fp = sum(t != l and p == l for t, p in zip(truth, pred))
        fn = sum(t == l and p != l for t, p in zip(truth, pred))
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return sum(f1s) / len(f1s), dict(zip(labels, f1s))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--devset", default=str(ROOT / "bench-data/devset"))
    ap.add_argument("--split", default="test")
    ap.add_argument("--bin", default=str(ROOT / "target/release/roomtone"))
    ap.add_argument("--jobs", default="2")
    args = ap.parse_args()
    devset = Path(args.devset)
    rows = [r for r in csv.DictReader(open(devset / "labels.csv")) if r["split"] == args.split]
    paths = [str(devset / r["path"]) for r in rows]
    labels = sorted({r["label"] for r in rows})
    print(f"{len(rows)} clips in split {args.split!r}; labels {labels}", file=sys.stderr)

    results = {}
    for model in ("mapping", "head"):
        t0 = time.time()
        out = subprocess.run(
            [args.bin, "tag", "--format", "jsonl", "--jobs", args.jobs, "--ambience-model", model, *paths],
            capture_output=True, text=True,
        )
        if out.returncode != 0:
            sys.exit(f"roomtone tag failed ({out.returncode}): {out.stderr[-2000:]}")
        recs = [json.loads(l) for l in out.stdout.splitlines()]
        results[model] = recs
        print(f"{model}: {len(recs)} files in {time.time() - t0:.1f} s", file=sys.stderr)

    print("| ambience model | clips | ambience accuracy | ambience macro-F1 | speech accuracy |")
    print("|---|---|---|---|---|")
    detail = {}
    for model in ("mapping", "head"):
        recs = results[model]
        for sub, want in (("ambience only", "0"), ("speech over ambience (+5 dB SNR)", "1"), ("all", None)):
            sel = [i for i, r in enumerate(rows) if want is None or r["speech"] == want]
            truth = [rows[i]["label"] for i in sel]
            pred = [recs[i].get("ambience", "error") for i in sel]
            acc = sum(t == p for t, p in zip(truth, pred)) / len(sel)
            f1, per = macro_f1(truth, pred, labels)
            sp = sum((recs[i].get("speech") is True) == (rows[i]["speech"] == "1") for i in sel) / len(sel)
            print(f"| {model}, {sub} | {len(sel)} | {acc:.3f} | {f1:.3f} | {sp:.3f} |")
            detail[(model, sub)] = per
    print()
    print("Per-label F1 (head): " + "; ".join(
        f"{sub}: " + ", ".join(f"{k} {v:.2f}" for k, v in detail[("head", sub)].items())
        for sub in ("ambience only", "speech over ambience (+5 dB SNR)")))
    print("Per-label F1 (mapping): " + "; ".join(
        f"{sub}: " + ", ".join(f"{k} {v:.2f}" for k, v in detail[("mapping", sub)].items())
        for sub in ("ambience only", "speech over ambience (+5 dB SNR)")))


if __name__ == "__main__":
    main()
