#!/usr/bin/env python3
"""Which inputs and which fitting carry over to sources a head never heard: a quick, un-nested look
for choosing what scripts/loso_tagger.py then measures properly.

    PYTHONPATH=target/tagger-py python3 scripts/explore_tagger_inputs.py bench-data/tagset/features

Leave-one-package-out like loso_tagger.py (a clip is also kept out of training while the package of
the ambience laid under it is held out), a softmax regression with a `none` class fitted on clips
(each the mean, or other statistics, of its audible patches), the call is the argmax (no thresholds,
so nothing is chosen on the scored clips but the L2 strength, which is listed for every value tried).
Prints macro-F1 over rain, traffic, crowd, hvac, wind for ambience alone and with speech over it,
the false-ambience rate on the negatives, and per-class F1 over all ambience clips.
"""
import argparse
import sys
import tomllib

import numpy as np

import loso_tagger as L


def statistics(x, clips, ids, stats):
    """Per clip, the statistics `stats` of rows `x` over its audible patches (all when none is)."""
    out = []
    for i in ids:
        rows = clips.rows_of[i]
        loud = ~clips.silent[rows]
        xr = x[rows[loud] if loud.any() else rows]
        parts = {"mean": lambda: xr.mean(0), "std": lambda: xr.std(0), "max": lambda: xr.max(0),
                 "q25": lambda: np.quantile(xr, 0.25, 0), "q75": lambda: np.quantile(xr, 0.75, 0)}
        out.append(np.concatenate([parts[s]() for s in stats]))
    return np.array(out, dtype=np.float32)


def mapping_logits(f, taxonomy, class_names):
    """Per patch, the logit of each taxonomy label's mapped AudioSet score."""
    cols = []
    for spec in taxonomy["labels"]:
        if not spec.get("classes"):
            continue
        p = f["scores"][:, [class_names.index(c) for c in spec["classes"]]]
        cols.append(p.max(axis=1) if spec["aggregate"] == "max" else 1 - np.prod(1 - p, axis=1))
    p = np.clip(np.stack(cols, 1), 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("features", help="prefix of the .f32/.json written by examples/tag_features")
    ap.add_argument("--lambdas", default="0.01,0.1,0.3")
    args = ap.parse_args()
    index, f = L.load(args.features)
    taxonomy = tomllib.loads(L.TAXONOMY.read_text())
    clips = L.Clips(index, f, taxonomy.get("silence_dbfs", -60.0))
    ids = clips.ids
    labels = L.AMBIENCE + [L.NONE]
    y = np.array([labels.index(l if l in L.AMBIENCE else L.NONE) for l in clips.label[ids]])
    pk, second = clips.package[ids], clips.second[ids]
    truth = np.array([clips.truth(i) for i in ids])
    sc = np.clip(f["scores"], 1e-4, 1 - 1e-4)
    audioset_logits = np.log(sc / (1 - sc))
    maplog = mapping_logits(f, taxonomy, index["class_names"])
    emb, sig = f["emb"], f["sig"]
    inputs = {
        "embedding mean + signal": lambda: np.hstack([statistics(emb, clips, ids, ["mean"]),
                                                       statistics(sig, clips, ids, ["mean"])]),
        "embedding mean, std + signal + mapping logits mean, max": lambda: np.hstack([
            statistics(emb, clips, ids, ["mean", "std"]), statistics(sig, clips, ids, ["mean"]),
            statistics(maplog, clips, ids, ["mean", "max"])]),
        "mapping logits mean, max, q25, q75": lambda: statistics(maplog, clips, ids, ["mean", "max", "q25", "q75"]),
        "mapping logits + signal": lambda: np.hstack([statistics(maplog, clips, ids, ["mean", "max", "q25", "q75"]),
                                                       statistics(sig, clips, ids, ["mean"])]),
        "521 AudioSet logits mean": lambda: statistics(audioset_logits, clips, ids, ["mean"]),
    }
    k = len(labels)
    for name, make in inputs.items():
        x = make()
        for lam in [float(v) for v in args.lambdas.split(",")]:
            pred = np.zeros(len(ids), dtype=int)
            for p in sorted(set(pk)):
                test = pk == p
                train = ~test & (second != p)
                mean, std, xs = L.standardise(x[train])
                counts = np.bincount(y[train], minlength=k).astype(np.float64)
                sw = (1.0 / counts[y[train]])
                sw = (sw / sw.sum()).astype(np.float32)
                m = L.adam_softmax(xs, y[train], k, sw, lam, 300, 0.05)
                pred[test] = (((x[test] - mean) / std) @ m["w"] + m["b"]).argmax(1)
            called = np.array([labels[v] if labels[v] != L.NONE else "other" for v in pred])
            amb = np.isin(truth, L.TARGET)
            speech = clips.speech[ids]
            alone = L.macro(list(truth[amb & ~speech]), list(called[amb & ~speech]))
            over = L.macro(list(truth[amb & speech]), list(called[amb & speech]))
            neg = truth == "other"
            false = np.mean(np.isin(called[neg], L.AMBIENCE))
            per = L.f1_table(list(truth[amb]), list(called[amb]), L.TARGET)
            print(f"| {name} | {lam:g} | {alone:.3f} | {over:.3f} | {false:.1%} | "
                  + " | ".join(f"{per[c]:.2f}" for c in L.TARGET) + " |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
