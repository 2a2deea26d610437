#!/usr/bin/env python3
"""Build roomtone's ambience-tagger set from real recordings in Debian packages, plus synthetic HVAC.

    scripts/setup_pytools.sh tagger      # numpy, pinned, wheels only -> target/tagger-py
    PYTHONPATH=target/tagger-py python3 scripts/make_tagset.py [--debs DIR] [--work DIR] [--unpacked DIR]
                                         [--out bench-data/tagset] [--seed 10] [--jobs 2]
    PYTHONPATH=target/tagger-py python3 scripts/make_tagset.py --check-only [--out bench-data/tagset]

Needs numpy (the `tagger` set of scripts/setup_pytools.sh) and `ffmpeg`/`ffprobe` on PATH; fetching,
sha256 checks, archive members and the speech rules come from scripts/datalib.py (shared with
make_vad_set.py). Deterministic for a given --seed (random.Random and numpy's PCG64 seeded per clip;
ffmpeg's resampler and encoders run with +bitexact). At most --jobs (2) ffmpeg processes at a time.

Output (OUT = bench-data/tagset; nothing is committed, bench-data/ is git-ignored):
  OUT/clips/*.wav   16-bit PCM (written by ffmpeg), 2-60 s (most 5-20 s), 16/22.05/32/44.1/48 kHz, mono or stereo
  OUT/clips.csv     one row per clip (columns below); `path` is relative to OUT, as examples/tag_features.rs reads it
  OUT/sources.json  packages (version, .deb sha256, licence, what they give), recordings (label, survey verdict,
                    files or archive members with sha256), the synthetic HVAC families, the speech pool, the seed
  OUT/summary.json  the counts printed at the end of a build (or by --check-only)

clips.csv columns:
  path, label        label in rain traffic crowd hvac wind water nature music none (the dominant sound)
  speech, snr_db     speech=1 when tuxpaint utterances are laid over the clip; snr_db = 10 log10(P_speech/P_bed)
                     with P_speech the mean square over the utterances' active 10 ms frames (> peak - 40 dB), pooled,
                     and P_bed the mean square of everything else over the whole clip (make_vad_set.py's rule),
                     as laid over: the EQ tilt, low-pass, resampling and codec then act on the whole mix
  package            the source package of the dominant sound: the leave-one-source-out unit. Synthetic HVAC is
                     `synth-hvac-FAMILY`; dialogue in a quiet room is `tuxpaint-stamps-default`
  recording          the survey's recording group (R1, T5, C6, ...; every excerpt of one recording shares it);
                     synthetic HVAC `synth-hvac-FAMILY-vNN` (one parameter draw); isolated sounds `X-...`;
                     dialogue `speech-LANG`
  second_label, second_package, second_recording
                     the ambience laid underneath at -6..-20 dB (empty when none): hold its package out too
  augment            what was applied, `;`-separated (level, eq, lowpass, rate, codec, reverb, stereo/mono, ...)
  duration_s, sample_rate, channels   of the written WAV
  excerpt            excerpt index within the recording (at most 12 per recording) and start time
  level_dbfs         RMS of the written clip (all channels), before any codec
  langs              speech languages (tuxpaint file suffixes)

Composition (per label; see datasets.md for the packages and the counts of a build): 210 clips each for rain,
crowd, water, nature and hvac (90 from real machinery, 120 synthetic), as many as the material allows for
traffic (126) and wind (96), 120 music and about 190 none (90 dialogue, 100 isolated sounds): about 1,570 clips.
  * Real recordings only from the survey (notes/issue10-data-survey/SURVEY.md) with verdict REAL or PROB-REAL,
    one id per recording group, exact duplicates skipped (STK rain.ogg = MegaGlest jungle rain R5: taken once;
    dustracing2d/trigger-rally engines = STK engine_small T11: STK only; OpenSFX #26 = #25; #57 = #52;
    0 A.D. rain_12 = rain_11: rain_11 only; STK engine_large shares material with car_accel: one group T8).
    DESIGNED / SYNTH / UNCERTAIN files are not used (0 A.D. wind_11/snowstorm_11/windstorm_11, UFO:AI hum,
    hum2, machine1, alien-ventilation, lugaru Wind/DesertAmbient, ...).
  * Excerpts: a recording of L seconds gives n = clamp(round(L / 6), 1, 12) excerpts, spread evenly over it;
    each excerpt backs at most 6 clips (each its own random draw of start jitter, length and augmentation).
    Clips per label are dealt round-robin over packages, then recordings, then excerpts, so a package with
    many recordings cannot crowd out the others; labels with little material (wind, traffic) end up smaller.
  * Beds shorter than the drawn length are looped (0.25 s crossfades) up to twice their length, else the
    clip is shortened (never below 2 s). Traffic from single vehicle recordings (pass-bys, pull-aways, engine
    loops, siren, aircraft) is laid out as a street: repeated passes of that one recording at random times,
    speed/pitch 0.85-1.2x by resampling, over a low-passed, slowed loop of it as the distant rumble.
  * hvac: every real machinery recording the survey found (H1 endless-sky machine room, H2 STK machine,
    H3 scorched3d factory, H4 UFO:AI mine pump (its first 76.8 s: the file is that loop twice), H9 OpenSFX
    lift motor; machinery rather than HVAC proper) and SYNTHETIC HVAC from five generator families, each its
    own `package` so a leave-one-out fold holds a whole family out:
      fan          blade count 2-11 x shaft rate 8-45 Hz: blade-pass tone and harmonics with rpm jitter,
                   shaft-rate modulation, broadband air noise
      aircon       compressor cycling (on/off envelope, period 6-30 s, start thump and spin-up glide, motor
                   hum at the mains rate with a random harmonic series) over an indoor blower
      duct         ventilation rush: coloured noise through 3-6 duct/room resonances, grille hiss band,
                   slow turbulence modulation
      fridge       refrigerator / server room: 100/120 Hz hum with harmonics plus several small fast fans
                   (1-6 kHz whine) over white-ish noise
      transformer  mains hum (2x mains and a random, sometimes buzzy (saturated) harmonic series) with
                   slow frequency and level drift, over a faint noise floor
    common to all: 50/60 Hz mains with slow drift, noise colour white/pink/brown/blue (slope -6..+3 dB/oct),
    2-4 room resonances 40-300 Hz, and (70 %) a synthetic exponential-decay reverb (RT60 0.3-1.2 s).
  * none: dialogue in a quiet room (tuxpaint utterances, 1-2 languages, small-room reverb, over a room tone of
    -70..-55 dBFS) and isolated other sounds (doors, typing, sewing machine, clock, cash till, morse, tools,
    metal clanks, footsteps, coughs, UI beeps: 1-6 events over a -70..-55 dBFS room tone; 40 % with speech).
  * music: game music beds (0 A.D., Flare, HyperRogue, SuperTuxKart, Lugaru); 30 % with speech over them.

Augmentation, each clip a random draw (recorded in `augment`): level -40..-6 dBFS RMS (peaks held under
-0.5 dBFS by a limiter, at most 8 dB of gain reduction, then if need be by scaling the whole clip, so loud
draws end up at about -9 dBFS and below; `level_dbfs` is what was written); EQ tilt -3..+3 dB/octave around 1 kHz (60 %); low-pass at 8/16/22 kHz
(30 %); output rate 16/22.05/32/44.1/48 kHz; codec round trip through ffmpeg (30 %: MP3 64-192 kbit/s,
Vorbis q1-q6 or AAC 64-192 kbit/s, decoded back to WAV); room reverb (25 %, exponential-decay IR,
RT60 0.2-0.9 s); a second ambience underneath at -6..-20 dB re the bed (30 % of ambience clips, 15 % of
music; `second_label`); speech over it at -5..+10 dB SNR (about 40 % of ambience clips), tuxpaint spoken
descriptions in many languages, no utterance used twice in the set, placed and mixed as make_vad_set.py
does; stereo (true stereo when the source is, else decorrelated by two short random filters) or mono, 50/50.
"""
import argparse
import csv
import json
import math
import random
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from datalib import (ACTIVE_DB, FRAME_S, cat_name, decode, decode_many, ogg_seconds,  # noqa: E402
                     package_roots, recording_bytes, sha256_file)

ROOT = Path(__file__).resolve().parent.parent
SR = 48000  # working rate
SPEECH_DIR = "usr/share/tuxpaint/stamps"

PACKAGES = {  # name: (version, sha256 of the .deb); Debian 12 "bookworm"
    "tuxpaint-stamps-default": ("2022.06.04-1", "6db6c1bfc870a47f1499d6203b083522eacb57c5f9c87d468f2e92eb6d9d5f34"),
    "0ad-data": ("0.0.26-1", "53745ae74d05bccf6783400fa98f3932b21729ab9d2e86151aa2c331c3455178"),
    "megaglest-data": ("3.13.0-3", "ed4783d9fc78e201a548b266f7c30325eb16cfd58a20bf4597dd6e622f84a07e"),
    "supertuxkart-data": ("1.4+dfsg-2", "568d69cda50dc8ad1facb89514bd14953dfca736fdb83c49ae330b0aa7dd2364"),
    "flare-game": ("1.14-1", "4ab6a8298276013d35a0806257e130d992761af1b749041433b409c3dafec508"),
    "plee-the-bear-data": ("0.6.0-8", "8f8dca242ce75621ea5d175711c05780c17bad6a52bcb9b58e917db6ae2f98d7"),
    "ardentryst": ("1.71-9", "7a01180285a4acaa980b18118127c60ac0377f4e2bcd69244b1feb7de5fc566f"),
    "scorched3d-data": ("44+dfsg-8", "b0be0a6d561966a62b1f135e0e6f5681c85f12e34ecad5777cb1af9fbcb7f1da"),
    "btanks-data": ("0.9.8083-9", "fbe1a476d95c68fe73d87715f4f0aecc1bc5428a979cd19451722665c9dbb5ae"),
    "scratch": ("1.4.0.6~dfsg1-6.1", "36c582eb93110f64f06c4e685c41e933ccba2fa68db12f79b10bfe840b21fc10"),
    "openttd-opensfx": ("1.0.3-2", "2898b4677a3caccc4abc08fb4cf83319047b5a04729291deb5c77a8cd713c006"),
    "etw-data": ("3.6+svn162-6", "d1c79c32f6223332c01eb23ba78531e8d9d663c1f057cd21d8aac708b8de218a"),
    "tuxfootball": ("0.3.1-7", "bf633b85135bc39d56282cb6be25787fbdeebf22062351508dfdafc5e3c1a083"),
    "lmms-common": ("1.2.2+dfsg1-6", "7d9aa55dd05f11edc57104203ee1c350e3e41f8936ab3741da2bb1158fd46c37"),
    "dustracing2d-data": ("2.1.1-2", "62de832d40325817c9fbbe4eaca1d1c4dab567301cf832c3230175f28dac3703"),
    "unknown-horizons": ("2019.1-6", "ff49ea196d0f57c80d4cd4509c030240cbe632881f8c5b2a1265dd3e3795f100"),
    "openarena-data": ("0.8.5split-14", "fa68862434f02a826b7ef22008f25f406623abf4e37113c1bfab5460065483c8"),
    "endless-sky-data": ("0.9.8-1.2", "e45835e05a11e84bb1a890a0ded390246a53b8318f21a25925aa70fa54f80c13"),
    "ufoai-sound": ("2.5-2", "0224308c10e1265581d1829f19eaef031175390fd0eafeb4a1d558ac6561ed4e"),
    "minetest-data": ("5.6.1+dfsg+~1.9.0mt8+dfsg-2", "91371dd2bd51cfcd4fa60c138667989a47047dfe1a47f7523b9ad1782d397585"),
    "gnome-shell-pomodoro-data": ("0.22.1-1", "15a5e49f27b433b2615f4e2ac9878f6d065c1a75b9f31101bd4dbd05f80e1777"),
    "wesnoth-1.16-data": ("1:1.16.9-1", "1012b964bd412a6770685e3324ae3b61e176caff7846192d1ee63d55cd621e26"),
    "hyperrogue-music": ("12.0q-1", "61ab9f4c2169442d85f42c42d26e80c1a18b93c741f3d44f1b9d83015904e7f7"),
    "lugaru-data": ("1.2-6", "6a25e8d2d7c2d94b7873669d1f52137b2ba56e86ba5c2f08fefeacd65e526023"),
}
LICENCES = {  # of the files used (debian/copyright of each package; the survey quotes the stanzas)
    "tuxpaint-stamps-default": "GPL-2+",
    "0ad-data": "CC-BY-SA-3.0",
    "megaglest-data": "CC-BY-SA-3.0",
    "supertuxkart-data": "per file: CC0 (restaurant, river, waterfall, exotic birds), CC-BY-3.0 (rain, car_accel, "
                         "car_revup, engine_large, machine_sound, hammer, metal_clang), CC-BY-SA-3.0 (airplane, "
                         "music bay/hacienda/garden), CC-BY-SA-3.0 or GPL (engine_small), public domain (clock, locked)",
    "flare-game": "CC-BY-SA-3.0+",
    "plee-the-bear-data": "CC-BY-SA-3.0",
    "ardentryst": "CC-BY-SA-3.0 (Sounds/*)",
    "scorched3d-data": "GPL-2+",
    "btanks-data": "Battle-Tanks-License (GPL-2 with a commercial-content exception)",
    "scratch": "CC-BY-SA-3.0 (Media/*)",
    "openttd-opensfx": "per sound (entry name): CC-BY-3.0, CC0-1.0",
    "etw-data": "GPL-2+",
    "tuxfootball": "GPL-2+",
    "lmms-common": "GPL-2+",
    "dustracing2d-data": "GPL-3+",
    "unknown-horizons": "GPL-2+",
    "openarena-data": "GPL-2+",
    "endless-sky-data": "public-domain (sounds/*)",
    "ufoai-sound": "CC-BY-3.0 (minepump03), CC-BY-SA-3.0 (waterfontain, water01)",
    "minetest-data": "CC0-1.0 (env_sounds water, per the mod's README)",
    "gnome-shell-pomodoro-data": "GPL-3+",
    "wesnoth-1.16-data": "GPL-2+",
    "hyperrogue-music": "CC-BY-SA-3.0",
    "lugaru-data": "GPL-2+",
}

