#!/usr/bin/env bash
# `make demo`, after the stack is up: load the demo workloads and run the main
# job, `kubectl imgtrust audit -A`, through the real kubectl.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
eval "$(hack/local-cluster.sh env)"

export IMGTRUST_DEMO_KEYS="$root/.cache/demo-keys"
go run ./hack/demo

echo
echo '$ kubectl imgtrust audit -A'
kubectl imgtrust audit -A || true   # findings are the point of the demo

keys=.cache/demo-keys
echo
echo "\$ kubectl imgtrust audit -n shop --verify-key $keys/demo.pub --trust-cert $keys/notation-ca.pem"
kubectl imgtrust audit -n shop --verify-key "$keys/demo.pub" --trust-cert "$keys/notation-ca.pem" || true

echo
echo '$ kubectl imgtrust audit -n shop --provenance --updates --platform linux/amd64 -o wide'
kubectl imgtrust audit -n shop --provenance --updates --platform linux/amd64 -o wide || true

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
  kubectl imgtrust --help
Stop it with: make demo-down
MSG
