#!/usr/bin/env bash
# The README's second command (and CI's): install, build, run every test through CTest.
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/setup/install-deps.sh
tools/setup/build.sh
cd build
ctest --output-on-failure --timeout 300 -j"${CTEST_JOBS:-2}"
