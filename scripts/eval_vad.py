#!/usr/bin/env python3
"""Score dialogue regions (voice activity) against the truth written by scripts/make_vad_set.py.

    python3 scripts/eval_vad.py TRUTH.jsonl PREDICTIONS.jsonl [--frame 0.01] [--json] [--json-out FILE]

PREDICTIONS: `roomtone tag --format jsonl` output, one JSON object per file with "path" and
"speech_segments": [{"start_s", "end_s", "score"}, ...]; or, for checks, {"file", "speech_segments":
[[start_s, end_s], ...]} (a "speech_spans" key is read too, so a truth file scores against itself).
Files are matched by file name (the last path component). A truth file with no prediction line counts
as "no dialogue predicted" and is reported under `missing`; lines for files not in the truth are
ignored (counted under `unmatched`). Standard library only.

Measures (all over files of the truth, `kind` "mixture" or "negative"):
  * Frame level, on mixtures: frames of --frame seconds (10 ms) from t = 0 to the file's duration;
    frame k is speech in the truth (or prediction) when its centre (k + 0.5) * frame lies inside a
    span [start, end). Precision, recall and F1 from TP/FP/FN frame counts pooled over files: all
    mixtures, per split, per SNR, per bed class and per bed source. Predicted segments are used as
    given (overlaps merged, clipped to the file); the truth spans already merge gaps < 0.5 s.
  * Negatives (no speech in the truth): false-positive seconds per minute (predicted-speech frames
    x frame / total minutes) and the share of negative files with at least one predicted segment of
    non-zero length, overall, crowd beds vs other beds, and per split.
  * Boundaries, on mixtures: for every true span, the onset's distance to the nearest predicted
    onset in the same file, and the offset's distance to the nearest predicted offset (segment
    ends; a segment starting at 0 s or ending at the file's end still counts). A file without any
    predicted segment gives infinite distances (reported under `no_pred`). Median and 90th
    percentile (linear interpolation between order statistics, as numpy's default), and the share
    within 0.25 s.
Prints a Markdown report (for BENCHMARKS.md); --json prints the same numbers as JSON instead.
"""
import argparse
import json
import math
import sys
from pathlib import Path

CROWD = "crowd"


def load_jsonl(path):
    rows = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                sys.exit(f"{path}:{n}: not JSON ({e})")
    return rows


def segments_of(obj):
    """[[start, end], ...] from either prediction format; None when the object has no segment list."""
    segs = obj.get("speech_segments", obj.get("speech_spans"))
    if segs is None:
        return None
    out = []
    for s in segs:
        if isinstance(s, dict):
            a, b = s.get("start_s"), s.get("end_s")
        else:
            a, b = s[0], s[1]
        a, b = float(a), float(b)
        if b > a:
            out.append([a, b])
    return out


def name_of(obj):
    p = obj.get("path", obj.get("file"))
    return None if p is None else Path(str(p)).name


def merge(spans):
    out = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return out


def frames(spans, n, frame):
    """Boolean frame mask: frame k is set when (k + 0.5) * frame lies in some [a, b)."""
    m = bytearray(n)
    for a, b in spans:
        k0 = max(0, math.ceil(a / frame - 0.5 - 1e-9))
        k1 = min(n, math.ceil(b / frame - 0.5 - 1e-9))  # first k with centre >= b
        if k1 > k0:
            m[k0:k1] = b"\x01" * (k1 - k0)
    return m


