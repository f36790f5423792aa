#!/usr/bin/env bash
# Fetches the published CRDs of the admission engines `kubectl imgtrust policy
# --for` renders for, from their modules as the Go module proxy serves them,
# into ${IMGTRUST_CRDS_DIR:-<repo>/.cache/crds} (ignored), for the e2e test
# that has the real kube-apiserver validate the rendered objects against them
# (test/e2e/policy_engines_test.go). Prints that folder.
#
# Cold: two module zips, ~18.5 MB, a few seconds; nothing is built. Warm (the
# stamp in the folder names exactly the rows below): instant, no network.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out="${IMGTRUST_CRDS_DIR:-$root/.cache/crds}"

# MODULE@VERSION, the CRD file in the module, the name it gets in $out.
table() {
  cat <<'ROWS'
github.com/sigstore/policy-controller@v0.13.1 config/300-clusterimagepolicy.yaml                                          policy-controller-clusterimagepolicies.yaml
github.com/kyverno/kyverno@v1.19.1            config/crds/policies.kyverno.io/policies.kyverno.io_imagevalidatingpolicies.yaml kyverno-imagevalidatingpolicies.yaml
ROWS
}

log() { echo "crds: $*" >&2; }

want=$(table | sha256sum | cut -d' ' -f1)
if [[ -f $out/.stamp && $(cat "$out/.stamp") == "$want" ]]; then
  log "up to date in $out"
  echo "$out"
  exit 0
fi

mkdir -p "$out"
rm -f "$out/.stamp"
# Outside any module, so that downloading touches no go.mod or go.sum.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
while read -r module file as; do
  [[ -n $module ]] || continue
  log "downloading $module"
  dir=$(cd "$tmp" && GOWORK=off GOFLAGS=-mod=mod go mod download -json "$module" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  if [[ -z $dir || ! -f $dir/$file ]]; then
    log "$module: no $file in the module (dir '${dir}')"
    exit 1
  fi
  install -m 0644 "$dir/$file" "$out/$as"
done < <(table)
echo "$want" > "$out/.stamp"
log "fetched into $out"
echo "$out"
