#!/usr/bin/env bash
# Installs a set of Python test tools (pinned, wheels only) into its own project-local folder:
#   otio  OpenTimelineIO and its CMX 3600, FCP 7 XML and FCPXML adapters -> target/otio-py/
#         (tests/markers_otio.rs and tests/markers/read_markers.py read the marker exports with them)
#   k8s   kubernetes-validate and its dependencies -> target/k8s-py/
#         (tests/cluster_files.rs checks examples/cluster/label-job.yaml against Kubernetes' schema)
#   tagger  numpy -> target/tagger-py/
#         (scripts/make_tagset.py builds the tagger's training/evaluation set with it)
# Usage: scripts/setup_pytools.sh SET...
# Idempotent: a set whose pins are installed (stamp file) and whose check passes is left as it is.
# Prints PYTHONPATH=<folder> for each set.
#
# OTIO finds its adapters through their `opentimelineio.plugins` entry points, which
# importlib.metadata reads from the *.dist-info folders on sys.path: PYTHONPATH=target/otio-py
# is enough, no site-packages install needed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"

install_set() {
  local name="$1" check="$2"
  shift 2
  local pins=("$@")
  local dest="$root/target/$name-py"
  local stamp="$dest/.roomtone-pins"
  local want
  want="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])') ${pins[*]}"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && PYTHONPATH="$dest" "$python" -c "$check" 2>/dev/null; then
    echo "$name: ${pins[*]} already in $dest" >&2
  else
    rm -rf "$dest"
    mkdir -p "$dest"
    "$python" -m pip install --quiet --disable-pip-version-check --no-input --root-user-action=ignore \
      --only-binary=:all: --no-deps --no-warn-script-location --target "$dest" "${pins[@]}"
    PYTHONPATH="$dest" "$python" -c "$check"
    echo "$want" >"$stamp"
    echo "$name: installed ${pins[*]} into $dest" >&2
  fi
  echo "PYTHONPATH=$dest"
}

if [[ $# -eq 0 ]]; then
  echo "usage: scripts/setup_pytools.sh otio|k8s|tagger ..." >&2
  exit 2
fi
for set in "$@"; do
  case "$set" in
    otio)
      # All four are wheels (opentimelineio a manylinux one for CPython 3.11) with no other
      # dependencies.
      install_set otio '
import opentimelineio as otio
names = set(otio.adapters.available_adapter_names())
missing = {"cmx_3600", "fcp_xml", "fcpx_xml", "otio_json"} - names
assert not missing, f"adapters not found: {sorted(missing)}"
' opentimelineio==0.18.1 otio-cmx3600-adapter==1.0.0 otio-fcp-adapter==1.0.0 \
        otio-fcpx-xml-adapter==1.0.0
      ;;
    k8s)
      # kubernetes-validate bundles the JSON schemas of Kubernetes' API by version; its whole
      # dependency tree is pinned here (rpds-py is a manylinux wheel for CPython 3.11).
      install_set k8s 'import kubernetes_validate' \
        kubernetes-validate==1.37.0 PyYAML==6.0.4 jsonschema==4.26.0 \
        jsonschema-specifications==2025.9.1 referencing==0.37.0 rpds-py==2026.9.1 \
        attrs==26.1.0 typing-extensions==4.16.0 importlib-resources==7.1.0 packaging==26.4
      ;;
    tagger)
      # numpy alone (a manylinux wheel for CPython 3.11, no dependencies): the synthetic HVAC
      # generator and the mixing/augmentation of scripts/make_tagset.py.
      install_set tagger 'import numpy; assert numpy.__version__ == "2.4.6", numpy.__version__' \
        numpy==2.4.6
      ;;
    *)
      echo "setup_pytools.sh: unknown set $set (otio, k8s, tagger)" >&2
      exit 2
      ;;
  esac
done
