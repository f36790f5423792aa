#!/usr/bin/env bash
# Renders the krew-release-bot template .krew.yaml into plugins/imgtrust.yaml
# from the archives and checksums.txt in DIST_DIR, as the bot does from a
# GitHub release. The archive names carry the tag, so build them with it:
#
#   GORELEASER_CURRENT_TAG=v0.1.0 hack/release.sh snapshot-all
#   hack/render-krew.sh v0.1.0 dist
#
# For a published release, render from the dist dir of the tagged
# `goreleaser release` run, whose archives are the ones uploaded: a snapshot's
# archives differ (snapshot version and build date stamped in the binary).
set -euo pipefail

if [[ $# -lt 2 || $# -gt 3 ]]; then
  echo "usage: $0 VERSION DIST_DIR [OUTPUT (default plugins/imgtrust.yaml)]" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
version=$1
dist=$(cd "$2" && pwd)
out=${3:-$root/plugins/imgtrust.yaml}
[[ "$out" == /* ]] || out="$PWD/$out"
mkdir -p "$(dirname "$out")"

cd "$root"
GOTOOLCHAIN=local go run ./hack/render-krew -tag "$version" -dist "$dist" -template .krew.yaml -o "$out"
echo "wrote $out" >&2
