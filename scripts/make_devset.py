#!/usr/bin/env python3
"""Build roomtone's tagging development set from real recordings in Debian packages.

    python3 scripts/make_devset.py [--debs DIR] [--work DIR] [--out bench-data/devset] [--clips-per-label 90]

Writes OUT/{train,test}/*.wav and OUT/labels.csv with the columns

    path,label,split,speech,source,sample_rate

`path` is relative to OUT; `label` is the ambience; `split` is train/test, held out BY SOURCE
RECORDING (no source file, and no speaker language of the speech, appears in both splits); `speech`
is 1 when real speech is laid over the ambience at +5 dB SNR, else 0; `source` names the recording
(or the synthesis variant) the ambience came from, for grouped cross-validation.

Sources (fetched with `apt-get download PKG=VERSION` unless --debs already holds the .deb; unpacked
with `dpkg -x`; sha256 checked):

| package (Debian 12) | version | sha256 of the .deb | used for |
|---|---|---|---|
| 0ad-data | 0.0.26-1 | 53745ae74d05bccf6783400fa98f3932b21729ab9d2e86151aa2c331c3455178 | rain, wind, crowd (markets), water, nature |
| openttd-opensfx | 1.0.3-2 | 2898b4677a3caccc4abc08fb4cf83319047b5a04729291deb5c77a8cd713c006 | road vehicles (traffic), wind |
| supertuxkart-data | 1.4+dfsg-2 | 568d69cda50dc8ad1facb89514bd14953dfca736fdb83c49ae330b0aa7dd2364 | engines (traffic), rain, restaurant crowd, water, birds |
| tuxpaint-stamps-default | 2022.06.04-1 | 6db6c1bfc870a47f1499d6203b083522eacb57c5f9c87d468f2e92eb6d9d5f34 | speech (*_desc_*.ogg, many languages) |

Licences: 0ad-data CC-BY-SA-3.0; OpenSFX CC-BY-3.0 / CC-BY-SA-3.0 / CC0 per sound; the
supertuxkart sounds used are CC0, CC-BY-3.0 or CC-BY-SA-3.0 (see the package's copyright file);
tuxpaint-stamps GPL-2. The recordings are not committed; datasets.md lists them.

Built from recordings, not synthesised: every class but `hvac`. Traffic beds are mixed from real
engine/vehicle recordings (several passes at random times, pitch-shifted by resampling, plus a
low-passed, slowed loop of the same recordings as the distant rumble). HVAC is SYNTHESISED (real HVAC
recordings are nearly absent from packages): coloured noise with a random spectral slope, 50 or 60 Hz
mains hum with random harmonics, fan blade-pass tones and their harmonics, a band of air rush, all
with slow random modulation; several randomised variants (split by variant seed).

Augmentation: random segment, level (-45..-15 dBFS RMS), first-order EQ tilt, output sample rate
(16, 22.05, 32, 44.1, 48 kHz), mono or stereo (a decorrelated second channel). Half of the clips get
speech laid over at +5 dB SNR (speech RMS over its active part against the ambience RMS).
Needs numpy, scipy and soundfile (a venv is fine).
"""
import argparse
import csv
import hashlib
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

ROOT = Path(__file__).resolve().parent.parent
SR = 48_000  # working rate; clips are written at a random rate from RATES
RATES = [16_000, 22_050, 32_000, 44_100, 48_000]
SNR_DB = 5.0

PACKAGES = {
    "0ad-data": ("0.0.26-1", "53745ae74d05bccf6783400fa98f3932b21729ab9d2e86151aa2c331c3455178"),
    "openttd-opensfx": ("1.0.3-2", "2898b4677a3caccc4abc08fb4cf83319047b5a04729291deb5c77a8cd713c006"),
    "supertuxkart-data": ("1.4+dfsg-2", "568d69cda50dc8ad1facb89514bd14953dfca736fdb83c49ae330b0aa7dd2364"),
    "tuxpaint-stamps-default": ("2022.06.04-1", "6db6c1bfc870a47f1499d6203b083522eacb57c5f9c87d468f2e92eb6d9d5f34"),
}

