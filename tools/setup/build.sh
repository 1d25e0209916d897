#!/usr/bin/env bash
# Configures and builds hlscache into build/ (RelWithDebInfo, -j2). Extra arguments go to cmake's configure step.
set -euo pipefail
cd "$(dirname "$0")/../.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build build -j"${JOBS:-2}"
