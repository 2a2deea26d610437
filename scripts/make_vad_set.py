#!/usr/bin/env python3
"""Build the dialogue-region (voice activity) evaluation set: real speech over real ambience.

    python3 scripts/make_vad_set.py [--debs DIR] [--work DIR] [--unpacked DIR] [--out bench-data/vad]
                                    [--mixtures 120] [--negatives 30] [--seed 10]

Standard library only, plus `ffmpeg` on PATH for decoding and resampling (make_devset.py needs numpy,
scipy and soundfile at import time, so its functions are not imported; its fetch scheme is reused as
is: the same --debs/--work defaults, `apt-get download PKG=VERSION`, sha256 of the .deb, `dpkg -x` into
one tree with a `.PKG.done` stamp, so the two builders share one download and unpack). The fetching,
decoding and speech-rule helpers live in scripts/datalib.py, shared with make_tagset.py. Scored with
`scripts/eval_vad.py`.

Output (OUT = bench-data/vad):
  OUT/mix_NNN.wav   mixtures: 20-40 s of ambience with speech utterances laid over it
  OUT/neg_NNN.wav   negatives: 20-40 s of ambience only (crowd babble, market, restaurant, stadium,
                    and some beds of the mixture classes); the right answer is "no dialogue"
  OUT/truth.jsonl   one object per file (below)
  OUT/sources.json  packages, recordings (path, sha256, split, class), speech languages per split
Most files are 16 kHz mono 16-bit PCM; every 15th mixture and negative (index % 15 == 7) is 48 kHz
stereo 16-bit, mixed at 48 kHz, so the product's resampling and down-mix path is used.

truth.jsonl fields: file, kind ("mixture"|"negative"), split ("dev"|"test"), snr_db (null for
negatives), bed_source (recording id below), bed_class, bed_package, bed_files, bed_offset_s,
duration_s, sample_rate, channels, bed_rms_dbfs, speech_spans ([[start_s, end_s], ...], the truth),
utterances (each placed clip: src, lang, sha256, clip_start_s, spans before merging).

Ground-truth rules (all times in seconds, rounded to 1 ms):
  * Frames: 10 ms, non-overlapping, from the start of the clean utterance; frame energy = mean square.
  * Active frame of an utterance: energy > (the utterance's highest frame energy) - 40 dB.
  * Utterance spans: runs of active frames (start of the first frame to the end of the last), with
    inactive runs shorter than 0.5 s inside them bridged. The tuxpaint descriptions are cut tightly,
    so this is nearly always one span from the first to the last active frame.
  * speech_spans of a file: all utterance spans at their placed times, sorted, and merged wherever
    the gap between two spans is < 0.5 s (a line of dialogue is not split by a pause shorter than
    0.5 s; a gap of 0.5 s or more makes two lines).
  * Placement: the first utterance's active onset at U(0.5, 4) s; after each utterance the next active
    onset follows the previous active offset by a gap drawn as: with probability 0.4 "back to back",
    U(0.3, 0.6) s (merged into one line when < 0.5 s), else U(0.6, 4.0) s. No utterance ends later
    than duration - U(0.5, 2.0) s. Each file takes its utterances from 1 or 2 languages of its split
    (two "speakers"); no utterance is used twice in the set. Each clip gets 5 ms fades at its ends.
  * SNR (per file, one of -5, 0, +5, +10 dB): 10*log10(P_speech / P_bed), where P_bed is the mean
    square of the ambience bed over the whole file (both channels for stereo) and P_speech is the mean
    square of the speech over the active frames (as defined above) of all its utterances pooled. Each
    utterance is first normalised to the same active level and given a random gain of U(-3, +3) dB,
    then the whole speech track is scaled to the SNR. Speech is added identically to both channels of
    stereo files. The bed is set to U(-40, -24) dBFS RMS (negatives U(-40, -20)); if the mix would
    peak above -0.2 dBFS the whole mix (bed and speech alike, so the SNR holds) is scaled down.

Splits: every bed recording belongs to exactly one split ("dev" for tuning, "test" for reporting);
all files made from it (mixtures and negatives alike) are in that split, and its speech comes from
that split's languages only (dev: fr ca el da nl; test: ru ro bg es be lt; languages stand for
speakers). Ids that group several files (etw crowd cuts, 0 A.D. amb_trade_12 + _20) are one recording.
Deterministic for a given --seed (random.Random; ffmpeg's resampler is deterministic).

Sources (Debian 12 "bookworm"; fetched with `apt-get download PKG=VERSION` unless --debs already holds
the .deb or --unpacked holds DIR/PKG (the layout of a `dpkg -x PKG.deb DIR/PKG` tree, e.g. the data
survey's); every recording's own sha256 is checked in either case; provenance and verdicts as in
notes/issue10-data-survey/SURVEY.md):

| package | version | .deb sha256 | licence (of the files used) | used for |
|---|---|---|---|---|
| tuxpaint-stamps-default | 2022.06.04-1 | 6db6c1bfc870a47f1499d6203b083522eacb57c5f9c87d468f2e92eb6d9d5f34 | GPL-2+ | speech: `*_desc_LANG.ogg` spoken descriptions |
| 0ad-data | 0.0.26-1 | 53745ae74d05bccf6783400fa98f3932b21729ab9d2e86151aa2c331c3455178 | CC-BY-SA-3.0 | rain (rain_11), water (waverocky_21, river_med_21), market crowds (amb_trade_10/11/12/13/20) |
| flare-game | 1.14-1 | 4ab6a8298276013d35a0806257e130d992761af1b749041433b409c3dafec508 | CC-BY-SA-3.0+ | rain (empyrean rain), wind (wind_loop) |
| megaglest-data | 3.13.0-3 | ed4783d9fc78e201a548b266f7c30325eb16cfd58a20bf4597dd6e622f84a07e | CC-BY-SA-3.0 | rain (mediterran), wind (winter), birds/daytime (spring day) |
| btanks-data | 0.9.8083-9 | fbe1a476d95c68fe73d87715f4f0aecc1bc5428a979cd19451722665c9dbb5ae | Battle-Tanks-License (GPL-2 with an exception) | traffic (city street), forest |
| scorched3d-data | 44+dfsg-8 | b0be0a6d561966a62b1f135e0e6f5681c85f12e34ecad5777cb1af9fbcb7f1da | GPL-2+ | traffic (citysounds), factory machinery, ocean waves, stadium cheering |
| endless-sky-data | 0.9.8-1.2 | e45835e05a11e84bb1a890a0ded390246a53b8318f21a25925aa70fa54f80c13 | public domain (sounds/*) | machinery room |
| ufoai-sound | 2.5-2 | 0224308c10e1265581d1829f19eaef031175390fd0eafeb4a1d558ac6561ed4e | CC-BY-3.0 (minepump03) | mine pump machinery (first 76.8 s: the file is that loop played twice) |
| supertuxkart-data | 1.4+dfsg-2 | 568d69cda50dc8ad1facb89514bd14953dfca736fdb83c49ae330b0aa7dd2364 | CC0 (both files) | restaurant crowd (lenautile_restaurant), river (river_loop) |
| etw-data | 3.6+svn162-6 | d1c79c32f6223332c01eb23ba78531e8d9d663c1f057cd21d8aac708b8de218a | GPL-2+ | stadium crowd (crowd05/12/14, one recording group) |
| lmms-common | 1.2.2+dfsg1-6 | 7d9aa55dd05f11edc57104203ee1c350e3e41f8936ab3741da2bb1158fd46c37 | GPL-2+ | concert crowd (raving_crowd01) |

Every bed is a recording (real or "probably real" by the survey's evidence); nothing is synthesised.
Short recordings (< file length) are looped with 0.25 s crossfades. Nothing here is committed: the
set is rebuilt from the packages. Runtime: about 80-90 s on this project's 2-core machine once the
packages are unpacked (measured with a cargo build running alongside); a first fetch downloads about
2.7 GB of .debs (0ad-data alone 1.4 GB, supertuxkart-data 0.6 GB) and unpacks them.
"""
import argparse
import array
import json
import operator
import random
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import repeat
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

