#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz one after another (one core each) and prints
# one line per target: executions, coverage (cov = edges, ft = features), corpus size,
# wall and CPU time, result.
#
#   tools/fuzz/campaign.sh [-c CPU_SECONDS | -t SECONDS] [-s SEED] [-b BUILD_DIR] [-o OUT_DIR] [TARGET...]
#
# -c: each target runs until its process has used CPU_SECONDS of CPU (the campaign:
#     `-c 600`, 10 CPU-minutes each, however busy the machine is); -t: for SECONDS of
#     wall time (CI's smoke run: `-t 20 -s 1`). Default: -c 600.
# BUILD_DIR (default build-fuzz) must hold a -DHLSCACHE_FUZZ=ON build (tools/fuzz/build.sh).
# Each target's working corpus is OUT_DIR/TARGET/corpus (default OUT_DIR: fuzz-out/),
# started from the seeds (tests/fuzz/corpus, the generated TS seeds, config/ for the
# config target) and tests/fuzz/regressions; crash inputs land in OUT_DIR/TARGET/.
# Exit status: 0 when no target crashed, reported a sanitizer error or a failed
# invariant, or ran over the 10 s per-input timeout; 1 otherwise.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cpu=600 wall="" seed=0 build="$root/build-fuzz" out="$root/fuzz-out"
while getopts "c:t:s:b:o:" opt; do
  case $opt in
    c) cpu=$OPTARG wall="" ;;
    t) wall=$OPTARG cpu="" ;;
    s) seed=$OPTARG ;;
    b) build=$(cd "$OPTARG" && pwd) ;;
    o) out=$OPTARG ;;
    *) sed -n '2,17p' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
targets=("$@")
((${#targets[@]})) || targets=(h1_request upstream_response cache_fields segmenter cmaf ts_parsers playlist config)
mkdir -p "$out"
out=$(cd "$out" && pwd)

# Halt on the first report of any kind; leaks are on (LeakSanitizer, as libFuzzer runs
# it: after an input that leaked). Third-party suppressions: tools/sanitizers/.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$root/tools/sanitizers/lsan.supp:print_suppressions=0}"

clk=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

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
  # With a CPU budget, wall time is capped at 4x the budget; SIGINT ends the run with
  # its final stats (libFuzzer exits 72 then).
  limit=${wall:-$((cpu * 4))}
  start=$SECONDS
  "$bin" -seed="$seed" -max_total_time="$limit" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$dir/" "${dict[@]}" "$dir/corpus" "${seeds[@]}" >"$dir/log" 2>&1 &
  pid=$!
  used=0
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    u=$(cpu_ticks "$pid")
    ((u > used)) && used=$u
    if [[ -n $cpu ]] && ((used >= cpu * clk)); then
      kill -INT "$pid" 2>/dev/null
      break
    fi
  done
  wait "$pid"
  rc=$?
  [[ $rc == 72 ]] && rc=0  # interrupted at the CPU budget
  elapsed=$((SECONDS - start))
  execs=$(awk '/stat::number_of_executed_units/{print $2}' "$dir/log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$dir/log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  files=$(find "$dir/corpus" -type f | wc -l)
  kb=$(du -sk "$dir/corpus" | cut -f1)
  result=ok
  if [[ $rc != 0 ]] || grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|fuzz invariant failed|Assertion .* failed|SUMMARY: ' "$dir/log"; then
    result="FAILED (rc $rc): $(grep -E 'ERROR:|runtime error:|invariant failed|Assertion|SUMMARY:' "$dir/log" | head -1 | cut -c1-150); see $dir/log"
    failed=1
  fi
  printf '%-18s %12s %8s %8s %8s %10s %8s %8s %s\n' "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$files" "$kb" \
    "$elapsed" "$((used / clk))" "$result"
done
exit $failed
