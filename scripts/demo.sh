#!/usr/bin/env bash
# The README's demo: runs roomtone's pipeline on the bundled example and says where the results are.
# Usage: scripts/demo.sh ROOMTONE_BINARY INPUT OUT_DIR
set -euo pipefail
bin=${1:?roomtone binary}
input=${2:?input clip}
out=${3:?output folder}
mkdir -p "$out"

echo "== roomtone info $input"
"$bin" info "$input"
"$bin" info --json "$input" > "$out/info.json"

echo
echo "== roomtone models (ONNX Runtime and the model graphs, checked against their manifests)"
"$bin" models | tee "$out/models.txt"

echo
echo "== roomtone tag $input"
"$bin" tag --format json --force --output "$out/tags.json" "$input"
cat "$out/tags.json"

echo
echo "== roomtone separate $input (DeepFilterNet3: dialogue and background stems)"
"$bin" separate --force --format wav24 --out-dir "$out/stems" "$input"

name=$(basename "${input%.*}")
echo
echo "== roomtone remix: background -12 dB, delivered at EBU R128 (-23 LUFS, -1 dBTP)"
"$bin" remix --force --stems "$out/stems" --background-gain-db -12 --preset ebu-r128 --json \
    -o "$out/$name.remix.wav" "$input" > "$out/remix.json"
python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); b, a = r["before"], r["after"]; print(f"loudness {b['"'"'integrated_lufs'"'"']:.1f} LUFS -> {a['"'"'integrated_lufs'"'"']:.1f} LUFS, true peak {a['"'"'true_peak_dbtp'"'"']:.1f} dBTP")' "$out/remix.json" || cat "$out/remix.json"

echo
echo "Results are in $out/: info.json (format, duration, peak), models.txt (runtime and model check),"
echo "tags.json (ambience, labels, speech, timeline, top AudioSet classes), stems/ (speech and"
echo "background WAVs), $name.remix.wav and remix.json (the remix and its loudness report)."
