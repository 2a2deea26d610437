#!/usr/bin/env python3
"""Score the Rust `roomtone separate` on the mixtures of scripts/fit_fusion.py.

Builds the same seeded TEST (and optionally TRAIN) mixtures as fit_fusion.py (same sources, split,
SNRs, variants), writes each as a 32-bit float WAV at its variant rate and channel count, runs
`BIN separate --model M --force --format f32 --out-dir DIR` for M in dfn3, convtasnet, ensemble (all
files of a split in one call per model, pinned to one core with `taskset -c CORE`), and scores the
stems as fit_fusion.py does, per channel at the input's rate: SI-SDRi of the speech stem against the
true speech, SI-SDR of the background stem against the true ambience. Prints markdown tables per
category (english / intl / acted / all) and SNR, and "ensemble - better single model" per category.
With --python-scores (fit_fusion.py's WORK/scores.json) the Python numbers of the same mixtures are
printed beside the Rust ones.

Usage:
  python3 scripts/score_fusion_rust.py --bin target/release/roomtone \
      --tuxpaint DIR/usr/share/tuxpaint/stamps --zeroad DIR/usr/share/games/0ad/mods/public/public.zip \
      --work /tmp/fusion-rust [--splits test,train] [--python-scores /tmp/fusion/scores.json]
(ROOMTONE_MODELS may point at the models folder the binary should use.)
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fit_fusion import CATS, build, si_sdr  # noqa: E402

MODELS = ("dfn3", "convtasnet", "ensemble")
PY_KEYS = {"dfn3": "dfn3", "convtasnet": "convtasnet", "ensemble": "band6xlsnr5_DC_irls"}


def run_model(a, model, wavs, out):
    cmd = [a.bin, "separate", "--model", model, "--force", "--format", "f32", "--out-dir", str(out)]
    cmd = (["taskset", "-c", a.core] if a.core != "none" else []) + cmd + [str(p) for p in wavs]
    t0 = time.time()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.time() - t0


def score_split(a, split, work):
    mixes = build(a, split)
    wdir = work / split / "mix"
    wdir.mkdir(parents=True, exist_ok=True)
    wavs = []
    for m in mixes:
        p = wdir / f"{m['name']}.wav"
        sf.write(str(p), m["mix"].astype(np.float32), m["sr"], subtype="FLOAT")
        wavs.append(p)
    rows = {}
    for model in MODELS:
        out = work / split / model
        secs = run_model(a, model, wavs, out)
        print(f"{split} {model}: {len(wavs)} files, {secs:.0f} s", file=sys.stderr, flush=True)
        for m, p in zip(mixes, wavs):
            mix, _ = sf.read(str(p), dtype="float64", always_2d=True)
            sp, sr1 = sf.read(str(out / f"{m['name']}.speech.wav"), dtype="float64", always_2d=True)
            bg, sr2 = sf.read(str(out / f"{m['name']}.background.wav"), dtype="float64", always_2d=True)
            assert sr1 == sr2 == m["sr"] and sp.shape == bg.shape == mix.shape, m["name"]
            for c in range(m["ch"]):
                s_true, a_true = m["speech"][:, c], m["amb"][:, c]
                r = rows.setdefault((m["name"], c), dict(name=m["name"], ch=c, snr=m["snr"], cat=m["cat"]))
                r[model] = dict(si=si_sdr(sp[:, c], s_true) - si_sdr(mix[:, c], s_true),
                                bg=si_sdr(bg[:, c], a_true))
    return list(rows.values())


def mean(rows, key, model, cat="all", snr=None):
    v = [r[model][key] for r in rows if cat in ("all", r["cat"]) and (snr is None or r["snr"] == snr)]
    return float(np.mean(v)) if v else float("nan")


def tables(split, rows, py_rows):
    n = len(rows)
    out = [f"**{split.upper()}** ({n} clip-channels; SI-SDRi speech dB at -5/0/+5 dB SNR and mean; "
           "SI-SDR background dB, mean)", ""]
    head = "| model | cat | -5 dB | 0 dB | +5 dB | mean | bg |"
    sep = "|---|---|---|---|---|---|---|"
    if py_rows:
        head += " Python mean | Python bg |"
        sep += "---|---|"
    out += [head, sep]
    for model in MODELS:
        for cat in CATS:
            cells = [f"{mean(rows, 'si', model, cat, s):.2f}" for s in (-5, 0, 5, None)]
            cells.append(f"{mean(rows, 'bg', model, cat):.2f}")
            if py_rows:
                k = PY_KEYS[model]
                cells += [f"{mean(py_rows, 'si', k, cat):.2f}", f"{mean(py_rows, 'bg', k, cat):.2f}"]
            out.append(f"| {model} | {cat} | " + " | ".join(cells) + " |")
    out += ["", "| cat | ensemble − better single (Rust) | better single | -5 dB | 0 dB | +5 dB |"
            + (" Python ensemble − better single |" if py_rows else ""),
            "|---|---|---|---|---|---|" + ("---|" if py_rows else "")]
    for cat in CATS:
        best = max(("dfn3", "convtasnet"), key=lambda k: mean(rows, "si", k, cat))
        d = mean(rows, "si", "ensemble", cat) - mean(rows, "si", best, cat)
        per = [mean(rows, "si", "ensemble", cat, s) - max(mean(rows, "si", k, cat, s) for k in ("dfn3", "convtasnet"))
               for s in (-5, 0, 5)]
        line = f"| {cat} | {d:+.2f} | {best} | " + " | ".join(f"{v:+.2f}" for v in per) + " |"
        if py_rows:
            pb = max(mean(py_rows, "si", PY_KEYS[k], cat) for k in ("dfn3", "convtasnet"))
            line += f" {mean(py_rows, 'si', PY_KEYS['ensemble'], cat) - pb:+.2f} |"
        out.append(line)
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="the roomtone binary")
    ap.add_argument("--tuxpaint", required=True)
    ap.add_argument("--zeroad", required=True)
    ap.add_argument("--work", required=True, help="folder for the mixtures, stems and scores")
    ap.add_argument("--splits", default="test", help="comma-separated: test, train")
    ap.add_argument("--core", default="1", help="taskset core list, or 'none'")
    ap.add_argument("--python-scores", help="fit_fusion.py's WORK/scores.json, printed beside")
    ap.add_argument("--n-english", type=int, default=9)
    ap.add_argument("--n-intl", type=int, default=6)
    ap.add_argument("--n-acted", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=8.0)
    a = ap.parse_args()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    py = json.loads(Path(a.python_scores).read_text()) if a.python_scores else {}
    for split in a.splits.split(","):
        rows = score_split(a, split, work)
        p = work / f"rust_scores_{split}.json"
        p.with_suffix(".tmp").write_text(json.dumps(rows, indent=0))
        os.replace(p.with_suffix(".tmp"), p)
        print(tables(split, rows, py.get(split)))
        print(flush=True)


if __name__ == "__main__":
    main()
