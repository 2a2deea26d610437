#!/usr/bin/env bash
# Quality and speed checks of `roomtone remix` on development mixtures with known true stems
# (BENCHMARKS.md, "Cleanup and remix (issue 5)").
#
#   bash scripts/bench_remix.sh SCRATCH_DIR
#
# Fetches 0ad-data 0.0.26-1 (ambience, CC-BY-SA-3.0) and tuxpaint-stamps-default 2022.06.04-1
# (English spoken stamp descriptions, GPL-2+) with apt-get download into SCRATCH_DIR (1.5 GB, not
# committed), builds six 30 s stereo mixtures at 0 dB SNR with remix_devset, runs roomtone remix with
# the true stems, and scores the outputs.
set -euo pipefail
S=${1:?usage: bench_remix.sh SCRATCH_DIR}
mkdir -p "$S/deb" "$S/0ad" "$S/tux" "$S/amb" "$S/out"
S=$(cd "$S" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$S/deb"
[ -f 0ad-data_0.0.26-1_all.deb ] || apt-get download 0ad-data=0.0.26-1
[ -f tuxpaint-stamps-default_2022.06.04-1_all.deb ] || apt-get download tuxpaint-stamps-default=2022.06.04-1
[ -f "$S/0ad/usr/share/games/0ad/mods/public/public.zip" ] || dpkg -x 0ad-data_0.0.26-1_all.deb "$S/0ad"
[ -d "$S/tux/usr/share/tuxpaint" ] || dpkg -x tuxpaint-stamps-default_2022.06.04-1_all.deb "$S/tux"
python3 - "$S" <<'PY'
import sys, zipfile, os
s = sys.argv[1]
z = zipfile.ZipFile(f"{s}/0ad/usr/share/games/0ad/mods/public/public.zip")
names = ["weather/rain_11", "weather/rain_12", "building/amb_trade_10", "water/river_med_21",
         "weather/wind_11", "dayscape/day_temperate_11", "water/wave_21"]
with open(f"{s}/ambience.txt", "w") as f:
    for n in names:
        out = f"{s}/amb/{n.replace('/', '_')}.ogg"
        with open(out, "wb") as o:
            o.write(z.read(f"audio/ambient/{n}.ogg"))
        f.write(out + "\n")
speech = []
for root, _, files in os.walk(f"{s}/tux/usr/share/tuxpaint/stamps"):
    speech += [os.path.join(root, x) for x in files if x.endswith("_desc.ogg")]
with open(f"{s}/speech.txt", "w") as f:
    f.write("\n".join(sorted(speech)) + "\n")
PY
cd "$ROOT"
cargo build --release --locked --bin roomtone --example remix_devset
RT=target/release/roomtone
DEV=target/release/examples/remix_devset
D="$S/dev"
[ -f "$D/built" ] || {  "$DEV" build "$S/speech.txt" "$S/ambience.txt" "$D" 30 && touch "$D/built"; }
for m in "$D"/mix*.wav; do
  n=$(basename "$m" .wav)
  # 1. speech 0 dB, background -12 dB, no normalisation: default cleanup, and cleanup off.
  "$RT" remix "$m" --stems "$D/stems" --background-gain-db -12 --force -o "$S/out/$n.bg12.wav"
  "$DEV" score "$D/stems" "$m" "$S/out/$n.bg12.wav"
  "$RT" remix "$m" --stems "$D/stems" --background-gain-db -12 --no-clean --force -o "$S/out/$n.bg12raw.wav"
  "$DEV" score "$D/stems" "$m" "$S/out/$n.bg12raw.wav"
  # 2. normalisation to each preset.
  for p in ebu-r128 atsc-a85 streaming podcast; do
    "$RT" remix "$m" --stems "$D/stems" --background-gain-db -12 --preset $p --force -o "$S/out/$n.$p.wav"
    "$DEV" score "$D/stems" "$m" "$S/out/$n.$p.wav"
  done
  # 3. identity: gains 0, cleanup off, no normalisation.
  "$RT" remix "$m" --stems "$D/stems" --no-clean --force -o "$S/out/$n.id.wav"
  "$DEV" score "$D/stems" "$m" "$S/out/$n.id.wav"
done
