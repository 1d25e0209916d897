#!/bin/bash
# HTTP/2 hit throughput with 64 streams per connection (h2load -m64), h2c and TLS,
# for two running caches side by side (docs/performance.md, "HTTP/2 and TLS").
# Each cache must answer the bench origin's /obj/<size>/0/<name> (../shared/bench/origin).
#
#   A_PID=.. A_H2C=http://127.0.0.1:18710 A_TLS=https://127.0.0.1:18711 \
#   B_PID=.. B_H2C=http://127.0.0.1:18721 B_TLS=https://127.0.0.1:18722 \
#   A_NAME=hlscache B_NAME=nginx DUR=8 CONNS=4 LOAD_CPUS=1 bench/h2_hit.sh
#
# Prints one RESULT line per (cache, size, transport): req/s, MB/s, the cache's CPU
# (% of one core and microseconds per request, from /proc/PID/stat of it and its children).
set -uo pipefail
DUR=${DUR:-8} CONNS=${CONNS:-4} LOAD_CPUS=${LOAD_CPUS:-1}
cpu_ms() { local t=0 s; for p in $(pgrep -P "$1") "$1"; do read -r -a s <"/proc/$p/stat"; t=$((t + (${s[13]} + ${s[14]}) * 10)); done; echo "$t"; }
run() {  # label pid url
  local label=$1 pid=$2 url=$3 out c0 c1 t0 t1 rps mbps ok pct us
  for _ in 1 2 3; do curl -sk --http2 -o /dev/null --max-time 10 "$url"; done  # warm: then hits
  c0=$(cpu_ms "$pid"); t0=$(date +%s%N)
  out=$(taskset -c "$LOAD_CPUS" h2load -c"$CONNS" -m64 -t1 -D"$DUR" "$url" 2>&1)
  c1=$(cpu_ms "$pid"); t1=$(date +%s%N)
  rps=$(sed -n 's/.*finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' <<<"$out")
  mbps=$(sed -n 's/.*req\/s, \([0-9.]*[KMG]*\)B\/s.*/\1/p' <<<"$out")
  ok=$(sed -n 's/^requests: .* \([0-9]*\) succeeded, \([0-9]*\) failed.*/\1 ok \2 failed/p' <<<"$out")
  pct=$(awk -v c=$((c1 - c0)) -v t=$(((t1 - t0) / 1000000)) 'BEGIN{printf "%.0f", 100*c/t}')
  us=$(awk -v c=$((c1 - c0)) -v r="$rps" -v d="$DUR" 'BEGIN{printf "%.1f", (r>0)? 1000*c/(r*d) : 0}')
  echo "RESULT $label rps=$rps MB/s=$mbps $ok proxy_cpu=${pct}% cpu_us_per_req=$us"
}
tag=$RANDOM
for size in 4k 1m; do
  for tr in H2C TLS; do
    path=/obj/$size/0/h2hit-$tag-$tr.bin
    a=A_$tr b=B_$tr
    run "${A_NAME:-A} $size $tr" "$A_PID" "${!a}$path"
    run "${B_NAME:-B} $size $tr" "$B_PID" "${!b}$path"
  done
done
