#!/usr/bin/env python3
"""Leave-one-source-out training and scoring of roomtone's ambience head (nested: nothing chosen on
the clips scored).

    scripts/setup_pytools.sh tagger                     # numpy, pinned, into target/tagger-py
    python3 scripts/make_tagset.py                      # bench-data/tagset/{clips/*.wav,clips.csv}
    cargo run --release --example tag_features -- bench-data/tagset/clips.csv bench-data/tagset/features 2
    PYTHONPATH=target/tagger-py python3 scripts/loso_tagger.py bench-data/tagset/features [--write]
    # only write the head (and check it against the CLI's records made with it):
    PYTHONPATH=target/tagger-py python3 scripts/loso_tagger.py bench-data/tagset/features --models '' --write \
        [--records bench-data/tagset/tag.jsonl]

The features are what `roomtone tag` itself computes per patch (examples/tag_features.rs: YAMNet's
embedding, the signal features and the 521 AudioSet scores), so training and scoring see exactly what
the product sees. A clip's `package` is its source: every clip made from a package's recordings (and
every clip of one synthetic HVAC family) is held out together, and nothing chosen for a fold — the
L2 strength, the thresholds — is chosen on that fold's clips: each outer fold chooses them by an inner
grouped cross-validation over the other packages only.

The decision scored is the one the Rust tagger makes with such a head (src/classify/tagger.rs): a
softmax over the head's labels, one of which, `none`, is "no ambience"; for a head fitted on patches
(`"pooling": "patch"`) the per-patch probabilities, smoothed over ±2 patches, averaged over the clip's
audible patches (level above the taxonomy's silence level); for a head fitted on clips (`"pooling":
"clip"`) the softmax of its mean logits over those patches. The best ambience is the clip's `ambience`
when its score reaches its threshold, else `other` (a clip with 90 % silent patches is `silence`).

Models compared (--models): `current` (the first, one-vs-rest head, from --current-head, scored only on
the sources it was not trained on), `mapping` (the taxonomy's AudioSet class mapping, thresholds chosen the same nested
way), `softmax` (fitted on patches, up to 6 a clip; what --write writes unless --head says otherwise),
`clip` (fitted on clips: each the mean of its audible patches' inputs). Prints, pooled over the outer folds: macro-F1 over
rain, traffic, crowd, hvac, wind (the issue's target), per-class F1 and the confusion matrix, for
ambience alone and with speech over it; the false-ambience rate on negatives (clips of label `none` or
`music`, whose right answer is other/silence); HVAC on real recordings apart from synthetic ones.
With --write, fits the head on every clip (L2 strength and thresholds chosen by the same grouped
cross-validation over all packages) and writes models/tagging/ambience_head.json.
"""
import argparse
import json
import sys
import time
import tomllib
import zlib
from pathlib import Path

import numpy as np

from train_tagger import load, macro_f1  # the feature files' reader and F1, shared

ROOT = Path(__file__).resolve().parent.parent
TAXONOMY = ROOT / "models/tagging/taxonomy.toml"
HEAD = ROOT / "models/tagging/ambience_head.json"
TARGET = ["rain", "traffic", "crowd", "hvac", "wind"]
AMBIENCE = ["rain", "traffic", "crowd", "hvac", "wind", "water", "nature"]
NONE = "none"
SMOOTHING = 2
TRAIN_PATCHES = 6  # patches per clip used for fitting (spread over the clip)
INNER_FOLDS = 3
# Finer where the AudioSet mapping's scores live (a few hundredths), coarser above.
THRESHOLDS = np.array([0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.13, 0.16, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45,
                       0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9])
MAX_FALSE_AMBIENCE = 0.20


def f1_table(truth, pred, labels):
    """F1 per label (the development-set script's figure)."""
    return macro_f1(truth, pred, labels)[1]


def macro(truth, pred, labels=TARGET):
    t = f1_table(truth, pred, labels)
    return sum(t.values()) / len(t)


