#!/usr/bin/env bash
# Fetches the status page's player, hls.js, from the npm registry into assets/ (not
# committed; served by the daemon from config assets_dir at /assets/hls.min.js).
# The version is pinned and the package's integrity hash checked. Idempotent.
set -euo pipefail
version=1.5.20
integrity='sha512-uu0VXUK52JhihhnN/MVVo1lvqNNuhoxkonqgO3IpjvQiGpJBdIXMGkofjQb/j9zvV7a1SW8U9g1FslWx/1HOiQ=='
out=${1:-assets}
if [[ -s $out/hls.min.js && "$(cat "$out/hls.js.version" 2>/dev/null)" == "$version" ]]; then exit 0; fi
command -v npm >/dev/null || { echo "fetch-assets: npm is not installed (tools/setup/install-deps.sh)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "hls.js@$version" >/dev/null 2>"$tmp/npm.err") || { cat "$tmp/npm.err" >&2; exit 1; }
tgz="$tmp/hls.js-$version.tgz"
got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
if [[ $got != "$integrity" ]]; then
  echo "fetch-assets: hls.js-$version.tgz integrity mismatch: got $got, want $integrity" >&2
  exit 1
fi
tar -xzf "$tgz" -C "$tmp" package/dist/hls.min.js package/LICENSE
mkdir -p "$out"
cp "$tmp/package/dist/hls.min.js" "$out/hls.min.js"
cp "$tmp/package/LICENSE" "$out/hls.js-LICENSE.txt"
echo "$version" > "$out/hls.js.version"
echo "fetch-assets: hls.js $version in $out/"
