#!/bin/bash
# CPU per request of a caching proxy serving hits: user and system µs per request,
# read from /proc/PID/stat around one wrk run (loopback only).
#
#   bench/hit_cpu.sh PID PORT PATH [SECONDS] [CLIENT_CPU]
#
# Warm the object first (a few GETs). Pin the proxy to one CPU and give wrk another
# (CLIENT_CPU, default 1) so the two do not share a core; run nginx or another proxy
# the same way and interleave the runs to compare them on a noisy machine.
set -euo pipefail
PID=$1 PORT=$2 URLPATH=$3 SECS=${4:-4} CLIENT_CPU=${5:-1}
[[ -r /proc/$PID/stat ]] || { echo "no process $PID" >&2; exit 2; }
ticks() { awk '{print $14, $15}' "/proc/$PID/stat"; }
read -r u0 s0 < <(ticks)
out=$(taskset -c "$CLIENT_CPU" wrk -c64 -t1 -d"${SECS}s" "http://127.0.0.1:$PORT$URLPATH")
read -r u1 s1 < <(ticks)
n=$(awk '/requests in/{print $1}' <<<"$out")
rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
awk -v n="$n" -v rps="$rps" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v t="$(getconf CLK_TCK)" 'BEGIN {
  printf "req/s %.0f  user %.2f us/req  sys %.2f us/req  total %.2f us/req\n", rps, u/t*1e6/n, s/t*1e6/n, (u+s)/t*1e6/n }'
