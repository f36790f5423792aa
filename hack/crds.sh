#!/usr/bin/env bash
# Fetches the published CRDs of the projects we read or render for, from their
# modules as the Go module proxy serves them, into
# ${IMGTRUST_CRDS_DIR:-<repo>/.cache/crds} (ignored), for the e2e tests that
# install them into the real kube-apiserver: the admission engines `kubectl
# imgtrust policy --for` renders for (test/e2e/policy_engines_test.go), the
# custom resources whose images we audit (Tekton, prometheus-operator) and the
# Trivy Operator's vulnerability reports. Prints that folder.
#
# Cold: five module zips, ~42 MB, a few seconds; nothing is built. Warm (the
# stamp in the folder names exactly the rows below): instant, no network.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out="${IMGTRUST_CRDS_DIR:-$root/.cache/crds}"

# MODULE@VERSION, the CRD file in the module, the name it gets in $out.
table() {
  cat <<'ROWS'
github.com/sigstore/policy-controller@v0.13.1 config/300-clusterimagepolicy.yaml                                          policy-controller-clusterimagepolicies.yaml
github.com/kyverno/kyverno@v1.19.1            config/crds/policies.kyverno.io/policies.kyverno.io_imagevalidatingpolicies.yaml kyverno-imagevalidatingpolicies.yaml
github.com/tektoncd/pipeline@v1.0.0            config/300-crds/300-task.yaml tekton-tasks.yaml
github.com/tektoncd/pipeline@v1.0.0            config/300-crds/300-taskrun.yaml tekton-taskruns.yaml
github.com/tektoncd/pipeline@v1.0.0            config/300-crds/300-pipeline.yaml tekton-pipelines.yaml
github.com/tektoncd/pipeline@v1.0.0            config/300-crds/300-pipelinerun.yaml tekton-pipelineruns.yaml
github.com/prometheus-operator/prometheus-operator@v0.85.0 example/prometheus-operator-crd/monitoring.coreos.com_prometheuses.yaml prometheus-operator-prometheuses.yaml
github.com/prometheus-operator/prometheus-operator@v0.85.0 example/prometheus-operator-crd/monitoring.coreos.com_prometheusagents.yaml prometheus-operator-prometheusagents.yaml
github.com/prometheus-operator/prometheus-operator@v0.85.0 example/prometheus-operator-crd/monitoring.coreos.com_alertmanagers.yaml prometheus-operator-alertmanagers.yaml
github.com/prometheus-operator/prometheus-operator@v0.85.0 example/prometheus-operator-crd/monitoring.coreos.com_thanosrulers.yaml prometheus-operator-thanosrulers.yaml
github.com/aquasecurity/trivy-operator@v0.29.0 deploy/helm/crds/aquasecurity.github.io_vulnerabilityreports.yaml trivy-operator-vulnerabilityreports.yaml
github.com/aquasecurity/trivy-operator@v0.29.0 deploy/helm/crds/aquasecurity.github.io_clustervulnerabilityreports.yaml trivy-operator-clustervulnerabilityreports.yaml
github.com/aquasecurity/trivy-operator@v0.29.0 deploy/helm/crds/aquasecurity.github.io_sbomreports.yaml trivy-operator-sbomreports.yaml
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
