#!/usr/bin/env bash
# Builds the real signers the e2e suite and the demo sign images with,
# cosign and notation at the versions pinned in hack/signers/go.mod, into
# .cache/tools/bin. A separate module, so that their dependencies do not
# move the Kubernetes pins of hack/tools. Skips the build when the binaries
# were built from exactly the pinned go.mod and go.sum.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
mod="$root/hack/signers"
out="${IMGTRUST_TOOLS_DIR:-$root/.cache/tools}/bin"
stamp="$out/.signers-pins"

pins=$(cat "$mod/go.mod" "$mod/go.sum" "$0" | sha256sum | cut -d' ' -f1)
if [[ -x "$out/cosign" && -x "$out/notation" && -f "$stamp" && "$(cat "$stamp")" == "$pins" ]]; then
  exit 0
fi

cd "$mod"
cosign_version=$(go list -m -f '{{.Version}}' github.com/sigstore/cosign/v3)
notation_version=$(go list -m -f '{{.Version}}' github.com/notaryproject/notation)
echo "building cosign $cosign_version and notation $notation_version into $out" >&2
mkdir -p "$out"
build() { # build OUTPUT PACKAGE LDFLAGS
  echo "  go build $2" >&2
  CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags "-s -w $3" -o "$out/$1" "$2"
}
build cosign github.com/sigstore/cosign/v3/cmd/cosign \
  "-X sigs.k8s.io/release-utils/version.gitVersion=$cosign_version"
build notation github.com/notaryproject/notation/cmd/notation \
  "-X github.com/notaryproject/notation/internal/version.Version=$notation_version -X github.com/notaryproject/notation/internal/version.BuildMetadata="
echo "$pins" > "$stamp"