def percentile(values, q):
    v = sorted(values)
    if not v:
        return None
    pos = (len(v) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    frac = pos - lo
    if frac == 0 or v[lo] == v[hi]:
        return v[lo]
    return v[lo] + (v[hi] - v[lo]) * frac


class Counts:
    def __init__(self):
        self.tp = self.fp = self.fn = 0
        self.files = 0
        self.speech_frames = 0

    def add(self, tp, nt, np_):
        self.tp += tp
        self.fp += np_ - tp
        self.fn += nt - tp
        self.speech_frames += nt
        self.files += 1

    def result(self, frame):
        pr = self.tp / (self.tp + self.fp) if self.tp + self.fp else (1.0 if self.fn == 0 else 0.0)
        rc = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        f1 = 2 * self.tp / (2 * self.tp + self.fp + self.fn) if self.tp + self.fp + self.fn else 1.0
        return {"files": self.files, "speech_s": round(self.speech_frames * frame, 2), "tp": self.tp,
                "fp": self.fp, "fn": self.fn, "precision": pr, "recall": rc, "f1": f1}


def nearest(x, points):
    return min((abs(x - p) for p in points), default=math.inf)


def score(truth, preds, frame):
    by_name = {}
    unmatched = 0
    truth_names = {Path(t["file"]).name for t in truth}
    for p in preds:
        n, segs = name_of(p), segments_of(p)
        if n is None or segs is None:
            continue
        if n not in truth_names:
            unmatched += 1
            continue
        by_name[n] = segs
    groups = {}
    neg = {}
    onset_err, offset_err = [], []
    missing = []

    def group(key):
        return groups.setdefault(key, Counts())

    for t in truth:
        name = Path(t["file"]).name
        dur = float(t.get("duration_s") or max([e for _, e in t["speech_spans"]] + [0.0]))
        if name not in by_name:
            missing.append(name)
        pred = merge([[max(0.0, a), min(dur, b)] for a, b in by_name.get(name, []) if min(dur, b) > max(0.0, a)])
        n = int(round(dur / frame))
        pm = frames(pred, n, frame)
        if t["kind"] == "mixture":
            tm = frames(t["speech_spans"], n, frame)
            tp = sum(a & b for a, b in zip(tm, pm))
            for key in ("all", f"split {t.get('split')}", f"snr {t.get('snr_db')}", f"class {t.get('bed_class')}",
                        f"bed {t.get('bed_source')}"):
                group(key).add(tp, sum(tm), sum(pm))
            on = [a for a, _ in pred]
            off = [b for _, b in pred]
            for a, b in t["speech_spans"]:
                onset_err.append(nearest(a, on))
                offset_err.append(nearest(b, off))
        else:
            fp_s = sum(pm) * frame
            kinds = ["all", "crowd" if t.get("bed_class") == CROWD else "other", f"split {t.get('split')}"]
            for key in kinds:
                d = neg.setdefault(key, {"files": 0, "minutes": 0.0, "fp_s": 0.0, "files_with_region": 0})
                d["files"] += 1
                d["minutes"] += dur / 60
                d["fp_s"] += fp_s
                d["files_with_region"] += 1 if pred else 0
    res = {"frame_s": frame, "mixtures": {}, "negatives": {}, "boundaries": {},
           "missing": len(missing), "missing_files": missing[:20], "unmatched": unmatched}
    for key, c in groups.items():
        res["mixtures"][key] = c.result(frame)
    for key, d in neg.items():
        d = dict(d)
        d["fp_s_per_min"] = d["fp_s"] / d["minutes"] if d["minutes"] else 0.0
        d["share_with_region"] = d["files_with_region"] / d["files"] if d["files"] else 0.0
        res["negatives"][key] = d
    def finite(x):  # JSON has no infinity: null stands for "no predicted boundary to match"
        return None if x is None or math.isinf(x) else x

    for key, errs in (("onset", onset_err), ("offset", offset_err), ("both", onset_err + offset_err)):
        res["boundaries"][key] = {
            "n": len(errs), "median_s": finite(percentile(errs, 50)), "p90_s": finite(percentile(errs, 90)),
            "within_0.25s": sum(e <= 0.25 for e in errs) / len(errs) if errs else None,
            "no_pred": sum(math.isinf(e) for e in errs)}
    return res


def fmt(x, nd=3):
    return "∞" if x is None else f"{x:.{nd}f}"  # None: beyond every finite distance


def order(keys, prefix, numeric=False):
    ks = [k for k in keys if k.startswith(prefix + " ")]
    if numeric:
        def num(k):
            try:
                return float(k.split(" ", 1)[1])
            except ValueError:
                return math.inf
        return sorted(ks, key=num)
    return sorted(ks)


def markdown(res):
    out = []
    mx = res["mixtures"]
    out.append(f"Dialogue regions: frame-level scores on mixtures ({res['frame_s'] * 1000:g} ms frames, pooled)\n")
    out.append("| subset | files | speech s | precision | recall | F1 |")
    out.append("|---|---:|---:|---:|---:|---:|")
    rows = ["all"] + order(mx, "split") + order(mx, "snr", True) + order(mx, "class") + order(mx, "bed")
    for k in rows:
        if k not in mx:
            continue
        r = mx[k]
        label = "**all mixtures**" if k == "all" else (
            f"SNR {float(k[4:]):+g} dB" if k.startswith("snr ") and k[4:] != "None" else k.replace("class ", "bed class "))
        out.append(f"| {label} | {r['files']} | {r['speech_s']:.1f} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} |")
    ng = res["negatives"]
    if ng:
        out.append("\nNegatives (ambience only, no dialogue)\n")
        out.append("| subset | files | minutes | false-positive s/min | files with any region |")
        out.append("|---|---:|---:|---:|---:|")
        for k in ["all", "crowd", "other"] + order(ng, "split"):
            if k in ng:
                d = ng[k]
                label = {"all": "**all negatives**", "crowd": "crowd / babble beds", "other": "other beds"}.get(k, k)
                out.append(f"| {label} | {d['files']} | {d['minutes']:.1f} | {d['fp_s_per_min']:.2f} | "
                           f"{d['files_with_region']}/{d['files']} ({100 * d['share_with_region']:.0f} %) |")
    b = res["boundaries"]
    out.append("\nBoundary error on mixtures: distance from each true onset (offset) to the nearest predicted onset (offset)\n")
    out.append("| boundary | n | median s | p90 s | within 0.25 s | no prediction in file |")
    out.append("|---|---:|---:|---:|---:|---:|")
    for k in ("onset", "offset", "both"):
        d = b[k]
        w = "-" if d["within_0.25s"] is None else f"{100 * d['within_0.25s']:.0f} %"
        med = "-" if not d["n"] else fmt(d["median_s"])
        p90 = "-" if not d["n"] else fmt(d["p90_s"])
        out.append(f"| {k} | {d['n']} | {med} | {p90} | {w} | {d['no_pred']} |")
    notes = []
    if res["missing"]:
        notes.append(f"{res['missing']} truth file(s) had no prediction line (scored as no dialogue): "
                     + ", ".join(res["missing_files"]))
    if res["unmatched"]:
        notes.append(f"{res['unmatched']} prediction line(s) matched no truth file")
    if notes:
        out.append("\n" + "\n".join("- " + n for n in notes))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("truth")
    ap.add_argument("predictions")
    ap.add_argument("--frame", type=float, default=0.01, help="frame length in seconds (default 0.01)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    ap.add_argument("--json-out", help="also write the JSON to this file")
    args = ap.parse_args()
    truth = load_jsonl(args.truth)
    res = score(truth, load_jsonl(args.predictions), args.frame)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps(res, indent=1) if args.json else markdown(res))


if __name__ == "__main__":
    main()