PACKAGES = {  # name: (version, sha256 of the .deb)
    "tuxpaint-stamps-default": ("2022.06.04-1", "6db6c1bfc870a47f1499d6203b083522eacb57c5f9c87d468f2e92eb6d9d5f34"),
    "0ad-data": ("0.0.26-1", "53745ae74d05bccf6783400fa98f3932b21729ab9d2e86151aa2c331c3455178"),
    "flare-game": ("1.14-1", "4ab6a8298276013d35a0806257e130d992761af1b749041433b409c3dafec508"),
    "megaglest-data": ("3.13.0-3", "ed4783d9fc78e201a548b266f7c30325eb16cfd58a20bf4597dd6e622f84a07e"),
    "btanks-data": ("0.9.8083-9", "fbe1a476d95c68fe73d87715f4f0aecc1bc5428a979cd19451722665c9dbb5ae"),
    "scorched3d-data": ("44+dfsg-8", "b0be0a6d561966a62b1f135e0e6f5681c85f12e34ecad5777cb1af9fbcb7f1da"),
    "endless-sky-data": ("0.9.8-1.2", "e45835e05a11e84bb1a890a0ded390246a53b8318f21a25925aa70fa54f80c13"),
    "ufoai-sound": ("2.5-2", "0224308c10e1265581d1829f19eaef031175390fd0eafeb4a1d558ac6561ed4e"),
    "supertuxkart-data": ("1.4+dfsg-2", "568d69cda50dc8ad1facb89514bd14953dfca736fdb83c49ae330b0aa7dd2364"),
    "etw-data": ("3.6+svn162-6", "d1c79c32f6223332c01eb23ba78531e8d9d663c1f057cd21d8aac708b8de218a"),
    "lmms-common": ("1.2.2+dfsg1-6", "7d9aa55dd05f11edc57104203ee1c350e3e41f8936ab3741da2bb1158fd46c37"),
}
LICENCES = {
    "tuxpaint-stamps-default": "GPL-2+",
    "0ad-data": "CC-BY-SA-3.0",
    "flare-game": "CC-BY-SA-3.0+",
    "megaglest-data": "CC-BY-SA-3.0",
    "btanks-data": "Battle-Tanks-License (GPL-2 with an exception)",
    "scorched3d-data": "GPL-2+",
    "endless-sky-data": "public-domain (sounds/*)",
    "ufoai-sound": "CC-BY-3.0 (minepump03)",
    "supertuxkart-data": "CC0 (lenautile_restaurant, river_loop)",
    "etw-data": "GPL-2+",
    "lmms-common": "GPL-2+",
}