def confusion(truth, pred, labels):
    names = labels + sorted(set(pred) - set(labels))
    lines = ["| truth \\ called | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for t in labels:
        if t not in truth:
            continue
        lines.append(f"| {t} | " + " | ".join(str(sum(a == t and b == n for a, b in zip(truth, pred))) for n in names) + " |")
    return "\n".join(lines)


class Clips:
    """Per-clip bookkeeping over the patch rows."""

    def __init__(self, index, f, silence_dbfs):
        self.meta = index["clips"]
        n = len(self.meta)
        self.ok = np.array(["error" not in c for c in self.meta])
        order = np.argsort(f["clip"], kind="stable")
        self.rows_of = [[] for _ in range(n)]
        for r in order:
            self.rows_of[f["clip"][r]].append(r)
        self.rows_of = [np.array(r, dtype=np.int64) for r in self.rows_of]
        self.ok &= np.array([len(r) > 0 for r in self.rows_of])
        self.label = np.array([c["label"] for c in self.meta])
        self.speech = np.array([c.get("speech", "0") in ("1", "true", "True") for c in self.meta])
        self.package = np.array([c["package"] for c in self.meta])
        # The package of a second ambience laid underneath, if any: a clip is kept out of training
        # while that package is held out too, so no source is on both sides of a split.
        self.second = np.array([c.get("second_package", "") or "" for c in self.meta])
        self.silent = f["sig"][:, 0] < silence_dbfs
        self.ids = np.flatnonzero(self.ok)

    def truth(self, i):
        return "other" if self.label[i] in (NONE, "music") else self.label[i]


def smooth(v, r=SMOOTHING):
    if r == 0 or len(v) < 2:
        return v
    c = np.cumsum(np.vstack([np.zeros((1, v.shape[1])), v]), axis=0)
    i = np.arange(len(v))
    a, b = np.maximum(i - r, 0), np.minimum(i + r + 1, len(v))
    return (c[b] - c[a]) / (b - a)[:, None]


def clip_scores(clips, probs, ids):
    """Each clip's score per label: smoothed patch probabilities averaged over its audible patches;
    and whether the clip is silence (90 % of its patches silent)."""
    out = np.zeros((len(ids), probs.shape[1]))
    silence = np.zeros(len(ids), dtype=bool)
    for k, i in enumerate(ids):
        rows = clips.rows_of[i]
        p = smooth(probs[rows])
        loud = ~clips.silent[rows]
        silence[k] = loud.mean() <= 0.1
        if loud.any():
            out[k] = p[loud].mean(axis=0)
    return out, silence


def decide(scores, silence, labels, thr):
    """The Rust tagger's call for each clip: silence, the best ambience at or above its threshold,
    or other (as names)."""
    codes = decide_codes(scores, silence, labels, thr)
    return [labels[c] if c >= 0 else ("silence" if c == SILENCE else "other") for c in codes]


OTHER, SILENCE = -1, -2


def decide_codes(scores, silence, labels, thr):
    """`decide` as label indices (OTHER, SILENCE for those), vectorised."""
    amb = np.array([j for j, l in enumerate(labels) if l in AMBIENCE])
    s = scores[:, amb]
    k = np.argmax(s, axis=1)
    best = s[np.arange(len(s)), k]
    j = amb[k]
    ok = (best > 0) & (best >= np.asarray(thr)[j])
    if NONE in labels:
        # The head's "no ambience" wins: other, whatever the thresholds.
        ok &= best > scores[:, labels.index(NONE)]
    return np.where(silence, SILENCE, np.where(ok, j, OTHER))


def macro_codes(truth, pred, classes):
    """Macro-F1 over `classes` (label indices) of integer-coded truth and calls."""
    f1s = []
    for c in classes:
        tp = np.sum((truth == c) & (pred == c))
        fp = np.sum((truth != c) & (pred == c))
        fn = np.sum((truth == c) & (pred != c))
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1s))


def set_max_false_ambience(v):
    global MAX_FALSE_AMBIENCE
    MAX_FALSE_AMBIENCE = v


