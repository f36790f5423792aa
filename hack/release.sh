#!/usr/bin/env bash
# Runs the pinned goreleaser (hack/goreleaser) against .goreleaser.yaml.
#
#   hack/release.sh check          validate .goreleaser.yaml
#   hack/release.sh snapshot-one   build the host's target only, into ./dist
#   hack/release.sh snapshot-all   build every archive and checksums.txt, no publishing
#   hack/release.sh validate-krew  krew-index's validate-krew-manifest on plugins/imgtrust.yaml
#
# snapshot-all cross-compiles six targets: about 20 minutes the first time on
# 2 busy cores, under a minute once the Go build cache holds them.
#
# Snapshots name archives after the latest tag (v0.0.0 without one); set
# GORELEASER_CURRENT_TAG=v0.1.0 to pretend a tag, as hack/render-krew.sh needs.
# Nothing here needs the network once the module cache holds the plugin's
# dependencies: goreleaser publishes nothing and Go uses the local toolchain.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
goreleaser="${IMGTRUST_TOOLS_DIR:-$root/.cache/tools}/bin/goreleaser"

usage() {
  echo "usage: $0 check|snapshot-one|snapshot-all|validate-krew" >&2
  exit 2
}
[[ $# -eq 1 ]] || usage

# Never download a newer Go toolchain, never rewrite go.mod/go.sum mid-release.
export GOTOOLCHAIN=local
if [[ " ${GOFLAGS:-} " != *" -mod="* ]]; then
  export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=readonly"
fi

# goreleaser reads the commit only after `git ls-remote --get-url` succeeds,
# so a clone without a remote would stamp commit "none". Name the upstream
# through git's environment config, leaving the repository untouched.
cd "$root"
if [[ -z "$(git remote)" && -z "${GIT_CONFIG_COUNT:-}" ]]; then
  export GIT_CONFIG_COUNT=1
  export GIT_CONFIG_KEY_0=remote.origin.url
  export GIT_CONFIG_VALUE_0=https://github.com/imgtrust/kubectl-imgtrust.git
fi

"$root/hack/build-tools.sh" goreleaser
case "$1" in
  check)
    "$goreleaser" check
    ;;
  snapshot-one)
    "$goreleaser" build --snapshot --clean --single-target
    ;;
  snapshot-all)
    "$goreleaser" release --snapshot --clean --skip=publish
    ;;
  validate-krew)
    # Structure, name, every platform selector used and none overlapping,
    # as krew-index's CI checks. Installing every platform needs every
    # archive (snapshot-all, ~20 min cold): the e2e suite installs the
    # host's with the real krew instead.
    "${IMGTRUST_TOOLS_DIR:-$root/.cache/tools}/bin/validate-krew-manifest" -manifest "$root/plugins/imgtrust.yaml" -skip-install
    ;;
  *)
    usage
    ;;
esac
