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
echo "Results are in $out/: info.json (format, duration, peak), models.txt (runtime and model check),"
echo "tags.json (ambience, labels, speech, timeline, top AudioSet classes)."