def tune_thresholds(scores, silence, truth, labels, negatives):
    """Per-label thresholds by coordinate ascent: macro-F1 over the target classes, with the false
    ambience on negatives held at or below MAX_FALSE_AMBIENCE where possible (a penalty of twice
    the excess)."""
    # From the lowest (the best ambience is always named): raising one abstains where it pays.
    thr = np.full(len(labels), THRESHOLDS[0])
    code = {l: j for j, l in enumerate(labels)}
    t_codes = np.array([code.get(t, OTHER) for t in truth])
    targets = [code[l] for l in TARGET]
    neg = np.asarray(negatives, dtype=bool)

    def objective(t):
        pred = decide_codes(scores, silence, labels, t)
        m = macro_codes(t_codes, pred, targets)
        false = np.mean(pred[neg] >= 0) if neg.any() else 0.0
        return m - 2.0 * max(0.0, false - MAX_FALSE_AMBIENCE)

    best = objective(thr)
    for _ in range(3):
        changed = False
        for j, l in enumerate(labels):
            if l not in AMBIENCE:
                continue
            for t in THRESHOLDS:
                trial = thr.copy()
                trial[j] = t
                v = objective(trial)
                if v > best + 1e-9:
                    best, thr, changed = v, trial, True
        if not changed:
            break
    return thr


def standardise(x):
    """Columns' mean and standard deviation (1 where a column is constant), and `x` standardised."""
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std[std < 1e-6] = 1.0
    return mean, std, (x - mean) / std


def adam_softmax(xs, y, k, sw, lam, iters, lr):
    """Weights and biases of an L2-regularised softmax regression of labels `y` (k of them) on the
    standardised rows `xs`, each row weighing `sw`: full-batch Adam from zero, so deterministic."""
    yo = np.zeros((len(y), k), dtype=np.float32)
    yo[np.arange(len(y)), y] = 1
    w = np.zeros((xs.shape[1], k), dtype=np.float32)
    b = np.zeros(k, dtype=np.float32)
    mw, vw, mb, vb = np.zeros_like(w), np.zeros_like(w), np.zeros_like(b), np.zeros_like(b)
    for t in range(1, iters + 1):
        z = xs @ w + b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        g = (p - yo) * sw[:, None]
        gw = xs.T @ g + lam * w
        gb = g.sum(axis=0)
        mw = 0.9 * mw + 0.1 * gw
        vw = 0.999 * vw + 0.001 * gw * gw
        mb = 0.9 * mb + 0.1 * gb
        vb = 0.999 * vb + 0.001 * gb * gb
        w -= lr * (mw / (1 - 0.9**t)) / (np.sqrt(vw / (1 - 0.999**t)) + 1e-8)
        b -= lr * (mb / (1 - 0.9**t)) / (np.sqrt(vb / (1 - 0.999**t)) + 1e-8)
    return {"w": w, "b": b}


class PatchPooled:
    """A model whose clip scores are its smoothed per-patch probabilities averaged over the clip's
    audible patches."""

    def clip_scores(self, m, ids):
        return clip_scores(self.clips, self.probs(m, ids), ids)