A0 = "usr/share/games/0ad/mods/public/public.zip"
CAT = "usr/share/games/openttd/baseset/opensfx/opensfx.cat"
UFO = "usr/share/games/ufoai/base/0snd.pk3"
OA = "usr/share/games/openarena/baseoa/pak0.pk3"
MG = "usr/share/games/megaglest/tilesets/"
STK = "usr/share/games/supertuxkart/data/"
S3A = "usr/share/games/scorched3d/data/globalmods/apoc/data/wav/misc/"
S3N = "usr/share/games/scorched3d/data/globalmods/none/data/wav/misc/"
FL = "usr/share/games/flare/mods/"
BT = "usr/share/games/btanks/data/sounds/ambient/"
SCR = "usr/share/scratch/Media/Sounds/"
LUG = "usr/share/games/lugaru/Sounds/"
# Where the survey or make_devset.py already extracted archive members: (package, archive) -> folders.
EXTRACTED = {("0ad-data", A0): ["{root}/public_zip_members", "{work}/0ad"]}

# (recording id, label, package, survey verdict, [(path in package, member of archive or None, sha256)]).
# Ids R/T/C/W/H/A/N are the survey's recording groups; files listed together are cuts of one recording
# (joined with a crossfade). M*: music tracks; X-*: isolated sounds (label none).
RECORDINGS = [
    ('R1', 'rain', '0ad-data', 'PROB-REAL', [(A0, 'audio/ambient/weather/rain_11.ogg', 'e06fedc54b75e9191124f4cfa3fe0d2a8cdb98d72cb13d53f42a60996a5f7eba')]),
    ('R2', 'rain', 'megaglest-data', 'PROB-REAL', [(MG + 'mediterran/sounds/rain.ogg', None, '413e9b38274d88524bb492fb8f81c535f4179abd3af8332e256637607ad48db9')]),
    ('R3', 'rain', 'megaglest-data', 'PROB-REAL', [(MG + 'desert2/sounds/rain.wav', None, '3b4ae0f78fe971d8af259c1fc022dc512106dee2fd39aa9581e311d014ab2430')]),
    ('R4', 'rain', 'megaglest-data', 'PROB-REAL', [(MG + 'autumn/sounds/rain.ogg', None, '7329a4a61f7739e19cc999e418ec209b7f4ca183eab2d3dcda53bbacc332ac31')]),
    ('R5', 'rain', 'megaglest-data', 'REAL', [(MG + 'jungle/sounds/rain.ogg', None, '68a1b0333fde0fcfbf940474752669ce9c83780585cd07714d80d0ea2d26ede4')]),
    ('R6', 'rain', 'flare-game', 'PROB-REAL', [(FL + 'empyrean_campaign/soundfx/environment/rain.ogg', None, 'a6f49fddff4ff8d8c9c1db0dcbd0bffcf7cbb206e37772671adc9b5d4f9b7874')]),
    ('R7', 'rain', 'plee-the-bear-data', 'PROB-REAL', [('usr/share/games/plee-the-bear/sound/weather/rain.ogg', None, 'a768c03e5fc6b7c7393497d6db93b844c018069080ab6011b8222b47d2023101')]),
    ('R8', 'rain', 'ardentryst', 'PROB-REAL', [('usr/share/games/ardentryst/Sounds/Rain_Loop.ogg', None, '195238fcc87b0caffda86b82c0cd3e324a221ee3710389080eecc499c0857fd3')]),
    ('R9', 'rain', 'scorched3d-data', 'PROB-REAL', [(S3N + 'rain.wav', None, '1121b04160e55c0b7ae6aafb3d519d39a1924b2ede986e1aca4e8dc94f14b4cb')]),
    ('T1', 'traffic', 'btanks-data', 'PROB-REAL', [(BT + 'city.ogg', None, '37ef129e2c41870542b5da28fd52ee5f46a4978c29603fa2ad0e546e467ca940')]),
    ('T2', 'traffic', 'scorched3d-data', 'PROB-REAL', [(S3A + 'citysounds.wav', None, 'ac868fee61d2164f1ed10aa067bdcb762325a397a5a2c35bc4c989480e5a9996')]),
    ('T3', 'traffic', 'scratch', 'PROB-REAL', [(SCR + 'Effects/MotorcyclePassing.wav', None, 'dd7cd3d307f25332f60f6e9f703212b11fd839442345798843212ae916b8a6d8')]),
    ('T4', 'traffic', 'openttd-opensfx', 'REAL', [(CAT, '#27', '1279514934b0162be18ed48916ab3857bb0b2b22e16e16af649802485e82a57a')]),
    ('T5', 'traffic', 'openttd-opensfx', 'REAL', [(CAT, '#25', 'd9102ef4ba35288ffb09ecb9273a70c22e2489009f6968bf8236dbd2ed9b604c')]),
    ('T6', 'traffic', 'openttd-opensfx', 'REAL', [(CAT, '#28', '0050f0d0a394a3785233cda56065618039ad353d6103604b43241b683ef5bd17')]),
    ('T8', 'traffic', 'supertuxkart-data', 'REAL', [(STK + 'sfx/car_accel.ogg', None, '87144a52bc7e5345c89e5894b9649426a7ce847e906e65feff69a15e41c8c270'), (STK + 'sfx/engine_large.ogg', None, 'bc485ba0344fb442b0e34e4ef17dea78f9d81a26e382c56fa4a8d3a840dc17c4')]),
    ('T9', 'traffic', 'supertuxkart-data', 'REAL', [(STK + 'sfx/car_revup.ogg', None, 'a3c011ec1f6063d1b961763ec0028ce6c95d869b46d37d5d317961420edafd3c')]),
    ('T11', 'traffic', 'supertuxkart-data', 'REAL', [(STK + 'sfx/engine_small.ogg', None, '299bd0c610a101ef2bed0e2621caecc10eee927168414e56d8d15e8cad74ec5a')]),
    ('T12', 'traffic', 'supertuxkart-data', 'REAL', [(STK + 'sfx/airplane_jetEngine.ogg', None, '5a1c559e2925eb8ec02101ba6a61ce1f60cc0e607f256cd6cedf36ee7b9a9c6c')]),
    ('T13', 'traffic', 'scorched3d-data', 'PROB-REAL', [(S3A + 'firetruck.wav', None, '33eb57e0549723003c8a749bfa83301bbfb7371770740baffc33300a94da54a6')]),
    ('C1', 'crowd', '0ad-data', 'PROB-REAL', [(A0, 'audio/ambient/building/amb_trade_10.ogg', 'fccdb61ff8f412cc36eedbff096f00ec952b184838e0401afcf3fe03011624f7')]),
    ('C2', 'crowd', '0ad-data', 'PROB-REAL', [(A0, 'audio/ambient/building/amb_trade_11.ogg', 'ea5a446489d5852ea7891df91a61f054459554a8060567ffca69aa6a0f41f219')]),
    ('C3', 'crowd', '0ad-data', 'PROB-REAL', [(A0, 'audio/ambient/building/amb_trade_12.ogg', 'df370d2896dc6e0e056824f5261aff823c90690955e470a50b4ac0aa9c377575'), ('usr/share/games/0ad/mods/public/public.zip', 'audio/ambient/building/amb_trade_20.ogg', '9344e21991aa0dc4b8df48af6f433c84f3801dea528b4833060fb3bc09b6faf0')]),
    ('C4', 'crowd', '0ad-data', 'PROB-REAL', [(A0, 'audio/ambient/building/amb_trade_13.ogg', '36b10e612ec9083042ab00ee37987b5516f617588e94dab7e721a76deda4326d')]),
    ('C5', 'crowd', 'supertuxkart-data', 'REAL', [(STK + 'sfx/lenautile_restaurant.ogg', None, 'ebd48a31d4db5288b096113fc1e6eb79514d60950273d421c8f70f1aa78f98d2')]),
    ('C6', 'crowd', 'etw-data', 'PROB-REAL', [('usr/share/games/etw/crowd/crowd05.wav', None, '5e5fd82808d757d548689cbccbf334fb76c3b7c8cd0f5aba1588ab9920eb13d2'), ('usr/share/games/etw/crowd/crowd14.wav', None, '6e4ab20916948d172ab4ba2fd55026f32da7a57b27cd961ab5c09c38bcab6e27'), ('usr/share/games/etw/crowd/crowd12.wav', None, '21d7db886b58c0ba6f343fd785be57d652f42e0ee82d365d5d26e1ea29a84618')]),
    ('C7', 'crowd', 'tuxfootball', 'PROB-REAL', [('usr/share/games/tuxfootball/sound/crowdcheer.wav', None, 'e26c021055c9af83cf81b5c14a1f233b99f3a40649c21afc13c82cb5aac42da6'), ('usr/share/games/tuxfootball/sound/crowdboo.wav', None, 'ff9c776a707cc5f8d3bb8b962f67c29dfcdd9eea6296f4e48c9a480b496d570e')]),
    ('C8', 'crowd', 'scorched3d-data', 'PROB-REAL', [(S3A + 'cheeringloop.wav', None, '7a2748f5426d73265349aedd9d61d26c6396652ae941c621b8f9baa9d7a90c1e')]),
    ('C9', 'crowd', 'lmms-common', 'PROB-REAL', [('usr/share/lmms/samples/misc/raving_crowd01.ogg', None, '2ca45e2e14d986dd7290b75d32065bf785a09fea331cc3eb1e3241d2eb16359e')]),
    ('C10', 'crowd', 'scratch', 'PROB-REAL', [(SCR + 'Human/PartyNoise.wav', None, 'c87c91db6e1660aca773cdbbed7551e75a583f60f0ef524d2845f50108282c79')]),
    ('C11', 'crowd', 'dustracing2d-data', 'PROB-REAL', [('usr/share/games/dustracing2d/sounds/cheering.ogg', None, '36645c2bc7f1db4ed0dd71ff979846d3a31bb855763a20095b1c6a3cdae9a569')]),
    ('C12', 'crowd', 'unknown-horizons', 'PROB-REAL', [('usr/share/unknown-horizons/content/audio/sounds/main_square.ogg', None, '2867c54f92e465dfeb88800ffb0580526f763d381028be67df91f08562ca1fcb')]),
    ('C13', 'crowd', 'openttd-opensfx', 'REAL', [(CAT, '#29', '2fe8ec13ddcf665ea5a187f047f5784abaf37d591538cf4efe9e87c659a2329b')]),
    ('W3', 'wind', '0ad-data', 'PROB-REAL', [(A0, 'audio/ambient/weather/windleaves_10.ogg', '1934ce4125ff721640473f741926ee406bdc87040d8fb073052d4c0f4dc5d8f2'), ('usr/share/games/0ad/mods/public/public.zip', 'audio/ambient/weather/windleaves_11.ogg', '0595028d9c9245fb059ea81efb9ca9f29cc7614410fde0777b23d2f27d144397')]),
    ('W4', 'wind', 'flare-game', 'PROB-REAL', [(FL + 'fantasycore/soundfx/environment/wind_loop.ogg', None, 'fee94e41ffa4024d5d8494f9cb134a7417dc76315364868c5a595a21dfc5d270')]),
    ('W8', 'wind', 'megaglest-data', 'PROB-REAL', [(MG + 'winter/sounds/wind.ogg', None, '4d48f5cedfb0902f2107b42bfc04f6a268cc8fa75291069817463f98c5d38427')]),
    ('W10', 'wind', 'openarena-data', 'PROB-REAL', [(OA, 'sound/world/wind1.wav', '3a5a1f0c429c7196dc679342c32a5971622e5f11f6eb4e2a22cd083c3e7bc57e')]),
    ('W11', 'wind', 'openarena-data', 'PROB-REAL', [(OA, 'sound/world/wind2.wav', '970ca10edd385c6e5a8e12735ae7c30eb5ad8f675a5c57e6bda5495e53a12607')]),
    ('W12', 'wind', 'openttd-opensfx', 'REAL', [(CAT, '#52', 'ff90e750c6c280e96d38358c57fbf30a7cafe533f041eba8f38b9c59d67ed86e')]),
    ('H1', 'hvac', 'endless-sky-data', 'PROB-REAL', [('usr/share/games/endless-sky/sounds/ambient/machinery.mp3', None, 'cfc878e6bdbdc49dadc8cae9789ef0d7c95798fa83b017bcaa93cce0d3b9dd38')]),
    ('H2', 'hvac', 'supertuxkart-data', 'REAL', [(STK + 'sfx/machine_sound.ogg', None, '756fc787b007d377e2fdada6923687d44b8e68ffd5c9abd2178389e6c94f6211')]),
    ('H3', 'hvac', 'scorched3d-data', 'PROB-REAL', [(S3A + 'factoryloop1.wav', None, '43858154da93b50f19b5e6ba1251c5fbf82059b53113a86c78d9c5ed23ca9159')]),
    ('H4', 'hvac', 'ufoai-sound', 'PROB-REAL', [(UFO, 'sound/ambience/minepump03.ogg', '72c07614f6d5bc64c02a7c0ade606953b67fe0ed54d4e58493f184fbd18325f9')]),
    ('H9', 'hvac', 'openttd-opensfx', 'REAL', [(CAT, '#11', '03aedefb2d48d65929e7fa1b73a424a129698640fb07c7ec37b3f651528364e2')]),
    ('A1', 'water', '0ad-data', 'PROB-REAL', [(A0, 'audio/ambient/water/river_fast_21.ogg', 'fbaeb318ed2dfdaa8f2711f6d1df66f09b916ddfd9ce9aa7999411cbdd5bb41a')]),
    ('A2', 'water', '0ad-data', 'PROB-REAL', [(A0, 'audio/ambient/water/river_med_21.ogg', 'd4fea2dfe0403f69d4b198ac16150d195900e2cc9dd70ab006c7bd41d573d485')]),
    ('A3', 'water', '0ad-data', 'PROB-REAL', [(A0, 'audio/ambient/water/river_slow_21.ogg', 'c2c0c5817ff556825a739609930c7d424982539f9e40cb5cc96b1b50e5e7ad9e')]),
    ('A4', 'water', '0ad-data', 'PROB-REAL', [(A0, 'audio/ambient/water/river_raging_21.ogg', '35bce1961e23803026a22726788eb79b8ddb4be19c0732004385b9b5bb84c901'), ('usr/share/games/0ad/mods/public/public.zip', 'audio/ambient/water/waterfall_31.ogg', '0592a0bfbc5f018a6290a69e20fd8ef67c0eab652c925eca7ce5c56d72e74933')]),
    ('A5', 'water', '0ad-data', 'PROB-REAL', [(A0, 'audio/ambient/water/wave_21.ogg', '6c7d4ade0408579a8015d198494ebe32ed310c2d7e42759772355ed2b071037e')]),
    ('A6', 'water', '0ad-data', 'PROB-REAL', [(A0, 'audio/ambient/water/wavecrash_21.ogg', '6c7e4aac50dc9651be010554f827c7031999951d759e835dcbe07e08173aab32')]),
    ('A7', 'water', '0ad-data', 'PROB-REAL', [(A0, 'audio/ambient/water/waverocky_21.ogg', '2b97c829c621d6f0637c4c77fdce1ac2796fe8efc00ac2773406b1770614ea5c')]),
    ('A8', 'water', 'supertuxkart-data', 'REAL', [(STK + 'sfx/river_loop.ogg', None, '58d3f165ff9b4e5e031e24e16cb1cdc475dd76df0aafd6df7d84e637cee2fd2c')]),
    ('A9', 'water', 'supertuxkart-data', 'REAL', [(STK + 'sfx/waterfall_loop_2.ogg', None, '6a70d6707d5660c088b63d1a838d0c4eb2571f1a9368b4303e43b46e8dd03729')]),
    ('A10', 'water', 'flare-game', 'PROB-REAL', [(FL + 'fantasycore/soundfx/environment/river_loop.ogg', None, '966355cfae44955fcc46a32e236cf28dfef5d42e1ed360d2c6fd31d379ab50d4')]),
    ('A11', 'water', 'minetest-data', 'REAL', [('usr/share/games/minetest/games/minetest_game/mods/env_sounds/sounds/env_sounds_water.1.ogg', None, 'd9cb23c31187446dd64222f602283a32176e9ed2a1561ac26c164437446bf39f'), ('usr/share/games/minetest/games/minetest_game/mods/env_sounds/sounds/env_sounds_water.2.ogg', None, '66c4b3dee8afcc8bcac194d0428f249aa30cc6d39d94c00fd8cc24231df43dd7')]),
    ('A12', 'water', 'scorched3d-data', 'PROB-REAL', [(S3N + 'oceanwaves.wav', None, 'cd4dbdacfd5959add10f804d829fdfeb666ab3b43fe2c7d045291370793540ca')]),
    ('A13', 'water', 'ufoai-sound', 'PROB-REAL', [(UFO, 'sound/ambience/waterfontain.ogg', 'a9e5e600f8ab0de131c31769dcbb3370ee6a52df598021296573c95d07efb08a')]),
    ('A14', 'water', 'ufoai-sound', 'PROB-REAL', [(UFO, 'sound/ambience/water01.ogg', '8eb265ef57cbbafa6f7ecdaec55af936e1fb763329397b3d08feb3f9fbc9b71f')]),
    ('N1', 'nature', '0ad-data', 'PROB-REAL', [(A0, 'audio/ambient/dayscape/day_temperate_gen_01.ogg', '7b899f4b2e9e1f5a711490deac9ebf85f8cdbf6c0668e85dbb185d781ac2c76e')]),
    ('N2', 'nature', '0ad-data', 'PROB-REAL', [(A0, 'audio/ambient/dayscape/day_tropical_10.ogg', '38ac24be7ff863e777f5cfc1cbf9d5eca8bf380c11b0b5d590548147e639e50a')]),
    ('N3', 'nature', 'supertuxkart-data', 'REAL', [(STK + 'sfx/exotic-birds.ogg', None, '89c3c6d7b55a5d1341cdd59f23ae479ac2c864934214bdd6ef716f02056d7801')]),
    ('N4', 'nature', 'supertuxkart-data', 'REAL', [(STK + 'sfx/exotic-birds_2.ogg', None, '85714f71c609b091b39c060685252093505e9065b7fdd8e9b50aeaffd97ffef1')]),
    ('N5', 'nature', 'megaglest-data', 'REAL', [(MG + 'spring/sounds/day.ogg', None, '0815a3b82dba75175c3b5d645405f8393aa13509524ff56ddbcaf8807ed2c96e')]),
    ('N6', 'nature', 'megaglest-data', 'REAL', [(MG + 'autumn/sounds/sunny_day.ogg', None, 'ea9ac78914dda76924f86873a189d443dadd6339c3e891245c135e132b68b07b')]),
    ('N7', 'nature', 'megaglest-data', 'REAL', [(MG + 'autumn/sounds/nightime.ogg', None, 'ee8d637e9c361f6a759dcfd7a5b53d74dea8580008e356a17bee75069a54b6e2')]),
    ('N8', 'nature', 'megaglest-data', 'PROB-REAL', [(MG + 'evergreen/sounds/night.ogg', None, 'a102fb73958db081094fde8dc3c0c8e9659ddbb579188267c64e633d0cfafb6f')]),
    ('N9', 'nature', 'btanks-data', 'PROB-REAL', [(BT + 'forest.ogg', None, '03e698b2a34605db2cdf228e61a7230a49c904145ae99326d53cf8173ca3cc25')]),
    ('N10', 'nature', 'btanks-data', 'PROB-REAL', [(BT + 'country.ogg', None, '6ba411e553d803196e4051ecbc6c9c5f33d99f8db54136a1b1b5e20ffab9ccb1')]),
    ('N11', 'nature', 'scorched3d-data', 'PROB-REAL', [(S3N + 'birds1.wav', None, 'd53d391d5ac0d01d30e01c07aa2e0fbb80b2722aac196d4d8794e6d472a6e225')]),
    ('N12', 'nature', 'scorched3d-data', 'PROB-REAL', [(S3N + 'frogs.wav', None, 'd04eaf228ff101a717ef19fd68874d4a0e8e6e3a99472db06a9f621032fdab18')]),
    ('N13', 'nature', 'gnome-shell-pomodoro-data', 'PROB-REAL', [('usr/share/gnome-pomodoro/sounds/birds.ogg', None, 'd592e455997e6af72dffeeaa3e93195ef88b83c06d91cc010b7bdfedca8b4c65')]),
    ('N14', 'nature', 'wesnoth-1.16-data', 'PROB-REAL', [('usr/share/games/wesnoth/1.16/data/core/sounds/ambient/birds1.ogg', None, '190d307656a79223ada4a892fe7dabb105d13117d5234a8e7954c5d4a28ab9e0')]),
    ('N15', 'nature', 'flare-game', 'PROB-REAL', [(FL + 'fantasycore/soundfx/environment/bird_twitter_loop.ogg', None, '8ff20108708b024b2790252815753fdc6335a2790a3a9d777bfe55fb2fc46d3f')]),
    ('M1', 'music', '0ad-data', 'music', [(A0, 'audio/music/Calm_Before_the_Storm.ogg', 'a0887d85c6cc086ab5b46fc954cb24d10400f1dbced5e66fb630ef4253a5bc41')]),
    ('M1b', 'music', '0ad-data', 'music', [(A0, 'audio/music/Highland_Mist.ogg', 'cdaf1b2bd5686291687daac4d0049706a742f00cb3276c5317abf3b2c2a96d7b')]),
    ('M1c', 'music', '0ad-data', 'music', [(A0, 'audio/music/Eastern_Dreams.ogg', 'a09091ffcb3b9bc832d29d95c304034779aa8d4f8f5ac908bcfed1c4574d53b6')]),
    ('M2', 'music', 'flare-game', 'music', [(FL + 'fantasycore/music/forest_theme.ogg', None, '84e01136955db71b33f144a80384e23dfeb6b31bec02a0abb5d17fc34ea2c3d6')]),
    ('M2b', 'music', 'flare-game', 'music', [(FL + 'fantasycore/music/town_theme.ogg', None, 'f20df6a16ef47d88a431662beb48186ac825b70b9d8d4c034ecb5e314bfe6d2d')]),
    ('M2c', 'music', 'flare-game', 'music', [(FL + 'fantasycore/music/battle_theme.ogg', None, 'c16834bde4cd332f6751afd77bc411f781406f68ce89f3a1026d67ba63a53494')]),
    ('M3', 'music', 'hyperrogue-music', 'music', [('usr/share/hyperrogue/music/hr3-jungle.ogg', None, '680ab254c07ca66b1184cede534fc4e611f37242e7a6225250450c95d1a71396')]),
    ('M4', 'music', 'hyperrogue-music', 'music', [('usr/share/hyperrogue/music/hr3-desert.ogg', None, '2da1ca7ab6a5b37f2ccc32e9a22aa565c673f52fdfcdd65643ee0a36d367eeef')]),
    ('M3b', 'music', 'hyperrogue-music', 'music', [('usr/share/hyperrogue/music/hr3-caves.ogg', None, '62b7769d1ccfe1967e19c7db787f4997ffed2c40fe61c09ebb4becf725a751bb')]),
    ('M3c', 'music', 'hyperrogue-music', 'music', [('usr/share/hyperrogue/music/hr-domina-mountain.ogg', None, 'edbb2320a712317bd08a83fc287aad9d475ae9d2a91375493c76b77dd9125d1f')]),
    ('M5b', 'music', 'supertuxkart-data', 'music', [(STK + 'music/bay.ogg', None, 'defc6a7d6edc83cacdeb545be63f047b87e74c826e36d8ad555889e05f3f5e5f')]),
    ('M5c', 'music', 'supertuxkart-data', 'music', [(STK + 'music/hacienda.ogg', None, 'd61207be599ad75ccce637508cbaa46f6faf4d210caaec171d700c672b0f099a')]),
    ('M5d', 'music', 'supertuxkart-data', 'music', [(STK + 'music/garden.ogg', None, '0c5e451476f81edbc521013a833823a5d5dd33b214d07ab4f09828d8d5dcc61c')]),
    ('M6', 'music', 'lugaru-data', 'music', [(LUG + 'Music1Desert.ogg', None, '7189637bca143021d000ce44b76d95d237d31d49cbc30120a689d6fb37ccb74f')]),
    ('M6b', 'music', 'lugaru-data', 'music', [(LUG + 'Music2.ogg', None, 'a427e9030b9833fcde791436d99d254f1fa8f3b7b81871be1ea0c49b1dcf3581')]),
    ('X-scr-doorclose', 'none', 'scratch', 'sfx', [(SCR + 'Effects/DoorClose.mp3', None, 'feab133134b34ad1651dddde7303e634af56875336a6da006b281e2e9da83b40')]),
    ('X-scr-doorcreak', 'none', 'scratch', 'sfx', [(SCR + 'Effects/DoorCreak.wav', None, '28d106d47ed0e18f35434790b738329c01d7aaa270387ed73b7e74878ffe926b')]),
    ('X-scr-typing', 'none', 'scratch', 'sfx', [(SCR + 'Effects/Typing.mp3', None, '1a63d6bf725ca930a0776e7b8d7ac47d52fb37866f8bc1414c77770fbff4df3b')]),
    ('X-scr-sewing', 'none', 'scratch', 'sfx', [(SCR + 'Effects/SewingMachine.mp3', None, '75d40448ac012157c8fc150963494a2fce03e8fc7f70d865685c9aded550529f')]),
    ('X-scr-rattle', 'none', 'scratch', 'sfx', [(SCR + 'Effects/Rattle.wav', None, '42352cfd678c23a8b219c31d1962adbfb4836e5969c852d0da9081d6cfe0d725')]),
    ('X-scr-pop', 'none', 'scratch', 'sfx', [(SCR + 'Effects/Pop.wav', None, 'c4e0340e0671d71dec3772ca5ad7eff37120886fef19d9b8bdc9435a404b9f39')]),
    ('X-scr-snap', 'none', 'scratch', 'sfx', [(SCR + 'Human/FingerSnap.wav', None, 'ce53a1743515d1204ad357453488dd89eb8c646837d434010d707f2d6fef1dbb')]),
    ('X-scr-footsteps', 'none', 'scratch', 'sfx', [(SCR + 'Human/Footsteps-1.wav', None, '2f3d59f709634bb6ab04a7b890598e2c606b8907b09d30deeb856525b60ac205')]),
    ('X-scr-cough-m', 'none', 'scratch', 'sfx', [(SCR + 'Human/Cough-male.wav', None, '44c01df16d3a7ddf193faef52d02a3022d2b32ddb7eaf4c2b67a7bedadcb671d')]),
    ('X-scr-cough-f', 'none', 'scratch', 'sfx', [(SCR + 'Human/Cough-female.wav', None, '4816121b99099ae3e47b0faf812f1363366fcb7d5aabf62e6e86098af1b2116b')]),
    ('X-scr-sneeze', 'none', 'scratch', 'sfx', [(SCR + 'Human/Sneeze-female.wav', None, 'f09108ed11eadcc82c1f2bc1b9370d34411347c187f849174275d5f8f14c1191')]),
    ('X-scr-beeps1', 'none', 'scratch', 'sfx', [(SCR + 'Electronic/ComputerBeeps1.wav', None, '8dc2242d4550db9683473caee4f122eeabe6bf3fb5f379d6e2402350df58bd22')]),
    ('X-scr-beeps2', 'none', 'scratch', 'sfx', [(SCR + 'Electronic/ComputerBeeps2.wav', None, 'ae61d2d0644ada3a2544859e9ee5e8c7de147d7ecda4571e39ae030bc35fc53c')]),
    ('X-osfx-till', 'none', 'openttd-opensfx', 'sfx', [(CAT, '#20', 'c8a6b2b759323039917a0650163f1403a40f9b4e33f1c9dd298b9f1dfaf59d9a')]),
    ('X-osfx-morse', 'none', 'openttd-opensfx', 'sfx', [(CAT, '#22', 'd75c1b134518becb8d33939d4eec1ded92d076f929b65772adbb8689d3dbc6a9')]),
    ('X-osfx-jackhammer', 'none', 'openttd-opensfx', 'sfx', [(CAT, '#33', 'dc81a78d902f7aaf49427e09a0aeab806599cbba841738029ab429b2af2e775f')]),
    ('X-osfx-smithy', 'none', 'openttd-opensfx', 'sfx', [(CAT, '#39', 'cac91399f55a0eb3baf78276403bf269adc0d424e63591828ee06da76cb07cda')]),
    ('X-osfx-saw', 'none', 'openttd-opensfx', 'sfx', [(CAT, '#40', 'f68844e54d0f25e839d2a704a3b1a32aaa74407b812b6ce420c622a78348bf3a')]),
    ('X-osfx-chainsaw', 'none', 'openttd-opensfx', 'sfx', [(CAT, '#56', 'eb57208a783e655be8cfb50fc7abaa675a801c4e4686a4a580aec41a6b979442')]),
    ('X-osfx-sparking', 'none', 'openttd-opensfx', 'sfx', [(CAT, '#12', '2219cf36c2305f96fffe81a4668a32aac85687454b4a4b9cc3df2e48a18de6f3')]),
    ('X-stk-clock', 'none', 'supertuxkart-data', 'sfx', [(STK + 'sfx/clock.ogg', None, '1b9462a51156255869a824fd524055872072fbe014f19677cf23b601acead44f')]),
    ('X-stk-locked', 'none', 'supertuxkart-data', 'sfx', [(STK + 'sfx/locked.ogg', None, '075bd60ba4f70cf60afa5e83d4616a7bf57b4f4defc2c77b4db9eee9c935fe91')]),
    ('X-stk-hammer', 'none', 'supertuxkart-data', 'sfx', [(STK + 'sfx/hammer.ogg', None, '9c28d6ad67e15d11cc4e68e2e8b110182aeddc0ad43f647b3664bc7fa2223322')]),
    ('X-stk-clang', 'none', 'supertuxkart-data', 'sfx', [(STK + 'sfx/metal_clang.ogg', None, '8be97b91f9a4bfa035232553769a613cc53cf73da907d98224a232bb9c8d5f05')]),
    ('X-lug-clank1', 'none', 'lugaru-data', 'sfx', [(LUG + 'Clank1.ogg', None, '13ef2a659bc4a5cdb18f999dee49f887f171bcd13037e87aef4fbce5113efb41')]),
    ('X-lug-clank2', 'none', 'lugaru-data', 'sfx', [(LUG + 'Clank2.ogg', None, '122241996aa40ae02cdd3672ada97e26a9c80847355fcd0215ad61e3ab95683c')]),
    ('X-lug-knifedraw', 'none', 'lugaru-data', 'sfx', [(LUG + 'KnifeDraw.ogg', None, '0686dad90a0f1ac4ed41c630a9a68dea4dbf1dded855d6d16aa606719def446c')]),
    ('X-lug-sheathe', 'none', 'lugaru-data', 'sfx', [(LUG + 'KnifeSheathe.ogg', None, 'cf5c4fc9b61a7dd48efe905ccc88d6cc57a4e151a923511ff6f653119eb666dc')]),
    ('X-lug-metalhit', 'none', 'lugaru-data', 'sfx', [(LUG + 'MetalHit.ogg', None, 'aedd067d167174fc26415f93fb0d821c671cfde3f44e834bad687e8952d411fc')]),
    ('X-lug-steps', 'none', 'lugaru-data', 'sfx', [(LUG + 'FootStepStone1.ogg', None, 'dea3368b63a504b8f09eb158869c8ca6b4f146d567be29c50693de8d104c1cd5')]),
    ('X-lug-uifail', 'none', 'lugaru-data', 'sfx', [(LUG + 'ConsoleFail.ogg', None, 'a889f49f4fc274eb0c85f1dcdee3f4b85dfd2e14be1480b2aae44490b4b2be7e')]),
    ('X-lug-uiok', 'none', 'lugaru-data', 'sfx', [(LUG + 'ConsoleSuccess.ogg', None, '2fee113a6ee73642ce7a9a09352cacf48bbff3e50fc8944fa43cc148c7747de2')]),
]
RDICT = {r[0]: r for r in RECORDINGS}
MAX_S = {"H4": 76.8, "W8": 16.0, "C12": 8.7}  # loop played twice / segment repeated / silence after 8.7 s
TRAFFIC_EVENTS = {"T3", "T4", "T5", "T6", "T8", "T9", "T11", "T12", "T13"}  # single vehicles: laid out as a street
AMBIENCE = ["rain", "traffic", "crowd", "hvac", "wind", "water", "nature"]
TARGET = {"rain": 210, "traffic": 210, "crowd": 210, "wind": 210, "water": 210, "nature": 210, "music": 120}
HVAC_REAL = 90  # clips from the real machinery recordings; the rest of hvac is synthetic
SYNTH_FAMILIES = ["fan", "aircon", "duct", "fridge", "transformer"]
SYNTH_VARIANTS = 8  # parameter draws per family (each a `recording`)
SYNTH_CLIPS = 3  # clips per draw
N_DIALOGUE = 90  # none: dialogue in a quiet room
N_FX = 100  # none: isolated other sounds
EXC_S, MAX_EXC, REUSE = 6.0, 12, 6
SPEECH_P = 0.44  # drawn for 44 % of ambience clips; the shortest cannot hold an utterance, so about 40 % get one
FX_REUSE = 6
RATES = [16000, 22050, 32000, 44100, 48000]
RATE_W = [2, 1, 1.5, 2.5, 3]
PEAK = 10 ** (-0.5 / 20)


