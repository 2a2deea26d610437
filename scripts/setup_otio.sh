#!/usr/bin/env bash
# Installs OpenTimelineIO and its CMX 3600, FCP 7 XML and FCPXML adapters (pinned, wheels only)
# into target/otio-py/, for tests/markers_otio.rs and tests/markers/read_markers.py.
# Idempotent: returns at once when the pinned versions are already there.
# Prints the PYTHONPATH to use on its last line.
#
# OTIO finds the adapters through their `opentimelineio.plugins` entry points, which
# importlib.metadata reads from the *.dist-info folders on sys.path: PYTHONPATH=target/otio-py
# is enough, no site-packages install needed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/target/otio-py"
python="${PYTHON:-python3}"
pins=(
  opentimelineio==0.18.1
  otio-cmx3600-adapter==1.0.0
  otio-fcp-adapter==1.0.0
  otio-fcpx-xml-adapter==1.0.0
)
stamp="$dest/.roomtone-pins"
want="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])') ${pins[*]}"

check() {
  PYTHONPATH="$dest" "$python" - <<'PY'
import opentimelineio as otio
names = set(otio.adapters.available_adapter_names())
missing = {"cmx_3600", "fcp_xml", "fcpx_xml", "otio_json"} - names
assert not missing, f"adapters not found: {sorted(missing)}"
PY
}

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && check 2>/dev/null; then
  echo "otio: ${pins[*]} already in $dest" >&2
else
  rm -rf "$dest"
  mkdir -p "$dest"
  # All four have wheels (opentimelineio a manylinux one for CPython 3.11); no dependencies beyond them.
  "$python" -m pip install --quiet --disable-pip-version-check --no-input \
    --only-binary=:all: --no-warn-script-location --target "$dest" "${pins[@]}"
  check
  echo "$want" >"$stamp"
  echo "otio: installed ${pins[*]} into $dest" >&2
fi
echo "PYTHONPATH=$dest"
