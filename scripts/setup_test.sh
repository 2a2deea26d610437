#!/usr/bin/env bash
# Test prerequisites beyond scripts/setup.sh, installed non-interactively from Debian's packages when
# missing (needs root, as on CI):
# - chromium, which tests/batch.rs uses to open the batch report headless (CHROMIUM=/path/to/browser
#   uses another one);
# - ffmpeg, which makes the video and camera-audio fixtures and their reference decodes
#   (scripts/make_video_fixtures.sh, run here; tests/video.rs reads them);
# - OpenTimelineIO and its EDL/FCP XML/FCPXML adapters in target/otio-py/, which
#   tests/markers_otio.rs uses to read the marker exports back, and kubernetes-validate in
#   target/k8s-py/, which tests/cluster_files.rs checks the Indexed Job's YAML with
#   (scripts/setup_pytools.sh, pinned wheels).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

missing=()
if [ -z "${CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1; then
    missing+=(chromium)
fi
if ! command -v ffmpeg >/dev/null 2>&1; then
    missing+=(ffmpeg)
fi
if [ ${#missing[@]} -gt 0 ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "setup_test.sh: ${missing[*]} missing and no apt-get; install them (or set CHROMIUM)" >&2
        exit 1
    fi
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    echo "setup_test.sh: installing ${missing[*]} (test prerequisites)" >&2
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v ffmpeg >/dev/null
bash scripts/make_video_fixtures.sh
bash scripts/setup_pytools.sh otio k8s >/dev/null
