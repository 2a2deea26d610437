#!/usr/bin/env bash
# Test prerequisites beyond scripts/setup.sh: Debian's chromium, which tests/batch.rs uses to open
# the batch report headless. Installed non-interactively when missing (needs root, as on CI).
# Set CHROMIUM=/path/to/browser to use another one and skip the install.
set -euo pipefail

if [ -n "${CHROMIUM:-}" ] || command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup_test.sh: chromium missing and no apt-get; install chromium or set CHROMIUM" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
echo "setup_test.sh: installing chromium (for the batch report test)" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
command -v chromium >/dev/null
