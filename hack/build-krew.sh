#!/usr/bin/env bash
# Builds the real krew (kubectl-krew) and krew-index's manifest validator
# (validate-krew-manifest) at the version pinned in hack/krew/go.mod into
# .cache/tools/bin. A separate module: krew v0.4.3 pins old Kubernetes
# libraries that must not move the plugin's or hack/tools' pins. Skips the
# build when the binaries were built from exactly the pinned go.mod/go.sum.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
mod="$root/hack/krew"
out="${IMGTRUST_TOOLS_DIR:-$root/.cache/tools}/bin"
stamp="$out/.krew-pins"

pins=$(cat "$mod/go.mod" "$mod/go.sum" "$0" | sha256sum | cut -d' ' -f1)
if [[ -x "$out/kubectl-krew" && -x "$out/validate-krew-manifest" && -f "$stamp" && "$(cat "$stamp")" == "$pins" ]]; then
  exit 0
fi

cd "$mod"
version=$(go list -m -f '{{.Version}}' sigs.k8s.io/krew)
echo "building krew $version and validate-krew-manifest into $out" >&2
mkdir -p "$out"
build() { # build OUTPUT PACKAGE
  echo "  go build $2" >&2
  CGO_ENABLED=0 go build -mod=readonly -trimpath \
    -ldflags "-s -w -X sigs.k8s.io/krew/internal/version.gitTag=$version" -o "$out/$1" "$2"
}
build kubectl-krew sigs.k8s.io/krew/cmd/krew
build validate-krew-manifest sigs.k8s.io/krew/cmd/validate-krew-manifest
echo "$pins" > "$stamp"