class Softmax(PatchPooled):
    """Multinomial logistic regression (L2) over standardised [embedding, signal features], fitted
    on patches."""

    name = "softmax"
    pooling = "patch"
    GRID = [1e-2, 1e-1]

    def __init__(self, f, clips):
        self.x = np.concatenate([f["emb"], f["sig"]], axis=1).astype(np.float32)
        self.clips = clips
        self.labels = AMBIENCE + [NONE]
        self.target = np.array([self.labels.index(l if l in AMBIENCE else NONE) for l in clips.label])
        # Patches used for fitting: up to TRAIN_PATCHES per clip, spread evenly.
        self.train_rows = {}
        for i in clips.ids:
            rows = clips.rows_of[i]
            pick = np.unique(np.linspace(0, len(rows) - 1, min(TRAIN_PATCHES, len(rows))).round().astype(int))
            self.train_rows[i] = rows[pick]

    def fit(self, ids, lam, iters=200, lr=0.08):
        rows = np.concatenate([self.train_rows[i] for i in ids])
        clip_of = np.concatenate([np.full(len(self.train_rows[i]), i) for i in ids])
        y = self.target[clip_of]
        x = self.x[rows]
        mean, std, xs = standardise(x)
        k = len(self.labels)
        # Each class weighs the same in all; within it each clip the same, whatever its patches.
        counts = np.bincount(self.target[ids], minlength=k).astype(np.float64)
        per_clip = np.array([len(self.train_rows[i]) for i in ids])
        w_clip = 1.0 / (counts[self.target[ids]] * per_clip)
        sw = np.repeat(w_clip, per_clip)
        sw = (sw / sw.sum()).astype(np.float32)
        return {"mean": mean, "std": std, "lam": lam, **adam_softmax(xs, y, k, sw, lam, iters, lr)}

    def probs(self, model, ids):
        rows = np.concatenate([self.clips.rows_of[i] for i in ids])
        z = ((self.x[rows] - model["mean"]) / model["std"]) @ model["w"] + model["b"]
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        full = np.zeros((len(self.x), len(self.labels)), dtype=np.float32)
        full[rows] = p
        return full


class ClipSoftmax(Softmax):
    """The same regression fitted on clips: each clip is the mean of its audible patches' [embedding,
    signal features] (all its patches when none is audible), and the clip's probabilities are the
    softmax of the head's mean logits over those patches. The head is linear, so the Rust tagger
    makes the same call by averaging each patch's logits (`"pooling": "clip"`); a patch alone (the
    timeline) is scored as before."""

    name = "clip"
    pooling = "clip"
    GRID = [0.03, 0.1, 0.3]

    def __init__(self, f, clips):
        super().__init__(f, clips)
        self.means = np.zeros((len(clips.meta), self.x.shape[1]), dtype=np.float32)
        for i in clips.ids:
            rows = clips.rows_of[i]
            loud = ~clips.silent[rows]
            self.means[i] = self.x[rows[loud] if loud.any() else rows].mean(axis=0)

    def fit(self, ids, lam, iters=300, lr=0.05):
        x = self.means[ids]
        y = self.target[ids]
        mean, std, xs = standardise(x)
        k = len(self.labels)
        # Each class weighs the same in all, each clip the same within its class.
        counts = np.bincount(y, minlength=k).astype(np.float64)
        sw = 1.0 / counts[y]
        sw = (sw / sw.sum()).astype(np.float32)
        return {"mean": mean, "std": std, "lam": lam, **adam_softmax(xs, y, k, sw, lam, iters, lr)}

    def clip_scores(self, m, ids):
        z = ((self.means[ids] - m["mean"]) / m["std"]) @ m["w"] + m["b"]
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        silence = np.array([(~self.clips.silent[self.clips.rows_of[i]]).mean() <= 0.1 for i in ids])
        return p, silence


class Mapping(PatchPooled):
    """The taxonomy's AudioSet class mapping: nothing fitted, thresholds chosen the nested way."""

    name = "mapping"
    GRID = [None]

    def __init__(self, f, clips, taxonomy, class_names):
        self.clips = clips
        self.labels = AMBIENCE
        cols = []
        for l in AMBIENCE:
            spec = next(t for t in taxonomy["labels"] if t["name"] == l)
            idx = [class_names.index(c) for c in spec["classes"]]
            p = f["scores"][:, idx]
            cols.append(p.max(axis=1) if spec["aggregate"] == "max" else 1 - np.prod(1 - p, axis=1))
        self.p = np.stack(cols, axis=1)

    def fit(self, ids, lam):
        return {"lam": None}

    def probs(self, model, ids):
        return self.p


