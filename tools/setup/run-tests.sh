#!/usr/bin/env bash
# The README's second command (and CI's): install, build, run every test through CTest;
# then the trust stages (docs/fuzzing.md): each fuzz target briefly (clang, libFuzzer +
# ASan + UBSan), the whole suite under ASan + UBSan + LeakSanitizer, and the cache,
# coalescing and herd tests under ThreadSanitizer. Fails on any failed test, crash or
# sanitizer report. Prints each stage's wall time at the end.
#   FUZZ=0 / ASAN=0 / TSAN=0   skip that stage (a quicker local run)
#   FUZZ_SECONDS=20            seconds per fuzz target in the smoke run (fixed -seed=1)
set -euo pipefail
cd "$(dirname "$0")/../.."
timings=()
stage() {
  local name=$1 t0=$SECONDS
  shift
  echo "=== $name"
  "$@"
  timings+=("$(printf '%-26s %5d s' "$name" $((SECONDS - t0)))")
}
run_ctest() { (cd build && ctest --output-on-failure --timeout 300 -j"${CTEST_JOBS:-2}"); }
fuzz_smoke() { tools/fuzz/campaign.sh -t "${FUZZ_SECONDS:-20}" -s 1 -o build-fuzz/smoke; }

stage install-deps tools/setup/install-deps.sh
stage build tools/setup/build.sh
stage tests run_ctest
if [[ ${FUZZ:-1} != 0 ]]; then
  stage fuzz-build tools/fuzz/build.sh
  stage fuzz-smoke fuzz_smoke
fi
if [[ ${ASAN:-1} != 0 ]]; then stage asan-ubsan-build+tests tools/sanitizers/run.sh asan; fi
if [[ ${TSAN:-1} != 0 ]]; then stage tsan-build+tests tools/sanitizers/run.sh tsan; fi
echo "=== stage times (wall)"
printf '%s\n' "${timings[@]}"
