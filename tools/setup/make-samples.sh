#!/usr/bin/env bash
# Makes the sample broadcast config/local.yaml loops: two renditions of the same
# 10 s test pattern (1280x720 and 640x360), H.264 + AAC in MPEG-TS, fixed 2 s GOP
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
