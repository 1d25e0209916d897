#!/bin/bash
# User-space instructions per cached hit: runs the daemon under callgrind with the
# given config, warms PATH, drives it with wrk for a fixed time, and divides the
# instructions (minus an idle run's start-up and shutdown) by the requests served.
#
#   bench/hit_callgrind.sh BUILD_DIR CONFIG PORT PATH [SECONDS]
#
# CONFIG must listen on 127.0.0.1:PORT. Output: the per-request figure, and the
# callgrind file for callgrind_annotate. HIT_CLIENT=h2load drives HTTP/2 (h2c, prior
# knowledge; the listener needs http2: true) with h2load instead of wrk;
# CALLGRIND_ARGS=--collect-systime=nsec adds the time spent in system calls to the
# profile (callgrind_annotate shows sysCount and sysTime).
set -euo pipefail
BUILD=$1 CONFIG=$2 PORT=$3 URLPATH=$4 SECS=${5:-10} CLIENT=${HIT_CLIENT:-wrk}
BIN=$BUILD/src/server/hlscache
OUT=$(mktemp -d /tmp/hit-callgrind.XXXXXX)
run() {  # $1: label, $2: wrk seconds (0: only the warm-up GETs)
  valgrind --tool=callgrind ${CALLGRIND_ARGS:-} --callgrind-out-file="$OUT/$1.out" "$BIN" --config "$CONFIG" >"$OUT/$1.log" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.1; done
  for _ in 1 2 3; do curl -s -o /dev/null "http://127.0.0.1:$PORT$URLPATH"; done
  local n=0
  if (($2 > 0)) && [[ $CLIENT == h2load ]]; then
    n=$(h2load -c16 -m1 -t1 -D "$2" "http://127.0.0.1:$PORT$URLPATH" | awk '/^requests:/{print $8}')
  elif (($2 > 0)); then
    n=$(wrk -c16 -t1 -d"${2}s" "http://127.0.0.1:$PORT$URLPATH" | awk '/requests in/{print $1}')
  fi
  kill -INT "$pid"; wait "$pid" || true
  echo "$n $(grep -oE 'Collected : [0-9]+' "$OUT/$1.log" | awk '{print $3}')"
}
read -r _ idle < <(run idle 0)
read -r n total < <(run load "$SECS")
echo "requests $n, instructions $total (idle run $idle), per request $(((total - idle) / n))"
echo "profile: $OUT/load.out"
