#!/usr/bin/env bash
# The README's first command: install, build, make the sample broadcast, and run
# hlscache as a local test broadcast (config/local.yaml) until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/setup/install-deps.sh
tools/setup/build.sh
tools/setup/make-samples.sh samples
echo
echo "hlscache: test broadcast on http://127.0.0.1:8080/live/test/index.m3u8"
echo "  play it:   ffplay http://127.0.0.1:8080/live/test/index.m3u8   (or VLC, or hls.js)"
echo "  LL-HLS:    http://127.0.0.1:8080/live/test-ll/index.m3u8   (hls.js lowLatencyMode; docs/low-latency.md)"
echo "  push one:  ffmpeg -re -i samples/test-360p.ts -c copy -f mpegts -method PUT 'http://127.0.0.1:8080/ingest/push?key=secret'"
echo "  metrics:   curl http://127.0.0.1:8080/metrics"
echo
exec build/src/server/hlscache --config config/local.yaml
