#!/usr/bin/env python3
"""Build examples/speech_over_rain.ogg: real speech over real rain, 12 s, 48 kHz stereo.

Sources (Debian packages, extracted with dpkg -x, not installed):
  * 0ad-data 0.0.26-1 (CC-BY-SA-3.0):
      usr/share/games/0ad/mods/public/public.zip :: audio/ambient/weather/rain_11.ogg
      (44.1 kHz stereo, 120 s)
  * tuxpaint-stamps-default 2022.06.04-1 (GPL-2+): four English spoken stamp
      descriptions usr/share/tuxpaint/stamps/animals/.../*_desc.ogg (44.1 kHz mono)

What it does (see datasets.md for the full account):
  1. rain: 12.0 s from 60.0 s into rain_11.ogg, stereo kept, resampled 44.1 -> 48 kHz
     (scipy.signal.resample_poly 160/147), scaled so its (L+R)/2 downmix is -25 dBFS RMS.
  2. speech: the four descriptions resampled to 48 kHz, 5 ms fades at their edges, placed
     at fixed offsets (first at 1.20 s) with pauses in between, one common gain so that
     speech power over the utterance spans is +5 dB above the rain downmix power over the
     same spans (SNR +5.0 dB), identical in L and R (centre).
  3. mix = rain + speech, 20 ms fade in/out at the clip ends, written as a 24-bit WAV and
     encoded with oggenc -q 5 (fixed serial number, so the output is reproducible).
  The scaled stems (speech mono, rain stereo, both at 48 kHz float32) are written to
  --stems, so that speech and rain can be used as a clean reference; they are not committed.

Needs: numpy, scipy, soundfile (pip, versions as in scripts/make_golden_mel.py) and oggenc
(Debian vorbis-tools). Get the sources:

    apt-get download 0ad-data=0.0.26-1 tuxpaint-stamps-default=2022.06.04-1
    dpkg -x 0ad-data_0.0.26-1_all.deb /tmp/0ad
    dpkg -x tuxpaint-stamps-default_2022.06.04-1_all.deb /tmp/tux

and run (from the repo root):

    python3 scripts/make_example.py --zip /tmp/0ad/usr/share/games/0ad/mods/public/public.zip \
        --tux /tmp/tux --stems /tmp/roomtone-stems
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile

import numpy as np
import scipy.signal
import soundfile as sf

SR = 48000
DUR_S = 12.0
RAIN_MEMBER = "audio/ambient/weather/rain_11.ogg"
RAIN_START_S = 60.0
RAIN_RMS_DBFS = -25.0  # of the (L+R)/2 downmix
SNR_DB = 5.0
TUX_DIR = "usr/share/tuxpaint/stamps/animals"
# (member path under TUX_DIR, placement in seconds, spoken text from the stamp's .txt)
SPEECH = [
    ("mammals/elephant_desc.ogg", 1.20, "An elephant."),
    ("mammals/hippopotamus_desc.ogg", 3.30, "An hippopotamus."),
    ("birds/nandou_desc.ogg", 6.10, "A rhea."),
    ("mammals/camel/dromedary_desc.ogg", 9.00, "A dromedary."),
]
OUT = "examples/speech_over_rain.ogg"


def to_48k(x: np.ndarray, sr: int) -> np.ndarray:
    from math import gcd
    g = gcd(SR, sr)
    return scipy.signal.resample_poly(x, SR // g, sr // g, axis=0)


def fade(n: int, sr: int, ms: float) -> np.ndarray:
    k = int(sr * ms / 1000)
    w = np.ones(n)
    r = 0.5 - 0.5 * np.cos(np.pi * np.arange(k) / k)
    w[:k] = r
    w[n - k:] = r[::-1]
    return w


def db(p: float) -> float:
    return 10 * np.log10(p)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zip", required=True, help="0ad-data's public.zip")
    ap.add_argument("--tux", required=True, help="root where tuxpaint-stamps-default was dpkg -x'ed")
    ap.add_argument("--stems", required=True, help="directory for the (uncommitted) stems")
    ap.add_argument("--out", default=OUT)
    ap.add_argument("--quality", default="5", help="oggenc -q (5: ~200 KB, codec residual about -15 dB "
                    "against the float mix; 10: ~660 KB, about -34 dB)")
    args = ap.parse_args()
    os.makedirs(args.stems, exist_ok=True)
    sources = {}
    n = int(round(DUR_S * SR))

    # ---- ambience ------------------------------------------------------------
    with zipfile.ZipFile(args.zip) as z:
        rain_bytes = z.read(RAIN_MEMBER)
    sources[RAIN_MEMBER] = hashlib.sha256(rain_bytes).hexdigest()
    y, sr_in = sf.read(io.BytesIO(rain_bytes), dtype="float64", always_2d=True)
    pad = int(0.05 * sr_in)
    s0 = int(round(RAIN_START_S * sr_in))
    seg = y[s0 - pad: s0 + int(round(DUR_S * sr_in)) + pad]
    rain = to_48k(seg, sr_in)
    pad48 = int(round(pad * SR / sr_in))
    rain = rain[pad48: pad48 + n]
    rain_gain_db = RAIN_RMS_DBFS - db(np.mean(rain.mean(axis=1) ** 2))
    rain *= 10 ** (rain_gain_db / 20)

    # ---- speech --------------------------------------------------------------
    speech = np.zeros(n)
    spans = np.zeros(n, dtype=bool)
    placed = []
    for member, at, text in SPEECH:
        path = os.path.join(args.tux, TUX_DIR, member)
        raw = open(path, "rb").read()
        sources[os.path.join(TUX_DIR, member)] = hashlib.sha256(raw).hexdigest()
        u, sr_u = sf.read(io.BytesIO(raw), dtype="float64", always_2d=True)
        u = to_48k(u.mean(axis=1), sr_u)
        u *= fade(len(u), SR, 5.0)
        i = int(round(at * SR))
        speech[i: i + len(u)] += u
        spans[i: i + len(u)] = True
        placed.append({"member": os.path.join(TUX_DIR, member), "text": text,
                       "start_s": round(i / SR, 4), "end_s": round((i + len(u)) / SR, 4)})
    rain_dm = rain.mean(axis=1)
    p_rain_spans = np.mean(rain_dm[spans] ** 2)
    speech_gain_db = SNR_DB + db(p_rain_spans) - db(np.mean(speech[spans] ** 2))
    speech *= 10 ** (speech_gain_db / 20)

    # ---- mix -----------------------------------------------------------------
    mix = rain + speech[:, None]
    edge = fade(n, SR, 20.0)[:, None]
    mix *= edge
    peak = np.max(np.abs(mix))
    assert peak < 10 ** (-1 / 20), f"mix peak {peak} too high"
    # stems exactly as they are in the mix (same gains and edge fades)
    sf.write(os.path.join(args.stems, "speech_48k_mono.wav"), (speech * edge[:, 0]).astype(np.float32), SR, subtype="FLOAT")
    sf.write(os.path.join(args.stems, "rain_48k_stereo.wav"), (rain * edge).astype(np.float32), SR, subtype="FLOAT")
    sf.write(os.path.join(args.stems, "mix_48k_stereo.wav"), mix.astype(np.float32), SR, subtype="FLOAT")

    # speech activity (10 ms frames of the speech stem within 40 dB of its loudest frame)
    h = SR // 100
    fe = (speech[: n // h * h].reshape(-1, h) ** 2).mean(axis=1)
    act = np.where(fe > fe.max() * 1e-4)[0]
    info = {
        "output": args.out,
        "sample_rate": SR, "channels": 2, "duration_s": DUR_S,
        "sources_sha256": sources,
        "rain": {"start_s": RAIN_START_S, "gain_db": round(rain_gain_db, 2),
                 "downmix_rms_dbfs": round(db(np.mean(rain_dm ** 2)), 2)},
        "speech": {"gain_db": round(speech_gain_db, 2), "utterances": placed,
                   "first_active_s": act[0] / 100, "last_active_s": (act[-1] + 1) / 100},
        "snr_db_over_utterance_spans": round(db(np.mean(speech[spans] ** 2)) - db(p_rain_spans), 2),
        "snr_db_whole_clip": round(db(np.mean(speech ** 2)) - db(np.mean(rain_dm ** 2)), 2),
        "mix_peak_dbfs": round(20 * np.log10(peak), 2),
        "oggenc_quality": args.quality,
    }

    # ---- encode --------------------------------------------------------------
    with tempfile.TemporaryDirectory() as td:
        wav = os.path.join(td, "mix.wav")
        sf.write(wav, mix, SR, subtype="PCM_24")
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        subprocess.run([
            "oggenc", "-Q", "-q", str(args.quality), "--serial", "1",
            "-t", "Speech over rain (roomtone example)",
            "-c", "COMMENT=Rain: rain_11.ogg from 0 A.D. (c) 2010 Wildfire Games, CC-BY-SA-3.0 (Debian 0ad-data 0.0.26-1). "
                  "Speech: Tux Paint stamp descriptions (c) 2002-2022 Bill Kendrick and Tux Paint contributors, "
                  "GPL-2+ (Debian tuxpaint-stamps-default 2022.06.04-1). Mixed by scripts/make_example.py; see datasets.md.",
            "-c", "LICENSE=CC-BY-SA-3.0 (rain) and GPL-2.0-or-later (speech); see datasets.md",
            "-o", args.out, wav], check=True)
    info["size_bytes"] = os.path.getsize(args.out)
    info["sha256"] = hashlib.sha256(open(args.out, "rb").read()).hexdigest()
    dec, _ = sf.read(args.out, dtype="float64", always_2d=True)
    m = min(len(dec), n)
    info["codec_residual_db"] = round(db(np.mean((dec[:m] - mix[:m]) ** 2)) - db(np.mean(mix ** 2)), 2)
    with open(os.path.join(args.stems, "example_info.json"), "w") as fh:
        json.dump(info, fh, indent=2)
    print(json.dumps(info, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