# ---------------------------------------------------------------- signal helpers (numpy, 48 kHz)

def freqs(n):
    f = np.fft.rfftfreq(n, 1 / SR)
    f[0] = f[1] if n > 1 else 1.0
    return f


def spec_filter(x, gain):
    """Filter the columns of x (n, ch) by a real gain curve gain(f) applied in one FFT."""
    n = x.shape[0]
    X = np.fft.rfft(x, axis=0)
    X *= gain(freqs(n))[:, None]
    return np.fft.irfft(X, n, axis=0).astype(np.float32)


def coloured(n, slope, rng, hp=20.0):
    """Noise with a spectral slope of `slope` dB/octave (0 white, -3 pink, -6 brown, +3 blue), unit RMS."""
    X = rng.standard_normal(n // 2 + 1) + 1j * rng.standard_normal(n // 2 + 1)
    f = freqs(n)
    X *= (f / 1000.0) ** (slope / 6.0206) * (1 / (1 + (hp / f) ** 4))
    x = np.fft.irfft(X, n)
    return (x / (np.std(x) + 1e-12)).astype(np.float32)


def peaks_gain(peaks):
    """Gain curve with resonant peaks [(centre Hz, gain dB, Q)]."""
    def g(f):
        h = np.ones_like(f)
        for fc, gdb, q in peaks:
            h += (10 ** (gdb / 20) - 1) / (1 + (q * (f / fc - fc / f)) ** 2)
        return h
    return g


def smooth_walk(n, rate_hz, rng):
    """Slow random control signal (about `rate_hz` independent values per second), unit RMS, length n."""
    k = max(3, int(n / SR * rate_hz) + 3)
    c = rng.standard_normal(k)
    t = np.linspace(0, k - 1, n)
    i = np.minimum(t.astype(int), k - 2)
    w = t - i
    w = w * w * (3 - 2 * w)  # smoothstep between control points
    return (c[i] * (1 - w) + c[i + 1] * w).astype(np.float64)


def harmonic_tone(n, f0, amps, jitter, rng, drift_hz=0.5, fmul=None):
    """Sum of harmonics h*f0 (amps[h-1]) with the fundamental wandering by `jitter` (fraction, RMS)."""
    f = f0 * (1 + jitter * smooth_walk(n, drift_hz, rng))
    if fmul is not None:
        f = f * fmul
    ph = 2 * np.pi * np.cumsum(f) / SR
    y = np.zeros(n)
    for h, a in enumerate(amps, 1):
        if a <= 0 or h * f0 * (1 + 3 * jitter) >= SR / 2 * 0.95:
            continue
        y += a * np.sin(h * ph + rng.uniform(0, 2 * np.pi))
    return y


def reverb_ir(rt60, rng, seconds=None):
    L = int(SR * (seconds or min(2.0, 1.2 * rt60)))
    t = np.arange(L) / SR
    ir = rng.standard_normal(L) * 10 ** (-3 * t / rt60)
    ir[: int(0.002 * SR)] = 0  # pre-delay: the direct sound is added separately
    return ir / (np.sqrt(np.sum(ir ** 2)) + 1e-12)


def convolve(x, h):
    """Columns of x (n, ch) convolved with h (m,) or (m, ch); output length n."""
    n, m = x.shape[0], h.shape[0]
    N = 1 << int(math.ceil(math.log2(n + m)))
    H = np.fft.rfft(h if h.ndim == 2 else h[:, None], N, axis=0)
    y = np.fft.irfft(np.fft.rfft(x, N, axis=0) * H, N, axis=0)[:n]
    return y.astype(np.float32)


def add_reverb(x, rt60, wet, rng):
    ch = x.shape[1]
    h = np.stack([reverb_ir(rt60, rng) for _ in range(ch)], axis=1)
    return x + wet * convolve(x, h)


def rms(x):
    return float(np.sqrt(np.mean(np.asarray(x, np.float64) ** 2))) if x.size else 0.0


def set_rms(x, dbfs):
    return x * (10 ** (dbfs / 20) / max(rms(x), 1e-12))


def loop_take(x, start, n, fade):
    """n samples of x from `start`, wrapping around with linear crossfades of `fade` samples."""
    L = x.shape[0]
    start %= L
    if start + n <= L:
        return x[start:start + n].copy()
    seq = np.concatenate([x[start:], x[:start]]) if start else x
    f = min(fade, L // 4)
    out = [seq]
    total = L
    ramp = ((np.arange(f) + 0.5) / f)[:, None].astype(np.float32)
    while total < n:
        prev = out[-1]
        tail = prev[-f:] * (1 - ramp) + seq[:f] * ramp
        out[-1] = prev[:-f] if f else prev
        out.append(tail)
        out.append(seq[f:])
        total += L - f
    return np.concatenate(out)[:n]


def resample_lin(x, factor):
    """Play x (n,) `factor` times faster (pitch up) by linear interpolation."""
    n = int(len(x) / factor)
    return np.interp(np.arange(n) * factor, np.arange(len(x)), x).astype(np.float32)


def decorrelate(x, rng):
    """Mono (n, 1) -> stereo (n, 2) through two short random filters (a decorrelated pair)."""
    m = int(0.015 * SR)
    hs = []
    for _ in range(2):
        h = rng.standard_normal(m) * np.exp(-np.arange(m) / (0.004 * SR))
        h /= np.sqrt(np.sum(h ** 2))
        hs.append(h)
    y = convolve(np.repeat(x, 2, axis=1), np.stack(hs, axis=1))
    y = 0.55 * x + 0.85 * y
    return y * (rms(x) / max(rms(y), 1e-12))


# ---------------------------------------------------------------- synthetic HVAC

def synth_params(family, rng):
    """One parameter draw (a `recording`) of a family; the clip's noise comes from the clip's own seed."""
    p = {"family": family, "mains": rng.choice([50.0, 60.0]), "slope": rng.choice([0.0, -3.0, -4.5, -6.0, 3.0]),
         "room": [(rng.uniform(40, 300), rng.uniform(3, 10), rng.uniform(2, 8)) for _ in range(rng.randint(2, 4))],
         "hum_amps": [rng.uniform(0, 1) ** 2 for _ in range(rng.randint(3, 12))],
         "reverb": rng.random() < 0.7, "rt60": rng.uniform(0.3, 1.2), "wet": rng.uniform(0.2, 0.7)}
    if family == "fan":
        p.update(blades=rng.choice([2, 3, 4, 5, 6, 7, 9, 11]), shaft=rng.uniform(8, 45), jitter=rng.uniform(0.002, 0.015),
                 harm=[rng.uniform(0.3, 0.8) ** h for h in range(1, rng.randint(4, 10))],
                 tnr=rng.uniform(-20, -3), am=rng.uniform(0.0, 0.15), hum=rng.random() < 0.3)
    elif family == "aircon":
        p.update(period=rng.uniform(6, 30), duty=rng.uniform(0.4, 0.8), slip=rng.uniform(0.01, 0.05),
                 comp_db=rng.uniform(-6, 6), spinup=rng.uniform(0.4, 1.5), thump=rng.uniform(-12, 0),
                 blades=rng.choice([3, 4, 5, 7, 9, 12, 20]), shaft=rng.uniform(8, 25), tnr=rng.uniform(-18, -6))
    elif family == "duct":
        p.update(duct=[(rng.uniform(60, 600), rng.uniform(4, 14), rng.uniform(1.5, 6)) for _ in range(rng.randint(3, 6))],
                 hiss=(rng.uniform(2000, 6000), rng.uniform(0, 10), rng.uniform(0.7, 2)), turb=rng.uniform(0.05, 0.2),
                 turb_hz=rng.uniform(0.1, 0.5), tone=rng.random() < 0.3, shaft=rng.uniform(10, 30),
                 blades=rng.choice([5, 7, 9]), hum=rng.random() < 0.2)
    elif family == "fridge":
        p.update(fans=[(rng.uniform(50, 200), rng.choice([5, 7, 9]), rng.uniform(-12, 0)) for _ in range(rng.randint(2, 5))],
                 hum_db=rng.uniform(-10, 3), noise_db=rng.uniform(-12, 0))
    elif family == "transformer":
        p.update(buzz=rng.uniform(0, 3) if rng.random() < 0.5 else 0.0, drift=rng.uniform(0.005, 0.04),
                 lvl_drift=rng.uniform(0.5, 3.0), noise_db=rng.uniform(-35, -18))
    return p


def mains_hum(n, p, rng, fundamental=1):
    """Mains hum: harmonics of the mains rate (amplitudes p['hum_amps']) with slow frequency drift."""
    amps = list(p["hum_amps"])
    if fundamental == 2:  # magnetostriction: 2x mains dominant
        amps = [a * (0.3 if h % 2 else 1.0) for h, a in enumerate(amps, 1)]
        amps[1] = max(amps[1], 1.0)
    return harmonic_tone(n, p["mains"], amps, 0.0004, rng, drift_hz=0.05)


def synth_hvac(p, n, rng):
    fam = p["family"]
    noise = coloured(n, p["slope"], rng)
    if fam == "fan":
        bpf = p["blades"] * p["shaft"]
        tone = harmonic_tone(n, bpf, p["harm"], p["jitter"], rng)
        tone *= 1 + p["am"] * np.sin(2 * np.pi * p["shaft"] * np.arange(n) / SR)
        y = noise + 10 ** (p["tnr"] / 20) * tone / (rms(tone) + 1e-12)
        if p["hum"]:
            h = mains_hum(n, p, rng)
            y += 0.1 * h / (rms(h) + 1e-12)
    elif fam == "aircon":
        t = np.arange(n) / SR
        phase0 = rng.uniform(0, p["period"])
        cyc = ((t + phase0) % p["period"]) / p["period"]
        on = (cyc < p["duty"]).astype(np.float64)
        w = int(0.3 * SR)  # soft on/off edges: a 0.3 s moving average of the on/off switch
        cs = np.concatenate([[0.0], np.cumsum(on)])
        lo = np.clip(np.arange(n) - w // 2, 0, n)
        env = (cs[np.clip(lo + w, 0, n)] - cs[lo]) / w
        since = ((t + phase0) % p["period"])  # seconds since the last start
        glide = np.where(on > 0, 0.6 + 0.4 * (1 - np.exp(-since / (p["spinup"] / 3))), 1.0)
        comp_f = p["mains"] * (1 - p["slip"])
        comp = harmonic_tone(n, comp_f, p["hum_amps"], 0.001, rng, fmul=glide)
        comp = comp / (rms(comp) + 1e-12) * env * 10 ** (p["comp_db"] / 20)
        starts = np.nonzero(np.diff(on) > 0)[0]
        th = np.zeros(n)
        for s in starts:  # start transient: a decaying low thump
            m = min(n - s, int(0.4 * SR))
            k = np.arange(m) / SR
            th[s:s + m] += np.sin(2 * np.pi * rng.uniform(25, 60) * k) * np.exp(-k / 0.08) * 3 * 10 ** (p["thump"] / 20)
        blower = harmonic_tone(n, p["blades"] * p["shaft"], [1, 0.4, 0.15], 0.004, rng)
        y = noise + 10 ** (p["tnr"] / 20) * blower / (rms(blower) + 1e-12) + comp + th
    elif fam == "duct":
        y = spec_filter(noise[:, None], peaks_gain(p["duct"] + [p["hiss"]]))[:, 0]
        y = y * (1 + p["turb"] * smooth_walk(n, p["turb_hz"], rng))
        if p["tone"]:
            tone = harmonic_tone(n, p["blades"] * p["shaft"], [1, 0.3], 0.005, rng)
            y += 0.08 * tone / (rms(tone) + 1e-12)
        if p["hum"]:
            h = mains_hum(n, p, rng)
            y += 0.05 * h / (rms(h) + 1e-12)
    elif fam == "fridge":
        h = mains_hum(n, p, rng, fundamental=2)
        y = 10 ** (p["noise_db"] / 20) * coloured(n, 0.0, rng) + 0.5 * noise
        y += 10 ** (p["hum_db"] / 20) * h / (rms(h) + 1e-12)
        for shaft, blades, gdb in p["fans"]:
            tone = harmonic_tone(n, shaft * blades, [1, 0.5, 0.25], 0.003, rng)
            y += 10 ** ((gdb - 12) / 20) * tone / (rms(tone) + 1e-12)
    else:  # transformer
        h = mains_hum(n, p, rng, fundamental=2)
        h = h / (rms(h) + 1e-12)
        if p["buzz"] > 0:
            h = np.tanh(h * (1 + p["buzz"])) / np.tanh(1 + p["buzz"])
        lvl = 10 ** (p["lvl_drift"] * smooth_walk(n, 0.1, rng) / 20)
        y = h * lvl + 10 ** (p["noise_db"] / 20) * noise
    y = spec_filter(np.asarray(y, np.float32)[:, None], peaks_gain(p["room"]))
    if p["reverb"]:
        y = add_reverb(y, p["rt60"], p["wet"], rng)
    return y.astype(np.float32)


def hvac_desc(p):
    d = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in p.items() if not isinstance(v, list)}
    return d


# ---------------------------------------------------------------- sources

def load_recording(roots, work, rid):
    """Decoded recording: float32 (n, ch) at 48 kHz, ch = 1 for mono (and dual-mono) sources, DC removed."""
    _, _, pkg, _, parts = RDICT[rid]
    xs = []
    for p, m, d in parts:
        chs = decode(recording_bytes(roots, work, pkg, p, m, d, EXTRACTED), SR, 2)
        x = np.stack([np.frombuffer(c, dtype=np.float64) for c in chs], axis=1).astype(np.float32)
        xs.append(x)
    dual = all(np.max(np.abs(x[:, 0] - x[:, 1])) <= 1e-4 * (np.max(np.abs(x)) + 1e-9) for x in xs)
    xs = [x[:, :1] if dual else x for x in xs]
    x = xs[0]
    f = int(0.25 * SR)
    for y in xs[1:]:  # cuts of one recording: join with a crossfade
        r = ((np.arange(f) + 0.5) / f)[:, None].astype(np.float32)
        x = np.concatenate([x[:-f], x[-f:] * (1 - r) + y[:f] * r, y[f:]])
    if rid in MAX_S:
        x = x[: int(MAX_S[rid] * SR)]
    return x - x.mean(axis=0, keepdims=True)


def n_excerpts(seconds):
    return max(1, min(MAX_EXC, int(round(seconds / EXC_S))))


def deal(recs, target, reuse):
    """Clip slots (rid, excerpt) for one label: round-robin over packages, each package's queue going over
    all its (recording, excerpt) pairs once before any is reused, at most `reuse` uses of an excerpt."""
    by_pkg = {}
    for rid, n_exc in recs:
        by_pkg.setdefault(RDICT[rid][2], []).append((rid, n_exc))
    queues = []
    for pkg in sorted(by_pkg):
        q = []
        for _ in range(reuse):
            for e in range(MAX_EXC):
                q += [(rid, e) for rid, n_exc in by_pkg[pkg] if e < n_exc]
        queues.append(q)
    out, i = [], 0
    while len(out) < target and any(queues):
        q = queues[i % len(queues)]
        if q:
            out.append(q.pop(0))
        i += 1
    return out


def draw_duration(rng):
    u = rng.random()
    if u < 0.12:
        return rng.uniform(2, 5)
    if u < 0.86:
        return rng.uniform(5, 20)
    if u < 0.97:
        return rng.uniform(20, 40)
    return rng.uniform(40, 60)


def draw_augment(rng, label, kind):
    a = {"level": rng.uniform(-40, -6), "out_rate": rng.choices(RATES, RATE_W)[0], "stereo": rng.random() < 0.5}
    if rng.random() < 0.6:
        a["tilt"] = rng.uniform(-3, 3)
    if rng.random() < 0.3:
        lp = rng.choice([8000, 16000, 22000])
        if lp < a["out_rate"] / 2:
            a["lowpass"] = lp
    if rng.random() < 0.3:
        c = rng.choice(["mp3", "vorbis", "aac"])
        a["codec"] = (c, rng.choice([64, 96, 128, 160, 192]) if c != "vorbis" else rng.randint(1, 6))
    if kind != "synth" and rng.random() < 0.25:
        a["reverb"] = (rng.uniform(0.2, 0.9), rng.uniform(0.1, 0.5))
    return a


# ---------------------------------------------------------------- plan

def plan(args, rng, durations, by_lang, speech_left):
    clips = []
    real = {lab: [] for lab in AMBIENCE + ["music", "none"]}
    for rid, lab, pkg, ver, parts in RECORDINGS:
        real[lab].append(rid)

    def speech_seq(dur, langs_pool):
        """Utterances for a clip of `dur` s (make_vad_set.py's placement), none used twice in the set."""
        k = rng.choice((1, 1, 2))
        chosen = sorted({rng.choices(langs_pool, [len(by_lang[lg]) for lg in langs_pool])[0] for _ in range(k)})
        tail = rng.uniform(0.3, 1.5) if dur < 6 else rng.uniform(0.5, 2.0)
        t = rng.uniform(0.2, 1.0) if dur < 6 else rng.uniform(0.5, 4.0)
        first, seq = t, []
        while True:
            lang = chosen[rng.randrange(len(chosen))]
            if not by_lang[lang]:
                break
            p, d = by_lang[lang][-1]
            if t + d > dur - tail:
                break
            by_lang[lang].pop()
            speech_left[0] -= 1
            gap = rng.uniform(0.3, 0.6) if rng.random() < 0.4 else rng.uniform(0.6, 4.0)
            seq.append({"path": p, "lang": lang, "gap_after": gap, "gain_db": rng.uniform(-3, 3)})
            t += d + gap
        return {"first_onset": first, "seq": seq, "snr": round(rng.uniform(-5, 10), 1)} if seq else None

    langs_all = sorted(by_lang)

    def second_for(label):
        lab2 = rng.choice([x for x in AMBIENCE if x != label])
        pool = [r for r in real[lab2] if r not in TRAFFIC_EVENTS]
        rid2 = rng.choice(pool)
        return {"rid": rid2, "rel_db": rng.uniform(-20, -6), "start": rng.random()}

    def bed_clip(label, rid, e, kind="bed"):
        L = durations[rid]
        n_exc = n_excerpts(L)
        d = draw_duration(rng)
        if kind == "traffic-events":
            d = min(d, 30.0)
        elif label == "music":
            d = min(d, L)
        else:
            d = min(d, max(2.0, 2 * L))
        d = max(2.0, d)
        c = {"label": label, "kind": kind, "rid": rid, "package": RDICT[rid][2], "excerpt": e,
             "start_s": (e + rng.random()) * L / n_exc, "dur": d, "aug": draw_augment(rng, label, kind),
             "seed": rng.randrange(1 << 31)}
        if label in AMBIENCE and rng.random() < 0.3 or label == "music" and rng.random() < 0.15:
            c["second"] = second_for(label)
        if label in AMBIENCE and rng.random() < SPEECH_P or label == "music" and rng.random() < 0.3:
            c["speech"] = speech_seq(d, langs_all)
        return c

    for label in AMBIENCE + ["music"]:
        recs = [(rid, 1 if rid in TRAFFIC_EVENTS else n_excerpts(durations[rid])) for rid in real[label]]
        target = HVAC_REAL if label == "hvac" else TARGET[label]
        for rid, e in deal(recs, target, REUSE):
            clips.append(bed_clip(label, rid, e, "traffic-events" if rid in TRAFFIC_EVENTS else "bed"))
        if label == "hvac":
            for fam in SYNTH_FAMILIES:
                for v in range(SYNTH_VARIANTS):
                    p = synth_params(fam, rng)
                    for _ in range(SYNTH_CLIPS):
                        d = max(2.0, draw_duration(rng))
                        c = {"label": "hvac", "kind": "synth", "rid": f"synth-hvac-{fam}-v{v:02d}",
                             "package": f"synth-hvac-{fam}", "excerpt": None, "start_s": 0.0, "dur": d,
                             "synth": p, "aug": draw_augment(rng, "hvac", "synth"), "seed": rng.randrange(1 << 31)}
                        if rng.random() < 0.3:
                            c["second"] = second_for("hvac")
                        if rng.random() < SPEECH_P:
                            c["speech"] = speech_seq(d, langs_all)
                        clips.append(c)
    # none: dialogue in a quiet room
    for i in range(N_DIALOGUE):
        d = rng.uniform(4, 30)
        sp = speech_seq(d, langs_all)
        if sp is None:
            continue
        c = {"label": "none", "kind": "dialogue", "rid": f"speech-{sp['seq'][0]['lang']}",
             "package": "tuxpaint-stamps-default", "excerpt": None, "start_s": 0.0, "dur": d,
             "aug": draw_augment(rng, "none", "dialogue"), "seed": rng.randrange(1 << 31), "speech": sp,
             "room_db": rng.uniform(-70, -55), "speech_db": rng.uniform(-32, -14),
             "room_rt60": rng.uniform(0.15, 0.45), "room_wet": rng.uniform(0.15, 0.4)}
        c["aug"].pop("reverb", None)
        clips.append(c)
    # none: isolated other sounds, dealt over packages
    fx = [(rid, 1) for rid in real["none"]]
    for rid, _ in deal(fx, N_FX, FX_REUSE):
        d = rng.uniform(3, 20)
        same = [r for r in real["none"] if RDICT[r][2] == RDICT[rid][2] and r != rid]
        c = {"label": "none", "kind": "fx", "rid": rid, "package": RDICT[rid][2], "excerpt": None, "start_s": 0.0,
             "dur": d, "aug": draw_augment(rng, "none", "fx"), "seed": rng.randrange(1 << 31),
             "events": rng.randint(1, max(1, min(6, int(d / 3)))), "other": rng.choice(same) if same and rng.random() < 0.3 else None,
             "room_db": rng.uniform(-70, -55), "peak_db": rng.uniform(-24, -3)}
        if rng.random() < 0.4:
            c["speech"] = speech_seq(d, langs_all)
        clips.append(c)
    for i, c in enumerate(clips):
        c["file"] = f"clips/{c['label']}_{i:04d}.wav"
        if c.get("speech") is None:
            c.pop("speech", None)
    return clips


# ---------------------------------------------------------------- render

def speech_track(c, n, utt, rng_np):
    """Speech (n,) placed as make_vad_set.py does, each utterance normalised to unit active power times its
    gain; returns the track and its pooled active power."""
    sp = c["speech"]
    track = np.zeros(n, np.float32)
    t = sp["first_onset"]
    act_e = act_n = 0.0
    fade = int(0.005 * SR)
    for s in sp["seq"]:
        x, spans, p_act, n_act = utt[s["path"]]
        if not spans:
            continue
        a0, a1 = spans[0][0], spans[-1][1]
        gu = 10 ** (s["gain_db"] / 20) / math.sqrt(p_act)
        start = int(round(t * SR)) - a0
        seg = (x * gu).astype(np.float32)
        m = len(seg)
        w = ((np.arange(min(fade, m // 2)) + 0.5) / fade).astype(np.float32)
        seg[: len(w)] *= w
        seg[m - len(w):] *= w[::-1]
        a, b = max(0, start), min(n, start + m)
        if b > a:
            track[a:b] += seg[a - start:b - start]
        act_e += gu * gu * p_act * n_act
        act_n += n_act
        t = (start + a1) / SR + s["gap_after"]
    return track, (act_e / act_n if act_n else 0.0)


def limit(x, thr=PEAK, max_gr_db=8.0):
    """Peak limiter as on loud real footage: gain per 2.5 ms block so no block peaks above `thr`, held over
    +-10 ms and smoothed, at most `max_gr_db` of reduction; anything still above `thr` scales the whole clip.
    Returns the signal, the largest limiter reduction and the whole-clip scaling (dB)."""
    B = 120
    n = x.shape[0]
    nb = -(-n // B)
    pad = np.zeros((nb * B - n, x.shape[1]), x.dtype)
    bp = np.max(np.abs(np.concatenate([x, pad]).reshape(nb, B, x.shape[1])), axis=(1, 2))
    g = np.maximum(np.minimum(1.0, thr / np.maximum(bp, 1e-9)), 10 ** (-max_gr_db / 20))
    gg = g.copy()
    for k in range(1, 5):
        gg[k:] = np.minimum(gg[k:], g[:-k])
        gg[:-k] = np.minimum(gg[:-k], g[k:])
    cs = np.concatenate([[0.0], np.cumsum(gg)])
    lo = np.clip(np.arange(nb) - 4, 0, nb)
    hi = np.clip(np.arange(nb) + 5, 0, nb)
    gs = np.minimum((cs[hi] - cs[lo]) / (hi - lo), gg)  # smoothed, never above the held gain itself
    gsm = np.interp(np.arange(n), np.arange(nb) * B + B / 2, gs).astype(np.float32)
    y = x * gsm[:, None]
    peak = float(np.max(np.abs(y)))
    sc = 1.0 if peak <= thr else thr / peak
    return y * sc, -20 * math.log10(max(float(gsm.min()), 1e-9)), -20 * math.log10(sc)


def render(c, recs, utt, tmpdir):
    rng = np.random.default_rng(c["seed"])
    a = c["aug"]
    n = int(round(c["dur"] * SR))
    aug = []
    kind = c["kind"]
    if kind == "bed":
        x = recs[c["rid"]]
        x = loop_take(x, int(c["start_s"] * SR), n, int(0.25 * SR))
        n = x.shape[0]
    elif kind == "traffic-events":
        src = recs[c["rid"]].mean(axis=1)
        out = np.zeros(n, np.float32)
        slow = float(rng.uniform(0.5, 0.75))
        rum = resample_lin(src, slow)
        fc = float(rng.uniform(250, 700))
        rum = spec_filter(rum[:, None], lambda f: 1 / np.sqrt(1 + (f / fc) ** 8))[:, 0]
        rum = loop_take(rum[:, None], int(rng.integers(0, len(rum))), n, int(0.25 * SR))[:, 0]
        t = -rng.uniform(0, 0.5) * len(src) / SR
        events = 0
        while t < c["dur"]:
            ev = resample_lin(src, float(rng.uniform(0.85, 1.2)))
            ev = ev * 10 ** (rng.uniform(-9, 0) / 20)
            s = int(t * SR)
            a0, b0 = max(0, s), min(n, s + len(ev))
            if b0 > a0:
                out[a0:b0] += ev[a0 - s:b0 - s]
                events += 1
            t += len(ev) / SR * rng.uniform(0.3, 1.2) + rng.uniform(0.5, 4.0)
        out += rum * (10 ** (rng.uniform(-10, -4) / 20) * max(rms(out), 1e-9) / max(rms(rum), 1e-12))
        x = out[:, None]
        aug.append(f"street:{events}passes/rumble{slow:.2f}x<{fc:.0f}Hz")
    elif kind == "synth":
        x = synth_hvac(c["synth"], n, rng)
        p = c["synth"]
        aug.append(f"synth:{p['family']}" + (f"/rt60={p['rt60']:.2f}" if p["reverb"] else ""))
    elif kind == "dialogue":
        x = coloured(n, float(rng.uniform(-6, -3)), rng)[:, None]
        x = set_rms(x, c["room_db"])
        aug.append(f"roomtone:{c['room_db']:.0f}dBFS")
    else:  # fx
        x = np.zeros((n, 1), np.float32)
        ev0 = recs[c["rid"]]
        ev0 = ev0.mean(axis=1, keepdims=True)
        srcs = [ev0] + ([recs[c["other"]].mean(axis=1, keepdims=True)] if c["other"] else [])
        k = c["events"]
        for j in range(k + (1 if c["other"] else 0)):
            ev = srcs[1] if j == k else srcs[0]
            ev = ev[: n] * 10 ** (rng.uniform(-4, 4) / 20)
            s = int(rng.integers(0, max(1, n - len(ev))))
            x[s:s + len(ev)] += ev[: n - s]
        x = x * (10 ** (c["peak_db"] / 20) / max(float(np.max(np.abs(x))), 1e-9))
        room = set_rms(coloured(n, float(rng.uniform(-6, -3)), rng)[:, None], c["room_db"])
        x = x + room
        aug.append(f"events:{k}" + (f"+{c['other']}" if c["other"] else "") + f"/roomtone:{c['room_db']:.0f}dBFS")
    # second ambience underneath
    if "second" in c:
        s2 = c["second"]
        y = recs[s2["rid"]]
        y = loop_take(y, int(s2["start"] * y.shape[0]), n, int(0.25 * SR))
        if y.shape[1] != x.shape[1]:
            if x.shape[1] == 1:
                x = np.repeat(x, 2, axis=1) if y.shape[1] == 2 else x
            if y.shape[1] == 1 and x.shape[1] == 2:
                y = np.repeat(y, 2, axis=1)
        x = x + y * (10 ** (s2["rel_db"] / 20) * rms(x) / max(rms(y), 1e-12))
        aug.append(f"second:{RDICT[s2['rid']][1]}@{s2['rel_db']:.1f}dB")
    if "reverb" in a:
        x = add_reverb(x, a["reverb"][0], a["reverb"][1], rng)
        aug.append(f"reverb:rt60={a['reverb'][0]:.2f}/wet={a['reverb'][1]:.2f}")
    # channels
    if a["stereo"]:
        if x.shape[1] == 1:
            x = decorrelate(x, rng)
            aug.append("stereo:decorrelated")
        else:
            aug.append("stereo:true")
    else:
        if x.shape[1] == 2:
            x = x.mean(axis=1, keepdims=True)
            aug.append("mono:downmix")
        else:
            aug.append("mono")
    # level of the bed, then speech
    snr = None
    langs = ""
    if kind == "dialogue":
        tr, p_act = speech_track(c, n, utt, rng)
        ir = reverb_ir(c["room_rt60"], rng)
        tr = tr + c["room_wet"] * convolve(tr[:, None], ir)[:, 0]
        g = 10 ** (c["speech_db"] / 20) / math.sqrt(max(p_act, 1e-20))
        p_bed = float(np.mean(np.asarray(x, np.float64) ** 2))
        x = x + (g * tr)[:, None]
        snr = round(10 * math.log10(max(g * g * p_act, 1e-30) / max(p_bed, 1e-30)), 1)
        langs = "+".join(sorted({s["lang"] for s in c["speech"]["seq"]}))
        aug.append(f"speech:{c['speech_db']:.0f}dBFS/room_rt60={c['room_rt60']:.2f}")
    else:
        x = set_rms(x, a["level"])
        aug.insert(0, f"level:{a['level']:.1f}dBFS")
        if "speech" in c:
            tr, p_act = speech_track(c, n, utt, rng)
            p_bed = float(np.mean(np.asarray(x, np.float64) ** 2))
            G = math.sqrt(p_bed * 10 ** (c["speech"]["snr"] / 10) / max(p_act, 1e-20))
            x = x + (G * tr)[:, None]
            snr = c["speech"]["snr"]
            langs = "+".join(sorted({s["lang"] for s in c["speech"]["seq"]}))
            aug.append(f"speech:{snr:+.1f}dB")
    # the whole mix (speech too) through the channel: EQ tilt, band limit
    if "tilt" in a:
        t = a["tilt"]
        x = spec_filter(x, lambda f: np.clip((f / 1000.0) ** (t / 6.0206), 10 ** (-15 / 20), 10 ** (15 / 20)))
        aug.append(f"eq:tilt{t:+.1f}dB/oct")
    if "lowpass" in a:
        fc = a["lowpass"]
        x = spec_filter(x, lambda f: np.clip((fc * 1.05 - f) / (fc * 0.1), 0, 1))
        aug.append(f"lowpass:{fc // 1000}k")
    x, gr, sc = limit(x)
    if gr > 0.05 or sc > 0.05:
        aug.append(f"limit:{gr:.1f}dB" + (f"/scale:-{sc:.1f}dB" if sc > 0.05 else ""))
    level = 20 * math.log10(max(rms(x), 1e-12))
    out = Path(tmpdir).parent / c["file"]
    write_clip(out, x, a, aug, tmpdir, c["file"])
    with wave.open(str(out)) as w:
        dur, rate, ch = w.getnframes() / w.getframerate(), w.getframerate(), w.getnchannels()
    s2 = c.get("second")
    return {"path": c["file"], "label": c["label"], "speech": int(snr is not None),
            "snr_db": "" if snr is None else snr, "package": c["package"], "recording": c["rid"],
            "second_label": RDICT[s2["rid"]][1] if s2 else "", "second_package": RDICT[s2["rid"]][2] if s2 else "",
            "second_recording": s2["rid"] if s2 else "", "augment": ";".join(aug), "duration_s": round(dur, 3),
            "sample_rate": rate, "channels": ch,
            "excerpt": "" if c["excerpt"] is None else f"{c['excerpt']}@{c['start_s']:.2f}s",
            "level_dbfs": round(level, 1), "langs": langs}


def write_clip(out, x, a, aug, tmpdir, name):
    rate, ch = a["out_rate"], x.shape[1]
    raw = np.ascontiguousarray(x, dtype="<f4").tobytes()
    src = ["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "f32le", "-ar", str(SR), "-ac", str(ch), "-i", "pipe:0"]
    wav = ["-c:a", "pcm_s16le", "-fflags", "+bitexact", "-flags:a", "+bitexact", "-map_metadata", "-1"]
    aug.append(f"rate:{rate}")
    if "codec" not in a:
        subprocess.run(src + ["-ar", str(rate)] + wav + [str(out)], input=raw, check=True, capture_output=True)
        return
    codec, q = a["codec"]
    tmp = Path(tmpdir) / (Path(name).stem + {"mp3": ".mp3", "vorbis": ".ogg", "aac": ".m4a"}[codec])
    enc = {"mp3": ["-c:a", "libmp3lame", "-b:a", f"{q}k"], "vorbis": ["-c:a", "libvorbis", "-q:a", str(q)],
           "aac": ["-c:a", "aac", "-b:a", f"{q}k"]}[codec]
    subprocess.run(src + ["-ar", str(rate)] + enc + ["-fflags", "+bitexact", "-flags:a", "+bitexact", str(tmp)],
                   input=raw, check=True, capture_output=True)
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", "-i", str(tmp), "-t", f"{x.shape[0] / SR:.6f}",
                    "-ar", str(rate), "-ac", str(ch)] + wav + [str(out)], check=True, capture_output=True)
    tmp.unlink()
    aug.append(f"codec:{codec}:{q}{'k' if codec != 'vorbis' else 'q'}")


def utterance_activity(x):
    """make_vad_set.py's rule on a 48 kHz utterance: 10 ms frames, active = above (peak frame) - 40 dB,
    inactive runs < 0.5 s bridged; returns spans (samples), mean active-frame power, active frame count."""
    fl = int(round(SR * FRAME_S))
    m = len(x) // fl
    if m == 0:
        return [], 0.0, 0
    e = np.mean(np.asarray(x[: m * fl], np.float64).reshape(m, fl) ** 2, axis=1)
    if e.max() <= 0:
        return [], 0.0, 0
    act = np.nonzero(e > e.max() * 10 ** (-ACTIVE_DB / 10))[0]
    bridge = int(round(0.5 / FRAME_S))
    spans, a, b = [], act[0], act[0]
    for i in act[1:]:
        if i - b - 1 >= bridge:
            spans.append((int(a) * fl, (int(b) + 1) * fl))
            a = i
        b = i
    spans.append((int(a) * fl, (int(b) + 1) * fl))
    return spans, float(e[act].mean()), int(len(act))


def wav_ok(path):
    r = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,sample_rate,channels:format=duration",
                        "-of", "json", str(path)], capture_output=True, text=True)
    if r.returncode or r.stderr.strip():
        return False, r.stderr.strip()
    d = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-f", "null", "-"], capture_output=True, text=True)
    if d.returncode or d.stderr.strip():
        return False, d.stderr.strip()
    j = json.loads(r.stdout)
    return j["streams"][0]["codec_name"] == "pcm_s16le", float(j["format"]["duration"])


def check(out, jobs):
    """Counts per label / package / recording, one package per recording, durations, every WAV decodes."""
    rows = list(csv.DictReader(open(out / "clips.csv")))
    problems = []
    rec_pkg = {}
    for r in rows:
        for rk, pk in (("recording", "package"), ("second_recording", "second_package")):
            if r[rk]:
                if rec_pkg.setdefault(r[rk], r[pk]) != r[pk]:
                    problems.append(f"recording {r[rk]} under two packages: {rec_pkg[r[rk]]}, {r[pk]}")
        if not 2.0 - 0.05 <= float(r["duration_s"]) <= 60.0 + 0.05:
            problems.append(f"{r['path']}: duration {r['duration_s']}")
        if r["second_label"] == r["label"]:
            problems.append(f"{r['path']}: second label = label")
    with ThreadPoolExecutor(max_workers=jobs) as ex:
        for r, (ok, info) in zip(rows, ex.map(lambda r: wav_ok(out / r["path"]), rows)):
            if not ok:
                problems.append(f"{r['path']}: does not decode as 16-bit PCM ({info})")
            elif abs(info - float(r["duration_s"])) > 0.05:
                problems.append(f"{r['path']}: ffprobe duration {info} vs {r['duration_s']}")
    labels = sorted({r["label"] for r in rows})
    summ = {"clips": len(rows), "hours": round(sum(float(r["duration_s"]) for r in rows) / 3600, 2),
            "packages": sorted({r["package"] for r in rows}), "per_label": {}, "problems": problems}
    for lab in labels:
        rs = [r for r in rows if r["label"] == lab]
        pk = {}
        for r in rs:
            pk.setdefault(r["package"], {}).setdefault(r["recording"], 0)
            pk[r["package"]][r["recording"]] += 1
        summ["per_label"][lab] = {
            "clips": len(rs), "recordings": sum(len(v) for v in pk.values()), "packages": len(pk),
            "speech": sum(r["speech"] == "1" for r in rs), "second": sum(bool(r["second_label"]) for r in rs),
            "stereo": sum(r["channels"] == "2" for r in rs), "codec": sum("codec:" in r["augment"] for r in rs),
            "by_package": {p: {"clips": sum(v.values()), "recordings": v} for p, v in sorted(pk.items())}}
    durs = sorted(float(r["duration_s"]) for r in rows)
    summ["duration_s"] = {"min": durs[0], "median": durs[len(durs) // 2], "max": durs[-1],
                          "share_5_20": round(sum(5 <= d <= 20 for d in durs) / len(durs), 3)}
    summ["negatives_share"] = round(sum(r["label"] in ("none", "music") for r in rows) / len(rows), 3)
    summ["speech_share_ambience"] = round(
        sum(r["speech"] == "1" for r in rows if r["label"] in AMBIENCE) / max(1, sum(r["label"] in AMBIENCE for r in rows)), 3)
    (out / "summary.json").write_text(json.dumps(summ, indent=1) + "\n")
    print(f"{len(rows)} clips, {summ['hours']} h, {len(summ['packages'])} packages (incl. synthetic families); "
          f"negatives (none+music) {summ['negatives_share']:.0%}; speech on {summ['speech_share_ambience']:.0%} of ambience clips")
    print(f"durations: min {durs[0]:.2f} s, median {summ['duration_s']['median']:.2f} s, max {durs[-1]:.2f} s, "
          f"{summ['duration_s']['share_5_20']:.0%} within 5-20 s")
    for lab, v in summ["per_label"].items():
        print(f"  {lab:8s} {v['clips']:4d} clips, {v['recordings']:3d} recordings, {v['packages']:2d} packages "
              f"(speech {v['speech']}, second {v['second']}, stereo {v['stereo']}, codec {v['codec']}): "
              + ", ".join(f"{p} {d['clips']}/{len(d['recordings'])}" for p, d in v["by_package"].items()))
    print(f"problems: {len(problems)}")
    for p in problems[:20]:
        print("  " + p)
    return not problems


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--debs", default=str(ROOT / "bench-data/debs"), help="folder for the .deb files")
    ap.add_argument("--work", default=str(ROOT / "bench-data/devset-src"), help="folder to unpack them in")
    ap.add_argument("--unpacked", default=None,
                    help="optional folder with already unpacked packages as DIR/PKG/usr/... (used when present)")
    ap.add_argument("--out", default=str(ROOT / "bench-data/tagset"))
    ap.add_argument("--seed", type=int, default=10)
    ap.add_argument("--jobs", type=int, default=2, help="parallel workers (each runs at most one ffmpeg at a time)")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every clip count (a quick trial: 0.05)")
    ap.add_argument("--check-only", action="store_true", help="only check an existing OUT")
    args = ap.parse_args()
    out = Path(args.out)
    if args.check_only:
        sys.exit(0 if check(out, args.jobs) else 1)
    global HVAC_REAL, SYNTH_VARIANTS, N_DIALOGUE, N_FX
    if args.scale != 1.0:
        for k in TARGET:
            TARGET[k] = max(1, int(TARGET[k] * args.scale))
        HVAC_REAL, N_DIALOGUE, N_FX = (max(1, int(v * args.scale)) for v in (HVAC_REAL, N_DIALOGUE, N_FX))
        SYNTH_VARIANTS = max(1, int(SYNTH_VARIANTS * args.scale))
    t0 = time.time()
    debs, work = Path(args.debs), Path(args.work)
    roots = package_roots(PACKAGES, debs, work, Path(args.unpacked) if args.unpacked else None)
    t_fetch = time.time() - t0

    # Every recording, decoded once at 48 kHz (sha256-checked on the way).
    rids = [r[0] for r in RECORDINGS]
    with ThreadPoolExecutor(max_workers=args.jobs) as ex:
        recs = dict(zip(rids, ex.map(lambda rid: load_recording(roots, work, rid), rids)))
    durations = {rid: x.shape[0] / SR for rid, x in recs.items()}
    t_decode = time.time() - t0

    # Speech pool: every *_desc_LANG.ogg, per language, shuffled (languages with >= 30 utterances).
    rng = random.Random(args.seed)
    sroot = roots["tuxpaint-stamps-default"] / SPEECH_DIR
    by_lang = {}
    for p in sorted(sroot.rglob("*_desc_*.ogg")):
        by_lang.setdefault(p.stem.rsplit("_", 1)[-1], []).append(p)
    by_lang = {k: v for k, v in by_lang.items() if len(v) >= 30}
    for lang in sorted(by_lang):
        rng.shuffle(by_lang[lang])
        by_lang[lang] = [(p, ogg_seconds(p) or 6.0) for p in by_lang[lang]]
    n_speech = sum(len(v) for v in by_lang.values())
    left = [n_speech]
    clips = plan(args, rng, durations, by_lang, left)

    paths = sorted({s["path"] for c in clips if "speech" in c for s in c["speech"]["seq"]})
    chunks = [paths[i::args.jobs] for i in range(args.jobs)]
    utt = {}
    with ThreadPoolExecutor(max_workers=args.jobs) as ex:
        for chunk, xs in zip(chunks, ex.map(lambda ch: decode_many(ch, SR), chunks)):
            for p, x in zip(chunk, xs):
                x = np.frombuffer(x, dtype=np.float64).astype(np.float32)
                utt[p] = (x,) + utterance_activity(x)
    t_speech = time.time() - t0

    if out.exists():
        shutil.rmtree(out)
    (out / "clips").mkdir(parents=True)
    tmpdir = out / "tmp"
    tmpdir.mkdir()
    with ThreadPoolExecutor(max_workers=args.jobs) as ex:
        rows = list(ex.map(lambda c: render(c, recs, utt, tmpdir), clips))
    tmpdir.rmdir()
    cols = ["path", "label", "speech", "snr_db", "package", "recording", "second_label", "second_package",
            "second_recording", "augment", "duration_s", "sample_rate", "channels", "excerpt", "level_dbfs", "langs"]
    with open(out / "clips.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    t_render = time.time() - t0

    used = {r["package"] for r in rows} | {r["second_package"] for r in rows if r["second_package"]}
    used.add("tuxpaint-stamps-default")
    sources = {
        "packages": {p: {"version": v, "deb_sha256": d, "licence": LICENCES[p],
                         "labels": sorted({r["label"] for r in rows if r["package"] == p})}
                     for p, (v, d) in PACKAGES.items() if p in used},
        "recordings": {rid: {"label": lab, "package": pkg, "verdict": ver, "seconds": round(durations[rid], 2),
                             "excerpts": None if lab == "none" else n_excerpts(durations[rid]),
                             "files": [{"path": p, "member": m, "sha256": d,
                                        "title": cat_name((roots[pkg] / p).read_bytes(), m) if p.endswith(".cat") else None}
                                       for p, m, d in parts]}
                       for rid, lab, pkg, ver, parts in RECORDINGS},
        "synthetic_hvac": {c["rid"]: {"package": c["package"], **hvac_desc(c["synth"])} for c in clips if c["kind"] == "synth"},
        "speech": {"package": "tuxpaint-stamps-default", "glob": SPEECH_DIR + "/**/*_desc_LANG.ogg",
                   "languages": {k: len(v) for k, v in sorted(by_lang.items())}, "utterances_used": len(paths)},
        "reserved_not_used": "the packages ../shared/DATA.md reserves for evaluation are neither fetched nor read",
        "seed": args.seed,
    }
    (out / "sources.json").write_text(json.dumps(sources, indent=1) + "\n")
    print(f"built {len(rows)} clips in {out}: fetch/unpack {t_fetch:.0f} s, decode {t_decode - t_fetch:.0f} s, "
          f"speech {t_speech - t_decode:.0f} s ({len(paths)} utterances of {n_speech}), render {t_render - t_speech:.0f} s")
    ok = check(out, args.jobs)
    print(f"time: {time.time() - t0:.0f} s")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