class Current:
    """The first head (one-vs-rest, trained on the development set's four packages by
    scripts/train_tagger.py) as it is, read from a file (`--current-head`; it was committed until
    2026-11-30: `git show dffb62f:models/tagging/ambience_head.json`), with its own thresholds and
    accept fraction: nothing fitted or chosen here. Scored only on the packages it was not trained on
    (DEVSET_PACKAGES)."""

    name = "current"

    def __init__(self, f, clips, path):
        h = json.loads(Path(path).read_text())
        self.head = h
        self.labels = h["labels"]
        x = np.concatenate([f["emb"], f["sig"]], axis=1).astype(np.float32)
        z = ((x - np.array(h["mean"], dtype=np.float32)) * np.array(h["scale"], dtype=np.float32)) \
            @ np.array(h["weights"], dtype=np.float32).T + np.array(h["bias"], dtype=np.float32)
        if h.get("activation", "sigmoid") == "softmax":
            z = np.exp(z - z.max(axis=1, keepdims=True))
            self.p = z / z.sum(axis=1, keepdims=True)
        else:
            self.p = 1 / (1 + np.exp(-z))
        accept = h.get("accept_fraction", 0.5)
        self.thr = np.array([t * accept if l in AMBIENCE else 1.0 for l, t in zip(self.labels, h["thresholds"])])


# What the committed one-vs-rest head was trained on (scripts/make_devset.py).
DEVSET_PACKAGES = ["0ad-data", "openttd-opensfx", "supertuxkart-data", "tuxpaint-stamps-default"]


def grouped_folds(packages, k):
    """Packages into k groups of nearly equal size: ordered by a hash of the name (stable, and not
    alphabetical, so that related names spread), then dealt round-robin."""
    groups = [[] for _ in range(k)]
    for n, p in enumerate(sorted(set(packages), key=lambda p: (zlib.crc32(p.encode()), p))):
        groups[n % k].append(p)
    return [g for g in groups if g]


def trainable(clips, ids, held):
    """The clips of `ids` that may be trained on while the packages `held` are held out: neither
    their own package nor the one of the ambience laid under them is held out."""
    held = list(held)
    return ids[~np.isin(clips.package[ids], held) & ~np.isin(clips.second[ids], held)]


def choose(model, clips, ids, grid):
    """L2 strength and thresholds for a training part, by grouped cross-validation over its
    packages: out-of-fold clip scores for each strength; the best strength's thresholds."""
    folds = grouped_folds(clips.package[ids], INNER_FOLDS)
    truth = [clips.truth(i) for i in ids]
    negatives = [clips.truth(i) == "other" for i in ids]
    best = None
    for lam in grid:
        scores = np.zeros((len(ids), len(model.labels)))
        silence = np.zeros(len(ids), dtype=bool)
        for g in folds:
            val = np.isin(clips.package[ids], g)
            m = model.fit(trainable(clips, ids, g), lam)
            s, sil = model.clip_scores(m, ids[val])
            scores[val], silence[val] = s, sil
        thr = tune_thresholds(scores, silence, truth, model.labels, negatives)
        value = macro(truth, decide(scores, silence, model.labels, thr))
        if best is None or value > best[0]:
            best = (value, lam, thr)
        if lam is None:
            break
    return best[1], best[2], best[0]


