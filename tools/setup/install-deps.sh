#!/usr/bin/env bash
# Installs every Debian 12 package hlscache needs to build, test and run its demo.
# Idempotent; run as root. Nothing is downloaded from anywhere but Debian's mirrors,
# except the status page's player (hls.js, pinned and hash-checked) from the npm registry.
set -euo pipefail
packages=(
  build-essential cmake pkg-config git
  libboost1.81-dev libnghttp2-dev libssl-dev libspdlog-dev libfmt-dev libyaml-cpp-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  ffmpeg curl openssl nghttp2-client  # nghttp2-client: nghttp and h2load for the HTTP/2 tests
  prometheus   # promtool: the /metrics exposition test (tests/integration/admin_ops_test.cpp)
  chromium       # the status page's test drives headless Chromium
  clang libclang-rt-14-dev llvm  # the fuzz targets (libFuzzer) and llvm-symbolizer for sanitizer reports (docs/fuzzing.md)
)
# hls.js for the status page comes through npm. Debian's npm package needs Debian's
# nodejs; a machine with another Node.js (NodeSource's bundles its own npm) keeps it.
command -v npm >/dev/null || packages+=(npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  [[ $(id -u) == 0 ]] || { echo "install-deps: run as root to install: ${missing[*]}" >&2; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The status page's player: hls.js into assets/ (config assets_dir's default).
"$(dirname "$0")/fetch-assets.sh" "$(cd "$(dirname "$0")/../.." && pwd)/assets"
