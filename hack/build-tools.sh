#!/usr/bin/env bash
# Builds the pinned real tools from the Go module proxy into
# ${IMGTRUST_TOOLS_DIR:-<repo>/.cache/tools}/bin, one set per pinned module:
#
#   hack/build-tools.sh [SET...]   SET: tools signers krew goreleaser
#                                  (none: tools signers krew, as `make tools`)
#
#   tools       hack/tools: the local test stack (kube-apiserver,
#               kube-controller-manager, kubectl, etcd, registry, crane) and
#               our helper stackutil (bcrypt htpasswd, free ports, token
#               server) for hack/local-cluster.sh. Cold: 6 to 16 minutes on 2
#               cores (16 min measured with other builds running), ~7 GB of Go
#               caches.
#   signers     hack/signers: cosign and notation, which the e2e suite signs
#               images with (the demo signs in-process). Apart from hack/tools, so that their
#               dependencies do not move its Kubernetes pins.
#   krew        hack/krew: the real krew (kubectl-krew) and krew-index's
#               manifest validator (validate-krew-manifest). krew v0.4.3 pins
#               old Kubernetes libraries that must not move the plugin's or
#               hack/tools' pins.
#   goreleaser  hack/goreleaser: goreleaser for hack/release.sh. Cold: 5m50s
#               measured on 2 cores (with other builds running).
#
# Each set is skipped, saying what it found, when its binaries were built from
# exactly the pinned go.mod and go.sum (and, for tools, the stackutil
# sources) and the set's rows of the table below: its stamp file in the bin
# folder holds a hash of them. Warm: instant.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
self="$root/hack/$(basename "$0")"
out="${IMGTRUST_TOOLS_DIR:-$root/.cache/tools}/bin"

# One row per binary: SET (the module hack/SET), BINARY (its name in the bin
# folder), PACKAGE (what go build builds, from that module), VERSION (the
# module whose pinned version the binary reports; - for none) and STAMP (what
# the version is stamped into with -X: comma-separated variables, each set to
# that version unless it says =VALUE; "kube" stands for Kubernetes' own
# version variables; - for none). Without these stamps the binaries report
# "(devel)", v0.0.0-master and the like, and kubectl warns about version skew
# on every call.
table() {
  cat <<'EOF'
tools      kube-apiserver          k8s.io/kubernetes/cmd/kube-apiserver                 k8s.io/kubernetes                       kube
tools      kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager        k8s.io/kubernetes                       kube
tools      kubectl                 k8s.io/kubernetes/cmd/kubectl                        k8s.io/kubernetes                       kube
tools      etcd                    go.etcd.io/etcd/server/v3                            go.etcd.io/etcd/server/v3               go.etcd.io/etcd/api/v3/version.GitSHA
tools      registry                github.com/distribution/distribution/v3/cmd/registry github.com/distribution/distribution/v3 github.com/distribution/distribution/v3/version.version
tools      crane                   github.com/google/go-containerregistry/cmd/crane     -                                       -
tools      stackutil               ./cmd/stackutil                                      -                                       -
signers    cosign                  github.com/sigstore/cosign/v3/cmd/cosign             github.com/sigstore/cosign/v3           sigs.k8s.io/release-utils/version.gitVersion
signers    notation                github.com/notaryproject/notation/cmd/notation       github.com/notaryproject/notation       github.com/notaryproject/notation/internal/version.Version,github.com/notaryproject/notation/internal/version.BuildMetadata=
krew       kubectl-krew            sigs.k8s.io/krew/cmd/krew                            sigs.k8s.io/krew                        sigs.k8s.io/krew/internal/version.gitTag
krew       validate-krew-manifest  sigs.k8s.io/krew/cmd/validate-krew-manifest          sigs.k8s.io/krew                        sigs.k8s.io/krew/internal/version.gitTag
goreleaser goreleaser              github.com/goreleaser/goreleaser/v2                  github.com/goreleaser/goreleaser/v2     main.version,main.builtBy=hack/build-tools.sh
EOF
}

