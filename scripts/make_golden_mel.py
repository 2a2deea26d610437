#!/usr/bin/env python3
"""Golden reference numbers for roomtone's log-mel front end.

Writes small raw little-endian f32 files plus a JSON sidecar into tests/data/
(see `mel_golden.json` for the list of cases and their parameters).

Semantics reproduced (torchaudio.transforms.MelSpectrogram with center=False,
the YAMNet front end as used by the `sead` package), all computed in float64:

  * input x: mono samples at rate sr (stored as f32; the f32 values are what
    is transformed, so Rust reads exactly the same samples);
  * frame k covers x[k*hop : k*hop + n_fft]; n_frames = 1 + (len - n_fft) // hop
    (0 if len < n_fft); no centre padding;
  * window: periodic Hann of length win_length
    (scipy.signal.get_window('hann', win_length, fftbins=True)), zero-padded to
    n_fft with (n_fft - win_length) // 2 zeros on the left (torch.stft rule);
  * S[k, f] = |rfft(frame_k * window, n_fft)[f]| ** power;
  * fb = librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk=(scale == "htk"),
    norm=None or "slaney", dtype=float64)   (shape n_mels x (n_fft/2 + 1));
  * log_mel[k, m] = ln(sum_f fb[m, f] * S[k, f] + log_offset).

The script also cross-checks itself against librosa.feature.melspectrogram
(center=False) and against an independent numpy port of torchaudio's
melscale_fbanks, and prints the agreement.

Install (versions used to produce the committed files; Python 3.11):

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install \
        numpy==2.4.6 scipy==1.17.1 librosa==0.11.0 soundfile==0.14.0

Case "yamnet_real" needs a real recording: rain_11.ogg from the Debian package
0ad-data (version 0.0.26-1, CC-BY-SA-3.0). Get it without installing the game:

    apt-get download 0ad-data=0.0.26-1 && dpkg -x 0ad-data_0.0.26-1_all.deb /tmp/0ad
    # the ogg lives inside usr/share/games/0ad/mods/public/public.zip

Regenerate (from the repo root):

    /tmp/venv/bin/python scripts/make_golden_mel.py \
        --zip /tmp/0ad/usr/share/games/0ad/mods/public/public.zip

(`--rain PATH/TO/rain_11.ogg` works instead of `--zip`.) The synthetic cases
are bit-for-bit reproducible; the real case depends on the Vorbis decoder in
libsndfile, so regenerated numbers may differ in the last bits, which is
harmless because the committed input file is what the Rust tests read.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import zipfile

import numpy as np
import scipy.signal

RAIN_MEMBER = "audio/ambient/weather/rain_11.ogg"
RAIN_OFFSET_S = 30.0  # where the 1 s excerpt starts in rain_11.ogg (44.1 kHz)
RAIN_LEN_S = 1.0


# --------------------------------------------------------------------------
# test signals
# --------------------------------------------------------------------------

def signal_yamnet(sr: int = 16000, seconds: float = 1.0) -> np.ndarray:
    """Sines (one on an FFT bin, two off-bin), a linear chirp and -30 dBFS noise."""
    rng = np.random.default_rng(20240601)
    n = int(round(sr * seconds))
    t = np.arange(n) / sr
    x = (
        0.20 * np.sin(2 * np.pi * 1000.0 * t)             # exactly bin 32 of 512 @ 16 kHz
        + 0.15 * np.sin(2 * np.pi * 440.0 * t + 0.3)      # bin 14.08: off-bin
        + 0.10 * np.sin(2 * np.pi * 3137.7 * t + 1.1)     # bin 100.41: off-bin
        + 0.20 * scipy.signal.chirp(t, f0=150.0, t1=seconds, f1=7000.0, method="linear")
        + 10 ** (-30 / 20) * rng.standard_normal(n)       # white noise, RMS -30 dBFS
    )
    # a 50 ms fade-in so frame 0 differs from the rest
    fade = np.minimum(1.0, t / 0.05)
    x = x * fade
    x = x / np.max(np.abs(x)) * 0.85                      # peak 0.85 < 0.9
    return x.astype(np.float32)


def signal_slaney(sr: int = 22050, seconds: float = 0.5) -> np.ndarray:
    """Low sine, off-bin sine with AM, exponential chirp, clicks and -30 dBFS noise."""
    rng = np.random.default_rng(424242)
    n = int(round(sr * seconds))
    t = np.arange(n) / sr
    am = 0.5 * (1 + np.sin(2 * np.pi * 4.0 * t))
    x = (
        0.25 * np.sin(2 * np.pi * 100.0 * t)
        + 0.20 * am * np.sin(2 * np.pi * 2500.5 * t + 0.7)
        + 0.15 * scipy.signal.chirp(t, f0=60.0, t1=seconds, f1=10000.0, method="logarithmic")
        + 10 ** (-30 / 20) * rng.standard_normal(n)
    )
    for pos in (0.1, 0.27, 0.41):                         # three clicks
        x[int(pos * sr)] += 0.3
    x = x / np.max(np.abs(x)) * 0.8
    return x.astype(np.float32)


def signal_rain(rain_bytes: bytes) -> tuple[np.ndarray, dict]:
    import soundfile as sf
    from math import gcd

    y, sr_in = sf.read(io.BytesIO(rain_bytes), dtype="float64", always_2d=True)
    start = int(round(RAIN_OFFSET_S * sr_in))
    # take a little extra on both sides so the polyphase filter has context
    pad = int(0.05 * sr_in)
    seg = y[start - pad: start + int(round(RAIN_LEN_S * sr_in)) + pad]
    mono = seg.mean(axis=1)                               # downmix (L + R) / 2
    g = gcd(16000, sr_in)
    res = scipy.signal.resample_poly(mono, 16000 // g, sr_in // g)
    pad16 = int(round(pad * 16000 / sr_in))
    x = res[pad16: pad16 + int(round(RAIN_LEN_S * 16000))]
    info = {
        "source_package": "0ad-data 0.0.26-1 (Debian), CC-BY-SA-3.0",
        "source_member": "usr/share/games/0ad/mods/public/public.zip :: " + RAIN_MEMBER,
        "source_sha256": hashlib.sha256(rain_bytes).hexdigest(),
        "source_rate": sr_in,
        "source_channels": y.shape[1],
        "excerpt_start_s": RAIN_OFFSET_S,
        "processing": f"downmix (L+R)/2, scipy.signal.resample_poly(up={16000 // g}, down={sr_in // g}) "
                      f"with 50 ms context each side, then cut {RAIN_LEN_S} s; no gain change",
    }
    return x.astype(np.float32), info


# --------------------------------------------------------------------------
# the front end, float64
# --------------------------------------------------------------------------

def padded_window(win_length: int, n_fft: int) -> np.ndarray:
    w = scipy.signal.get_window("hann", win_length, fftbins=True).astype(np.float64)
    left = (n_fft - win_length) // 2
    out = np.zeros(n_fft, dtype=np.float64)
    out[left: left + win_length] = w
    return out


def frames_of(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    n = 0 if len(x) < n_fft else 1 + (len(x) - n_fft) // hop
    idx = np.arange(n)[:, None] * hop + np.arange(n_fft)[None, :]
    return x.astype(np.float64)[idx]


def spectrum(x, n_fft, win_length, hop, power):
    fr = frames_of(x, n_fft, hop) * padded_window(win_length, n_fft)[None, :]
    return np.abs(np.fft.rfft(fr, n=n_fft, axis=1)) ** power  # (frames, n_fft/2+1)


def mel_fb(sr, n_fft, n_mels, fmin, fmax, scale, norm):
    import librosa
    return librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax,
                               htk=(scale == "htk"), norm=norm, dtype=np.float64)


def torchaudio_fb_numpy(sr, n_fft, n_mels, fmin, fmax, scale, norm):
    """Independent port of torchaudio.functional.melscale_fbanks (returns n_mels x n_freqs)."""
    n_freqs = n_fft // 2 + 1
    all_freqs = np.linspace(0, sr // 2, n_freqs)

    def hz_to_mel(f):
        if scale == "htk":
            return 2595.0 * np.log10(1.0 + f / 700.0)
        f_sp = 200.0 / 3
        min_log_hz, logstep = 1000.0, np.log(6.4) / 27.0
        min_log_mel = min_log_hz / f_sp
        f = np.asarray(f, dtype=np.float64)
        return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-12) / min_log_hz) / logstep, f / f_sp)

    def mel_to_hz(m):
        if scale == "htk":
            return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
        f_sp = 200.0 / 3
        min_log_hz, logstep = 1000.0, np.log(6.4) / 27.0
        min_log_mel = min_log_hz / f_sp
        return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)

    m_pts = np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2)
    f_pts = mel_to_hz(m_pts)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts[None, :] - all_freqs[:, None]
    down = -slopes[:, :-2] / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    fb = np.maximum(0.0, np.minimum(down, up))
    if norm == "slaney":
        fb *= (2.0 / (f_pts[2: n_mels + 2] - f_pts[:n_mels]))[None, :]
    return fb.T


# --------------------------------------------------------------------------

def write_f32(path: str, arr: np.ndarray) -> str:
    data = np.ascontiguousarray(arr, dtype="<f4").tobytes()
    with open(path, "wb") as fh:
        fh.write(data)
    return hashlib.sha256(data).hexdigest()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zip", help="0ad-data's public.zip (contains %s)" % RAIN_MEMBER)
    ap.add_argument("--rain", help="path to an extracted rain_11.ogg (alternative to --zip)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data"))
    args = ap.parse_args()
    if not (args.zip or args.rain):
        ap.error("need --zip or --rain for the yamnet_real case")
    if args.rain:
        rain_bytes = open(args.rain, "rb").read()
    else:
        with zipfile.ZipFile(args.zip) as z:
            rain_bytes = z.read(RAIN_MEMBER)

    import librosa

    out = os.path.normpath(args.out)
    os.makedirs(out, exist_ok=True)

    yamnet = dict(sample_rate=16000, win_length=400, hop_length=160, n_fft=512, n_mels=64,
                  f_min=125.0, f_max=7500.0, mel_scale="htk", norm=None, power=1.0, log_offset=0.001)
    slaney = dict(sample_rate=22050, win_length=1024, hop_length=256, n_fft=1024, n_mels=40,
                  f_min=0.0, f_max=11025.0, mel_scale="slaney", norm="slaney", power=2.0, log_offset=1e-10)

    rain, rain_info = signal_rain(rain_bytes)
    cases = [
        ("yamnet", yamnet, signal_yamnet(), "synthetic: sines 1000 Hz (on bin), 440 Hz and 3137.7 Hz (off bin), "
         "linear chirp 150->7000 Hz, white noise -30 dBFS RMS (numpy default_rng seed 20240601), "
         "50 ms linear fade-in, normalised to peak 0.85", None),
        ("slaney", slaney, signal_slaney(), "synthetic: 100 Hz sine, 2500.5 Hz sine with 4 Hz AM, "
         "log chirp 60->10000 Hz, three clicks, white noise -30 dBFS RMS (seed 424242), peak 0.8", None),
        ("yamnet_real", yamnet, rain, "real: 1.0 s of rain (0ad-data rain_11.ogg from 30.0 s), "
         "downmixed and resampled to 16 kHz", rain_info),
    ]

    meta = {
        "description": "Golden log-mel numbers for roomtone's front end. Generated by scripts/make_golden_mel.py.",
        "semantics": [
            "all files are raw little-endian float32, row-major",
            "input: mono samples; the f32 values are the exact input",
            "frame k = input[k*hop_length : k*hop_length + n_fft]; n_frames = 1 + (len - n_fft) // hop_length (0 if len < n_fft); no centre padding",
            "window = periodic Hann(win_length) (scipy get_window('hann', win_length, fftbins=True)), "
            "zero-padded to n_fft with (n_fft - win_length)//2 zeros on the left",
            "spec[k, f] = |rfft(frame_k * window)[f]| ** power, f in 0..n_fft/2",
            "fb = librosa.filters.mel(sr, n_fft, n_mels, f_min, f_max, htk=(mel_scale=='htk'), norm) "
            "(== torchaudio melscale_fbanks transposed), shape n_mels x (n_fft/2+1)",
            "log_mel[k, m] = ln(sum_f fb[m, f] * spec[k, f] + log_offset), shape n_frames x n_mels",
            "reference computed in float64, stored as float32",
            "frame0_magnitude = |rfft(frame_0 * window)| (power 1, i.e. magnitude, whatever the case's power)",
        ],
        "tools": {"numpy": np.__version__, "scipy": scipy.__version__, "librosa": librosa.__version__},
        "cases": [],
    }

    fb_written = {}
    for name, p, x, desc, extra in cases:
        sr, n_fft, win, hop = p["sample_rate"], p["n_fft"], p["win_length"], p["hop_length"]
        S = spectrum(x, n_fft, win, hop, p["power"])
        fb = mel_fb(sr, n_fft, p["n_mels"], p["f_min"], p["f_max"], p["mel_scale"], p["norm"])
        mel = S @ fb.T
        logmel = np.log(mel + p["log_offset"])
        mag0 = np.abs(np.fft.rfft(frames_of(x, n_fft, hop)[0] * padded_window(win, n_fft)))

        # ---- cross-checks -------------------------------------------------
        lib = librosa.feature.melspectrogram(
            y=x.astype(np.float64), sr=sr, n_fft=n_fft, hop_length=hop, win_length=win, window="hann",
            center=False, power=p["power"], n_mels=p["n_mels"], fmin=p["f_min"], fmax=p["f_max"],
            htk=(p["mel_scale"] == "htk"), norm=p["norm"], dtype=np.float64).T
        lib_log = np.log(lib + p["log_offset"])
        ta_fb = torchaudio_fb_numpy(sr, n_fft, p["n_mels"], p["f_min"], p["f_max"], p["mel_scale"], p["norm"])
        # what Rust sees after the f32 round trip
        logmel32 = logmel.astype(np.float32).astype(np.float64)
        # the same pipeline in float32 throughout: a hint for the Rust test tolerance
        fr32 = frames_of(x, n_fft, hop).astype(np.float32) * padded_window(win, n_fft).astype(np.float32)[None, :]
        S32 = np.abs(np.fft.rfft(fr32, n=n_fft, axis=1)).astype(np.float32) ** np.float32(p["power"])
        log32 = np.log(S32 @ fb.astype(np.float32).T + np.float32(p["log_offset"]))
        checks = {
            "float32_pipeline_max_abs_diff_logmel": float(np.max(np.abs(log32.astype(np.float64) - logmel))),
            "librosa_melspectrogram_max_abs_diff_logmel": float(np.max(np.abs(lib_log - logmel))),
            "librosa_melspectrogram_max_rel_diff_mel": float(np.max(np.abs(lib - mel) / np.maximum(mel, 1e-30))),
            "torchaudio_fbank_port_max_abs_diff": float(np.max(np.abs(ta_fb - fb))),
            "f32_storage_max_abs_err_logmel": float(np.max(np.abs(logmel32 - logmel))),
        }

        files = {}
        sums = {}
        for key, arr in (("input", x), ("log_mel", logmel), ("frame0_magnitude", mag0)):
            fn = f"mel_{name}_{key}.f32"
            sums[fn] = write_f32(os.path.join(out, fn), arr)
            files[key] = fn
        fb_key = (sr, n_fft, p["n_mels"], p["f_min"], p["f_max"], p["mel_scale"], p["norm"])
        if name == "yamnet":  # the filterbank that matters; shared with yamnet_real
            fn = "mel_yamnet_fbank.f32"
            sums[fn] = write_f32(os.path.join(out, fn), fb)
            fb_written[fb_key] = fn
        if fb_key in fb_written:
            files["fbank"] = fb_written[fb_key]

        case = {
            "name": name,
            "description": desc,
            "params": p,
            "input_len": int(len(x)),
            "n_frames": int(logmel.shape[0]),
            "shapes": {"input": [int(len(x))], "log_mel": [int(logmel.shape[0]), int(logmel.shape[1])],
                       "frame0_magnitude": [int(mag0.shape[0])],
                       **({"fbank": [int(fb.shape[0]), int(fb.shape[1])]} if "fbank" in files else {})},
            "files": files,
            "sha256": sums,
            "stats": {
                "input_peak": float(np.max(np.abs(x))),
                "log_mel_min": float(logmel.min()),
                "log_mel_max": float(logmel.max()),
                "log_mel_max_abs": float(np.max(np.abs(logmel))),
                "frame0_magnitude_max": float(mag0.max()),
            },
            "checks": checks,
        }
        if extra:
            case["source"] = extra
        meta["cases"].append(case)

        print(f"{name:12s} input {len(x)} samples peak {np.max(np.abs(x)):.4f}  "
              f"log_mel shape {logmel.shape} max|.| {np.max(np.abs(logmel)):.6f} "
              f"(min {logmel.min():.4f}, max {logmel.max():.4f})")
        for k, v in checks.items():
            print(f"{'':12s} {k}: {v:.3e}")

    with open(os.path.join(out, "mel_golden.json"), "w") as fh:
        json.dump(meta, fh, indent=2)
        fh.write("\n")
    total = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out) if f.startswith("mel_"))
    print(f"wrote {out}/mel_*  ({total} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
