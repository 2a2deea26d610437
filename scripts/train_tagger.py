#!/usr/bin/env python3
"""Train roomtone's ambience classifier head and tune the taxonomy's thresholds on the development set.

Inputs are the per-patch features that the Rust pipeline itself computes (so training sees exactly
what `roomtone tag` sees):

    python3 scripts/make_devset.py                      # bench-data/devset/{*.wav,labels.csv}
    cargo run --release --example tag_features -- bench-data/devset/labels.csv bench-data/devset/features
    python3 scripts/train_tagger.py bench-data/devset/features [--write]

Needs numpy (pip install numpy). With --write it updates models/tagging/ambience_head.json and the
thresholds in models/tagging/taxonomy.toml; without it, it only prints what it would choose and why.

Head: one-vs-rest logistic regression (L2) over [YAMNet embedding (1024), signal features], each input
standardised, trained on the patches of the clips of the `train` split (each patch labelled with its
clip's ambience). A clip's probability for a label is the mean of its patches' probabilities after a
moving average over ±smoothing patches, which is what the Rust tagger does. Scores on the `test`
split (held out by source recording) are printed; BENCHMARKS.md gets its numbers from
scripts/eval_tagger.py, which runs the real CLI.
"""
import argparse
import json
import re
import sys
import tomllib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TAXONOMY = ROOT / "models/tagging/taxonomy.toml"
HEAD = ROOT / "models/tagging/ambience_head.json"
SMOOTHING = 2


def load(prefix):
    index = json.loads(Path(str(prefix) + ".json").read_text())
    data = np.fromfile(str(prefix) + ".f32", dtype="<f4").reshape(-1, index["row_len"])
    cols = index["columns"]
    return index, {
        "clip": data[:, 0].astype(int),
        "emb": data[:, cols["embedding"][0]:cols["embedding"][1]],
        "sig": data[:, cols["signal"][0]:cols["signal"][1]],
        "scores": data[:, cols["scores"][0]:cols["scores"][1]],
    }


def smooth(v, r):
    if r == 0 or len(v) < 2:
        return v
    out = np.empty_like(v)
    for i in range(len(v)):
        out[i] = v[max(0, i - r):i + r + 1].mean(axis=0)
    return out


def macro_f1(truth, pred, labels):
    f1s = []
    for l in labels:
        tp = sum(t == l and p == l for t, p in zip(truth, pred))
        fp = sum(t != l and p == l for t, p in zip(truth, pred))
        fn = sum(t == l and p != l for t, p in zip(truth, pred))
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1s)), dict(zip(labels, f1s))


def confusion(truth, pred, labels):
    names = labels + sorted(set(pred) - set(labels))
    lines = ["truth \\ pred " + " ".join(f"{n[:7]:>7}" for n in names)]
    for t in labels:
        lines.append(f"{t:>12} " + " ".join(f"{sum(a == t and b == n for a, b in zip(truth, pred)):>7}" for n in names))
    return "\n".join(lines)


def train_logreg(x, y, lam, weights, iters=400, lr=0.05):
    """L2 logistic regression by Adam on the mean weighted log-loss."""
    n, d = x.shape
    w, b = np.zeros(d), 0.0
    mw, vw, mb, vb = np.zeros(d), np.zeros(d), 0.0, 0.0
    for t in range(1, iters + 1):
        p = 1 / (1 + np.exp(-(x @ w + b)))
        g = weights * (p - y)
        gw = x.T @ g / n + lam * w
        gb = g.sum() / n
        mw = 0.9 * mw + 0.1 * gw
        vw = 0.999 * vw + 0.001 * gw * gw
        mb = 0.9 * mb + 0.1 * gb
        vb = 0.999 * vb + 0.001 * gb * gb
        w -= lr * (mw / (1 - 0.9**t)) / (np.sqrt(vw / (1 - 0.999**t)) + 1e-8)
        b -= lr * (mb / (1 - 0.9**t)) / (np.sqrt(vb / (1 - 0.999**t)) + 1e-8)
    return w, b