# The stamp file of a set, in the bin folder (names kept from the four
# per-set scripts this one replaced, so a warm cache stays warm).
stamp_of() { if [[ $1 == tools ]]; then echo "$out/.pins"; else echo "$out/.$1-pins"; fi; }

# What the four per-set scripts this one replaced wrote into the stamps for
# the pins of commit 79e9957. A stamp still holding one of these is current:
# hashes over the same go.mod and go.sum (a changed pin no longer matches).
legacy_stamp() {
  case $1 in
    tools) echo 7157c9d85156118c84cf4dc9a0778e944ff847f94cdb290ee8020265013045d8 ;;
    signers) echo 5363b74695f51f716b32df319531562dbbb6194b6be80e815a21879a1183ab9f ;;
    krew) echo cdb2a2532a8091c7e342d2039bbaa1884e0b5ba3c31a1f1b2fa7e2cd4822dc4f ;;
    goreleaser) echo 2e59e91d36d59319e2934ab530993ab700567c52b458f898cdbfb95abdb0f8cc ;;
  esac
}

log() { echo "build-tools: $*" >&2; }

# kube_ldflags VERSION: Kubernetes' version variables, e.g. for v1.37.2.
kube_ldflags() {
  local v=$1 major minor pkg flags=""
  major=$(echo "$v" | sed -E 's/^v([0-9]+)\..*/\1/')
  minor=$(echo "$v" | sed -E 's/^v[0-9]+\.([0-9]+)\..*/\1/')
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=$major"
    flags+=" -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
    flags+=" -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$flags"
}

# recipe: the text of the two functions that turn a table row into a build,
# part of every stamp (read from this file: bash-version independent).
recipe() { sed -n -e '/^kube_ldflags() {/,/^}/p' -e '/^build_set() {/,/^}/p' "$self"; }

# build_set SET: build every binary of SET unless its stamp is current.
build_set() {
  local set=$1 mod="$root/hack/$1" stamp rows pins binaries=() bin found
  stamp=$(stamp_of "$set")
  rows=$(table | awk -v s="$set" '$1 == s')
  [[ -n "$rows" && -f "$mod/go.mod" ]] || { log "unknown set $set (want: tools signers krew goreleaser)"; exit 2; }
  local extra=()
  [[ $set != tools ]] || extra=("$mod"/cmd/*/*.go)
  pins=$({ cat "$mod/go.mod" "$mod/go.sum" ${extra[@]+"${extra[@]}"}; echo "$rows"; recipe; } |
    sha256sum | cut -d' ' -f1)
  while read -r _ bin _; do binaries+=("$bin"); done <<<"$rows"

  found=1
  for bin in "${binaries[@]}"; do [[ -x "$out/$bin" ]] || found=""; done
  if [[ -n "$found" && -f "$stamp" ]] && { [[ "$(cat "$stamp")" == "$pins" ]] ||
    [[ "$(cat "$stamp")" == "$(legacy_stamp "$set")" ]]; }; then
    log "$set: current in $out (${binaries[*]}; pins of hack/$set, $(basename "$stamp"))"
    return 0
  fi

  mkdir -p "$out"
  local _set package module vars v flags var
  while read -r _set bin package module vars; do
    flags="-s -w"
    if [[ $module != - ]]; then
      v=$(cd "$mod" && go list -m -f '{{.Version}}' "$module")
      if [[ $vars == kube ]]; then
        flags+=$(kube_ldflags "$v")
      else
        for var in ${vars//,/ }; do
          if [[ $var == *=* ]]; then flags+=" -X $var"; else flags+=" -X $var=$v"; fi
        done
      fi
    fi
    log "$set: go build $package ${v:+($module $v) }into $out/$bin"
    (cd "$mod" && CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags "$flags" -o "$out/$bin" "$package")
    v=""
  done <<<"$rows"
  echo "$pins" >"$stamp"
}

sets=("$@")
((${#sets[@]})) || sets=(tools signers krew)
for set in "${sets[@]}"; do
  build_set "$set"
done
