#!/usr/bin/env bash
# Installs what the tests need (Python packages, Debian's Chromium when missing) and runs the
# whole suite, browser tests included. Usage: bash run_tests.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")"
python -m pip install --quiet --disable-pip-version-check -r requirements-test.txt
if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -q
    $SUDO apt-get install -y -q chromium
fi
python -m pytest "$@"
