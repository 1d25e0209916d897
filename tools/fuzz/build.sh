#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang, libFuzzer + ASan + UBSan, -O1 -g)
# into build-fuzz/ (or $FUZZ_BUILD_DIR); only what the targets need is compiled. Extra
# arguments go to cmake's configure step (e.g. -DCMAKE_CXX_COMPILER_LAUNCHER=ccache).
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=${FUZZ_BUILD_DIR:-build-fuzz}
cmake -S . -B "$dir" -DCMAKE_CXX_COMPILER=clang++ -DHLSCACHE_FUZZ=ON -DHLSCACHE_BUILD_TESTS=OFF \
  -DHLSCACHE_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g" "$@" >/dev/null
cmake --build "$dir" --target fuzz_targets -j"${JOBS:-2}"