A0 = "usr/share/games/0ad/mods/public/public.zip"
UFO = "usr/share/games/ufoai/base/0snd.pk3"
S3A = "usr/share/games/scorched3d/data/globalmods/apoc/data/wav/misc/"
S3N = "usr/share/games/scorched3d/data/globalmods/none/data/wav/misc/"
MG = "usr/share/games/megaglest/tilesets/"
FL = "usr/share/games/flare/mods/"
STK = "usr/share/games/supertuxkart/data/sfx/"
BT = "usr/share/games/btanks/data/sounds/ambient/"
ETW = "usr/share/games/etw/crowd/"

# Recording id -> (class, split, package, [(path in package, member of archive or None, sha256)], max seconds).
# Files listed together are one recording (cuts of one take) and are concatenated.
RECORDINGS = {
    # rain
    "0ad_rain_11": ("rain", "test", "0ad-data", [(A0, "audio/ambient/weather/rain_11.ogg", "e06fedc54b75e9191124f4cfa3fe0d2a8cdb98d72cb13d53f42a60996a5f7eba")], None),
    "mg_rain_mediterran": ("rain", "test", "megaglest-data", [(MG + "mediterran/sounds/rain.ogg", None, "413e9b38274d88524bb492fb8f81c535f4179abd3af8332e256637607ad48db9")], None),
    "flare_rain": ("rain", "dev", "flare-game", [(FL + "empyrean_campaign/soundfx/environment/rain.ogg", None, "a6f49fddff4ff8d8c9c1db0dcbd0bffcf7cbb206e37772671adc9b5d4f9b7874")], None),
    # traffic
    "btanks_city": ("traffic", "test", "btanks-data", [(BT + "city.ogg", None, "37ef129e2c41870542b5da28fd52ee5f46a4978c29603fa2ad0e546e467ca940")], None),
    "s3d_citysounds": ("traffic", "dev", "scorched3d-data", [(S3A + "citysounds.wav", None, "ac868fee61d2164f1ed10aa067bdcb762325a397a5a2c35bc4c989480e5a9996")], None),
    # wind
    "flare_wind_loop": ("wind", "test", "flare-game", [(FL + "fantasycore/soundfx/environment/wind_loop.ogg", None, "fee94e41ffa4024d5d8494f9cb134a7417dc76315364868c5a595a21dfc5d270")], None),
    "mg_wind_winter": ("wind", "dev", "megaglest-data", [(MG + "winter/sounds/wind.ogg", None, "4d48f5cedfb0902f2107b42bfc04f6a268cc8fa75291069817463f98c5d38427")], None),
    # water
    "0ad_waverocky_21": ("water", "test", "0ad-data", [(A0, "audio/ambient/water/waverocky_21.ogg", "2b97c829c621d6f0637c4c77fdce1ac2796fe8efc00ac2773406b1770614ea5c")], None),
    "stk_river_loop": ("water", "test", "supertuxkart-data", [(STK + "river_loop.ogg", None, "58d3f165ff9b4e5e031e24e16cb1cdc475dd76df0aafd6df7d84e637cee2fd2c")], None),
    "0ad_river_med_21": ("water", "dev", "0ad-data", [(A0, "audio/ambient/water/river_med_21.ogg", "d4fea2dfe0403f69d4b198ac16150d195900e2cc9dd70ab006c7bd41d573d485")], None),
    "s3d_oceanwaves": ("water", "dev", "scorched3d-data", [(S3N + "oceanwaves.wav", None, "cd4dbdacfd5959add10f804d829fdfeb666ab3b43fe2c7d045291370793540ca")], None),
    # machinery
    "es_machinery": ("machinery", "test", "endless-sky-data", [("usr/share/games/endless-sky/sounds/ambient/machinery.mp3", None, "cfc878e6bdbdc49dadc8cae9789ef0d7c95798fa83b017bcaa93cce0d3b9dd38")], None),
    "ufoai_minepump03": ("machinery", "dev", "ufoai-sound", [(UFO, "sound/ambience/minepump03.ogg", "72c07614f6d5bc64c02a7c0ade606953b67fe0ed54d4e58493f184fbd18325f9")], 76.8),
    "s3d_factoryloop1": ("machinery", "dev", "scorched3d-data", [(S3A + "factoryloop1.wav", None, "43858154da93b50f19b5e6ba1251c5fbf82059b53113a86c78d9c5ed23ca9159")], None),
    # nature (birds: a classic false trigger for speech detectors)
    "mg_spring_day": ("nature", "test", "megaglest-data", [(MG + "spring/sounds/day.ogg", None, "0815a3b82dba75175c3b5d645405f8393aa13509524ff56ddbcaf8807ed2c96e")], None),
    "btanks_forest": ("nature", "dev", "btanks-data", [(BT + "forest.ogg", None, "03e698b2a34605db2cdf228e61a7230a49c904145ae99326d53cf8173ca3cc25")], None),
    # crowds: negatives only
    "0ad_amb_trade_10": ("crowd", "dev", "0ad-data", [(A0, "audio/ambient/building/amb_trade_10.ogg", "fccdb61ff8f412cc36eedbff096f00ec952b184838e0401afcf3fe03011624f7")], None),
    "0ad_amb_trade_13": ("crowd", "dev", "0ad-data", [(A0, "audio/ambient/building/amb_trade_13.ogg", "36b10e612ec9083042ab00ee37987b5516f617588e94dab7e721a76deda4326d")], None),
    "etw_stadium": ("crowd", "dev", "etw-data", [
        (ETW + "crowd05.wav", None, "5e5fd82808d757d548689cbccbf334fb76c3b7c8cd0f5aba1588ab9920eb13d2"),
        (ETW + "crowd14.wav", None, "6e4ab20916948d172ab4ba2fd55026f32da7a57b27cd961ab5c09c38bcab6e27"),
        (ETW + "crowd12.wav", None, "21d7db886b58c0ba6f343fd785be57d652f42e0ee82d365d5d26e1ea29a84618")], None),
    "lmms_raving_crowd": ("crowd", "dev", "lmms-common", [("usr/share/lmms/samples/misc/raving_crowd01.ogg", None, "2ca45e2e14d986dd7290b75d32065bf785a09fea331cc3eb1e3241d2eb16359e")], None),
    "0ad_amb_trade_11": ("crowd", "test", "0ad-data", [(A0, "audio/ambient/building/amb_trade_11.ogg", "ea5a446489d5852ea7891df91a61f054459554a8060567ffca69aa6a0f41f219")], None),
    "0ad_amb_trade_12_20": ("crowd", "test", "0ad-data", [
        (A0, "audio/ambient/building/amb_trade_12.ogg", "df370d2896dc6e0e056824f5261aff823c90690955e470a50b4ac0aa9c377575"),
        (A0, "audio/ambient/building/amb_trade_20.ogg", "9344e21991aa0dc4b8df48af6f433c84f3801dea528b4833060fb3bc09b6faf0")], None),
    "stk_restaurant": ("crowd", "test", "supertuxkart-data", [(STK + "lenautile_restaurant.ogg", None, "ebd48a31d4db5288b096113fc1e6eb79514d60950273d421c8f70f1aa78f98d2")], None),
    "s3d_cheeringloop": ("crowd", "test", "scorched3d-data", [(S3A + "cheeringloop.wav", None, "7a2748f5426d73265349aedd9d61d26c6396652ae941c621b8f9baa9d7a90c1e")], None),
}
# Where the survey or make_devset.py already extracted archive members: (package, archive) -> folders.
EXTRACTED = {("0ad-data", A0): ["{root}/public_zip_members", "{work}/0ad"], ("ufoai-sound", UFO): ["{root}/0snd"]}

