#!/usr/bin/env bash
# Makes the sample broadcast config/local.yaml loops: two renditions of the same
# 10 s test pattern (1280x720 and 640x360; and a 160x90 one for load tests), H.264 + AAC in MPEG-TS, fixed 2 s GOP
# (keyframes aligned across renditions). Idempotent: existing files are kept.
set -euo pipefail
out=${1:-samples}
mkdir -p "$out"
command -v ffmpeg >/dev/null || { echo "make-samples: ffmpeg is not installed (tools/setup/install-deps.sh)" >&2; exit 1; }
make() { # name size bitrate
  local f="$out/test-$1.ts"
  [[ -s $f ]] && return 0
  echo "make-samples: encoding $f"
  ffmpeg -hide_banner -loglevel error -y \
    -f lavfi -i "testsrc2=size=$2:rate=25" -f lavfi -i "sine=frequency=440:sample_rate=48000" -t 10 \
    -c:v libx264 -preset veryfast -profile:v main -pix_fmt yuv420p -b:v "$3" -maxrate "$3" -bufsize "$3" \
    -g 50 -keyint_min 50 -sc_threshold 0 -c:a aac -b:a 96k -ac 2 \
    -f mpegts "$f.tmp" && mv "$f.tmp" "$f"
}
make 720p 1280x720 2500k
make 360p 640x360 800k
# config/load-test.yaml: 160x90 at 10 fps (GOP 20 = 2 s), 40 kbit/s video + 24 kbit/s mono
# AAC at 24 kHz: ~110 kbit/s including MPEG-TS overhead, so that 10,000 simulated viewers
# (tools/hlsload) fit through loopback on a small machine.
f="$out/test-90p.ts"
if [[ ! -s $f ]]; then
  echo "make-samples: encoding $f"
  ffmpeg -hide_banner -loglevel error -y \
    -f lavfi -i "testsrc2=size=160x90:rate=10" -f lavfi -i "sine=frequency=440:sample_rate=24000" -t 10 \
    -c:v libx264 -preset veryfast -profile:v main -pix_fmt yuv420p -b:v 40k -maxrate 40k -bufsize 40k \
    -g 20 -keyint_min 20 -sc_threshold 0 -c:a aac -b:a 24k -ac 1 \
    -f mpegts "$f.tmp" && mv "$f.tmp" "$f"
fi