def clip_means(values, clip_of_row, clips):
    return np.array([smooth(values[clip_of_row == c], SMOOTHING).mean(axis=0) for c in clips])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("features", help="prefix of the .f32/.json written by examples/tag_features")
    ap.add_argument("--lambda", dest="lam", type=float, default=None, help="L2 strength (default: chosen by grouped CV on train)")
    ap.add_argument("--write", action="store_true", help="update models/tagging/ambience_head.json and taxonomy thresholds")
    args = ap.parse_args()

    index, f = load(args.features)
    clips = index["clips"]
    taxonomy = tomllib.loads(TAXONOMY.read_text())
    names = index["class_names"]
    amb_labels = [l["name"] for l in taxonomy["labels"] if l["kind"] == "ambience"]
    truth = [c["label"] for c in clips]
    present = sorted(set(truth))
    head_labels = [l for l in amb_labels if l in present]
    split = np.array([c["split"] for c in clips])
    speech = np.array([c["speech"] in ("1", "true", "True") for c in clips])
    ids = np.arange(len(clips))
    train_ids, test_ids = ids[split == "train"], ids[split == "test"]
    print(f"{len(clips)} clips ({len(train_ids)} train, {len(test_ids)} test), {len(f['clip'])} patches; "
          f"labels present: {present}")

    # --- Plain mapping (the taxonomy's noisy-or / max over AudioSet classes) ---
    def mapping_scores(scores):
        out = {}
        for l in taxonomy["labels"]:
            if not l["classes"]:
                continue
            idx = [names.index(c) for c in l["classes"]]
            p = scores[:, idx]
            out[l["name"]] = p.max(axis=1) if l["aggregate"] == "max" else 1 - np.prod(1 - p, axis=1)
        return out

    mapped = mapping_scores(f["scores"])
    m_clip = {k: clip_means(v, f["clip"], ids) for k, v in mapped.items()}
    m_pred = [max(amb_labels, key=lambda l: m_clip[l][i]) for i in ids]
    for name, sel in (("train", train_ids), ("test", test_ids)):
        acc = np.mean([m_pred[i] == truth[i] for i in sel])
        f1, per = macro_f1([truth[i] for i in sel], [m_pred[i] for i in sel], present)
        print(f"\nplain mapping, {name}: accuracy {acc:.3f}, macro-F1 {f1:.3f}  " + ", ".join(f"{k} {v:.2f}" for k, v in per.items()))
    print(confusion([truth[i] for i in test_ids], [m_pred[i] for i in test_ids], present))

    # --- Speech threshold: upper quartile of the smoothed per-patch speech score, as in Rust ---
    sp = np.array([np.quantile(smooth(mapped["speech"][f["clip"] == c], 1), 0.75, method="lower") for c in ids])
    cands = np.round(np.arange(0.05, 0.95, 0.01), 2)
    accs = [np.mean((sp[train_ids] >= t) == speech[train_ids]) for t in cands]
    best = float(cands[int(np.argmax(accs))])
    print(f"\nspeech: threshold {best:.2f} maximises train accuracy ({max(accs):.3f}); "
          f"test accuracy {np.mean((sp[test_ids] >= best) == speech[test_ids]):.3f}")
    thresholds = {"speech": best}

    # Mapping thresholds for the ambience labels: best F1 of 'label is the clip's ambience' on train.
    for l in amb_labels:
        if l not in present:
            continue
        s = m_clip[l]
        f1s = []
        for t in cands:
            p = s[train_ids] >= t
            y = np.array([truth[i] == l for i in train_ids])
            tp, fp, fn = np.sum(p & y), np.sum(p & ~y), np.sum(~p & y)
            f1s.append(0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
        thresholds[l] = float(cands[int(np.argmax(f1s))])
        print(f"mapping threshold {l}: {thresholds[l]:.2f} (train F1 {max(f1s):.2f})")

    # --- Head ---
    x = np.concatenate([f["emb"], f["sig"]], axis=1).astype(np.float64)
    row_split = split[f["clip"]]
    tr = row_split == "train"
    mean = x[tr].mean(axis=0)
    std = x[tr].std(axis=0)
    std[std < 1e-6] = 1.0
    xs = (x - mean) / std
    row_label = np.array([truth[c] for c in f["clip"]])

    def fit(rows, lam):
        W, B = [], []
        for l in head_labels:
            y = (row_label[rows] == l).astype(float)
            pos = max(y.mean(), 1e-3)
            w8 = np.where(y > 0, 0.5 / pos, 0.5 / (1 - pos))
            w, b = train_logreg(xs[rows], y, lam, w8)
            W.append(w)
            B.append(b)
        return np.array(W), np.array(B)

    def predict(W, B, rows):
        return 1 / (1 + np.exp(-(xs[rows] @ W.T + B)))

    def clip_pred(W, B, clip_ids):
        rows = np.isin(f["clip"], clip_ids)
        p = predict(W, B, rows)
        cm = clip_means(p, f["clip"][rows], clip_ids)
        return cm, [head_labels[int(np.argmax(r))] for r in cm]

    lam = args.lam
    if lam is None:
        # Grouped CV on train: hold out each source recording in turn.
        sources = np.array([c["source"] for c in clips])
        folds = sorted(set(sources[train_ids]))
        grid = [1e-3, 3e-3, 1e-2, 3e-2, 1e-1]
        scores = []
        for g in grid:
            hits = []
            for k in range(0, len(folds), max(1, len(folds) // 6)):
                hold = set(folds[k:k + max(1, len(folds) // 6)])
                fit_ids = [i for i in train_ids if sources[i] not in hold]
                val_ids = [i for i in train_ids if sources[i] in hold]
                if not val_ids or len({truth[i] for i in fit_ids}) < len(head_labels):
                    continue
                W, B = fit(np.isin(f["clip"], fit_ids), g)
                _, pr = clip_pred(W, B, np.array(val_ids))
                hits += [p == truth[i] for p, i in zip(pr, val_ids)]
            scores.append(np.mean(hits) if hits else 0)
            print(f"  lambda {g:g}: grouped-CV accuracy on train {scores[-1]:.3f}")
        lam = grid[int(np.argmax(scores))]
        print(f"lambda {lam:g} chosen by grouped cross-validation on the train split")

    W, B = fit(tr, lam)
    for name, sel in (("train", train_ids), ("test", test_ids)):
        _, pr = clip_pred(W, B, sel)
        t = [truth[i] for i in sel]
        f1, per = macro_f1(t, pr, present)
        for sub, mask in (("all", None), ("ambience only", False), ("with speech", True)):
            keep = [j for j, i in enumerate(sel) if mask is None or speech[i] == mask]
            if not keep:
                continue
            sf1, _ = macro_f1([t[j] for j in keep], [pr[j] for j in keep], present)
            acc = np.mean([t[j] == pr[j] for j in keep])
            print(f"head, {name}, {sub}: accuracy {acc:.3f}, macro-F1 {sf1:.3f}")
        if name == "test":
            print(confusion(t, pr, present))

    # Head thresholds: a label is listed when its clip probability reaches the threshold; the
    # threshold maximises train F1 of 'label is the clip's ambience'.
    cm, _ = clip_pred(W, B, train_ids)
    head_thr = []
    for j, l in enumerate(head_labels):
        y = np.array([truth[i] == l for i in train_ids])
        f1s = []
        for t in cands:
            p = cm[:, j] >= t
            tp, fp, fn = np.sum(p & y), np.sum(p & ~y), np.sum(~p & y)
            f1s.append(0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
        head_thr.append(float(cands[int(np.argmax(f1s))]))
        print(f"head threshold {l}: {head_thr[-1]:.2f} (train F1 {max(f1s):.2f})")

    if args.write:
        head = {
            "description": "roomtone ambience head: one-vs-rest logistic regression over YAMNet's embedding and signal features; made by scripts/train_tagger.py",
            "labels": head_labels,
            "signal_features": index["signal_features"],
            "embedding_len": int(f["emb"].shape[1]),
            "mean": [round(float(v), 6) for v in mean],
            "scale": [round(float(1 / v), 6) for v in std],
            "weights": [[round(float(v), 6) for v in w] for w in W],
            "bias": [round(float(b), 6) for b in B],
            "thresholds": head_thr,
            "smoothing_patches": SMOOTHING,
            "lambda": lam,
            "trained_on": f"{len(train_ids)} train clips of the development set (scripts/make_devset.py)",
        }
        HEAD.write_text(json.dumps(head) + "\n")
        text = TAXONOMY.read_text()
        for l, t in thresholds.items():
            text = re.sub(rf'(name = "{l}"\nkind = "\w+"\naggregate = "[\w-]+"\nthreshold = )[0-9.]+', rf"\g<1>{t:.2f}", text)
        TAXONOMY.write_text(text)
        print(f"\nwrote {HEAD.relative_to(ROOT)} and thresholds in {TAXONOMY.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