def report(title, clips, ids, pred):
    truth = [clips.truth(i) for i in ids]
    print(f"\n### {title}\n")
    print("| clips | n | accuracy | macro-F1 (5) | " + " | ".join(TARGET + ["water", "nature"]) + " |")
    print("|---|---:|---:|---:|" + "---:|" * 7)
    for name, keep in (("ambience alone", ~clips.speech[ids]), ("with speech over it", clips.speech[ids]),
                       ("all", np.ones(len(ids), dtype=bool))):
        sel = [j for j in range(len(ids)) if keep[j] and truth[j] != "other"]
        if not sel:
            continue
        t, p = [truth[j] for j in sel], [pred[j] for j in sel]
        per = f1_table(t, p, TARGET + ["water", "nature"])
        acc = np.mean([a == b for a, b in zip(t, p)])
        print(f"| {name} | {len(sel)} | {acc:.3f} | {macro(t, p):.3f} | " + " | ".join(f"{per[l]:.2f}" for l in per) + " |")
    neg = [j for j in range(len(ids)) if truth[j] == "other"]
    if neg:
        false = [pred[j] for j in neg if pred[j] in AMBIENCE]
        print(f"\nFalse ambience on {len(neg)} negatives (none/music): {len(false) / len(neg):.1%} "
              f"({len(false)}; called {', '.join(f'{l} {false.count(l)}' for l in sorted(set(false)))})")
    hv = [j for j in range(len(ids)) if truth[j] == "hvac"]
    real = [j for j in hv if not clips.package[ids[j]].startswith("synth-")]
    synth = [j for j in hv if clips.package[ids[j]].startswith("synth-")]
    for name, sel in (("real", real), ("synthetic", synth)):
        if sel:
            print(f"HVAC, {name} recordings: {np.mean([pred[j] == 'hvac' for j in sel]):.2f} called hvac ({len(sel)} clips)")
    print("\nConfusion (all clips):\n")
    print(confusion(truth, pred, AMBIENCE + ["other"]))


