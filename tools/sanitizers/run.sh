#!/usr/bin/env bash
# Builds and tests a sanitizer build (GCC):
#   tools/sanitizers/run.sh asan   # ASan + UBSan (+ LeakSanitizer) build of everything
#                                  # (no benchmarks) in build-asan/, the whole CTest suite
#   tools/sanitizers/run.sh tsan   # ThreadSanitizer: the cache, coalescing and herd tests
#                                  # (test_cache, test_coalesce, the edge coalescing
#                                  # integration tests against a TSan daemon) in build-tsan/
# -O1 -g1: fast enough to build on 2 cores, line numbers in reports. Runtime options:
# tools/sanitizers/env.sh. Extra arguments go to cmake's configure step. Prints how long
# the build and the tests took.
set -euo pipefail
cd "$(dirname "$0")/../.."
kind=${1:?usage: run.sh asan|tsan [cmake args]}
shift
case $kind in
  asan) sanitize=address,undefined targets=(all) ctest_args=() ;;
  tsan) sanitize=thread targets=(test_cache test_coalesce test_integration_edge)
        ctest_args=(-R '^(CacheFacade|CacheSim|CacheTypedTest|ExpiryHeap|FifoOrder|LruOrder|S4lruOrder|CacheKey|Coalescer|Fetch|Freshness|Glob|HopByHop|EdgeCoalesceTest)[./]') ;;
  *) echo "run.sh: asan or tsan, not '$kind'" >&2; exit 2 ;;
esac
dir=build-$kind
source tools/sanitizers/env.sh
t0=$SECONDS
cmake -S . -B "$dir" -DHLSCACHE_SANITIZE=$sanitize -DHLSCACHE_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" "$@" >/dev/null
for t in "${targets[@]}"; do cmake --build "$dir" --target "$t" -j"${JOBS:-2}"; done
t1=$SECONDS
cd "$dir"
status=0
ctest --output-on-failure --timeout 600 -j"${CTEST_JOBS:-2}" "${ctest_args[@]}" || status=$?
echo "sanitizers $kind: build $((t1 - t0)) s, tests $((SECONDS - t1)) s"
exit $status