# Share of mixtures per bed class (the rest of the brief's classes; crowd is for negatives).
MIX_CLASSES = {"rain": 0.2, "traffic": 0.2, "wind": 1 / 6, "water": 1 / 6, "machinery": 1 / 6, "nature": 0.1}
NEG_NONCROWD = 1 / 3  # share of negatives made from the mixture classes' beds (the rest: crowds)
SNRS = [-5, 0, 5, 10]
LANGS = {"dev": ["fr", "ca", "el", "da", "nl"], "test": ["ru", "ro", "bg", "es", "be", "lt"]}
SPEECH_DIR = "usr/share/tuxpaint/stamps"

from datalib import (ACTIVE_DB, CLIP_FADE_S, FRAME_S, FULL, LOOP_FADE_S, MERGE_GAP_S, db, decode, decode_many,  # noqa: F401
                     loop_to, merge, ogg_seconds, package_roots, power, power_ch, recording_bytes, sha256_file,
                     utterance_spans, write_wav)

# ---------------------------------------------------------------- the set

def plan(args, rng):
    """The list of files to make: kind, split, bed recording, SNR, duration, rate/channels."""
    files = []
    # Mixtures: per class, half dev and half test, sources cycled within (class, split).
    counts = {c: round(args.mixtures * s) for c, s in MIX_CLASSES.items()}
    counts["rain"] += args.mixtures - sum(counts.values())
    slots = []
    for cls, cnt in counts.items():
        for split in ("dev", "test"):
            srcs = [r for r, v in RECORDINGS.items() if v[0] == cls and v[1] == split]
            m = cnt // 2 + (cnt % 2 if split == "test" else 0)
            slots += [(cls, split, srcs[i % len(srcs)]) for i in range(m)]
    for k, (cls, split, src) in enumerate(slots):
        snr = SNRS[(k + k // 4) % 4]  # every 4 consecutive slots hold all four SNRs; shifts vs sources
        files.append({"kind": "mixture", "split": split, "bed_source": src, "snr_db": snr})
    # Negatives: crowds, plus beds of the mixture classes (same split as their mixtures).
    n_other = round(args.negatives * NEG_NONCROWD)
    crowd = {s: [r for r, v in RECORDINGS.items() if v[0] == "crowd" and v[1] == s] for s in ("dev", "test")}
    other = {s: sorted({f["bed_source"] for f in files if f["split"] == s}) for s in ("dev", "test")}
    for i in range(args.negatives - n_other):
        split = ("dev", "test")[i % 2]
        files.append({"kind": "negative", "split": split, "bed_source": crowd[split][(i // 2) % len(crowd[split])], "snr_db": None})
    for i in range(n_other):
        split = ("dev", "test")[i % 2]
        pool = other[split]
        files.append({"kind": "negative", "split": split, "bed_source": pool[rng.randrange(len(pool))], "snr_db": None})
    for kind in ("mixture", "negative"):
        idx = 0
        for f in files:
            if f["kind"] != kind:
                continue
            f["file"] = f"{'mix' if kind == 'mixture' else 'neg'}_{idx:03d}.wav"
            f["hi"] = idx % 15 == 7  # 48 kHz stereo
            f["duration_s"] = round(rng.uniform(20.0, 40.0), 2)
            idx += 1
    return files


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--debs", default=str(ROOT / "bench-data/debs"), help="folder for the .deb files")
    ap.add_argument("--work", default=str(ROOT / "bench-data/devset-src"), help="folder to unpack them in")
    ap.add_argument("--unpacked", default=None,
                    help="optional folder with already unpacked packages as DIR/PKG/usr/... (used when present)")
    ap.add_argument("--out", default=str(ROOT / "bench-data/vad"))
    ap.add_argument("--mixtures", type=int, default=120)
    ap.add_argument("--negatives", type=int, default=30)
    ap.add_argument("--seed", type=int, default=10)
    ap.add_argument("--jobs", type=int, default=2, help="parallel ffmpeg processes for the speech")
    args = ap.parse_args()
    t0 = time.time()
    debs, work, out = Path(args.debs), Path(args.work), Path(args.out)
    roots = package_roots(PACKAGES, debs, work, Path(args.unpacked) if args.unpacked else None)
    t_fetch = time.time() - t0
    rng = random.Random(args.seed)
    files = plan(args, rng)

    # Recordings: bytes (sha256-checked), decoded on demand at 16 kHz mono / 48 kHz stereo.
    rec_bytes = {}
    for rid in sorted({f["bed_source"] for f in files}):
        cls, split, pkg, parts, _ = RECORDINGS[rid]
        rec_bytes[rid] = [recording_bytes(roots, work, pkg, p, m, d, EXTRACTED) for p, m, d in parts]
    decoded = {}

    def bed_audio(rid, rate, ch):
        key = (rid, rate, ch)
        if key not in decoded:
            maxs = RECORDINGS[rid][4]
            parts = [decode(b, rate, ch) for b in rec_bytes[rid]]
            fade_n = int(LOOP_FADE_S * rate)
            chs = parts[0]
            for p in parts[1:]:  # cuts of one take: join with a crossfade
                chs = [a[:-fade_n] + array.array("d", [x * (1 - (i + 0.5) / fade_n) + y * ((i + 0.5) / fade_n)
                                                       for i, (x, y) in enumerate(zip(a[-fade_n:], b[:fade_n]))]) + b[fade_n:]
                       for a, b in zip(chs, p)]
            if maxs:
                chs = [c[: int(maxs * rate)] for c in chs]
            means = [sum(c) / max(1, len(c)) for c in chs]
            decoded[key] = [array.array("d", map(operator.sub, c, repeat(m))) for c, m in zip(chs, means)]  # no DC
        return decoded[key]

    # Speech pools: per language, shuffled; a file draws from 1-2 languages of its split.
    sroot = roots["tuxpaint-stamps-default"] / SPEECH_DIR
    by_lang = {}
    for p in sorted(sroot.rglob("*_desc_*.ogg")):
        by_lang.setdefault(p.stem.rsplit("_", 1)[-1], []).append(p)
    for lang in sorted(by_lang):
        rng.shuffle(by_lang[lang])
    weights = {s: [len(by_lang.get(l, [])) for l in langs] for s, langs in LANGS.items()}

    # Plan the utterance sequence of every mixture from clip lengths (header only), then decode.
    for f in files:
        if f["kind"] != "mixture":
            continue
        langs = LANGS[f["split"]]
        chosen = set()
        while len(chosen) < rng.choice((1, 2)):
            chosen.add(rng.choices(langs, weights[f["split"]])[0])
        chosen = sorted(chosen)
        f["tail_s"] = rng.uniform(0.5, 2.0)
        f["first_onset_s"] = t = rng.uniform(0.5, 4.0)
        seq = []
        while True:
            lang = chosen[rng.randrange(len(chosen))]
            if not by_lang[lang]:
                lang = max(langs, key=lambda l: len(by_lang[l]))
            p = by_lang[lang][-1]
            d = ogg_seconds(p) or 6.0
            if t + d > f["duration_s"] - f["tail_s"]:
                break
            by_lang[lang].pop()
            gap = rng.uniform(0.3, 0.6) if rng.random() < 0.4 else rng.uniform(0.6, 4.0)
            seq.append({"path": p, "lang": lang, "gap_after": gap, "gain_db": rng.uniform(-3.0, 3.0)})
            t += d + gap
        f["seq"] = seq
        f["bed_gain_db"] = rng.uniform(-40.0, -24.0)
    for f in files:
        if f["kind"] == "negative":
            f["bed_gain_db"] = rng.uniform(-40.0, -20.0)
        f["bed_rng"] = rng.randrange(1 << 30)

    utt = {}
    for rate in (16000, 48000):
        paths = [s["path"] for f in files if f["kind"] == "mixture" and f["hi"] == (rate == 48000) for s in f["seq"]]
        chunks = [paths[i::args.jobs] for i in range(args.jobs)]
        with ThreadPoolExecutor(max_workers=args.jobs) as ex:
            for chunk, xs in zip(chunks, ex.map(lambda c: decode_many(c, rate), chunks)):
                utt.update({(p, rate): x for p, x in zip(chunk, xs)})
    t_speech = time.time() - t0

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    truth = []
    for f in files:
        rate, ch = (48000, 2) if f["hi"] else (16000, 1)
        n = int(round(f["duration_s"] * rate))
        cls, split, pkg, parts, _ = RECORDINGS[f["bed_source"]]
        brng = random.Random(f["bed_rng"])
        bed, off = loop_to(bed_audio(f["bed_source"], rate, ch), n, brng, int(LOOP_FADE_S * rate))
        g = (FULL * 10 ** (f["bed_gain_db"] / 20)) / max(1e-9, power_ch(bed)) ** 0.5
        mix = [list(map(g.__mul__, c)) for c in bed]
        p_bed = power_ch(mix)
        spans, utts = [], []
        if f["kind"] == "mixture":
            # Normalise every utterance to unit active power times its random gain; place by active extent.
            placed, t = [], f["first_onset_s"]
            act_energy = act_frames = 0.0
            for s in f["seq"]:
                x = utt[(s["path"], rate)]
                sp, p_act, n_act = utterance_spans(x, rate)
                if not sp:
                    continue
                gu = 10 ** (s["gain_db"] / 20) / p_act ** 0.5
                start = int(round(t * rate)) - sp[0][0]
                placed.append((start, x, gu, sp, s))
                act_energy += gu * gu * p_act * n_act
                act_frames += n_act
                t = (start + sp[-1][1]) / rate + s["gap_after"]
            p_sp = act_energy / act_frames
            G = (p_bed * 10 ** (f["snr_db"] / 10) / p_sp) ** 0.5
            fade = int(CLIP_FADE_S * rate)
            for start, x, gu, sp, s in placed:
                k = G * gu
                m = len(x)
                seg = [v * k for v in x]
                for i in range(min(fade, m // 2)):
                    w = (i + 0.5) / fade
                    seg[i] *= w
                    seg[m - 1 - i] *= w
                a, b = max(0, start), min(n, start + m)
                for c in mix:
                    c[a:b] = list(map(operator.add, c[a:b], seg[a - start:b - start]))
                us = [[round((start + u0) / rate, 3), round((start + u1) / rate, 3)] for u0, u1 in sp]
                spans += us
                utts.append({"src": str(s["path"].relative_to(sroot)), "lang": s["lang"],
                             "sha256": sha256_file(s["path"]), "clip_start_s": round(start / rate, 3),
                             "spans": us})
            assert all(0 <= s0 < s1 <= f["duration_s"] for s0, s1 in spans), f["file"]
        peak = max(max(map(abs, c)) for c in mix)
        lim = FULL * 10 ** (-0.2 / 20)
        scale = lim / peak if peak > lim else 1.0
        if scale != 1.0:
            mix = [list(map(scale.__mul__, c)) for c in mix]
        write_wav(out / f["file"], mix, rate)
        truth.append({
            "file": f["file"], "kind": f["kind"], "split": f["split"], "snr_db": f["snr_db"],
            "bed_source": f["bed_source"], "bed_class": cls, "bed_package": pkg,
            "bed_files": [p if m is None else f"{p}:{m}" for p, m, _ in parts],
            "bed_offset_s": round(off / rate, 3), "duration_s": round(n / rate, 3),
            "sample_rate": rate, "channels": ch,
            "bed_rms_dbfs": round(db(p_bed * scale * scale / FULL ** 2), 2),
            "speech_spans": merge(spans, MERGE_GAP_S), "utterances": utts,
        })
    with open(out / "truth.jsonl", "w") as fh:
        for r in truth:
            fh.write(json.dumps(r) + "\n")
    sources = {
        "packages": {p: {"version": v, "deb_sha256": d, "licence": LICENCES[p]} for p, (v, d) in PACKAGES.items()},
        "recordings": {r: {"class": v[0], "split": v[1], "package": v[2],
                           "files": [{"path": p, "member": m, "sha256": d} for p, m, d in v[3]],
                           "max_s": v[4]} for r, v in RECORDINGS.items()},
        "speech": {"package": "tuxpaint-stamps-default", "glob": SPEECH_DIR + "/**/*_desc_LANG.ogg", "languages": LANGS},
        "seed": args.seed,
    }
    (out / "sources.json").write_text(json.dumps(sources, indent=1) + "\n")

    # Composition.
    mixes = [r for r in truth if r["kind"] == "mixture"]
    negs = [r for r in truth if r["kind"] == "negative"]
    minutes = sum(r["duration_s"] for r in truth) / 60
    sp_s = sum(e - s for r in mixes for s, e in r["speech_spans"])
    print(f"{len(truth)} files in {out}: {len(mixes)} mixtures, {len(negs)} negatives, {minutes:.1f} min "
          f"({sum(r['duration_s'] for r in mixes) / 60:.1f} min mixtures, speech {sp_s / 60:.1f} min in "
          f"{sum(len(r['speech_spans']) for r in mixes)} lines from {sum(len(r['utterances']) for r in mixes)} utterances)")

    def count(rows, key):
        d = {}
        for r in rows:
            d[r[key]] = d.get(r[key], 0) + 1
        return ", ".join(f"{k}: {v}" for k, v in sorted(d.items(), key=lambda kv: str(kv[0])))
    print("mixtures by SNR:", count(mixes, "snr_db"))
    print("mixtures by split:", count(mixes, "split"), "| negatives by split:", count(negs, "split"))
    print("mixtures by class:", count(mixes, "bed_class"))
    print("mixtures by bed:", count(mixes, "bed_source"))
    print("negatives by bed:", count(negs, "bed_source"))
    print("48 kHz stereo files:", sum(r["sample_rate"] == 48000 for r in truth))
    print(f"time: {time.time() - t0:.1f} s (fetch/unpack {t_fetch:.1f} s, speech decode done at {t_speech:.1f} s)")


if __name__ == "__main__":
    main()