A0 = "0ad/audio/ambient/"
STK = "usr/share/games/supertuxkart/data/sfx/"
# label -> {source group: ([files], split)}. Files sharing an original recording share a group.
SOURCES = {
    "rain": {
        "0ad_rain_11": ([A0 + "weather/rain_11.ogg"], "train"),
        "stk_rain": ([STK + "rain.ogg"], "train"),
        "0ad_rain_12": ([A0 + "weather/rain_12.ogg"], "test"),
    },
    "wind": {
        "0ad_wind_11": ([A0 + "weather/wind_11.ogg"], "train"),
        "0ad_snowstorm_11": ([A0 + "weather/snowstorm_11.ogg"], "train"),
        "0ad_windgust_11": ([A0 + "weather/windgust_11.ogg"], "train"),
        "0ad_windleaves_10": ([A0 + "weather/windleaves_10.ogg"], "train"),
        "otd_wind": (["otd:52", "otd:57"], "train"),
        "0ad_windstorm_11": ([A0 + "weather/windstorm_11.ogg"], "test"),
        "0ad_windleaves_11": ([A0 + "weather/windleaves_11.ogg"], "test"),
    },
    "crowd": {
        "0ad_trade_10": ([A0 + "building/amb_trade_10.ogg"], "train"),
        "0ad_trade_11": ([A0 + "building/amb_trade_11.ogg"], "train"),
        "0ad_trade_13": ([A0 + "building/amb_trade_13.ogg"], "train"),
        "stk_restaurant": ([STK + "lenautile_restaurant.ogg"], "train"),
        "0ad_trade_12": ([A0 + "building/amb_trade_12.ogg"], "test"),
        "0ad_trade_20": ([A0 + "building/amb_trade_20.ogg"], "test"),
    },
    "water": {
        "0ad_river_fast": ([A0 + "water/river_fast_21.ogg"], "train"),
        "0ad_river_raging": ([A0 + "water/river_raging_21.ogg"], "train"),
        "0ad_wave": ([A0 + "water/wave_21.ogg"], "train"),
        "0ad_wavecrash": ([A0 + "water/wavecrash_21.ogg"], "train"),
        "stk_river": ([STK + "river_loop.ogg"], "train"),
        "0ad_river_med": ([A0 + "water/river_med_21.ogg"], "test"),
        "0ad_waterfall": ([A0 + "water/waterfall_31.ogg"], "test"),
        "0ad_waverocky": ([A0 + "water/waverocky_21.ogg"], "test"),
        "stk_waterfall": ([STK + "waterfall_loop_2.ogg"], "test"),
        "0ad_river_slow": ([A0 + "water/river_slow_21.ogg"], "train"),
    },
    "nature": {
        "0ad_temperate_gen_01": ([A0 + "dayscape/day_temperate_gen_01.ogg"], "train"),
        "0ad_temperate_gen_03": ([A0 + "dayscape/day_temperate_gen_03.ogg"], "train"),
        "0ad_temperate_11": ([A0 + "dayscape/day_temperate_11.ogg"], "train"),
        "0ad_temperate_13": ([A0 + "dayscape/day_temperate_13.ogg"], "train"),
        "0ad_tropical_10": ([A0 + "dayscape/day_tropical_10.ogg"], "train"),
        "stk_birds": ([STK + "exotic-birds.ogg"], "train"),
        "0ad_temperate_gen_02": ([A0 + "dayscape/day_temperate_gen_02.ogg"], "test"),
        "0ad_temperate_12": ([A0 + "dayscape/day_temperate_12.ogg"], "test"),
        "0ad_tropical_11": ([A0 + "dayscape/day_tropical_11.ogg"], "test"),
        "stk_birds_2": ([STK + "exotic-birds_2.ogg"], "test"),
    },
    # Vehicle recordings; a traffic clip mixes several of its split's groups.
    "traffic": {
        "otd_truck_start": (["otd:25"], "train"),
        "otd_old_bus": (["otd:28"], "train"),
        "stk_car": ([STK + "engine_large.ogg", STK + "car_accel.ogg", STK + "car_revup.ogg"], "train"),
        "otd_horn": (["otd:35"], "train"),
        "otd_modern_bus": (["otd:27"], "test"),
        "stk_engine_small": ([STK + "engine_small.ogg"], "test"),
        "stk_skid": ([STK + "skid.ogg"], "test"),
    },
}
EVENT_ONLY = {"otd_horn", "stk_skid"}  # short events laid over a traffic bed, never a bed alone
SPEECH_SPLIT = {"train": ["fr", "ru", "ca", "es", "el", "da", "nl"], "test": ["ro", "bg", "be", "lt"]}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(debs, work):
    debs.mkdir(parents=True, exist_ok=True)
    for pkg, (version, digest) in PACKAGES.items():
        deb = debs / f"{pkg}_{version}_all.deb"
        if not deb.exists():
            subprocess.run(["apt-get", "download", f"{pkg}={version}"], cwd=debs, check=True)
        if sha256(deb) != digest:
            sys.exit(f"{deb}: sha256 mismatch (want {digest})")
        stamp = work / f".{pkg}.done"
        if not stamp.exists():
            subprocess.run(["dpkg", "-x", str(deb), str(work)], check=True)
            stamp.touch()
    zad = work / "0ad"
    if not (zad / "audio").exists():
        with zipfile.ZipFile(work / "usr/share/games/0ad/mods/public/public.zip") as z:
            z.extractall(zad, [n for n in z.namelist() if n.startswith("audio/ambient/")])


