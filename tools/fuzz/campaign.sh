#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz one after another (one core each), each for
# SECONDS, and prints one line per target: executions, coverage (cov = edges, ft =
# features), corpus size, wall and CPU time, crashes. The campaign (docs/fuzzing.md) is
# the default 600 s per target; CI's smoke run is `-t 20 -s 1` (tools/setup/run-tests.sh).
#
#   tools/fuzz/campaign.sh [-t SECONDS] [-s SEED] [-b BUILD_DIR] [-o OUT_DIR] [TARGET...]
#
# BUILD_DIR (default build-fuzz) must hold a -DHLSCACHE_FUZZ=ON build (tools/fuzz/build.sh).
# Each target's working corpus is OUT_DIR/TARGET/corpus (default OUT_DIR: fuzz-out/),
# started from the seeds (tests/fuzz/corpus, the generated TS seeds, config/ for the
# config target) and tests/fuzz/regressions; crash inputs land in OUT_DIR/TARGET/.
# Exit status: 0 when no target crashed, reported a sanitizer error or a failed
# invariant, or timed out on an input; 1 otherwise.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
seconds=600 seed=0 build="$root/build-fuzz" out="$root/fuzz-out"
while getopts "t:s:b:o:" opt; do
  case $opt in
    t) seconds=$OPTARG ;;
    s) seed=$OPTARG ;;
    b) build=$(cd "$OPTARG" && pwd) ;;
    o) out=$OPTARG ;;
    *) sed -n '2,14p' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
targets=("$@")
((${#targets[@]})) || targets=(h1_request upstream_response cache_fields segmenter ts_parsers playlist config)
mkdir -p "$out"
out=$(cd "$out" && pwd)

# Halt on the first report of any kind; leaks are on (LeakSanitizer, as libFuzzer runs
# it: after an input that leaked). Third-party suppressions: tools/sanitizers/.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$root/tools/sanitizers/lsan.supp:print_suppressions=0}"

failed=0
printf '%-18s %12s %8s %8s %8s %10s %8s %8s %s\n' target execs cov ft corpus corpus_kb wall_s cpu_s result
for t in "${targets[@]}"; do
  bin="$build/tests/fuzz/fuzz_$t"
  [[ -x $bin ]] || { echo "campaign: $bin missing (build with tools/fuzz/build.sh)" >&2; exit 2; }
  dir="$out/$t"
  mkdir -p "$dir/corpus"
  seeds=("$root/tests/fuzz/regressions/$t")
  [[ -d $root/tests/fuzz/corpus/$t ]] && seeds+=("$root/tests/fuzz/corpus/$t")
  [[ -d $build/tests/fuzz/seeds/$t ]] && seeds+=("$build/tests/fuzz/seeds/$t")
  [[ $t == config ]] && seeds+=("$root/config")
  dict=()
  [[ -f $root/tests/fuzz/dictionaries/$t.dict ]] && dict=(-dict="$root/tests/fuzz/dictionaries/$t.dict")
  TIMEFORMAT='%R %U %S'
  { time "$bin" -seed="$seed" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -print_final_stats=1 -artifact_prefix="$dir/" "${dict[@]}" "$dir/corpus" "${seeds[@]}" \
      >"$dir/log" 2>&1; echo "rc $?" >>"$dir/log"; } 2>"$dir/time"
  rc=$(awk '/^rc /{print $2}' "$dir/log" | tail -1)
  read -r wall user sys <"$dir/time"
  execs=$(awk '/stat::number_of_executed_units/{print $2}' "$dir/log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$dir/log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  files=$(find "$dir/corpus" -type f | wc -l)
  kb=$(du -sk "$dir/corpus" | cut -f1)
  result=ok
  if [[ $rc != 0 ]] || grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|fuzz invariant failed|SUMMARY: ' "$dir/log"; then
    result="FAILED (rc $rc): $(grep -E 'ERROR:|runtime error:|invariant failed|SUMMARY:' "$dir/log" | head -1 | cut -c1-150); see $dir/log"
    failed=1
  fi
  printf '%-18s %12s %8s %8s %8s %10s %8s %8.1f %s\n' "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$files" "$kb" \
    "$wall" "$(awk -v u="$user" -v s="$sys" 'BEGIN{print u+s}')" "$result"
done
exit $failed
