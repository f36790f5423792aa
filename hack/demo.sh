#!/usr/bin/env bash
# `make demo`, after the stack is up: load the demo workloads and run the main
# job, `kubectl imgtrust audit -A`, through the real kubectl.
#
#   hack/demo.sh step N/M WHAT EXPECTED -- CMD...
#
# is how `make demo` runs each of its steps: it prints the step and the time
# it is expected to take, runs CMD and says how long it took, so a newcomer's
# first (cold) run shows where the minutes go.
set -euo pipefail

if [[ ${1:-} == step ]]; then
  n=$2 what=$3 expected=$4
  shift 4
  [[ ${1:-} != -- ]] || shift
  echo "demo: step $n: $what (expected: $expected)" >&2
  start=$SECONDS
  "$@"
  took=$((SECONDS - start))
  echo "demo: step $n done in $((took / 60))m$((took % 60))s" >&2
  exit 0
fi
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
eval "$(hack/local-cluster.sh env)"

export IMGTRUST_DEMO_KEYS="$root/.cache/demo-keys"
# The Trivy Operator's VulnerabilityReport CRD (make demo fetched it).
IMGTRUST_DEMO_CRDS=$(hack/crds.sh 2>/dev/null)
export IMGTRUST_DEMO_CRDS
go run ./hack/demo

echo
echo '$ kubectl imgtrust audit -A'
kubectl imgtrust audit -A || true   # findings are the point of the demo

keys=.cache/demo-keys
echo
echo "\$ kubectl imgtrust audit -n shop --verify-key $keys/demo.pub --trust-cert $keys/notation-ca.pem"
kubectl imgtrust audit -n shop --verify-key "$keys/demo.pub" --trust-cert "$keys/notation-ca.pem" || true

echo
echo "\$ kubectl imgtrust audit -n shop --vulnerabilities --verify-key $keys/demo.pub --trust-cert $keys/notation-ca.pem"
kubectl imgtrust audit -n shop --vulnerabilities --verify-key "$keys/demo.pub" --trust-cert "$keys/notation-ca.pem" || true

echo
echo '$ kubectl imgtrust audit -n shop --provenance --updates --platform linux/amd64 -o wide'
kubectl imgtrust audit -n shop --provenance --updates --platform linux/amd64 -o wide || true

# Keep it from coming back: what an admission policy would deny, then
# stage 1 of its rollout (warn and record, refuse nothing).
policy=(--require-digest --allowed-registries "$IMGTRUST_E2E_REGISTRY/")
echo
echo "\$ kubectl imgtrust policy -n shop --require-digest --allowed-registries $IMGTRUST_E2E_REGISTRY/ --preview"
kubectl imgtrust policy -n shop "${policy[@]}" --preview
echo
echo "\$ kubectl imgtrust policy -n shop --require-digest --allowed-registries $IMGTRUST_E2E_REGISTRY/ --apply --actions Warn,Audit"
kubectl imgtrust policy -n shop "${policy[@]}" --apply --actions Warn,Audit
sleep 2 # the API server picks the binding up a moment later
echo
echo '$ kubectl create deployment probe -n shop --image nginx:1.27 --dry-run=server'
kubectl create deployment probe -n shop --image nginx:1.27 --dry-run=server
echo
echo "\$ kubectl imgtrust policy -n shop --require-digest --allowed-registries $IMGTRUST_E2E_REGISTRY/ --apply --actions Deny"
kubectl imgtrust policy -n shop "${policy[@]}" --apply --actions Deny 2>&1 | tail -1 || true

cat <<MSG

The demo cluster keeps running. Point kubectl at it with:
  eval "\$(hack/local-cluster.sh env)"
then try:
  kubectl imgtrust audit -n shop -o wide
  kubectl imgtrust resolve -n shop
  kubectl imgtrust pin deploy/web -n shop --source=registry -o diff
  kubectl imgtrust secrets -A --verify
  kubectl imgtrust audit -A --verify-key $keys/demo.pub --trust-cert $keys/notation-ca.pem -o wide
  kubectl imgtrust audit -A --provenance --max-age 180d --updates -o wide
  kubectl imgtrust audit -n shop --vulnerabilities --verify-key $keys/demo.pub --trust-cert $keys/notation-ca.pem -o wide
  kubectl imgtrust policy -A --require-digest --preview
  kubectl imgtrust --help
Stop it with: make demo-down
MSG