def opensfx(work):
    """The OpenSFX catalogue: index → (name, mono float samples at SR)."""
    data = (work / "usr/share/games/openttd/baseset/opensfx/opensfx.cat").read_bytes()
    count = (struct.unpack("<I", data[:4])[0] & 0x7FFFFFFF) // 8
    out = {}
    for i in range(count):
        off, size = struct.unpack("<II", data[i * 8:i * 8 + 8])
        off &= 0x7FFFFFFF
        n = data[off]
        body = data[off + 1 + n:off + size]
        if body[:4] != b"RIFF":
            continue
        x, sr = sf.read(__import__("io").BytesIO(body), dtype="float32", always_2d=True)
        out[i] = to_sr(x.mean(axis=1), sr)
    return out


def to_sr(x, sr, target=SR):
    if sr == target:
        return x.astype(np.float64)
    g = np.gcd(int(sr), int(target))
    return signal.resample_poly(x.astype(np.float64), target // g, sr // g)


def load(work, ref, otd):
    if ref.startswith("otd:"):
        return otd[int(ref[4:])]
    x, sr = sf.read(work / ref, dtype="float32", always_2d=True)
    return to_sr(x.mean(axis=1), sr)


def rms(x):
    return float(np.sqrt(np.mean(np.square(x)) + 1e-20))


def loop_to(x, n, rng, fade=0.25):
    """`n` samples from a random start, looping with crossfades when `x` is shorter."""
    if len(x) >= n:
        s = int(rng.integers(0, len(x) - n + 1))
        return x[s:s + n].copy()
    f = min(int(fade * SR), len(x) // 4)
    out = np.zeros(n + len(x))
    ramp = np.linspace(0, 1, f) if f > 0 else np.zeros(0)
    pos = -int(rng.integers(0, len(x)))
    seg = x.copy()
    if f > 0:
        seg[:f] *= ramp
        seg[-f:] *= ramp[::-1]
    while pos < n:
        a = max(pos, 0)
        out[a:pos + len(seg)] += seg[a - pos:]
        pos += len(seg) - f
    return out[:n]


def pitch(x, factor):
    """Resample so the pitch (and speed) change by `factor`."""
    up = int(round(100 * factor))
    return signal.resample_poly(x, 100, up) if up != 100 else x


def tilt(x, rng):
    """First-order EQ tilt: a random mix of low- and high-passed signal (about ±6 dB across the band)."""
    fc = rng.uniform(300, 3000)
    b, a = signal.butter(1, fc / (SR / 2))
    low = signal.lfilter(b, a, x)
    g = rng.uniform(-0.5, 0.5)
    return x + g * (low - (x - low))


def traffic(pool, n, rng):
    """A traffic bed from real vehicle recordings of one split."""
    beds = [k for k in pool if k not in EVENT_ONLY]
    # Distant rumble: slowed, low-passed loop of one vehicle recording.
    src = pool[beds[int(rng.integers(len(beds)))]]
    x = src[int(rng.integers(len(src)))]
    rumble = loop_to(pitch(x, rng.uniform(0.5, 0.85)), n, rng)
    b, a = signal.butter(2, rng.uniform(250, 900) / (SR / 2))
    rumble = signal.lfilter(b, a, rumble)
    out = rumble / rms(rumble) * rng.uniform(0.3, 1.0)
    # Passes: several vehicles with fade in/out envelopes.
    for _ in range(int(rng.integers(2, 6))):
        k = beds[int(rng.integers(len(beds)))]
        v = pitch(pool[k][int(rng.integers(len(pool[k])))], rng.uniform(0.8, 1.25))
        v = loop_to(v, int(min(n, rng.uniform(2.5, 7.0) * SR)), rng)
        env = np.hanning(len(v)) ** rng.uniform(0.5, 2.0)
        pos = int(rng.integers(-len(v) // 2, n - len(v) // 2))
        a0, b0 = max(pos, 0), min(pos + len(v), n)
        out[a0:b0] += (v * env)[a0 - pos:b0 - pos] / rms(v) * rng.uniform(0.4, 1.5)
    for k in EVENT_ONLY & pool.keys():
        if rng.random() < 0.25:
            v = pool[k][0]
            pos = int(rng.integers(0, max(1, n - len(v))))
            seg = v[:n - pos]
            out[pos:pos + len(seg)] += seg / rms(v) * rng.uniform(0.2, 0.8)
    return out


def hvac(n, rng, mains):
    """Synthesised HVAC: coloured noise, mains hum, fan blade-pass tones, air rush, slow modulation."""
    t = np.arange(n) / SR
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / SR)
    slope = rng.uniform(-9, -2)  # dB/octave
    spec *= (np.maximum(f, 20) / 1000) ** (slope / 6.02)
    noise = np.fft.irfft(spec, n)
    # Air rush: band of noise where ducts and grilles put it.
    lo = rng.uniform(150, 600)
    b, a = signal.butter(2, [lo / (SR / 2), min(0.95, lo * rng.uniform(3, 10) / (SR / 2))], "band")
    rush = signal.lfilter(b, a, rng.standard_normal(n))
    out = noise / rms(noise) + rush / rms(rush) * rng.uniform(0.2, 1.5)
    # Mains hum and harmonics (not every unit has it strongly).
    hum_gain = rng.choice([0.0, 0.05, 0.15, 0.4])
    for h in range(1, 9):
        amp = hum_gain * rng.uniform(0, 1) / h ** rng.uniform(0.3, 1.2)
        out += amp * np.sin(2 * np.pi * mains * h * (1 + rng.normal(0, 0.0005)) * t + rng.uniform(0, 6.3))
    # Fans: shaft 8–40 Hz, 3–12 blades; blade-pass tone plus harmonics, slightly wandering.
    for _ in range(int(rng.integers(1, 3))):
        bpf = rng.uniform(8, 40) * int(rng.integers(3, 13))
        wander = 1 + 0.003 * np.sin(2 * np.pi * rng.uniform(0.02, 0.2) * t + rng.uniform(0, 6.3))
        phase = 2 * np.pi * bpf * np.cumsum(wander) / SR
        g = rng.uniform(0.03, 0.4)
        for h in range(1, 5):
            out += g / h * np.sin(h * phase + rng.uniform(0, 6.3))
    # Compressor / motor whine sometimes.
    if rng.random() < 0.3:
        out += rng.uniform(0.02, 0.1) * np.sin(2 * np.pi * rng.uniform(300, 1800) * t)
    # Slow modulation of the whole unit.
    out *= 1 + rng.uniform(0, 0.15) * np.sin(2 * np.pi * rng.uniform(0.05, 0.5) * t + rng.uniform(0, 6.3))
    return out


def speech_track(files, n, rng):
    """Real speech: description recordings one after another with short pauses, from a random start."""
    out, pos = np.zeros(n), int(rng.uniform(0, 1.0) * SR)
    while pos < n:
        x, sr = sf.read(files[int(rng.integers(len(files)))], dtype="float32", always_2d=True)
        x = to_sr(x.mean(axis=1), sr)
        seg = x[:n - pos]
        out[pos:pos + len(seg)] += seg
        pos += len(x) + int(rng.uniform(0.2, 1.0) * SR)
    return out


def active_rms(x):
    frames = x[: len(x) // 480 * 480].reshape(-1, 480)
    e = np.mean(frames**2, axis=1)
    act = e[e > np.max(e) * 10 ** (-40 / 10)]
    return float(np.sqrt(np.mean(act) + 1e-20))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--debs", default=str(ROOT / "bench-data/debs"), help="folder for the .deb files")
    ap.add_argument("--work", default=str(ROOT / "bench-data/devset-src"), help="folder to unpack them in")
    ap.add_argument("--out", default=str(ROOT / "bench-data/devset"))
    ap.add_argument("--clips-per-label", type=int, default=90, help="clips per label (about 2/3 train)")
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()
    debs, work, out = Path(args.debs), Path(args.work), Path(args.out)
    work.mkdir(parents=True, exist_ok=True)
    fetch(debs, work)
    otd = opensfx(work)
    rng = np.random.default_rng(args.seed)

    audio = {}  # (label, group) -> [arrays]
    for label, groups in SOURCES.items():
        for g, (files, _) in groups.items():
            audio[(label, g)] = [load(work, f, otd) for f in files]
    desc = sorted((work / "usr/share/tuxpaint/stamps").rglob("*_desc_*.ogg"))
    speech = {s: [p for p in desc if p.stem.rsplit("_", 1)[-1] in langs] for s, langs in SPEECH_SPLIT.items()}

    if out.exists():
        shutil.rmtree(out)
    rows = []
    for label in list(SOURCES) + ["hvac"]:
        for k in range(args.clips_per_label):
            split = "test" if k % 3 == 2 else "train"
            n = int(rng.uniform(5.0, 10.0) * SR)
            if label == "hvac":
                variant = int(rng.integers(0, 12))
                split = "test" if variant >= 8 else "train"
                mains = 50.0 if variant % 2 == 0 else 60.0
                x = hvac(n, np.random.default_rng([1000 + variant, k]), mains)
                source = f"synth_hvac_{variant}"
            elif label == "traffic":
                pool = {g: audio[(label, g)] for g, (_, s) in SOURCES[label].items() if s == split}
                x = traffic(pool, n, rng)
                source = f"traffic_{split}_mix"
            else:
                groups = [g for g, (_, s) in SOURCES[label].items() if s == split]
                g = groups[int(rng.integers(len(groups)))]
                files = audio[(label, g)]
                x = loop_to(files[int(rng.integers(len(files)))], n, rng)
                source = g
            x = tilt(x - x.mean(), rng)
            x = x / rms(x) * 10 ** (rng.uniform(-45, -15) / 20)
            has_speech = k % 2 == 1
            if has_speech:
                s = speech_track(speech[split], n, rng)
                s = tilt(s, rng)
                x = x + s / active_rms(s) * rms(x) * 10 ** (SNR_DB / 20)
            stereo = rng.random() < 0.5
            if stereo:
                d = int(rng.integers(1, 40))
                x = np.stack([x, np.roll(x, d) * rng.uniform(0.8, 1.0)], axis=1)
            peak = np.max(np.abs(x))
            if peak > 0.99:
                x = x * 0.99 / peak
            rate = int(rng.choice(RATES))
            g = np.gcd(rate, SR)
            y = signal.resample_poly(x, rate // g, SR // g, axis=0)
            rel = f"{split}/{label}_{k:03d}.wav"
            (out / split).mkdir(parents=True, exist_ok=True)
            sf.write(out / rel, np.clip(y, -1, 1).astype(np.float32), rate, subtype="PCM_16")
            rows.append({"path": rel, "label": label, "split": split, "speech": int(has_speech),
                         "source": source, "sample_rate": rate})
    with open(out / "labels.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    tr = sum(r["split"] == "train" for r in rows)
    print(f"{len(rows)} clips ({tr} train, {len(rows) - tr} test) in {out}")


if __name__ == "__main__":
    main()