def speech_report(clips, ids, f, taxonomy, class_names):
    """`speech` as the tagger decides it (the upper quartile of the smoothed per-patch speech score of
    the taxonomy's mapping against its threshold; nothing here is fitted): accuracy over all clips,
    and on crowds without dialogue how often babble is called speech."""
    spec = next(t for t in taxonomy["labels"] if t["kind"] == "speech")
    idx = [class_names.index(c) for c in spec["classes"]]
    p = f["scores"][:, idx]
    per_patch = p.max(axis=1) if spec["aggregate"] == "max" else 1 - np.prod(1 - p, axis=1)
    called = np.zeros(len(ids), dtype=bool)
    for k, i in enumerate(ids):
        v = smooth(per_patch[clips.rows_of[i]][:, None], 1)[:, 0]
        called[k] = np.sort(v)[(len(v) - 1) * 3 // 4] >= spec["threshold"]
    truth = clips.speech[ids]
    crowd = (clips.label[ids] == "crowd") & ~truth
    print("\n### speech (the taxonomy's mapping and threshold, nothing fitted)\n")
    print(f"accuracy over {len(ids)} clips: {np.mean(called == truth):.3f}; "
          f"precision {np.sum(called & truth) / max(1, np.sum(called)):.3f}, recall {np.sum(called & truth) / max(1, np.sum(truth)):.3f}")
    if crowd.any():
        print(f"crowds without dialogue ({crowd.sum()} clips): called speech {np.mean(called[crowd]):.1%}")


def records_report(clips, path):
    """What `roomtone tag --format jsonl` itself said of the clips (records matched by path): speech
    as the product decides it (with dialogue regions: whether there are any) scored like
    speech_report, and the ambience calls of the head it ran with."""
    by_path = {c["path"]: i for i, c in enumerate(clips.meta)}
    called, truth, crowd, amb = [], [], [], []
    other_named = other = 0
    neg_named_s = neg_s = 0.0
    for line in Path(path).read_text().splitlines():
        r = json.loads(line)
        p = r["path"].replace("\\", "/")
        i = by_path.get(p[p.find("clips/"):])
        if i is None or "error" in r:
            continue
        named = [g for g in r["segments"] if g["label"] in AMBIENCE]
        if r["ambience"] == "other":
            other += 1
            other_named += bool(named)
        if clips.truth(i) == "other":
            neg_s += r["duration_s"]
            neg_named_s += sum(g["end_s"] - g["start_s"] for g in named)
        called.append(bool(r["speech"]))
        truth.append(bool(clips.speech[i]))
        crowd.append(clips.label[i] == "crowd" and not clips.speech[i])
        amb.append((i, r["ambience"]))
    called, truth, crowd = np.array(called), np.array(truth), np.array(crowd)
    print(f"\n### `roomtone tag` records ({path}): {len(called)} clips\n")
    print(f"speech: accuracy {np.mean(called == truth):.3f}; precision {np.sum(called & truth) / max(1, np.sum(called)):.3f}, "
          f"recall {np.sum(called & truth) / max(1, np.sum(truth)):.3f}; crowds without dialogue ({crowd.sum()} clips) "
          f"called speech {np.mean(called[crowd]):.1%}")
    print(f"timeline: {other_named} of the {other} clips called other name an ambience in their segments; "
          f"{neg_named_s / max(neg_s, 1e-9):.1%} of the negatives' time is under an ambience segment")
    return dict(amb)


def write_head(path, model, m, thr, index, f, lam, trained_on):
    head = {
        "description": f"roomtone ambience head: softmax regression over YAMNet's embedding and signal features, "
                       f"fitted on {'clips (means of their audible patches)' if model.pooling == 'clip' else 'patches'}, "
                       "with 'none' for no ambience; L2 strength and thresholds chosen by grouped cross-validation "
                       "over source packages; made by scripts/loso_tagger.py",
        "labels": model.labels,
        "signal_features": index["signal_features"],
        "embedding_len": int(f["emb"].shape[1]),
        "mean": [round(float(v), 6) for v in m["mean"]],
        "scale": [round(float(1 / v), 6) for v in m["std"]],
        "weights": [[round(float(v), 6) for v in col] for col in m["w"].T],
        "bias": [round(float(v), 6) for v in m["b"]],
        "thresholds": [float(t) if l in AMBIENCE else 1.0 for l, t in zip(model.labels, thr)],
        "smoothing_patches": SMOOTHING,
        "activation": "softmax",
        "pooling": model.pooling,
        "abstain_label": NONE,
        "accept_fraction": 1.0,
        "lambda": lam,
        "trained_on": trained_on,
    }
    Path(path).write_text(json.dumps(head) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("features", help="prefix of the .f32/.json written by examples/tag_features")
    ap.add_argument("--models", default="mapping,softmax,clip",
                    help="models to score, of current, mapping, softmax, clip (default mapping,softmax,clip)")
    ap.add_argument("--current-head", metavar="FILE", help="the first head's file, for --models current")
    ap.add_argument("--head", default="softmax", choices=["softmax", "clip"],
                    help="the model --write and --group-heads write (default softmax); `--models '' --write` "
                         "writes it without scoring anything first")
    ap.add_argument("--max-false-ambience", type=float, default=MAX_FALSE_AMBIENCE,
                    help="the false-ambience rate on the negatives of the inner folds that the thresholds hold to where "
                         "they can (default 0.20: inner folds hold out a third of the sources, so their scores are "
                         "worse than a head's on one new source; 0.20 gave 7.8 %% on the held-out sources, 0.10 gave "
                         "4.2 %% at a lower F1; 1 = thresholds for macro-F1 alone, 12.1 %%)")
    ap.add_argument("--records", metavar="JSONL",
                    help="also score `roomtone tag --format jsonl` output over the clips (speech as the product decides it; "
                         "with --write, how often its ambience agrees with this script's call for the head written, "
                         "when the records were made with that head)")
    ap.add_argument("--write", action="store_true", help="fit on all clips and write models/tagging/ambience_head.json")
    ap.add_argument("--group-heads", metavar="DIR",
                    help="also write DIR/group-K/ambience_head.json, each trained without one of 5 groups of packages "
                         "(listed in DIR/group-K/packages.txt), for scripts/eval_timeline.py")
    args = ap.parse_args()
    set_max_false_ambience(args.max_false_ambience)
    t0 = time.time()
    index, f = load(args.features)
    taxonomy = tomllib.loads(TAXONOMY.read_text())
    clips = Clips(index, f, taxonomy.get("silence_dbfs", -60.0))
    ids = clips.ids
    packages = sorted(set(clips.package[ids]))
    print(f"{len(ids)} clips from {len(packages)} sources ({len(clips.meta) - len(ids)} unreadable), "
          f"{len(f['clip'])} patches")
    speech_report(clips, ids, f, taxonomy, index["class_names"])
    records = records_report(clips, args.records) if args.records else None
    if "current" in args.models.split(","):
        if not args.current_head:
            sys.exit("loso_tagger.py: --models current needs --current-head FILE (the first head: "
                     "git show dffb62f:models/tagging/ambience_head.json > FILE)")
        cur = Current(f, clips, args.current_head)
        unseen = ids[~np.isin(clips.package[ids], DEVSET_PACKAGES)]
        s, sil = clip_scores(clips, cur.p, unseen)
        report(f"the first head (one-vs-rest, trained on {', '.join(DEVSET_PACKAGES)}): "
               f"the {len(unseen)} clips of the other {len(set(clips.package[unseen]))} sources",
               clips, unseen, decide(s, sil, cur.labels, cur.thr))
    make = {"softmax": lambda: Softmax(f, clips), "clip": lambda: ClipSoftmax(f, clips),
            "mapping": lambda: Mapping(f, clips, taxonomy, index["class_names"])}
    for name in [m for m in args.models.split(",") if m not in ("current", "")]:
        model = make[name]()
        grid = model.GRID
        pred = [None] * len(ids)
        chosen = []
        for p in packages:
            test = clips.package[ids] == p
            train = trainable(clips, ids, [p])
            lam, thr, inner = choose(model, clips, train, grid)
            m = model.fit(train, lam)
            s, sil = model.clip_scores(m, ids[test])
            for j, c in zip(np.flatnonzero(test), decide(s, sil, model.labels, thr)):
                pred[j] = c
            chosen.append(lam)
            print(f"  {name}: held out {p} ({test.sum()} clips): lambda {lam}, inner macro-F1 {inner:.3f} "
                  f"[{time.time() - t0:.0f} s]", file=sys.stderr, flush=True)
        report(f"{name}: leave-one-source-out ({len(packages)} sources, nested)", clips, ids, pred)
        if "current" in args.models.split(","):
            keep = ~np.isin(clips.package[ids], DEVSET_PACKAGES)
            report(f"{name}: the same, on the {keep.sum()} clips the committed head never saw (for comparison)",
                   clips, ids[keep], [c for c, k in zip(pred, keep) if k])
        if name != "mapping":
            print(f"\nL2 strength chosen per fold: {', '.join(f'{l:g}' for l in chosen)}")
    if args.group_heads or args.write:
        model = make[args.head]()
        grid = model.GRID
    if args.group_heads:
        # Heads for the timeline evaluation (scripts/eval_timeline.py): each trained without a
        # group of packages, whose clips it is then run on.
        out = Path(args.group_heads)
        for k, group in enumerate(grouped_folds(clips.package[ids], 5)):
            train = trainable(clips, ids, group)
            lam, thr, inner = choose(model, clips, train, grid)
            m = model.fit(train, lam)
            d = out / f"group-{k}"
            d.mkdir(parents=True, exist_ok=True)
            write_head(d / "ambience_head.json", model, m, thr, index, f, lam,
                       f"{len(train)} clips, without the packages {', '.join(group)}")
            (d / "packages.txt").write_text("\n".join(group) + "\n")
            print(f"  head without {', '.join(group)}: lambda {lam:g}, inner macro-F1 {inner:.3f}", file=sys.stderr)
    if args.write:
        lam, thr, inner = choose(model, clips, ids, grid)
        m = model.fit(ids, lam)
        write_head(HEAD, model, m, thr, index, f, lam, f"{len(ids)} clips from {len(packages)} sources (scripts/make_tagset.py)")
        print(f"\nwrote {HEAD.relative_to(ROOT)} (lambda {lam:g}, grouped-CV macro-F1 {inner:.3f})")
        if records:
            s, sil = model.clip_scores(m, ids)
            mine = dict(zip(ids, decide(s, sil, model.labels, thr)))
            same = [records[i] == mine[i] for i in records if i in mine]
            print(f"the records' ambience agrees with this head's call on {np.mean(same):.1%} of {len(same)} clips")
    print(f"\n{time.time() - t0:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
