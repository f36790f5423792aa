#!/usr/bin/env bash
# The scale bench of issue 8 (`make bench`; not part of `make test`, whose
# 100-pod version is test/e2e/bench_test.go).
#
# On a fresh local stack started WITHOUT kube-controller-manager (so nothing
# adopts, creates or deletes the pods), load a synthetic cluster (10,000 pods,
# ~1,000 workloads, 100 namespaces, 500 unique references over the private and
# the public registry), put each registry behind hack/bench/proxy (20 ms a
# request, counting requests), then measure side by side with /usr/bin/time -v:
#
#   get-pods         kubectl get pods -A -o json > /dev/null
#   audit-offline    kubectl imgtrust audit -A --offline -o json
#   audit            kubectl imgtrust audit -A -o json        (through the proxies)
#   audit-full-first  kubectl imgtrust audit -A --signatures --provenance --updates
#                     --cache-dir DIR -o json                  (DIR empty: a first run)
#   audit-full-cached the same again with that DIR             (a repeated run)
#   resolve          kubectl imgtrust resolve REF... -o json  (the 500 references)
#   crane-loop       while read r; do crane digest "$r"; done
#   kbld             kbld -f images.yml                       (carvel.dev/kbld)
#   kubectl-images   kubectl images -A                        (if it can be built)
#
# Each command runs BENCH_RUNS times, interleaved round by round so a burst of
# load elsewhere on the machine hits every command alike; the report gives
# medians. Results: .cache/bench/results.md, and the generated section of
# docs/benchmarks.md is replaced with it.
#
# Knobs (environment): BENCH_PODS (10000), BENCH_NAMESPACES (100),
# BENCH_IMAGES (500), BENCH_RUNS (5), BENCH_SLOW_RUNS (3, for crane-loop and
# kbld, the slow ones), BENCH_LATENCY (20ms), BENCH_PRIVATE_AUTH (both: the
# private images are in both of the stack's private registries and audit and
# resolve are measured against each, the private proxy switching between
# them (audit-basic, resolve-basic); token: only the token-auth registry and
# its token service behind the private proxy, as real registries work;
# basic: only the htpasswd registry, which checks bcrypt on every request),
# BENCH_PER_HOST (4, the plugin's --concurrency-per-registry, for
# the physical limit), BENCH_BCRYPT_COST (5: the stack's password hashing
# cost, that of `htpasswd -B`, which distribution's docs use; the stack's own
# default of 10 costs 77 ms of CPU a check on the plugin's 2 cores, where a
# real registry's checks run on its own machines), BENCH_STEPS (all: a subset such
# as "get-pods audit-offline" for the scaling runs), BENCH_KEEP=1 (leave the
# stack and proxies up), BENCH_NO_DOCS=1 (do not touch docs/benchmarks.md),
# BENCH_PROXY_LOG_DIR (each proxy appends a line per request, arrival and
# answer in Unix µs, to DIR/PORT.log: a run's requests in flight over time).
#
# Signatures and provenance at scale (issue 32 part 3): when one of the
# signature steps is selected, every bench digest is signed after the load
# with a cosign key pair made for the run (BENCH_SIGNER: imgtrust, the
# default, `kubectl imgtrust sign -A`; or cosign, `cosign sign` per digest),
# and BENCH_ATTEST of them (default all) get a SLSA v1 provenance attestation
# from the real `cosign attest` (BENCH_ATTEST_JOBS cosign processes at once,
# default 4). Both are setup, not measured against a target: the proxies add
# no latency meanwhile (GET /_latency?set=0s), and each is timed and counted
# like a step. Then, beside `audit`:
#
#   audit-verify-key    kubectl imgtrust audit -A --no-cache --verify-key KEY -o json
#   audit-trust-policy  kubectl imgtrust audit -A --no-cache --trust-policy FILE -o json
#   audit-provenance    kubectl imgtrust audit -A --no-cache --provenance --verify-key KEY -o json
#                       (--no-cache: each run asks the registry, as a first run does)
#   cosign-verify-loop  while read d; do cosign verify --key KEY --insecure-ignore-tlog=true "$d"; done
#                       (the same digests; BENCH_SLOW_RUNS rounds)
#
# Keyless (sign_bench_keyless): after the rounds above, so the keyed rows
# see exactly the signatures they saw before, hack/bench/keyless makes a
# private Fulcio-like CA and a leaf for one issuer and subject, `cosign
# trusted-root create` a trusted_root.json of that CA alone (no Rekor, CT log
# or TSA), and the real `cosign sign --certificate … --certificate-chain …
# --tlog-upload=false` signs every bench digest again (BENCH_SIGN_JOBS, 4,
# at once; setup-sign-keyless, no added latency). Then BENCH_RUNS rounds of
#
#   audit-keyless               kubectl imgtrust audit -A --no-cache --trust-policy FILE --trusted-root ROOT -o json
#                               (one rule: images ["**"], that issuer and subject, ignoreTlog and
#                               ignoreSCT, action require)
#   cosign-verify-keyless-loop  cosign verify --certificate-identity … --certificate-oidc-issuer …
#                               --trusted-root ROOT --insecure-ignore-tlog=true --insecure-ignore-sct=true
#                               --allow-certificate-chain, each digest (BENCH_SLOW_RUNS rounds)
#
# A keyless step alone still gets the keyed setup first, so the keyless rows
# always read the same artifacts per digest. The leaf is valid for an hour
# from its signing: the keyless rounds must end within it.
#
# Their rows go to their own section of docs/benchmarks.md. BENCH_DOCS_SECTION
# (default all) picks what is rewritten there: main, signatures or all; a
# section none of whose steps ran is left alone.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out="$root/.cache/bench"
tools="$root/.cache/bench-tools"
pods=${BENCH_PODS:-10000}
namespaces=${BENCH_NAMESPACES:-100}
images=${BENCH_IMAGES:-500}
runs=${BENCH_RUNS:-5}
slow_runs=${BENCH_SLOW_RUNS:-3}
latency=${BENCH_LATENCY:-20ms}
private_auth=${BENCH_PRIVATE_AUTH:-both}
per_host=${BENCH_PER_HOST:-4}
# A stack of its own, so the bench never touches the e2e or demo stacks.
export IMGTRUST_STACK_DIR="$root/.cache/stack-bench"
export IMGTRUST_STACK_NO_CONTROLLERS=1
export IMGTRUST_STACK_BCRYPT_COST=${BENCH_BCRYPT_COST:-5}
default_steps="get-pods audit-offline audit audit-full-first audit-full-cached resolve kubectl-images crane-loop kbld"
[[ "$private_auth" != both ]] || default_steps+=" audit-basic resolve-basic"
# The signature rows (issue 32 part 3; sign_bench_images and sig_step below).
sig_steps="audit-verify-key audit-trust-policy audit-provenance audit-keyless"
sig_slow_steps="cosign-verify-loop cosign-verify-keyless-loop"
# The keyless ones run after the keyed rounds (sign_bench_keyless).
keyless_steps="audit-keyless cosign-verify-keyless-loop"
default_steps+=" $sig_steps $sig_slow_steps"
steps=${BENCH_STEPS:-$default_steps}

log() { echo "bench: $*" >&2; }
die() { log "$*"; exit 1; }
[[ "$private_auth" == both || "$private_auth" == token || "$private_auth" == basic ]] || die "BENCH_PRIVATE_AUTH=$private_auth: use both, token or basic"
selected() { [[ " $steps " == *" $1 "* ]]; }
keyless_step() { [[ " $keyless_steps " == *" $1 "* ]]; }

[[ -x /usr/bin/time ]] ||
  die "/usr/bin/time is missing (GNU time, for wall time and peak RSS); install it: sudo apt-get install -y time"
[[ "$(/usr/bin/time -v true 2>&1)" == *"Maximum resident set size"* ]] ||
  die "/usr/bin/time is not GNU time (no -v); install it: sudo apt-get install -y time"

rm -rf "$out"
mkdir -p "$out/runs" "$tools"
# The plugin's default cache directory, fresh for every bench: rows never
# read what your own runs (or an earlier bench) kept.
export XDG_CACHE_HOME="$out/xdg-cache"

# ---------------------------------------------------------------- build
log "building the plugin and the bench tools"
make --no-print-directory build >&2
go build -o "$tools/load" ./hack/bench/load
go build -o "$tools/proxy" ./hack/bench/proxy
go build -o "$tools/report" ./hack/bench/report
go build -o "$tools/keyless" ./hack/bench/keyless
# The competitors, when their steps run: a failed build is recorded and the
# bench goes on.
if ! selected kbld; then
  rm -f "$tools/kbld"
elif (cd hack/bench/kbld && go build -o "$tools/kbld" carvel.dev/kbld/cmd/kbld) 2>"$out/kbld.build.log"; then
  rm "$out/kbld.build.log"
else
  log "kbld did not build; see $out/kbld.build.log"
  rm -f "$tools/kbld"
fi
if ! selected kubectl-images; then
  rm -f "$tools/kubectl-images"
elif ! GOBIN="$tools" GOFLAGS=-mod=mod go install github.com/chenjiandongx/kubectl-images@latest 2>"$out/kubectl-images.build.log"; then
  log "kubectl-images did not build; see $out/kubectl-images.build.log"
  rm -f "$tools/kubectl-images"
else
  rm "$out/kubectl-images.build.log"
fi

# ---------------------------------------------------------------- stack
proxy_pids=()
cleanup() {
  local pid
  if [[ -n "${BENCH_KEEP:-}" ]]; then
    log "BENCH_KEEP: the stack ($IMGTRUST_STACK_DIR) and the proxies (pids ${proxy_pids[*]}) stay up"
    return
  fi
  for pid in "${proxy_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  hack/local-cluster.sh down >&2 || true
}
trap cleanup EXIT

# Fresh every time: a reproducible cluster of exactly the loaded objects.
hack/local-cluster.sh down >&2
hack/local-cluster.sh up >&2
eval "$(hack/local-cluster.sh env)"
export PATH="$tools:$PATH"
pki="$IMGTRUST_STACK_DIR/pki"

# start_proxy NAME UPSTREAM [TOKEN_SERVER [ALT_UPSTREAM]]: a proxy on a free
# port; its address lands in $out/NAME.addr and its final counts in
# $out/NAME.final.json.
start_proxy() {
  "$tools/proxy" -upstream "https://$2" ${3:+-token-upstream "https://$3"} ${4:+-alt-upstream "https://$4"} -latency "$latency" -cert "$pki/serving.crt" -key "$pki/serving.key" \
    -ca "$pki/ca.crt" -addr-file "$out/$1.addr" >"$out/$1.final.json" 2>"$out/$1.log" &
  proxy_pids+=($!)
  for _ in $(seq 50); do [[ -s "$out/$1.addr" ]] && return 0; sleep 0.1; done
  die "proxy $1 did not start: $(cat "$out/$1.log")"
}
if [[ "$private_auth" == both ]]; then
  # The same images in both; the proxy serves the token-auth one until
  # switched (use_upstream).
  private_upstream=$IMGTRUST_E2E_TOKEN_REGISTRY,$IMGTRUST_E2E_REGISTRY
  start_proxy private "$IMGTRUST_E2E_TOKEN_REGISTRY" "$IMGTRUST_E2E_TOKEN_SERVER" "$IMGTRUST_E2E_REGISTRY"
elif [[ "$private_auth" == token ]]; then
  private_upstream=$IMGTRUST_E2E_TOKEN_REGISTRY
  start_proxy private "$private_upstream" "$IMGTRUST_E2E_TOKEN_SERVER"
else
  private_upstream=$IMGTRUST_E2E_REGISTRY
  start_proxy private "$private_upstream"
fi
echo "$private_auth" >"$out/private-auth"
echo "$IMGTRUST_STACK_BCRYPT_COST" >"$out/bcrypt-cost"
start_proxy public "$IMGTRUST_E2E_PUBLIC_REGISTRY"
private=$(<"$out/private.addr")
public=$(<"$out/public.addr")

# ---------------------------------------------------------------- load
log "loading $pods pods in $namespaces namespaces, $images images (registries behind $private and $public)"
"$tools/load" -pods "$pods" -namespaces "$namespaces" -images "$images" -prefix bench \
  -private-host "$private" -public-host "$public" -private-upstream "$private_upstream" -refs-file "$out/refs.txt" -digests-file "$out/digests.txt" >"$out/load.json"
mapfile -t refs <"$out/refs.txt"

# For the tools given references rather than a cluster (resolve, crane,
# kbld): the private registry's login in a docker config, the way a user
# would have it after `docker login`.
mkdir -p "$out/docker"
auth=$(printf '%s:%s' "$IMGTRUST_E2E_REGISTRY_USER" "$IMGTRUST_E2E_REGISTRY_PASSWORD" | base64 -w0)
printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$private" "$auth" >"$out/docker/config.json"
# kbld reads `image:` keys anywhere in YAML.
{ echo "images:"; for r in "${refs[@]}"; do echo "- image: $r"; done; } >"$out/images.yml"

# ---------------------------------------------------------------- measure
stats() { curl -fsS --cacert "$pki/ca.crt" "https://$1/_stats?reset=1"; }
# use_upstream main|alt: what the private proxy forwards to (both only).
use_upstream() { curl -fsS --cacert "$pki/ca.crt" "https://$private/_upstream?use=$1" >/dev/null; }

# measure ID CMD...: one run; time -v output, stderr and both proxies' counts
# go to runs/ID.N.*, stdout to /dev/null (its bytes are not the point).
declare -A count=()
measure() {
  local id=$1; shift
  local n=$((${count[$id]:-0} + 1))
  count[$id]=$n
  stats "$private" >/dev/null
  stats "$public" >/dev/null
  local rc=0
  /usr/bin/time -v -o "$out/runs/$id.$n.time" "$@" >"${stdout_to:-/dev/null}" 2>"$out/runs/$id.$n.stderr" || rc=$?
  echo "$rc" >"$out/runs/$id.$n.rc"
  stats "$private" >"$out/runs/$id.$n.private.json"
  stats "$public" >"$out/runs/$id.$n.public.json"
  log "$id run $n: exit $rc, $(grep -F 'Elapsed (wall clock)' "$out/runs/$id.$n.time" | awk '{print $NF}')"
}

# What each step runs; the report reads this file. DOCKER_CONFIG of the
# stack (an empty config) for the cluster steps: credentials come from the
# pods' pull secrets there.
cat >"$out/steps.tsv" <<EOF
get-pods	kubectl get pods -A -o json
audit-offline	kubectl imgtrust audit -A --offline -o json
audit	kubectl imgtrust audit -A -o json
audit-full-first	kubectl imgtrust audit -A --signatures --provenance --updates --cache-dir DIR -o json   (DIR empty: a first run)
audit-full-cached	kubectl imgtrust audit -A --signatures --provenance --updates --cache-dir DIR -o json   (again, with the first run's DIR)
resolve	kubectl imgtrust resolve <${#refs[@]} refs> -o json
crane-loop	for r in <${#refs[@]} refs>; do crane digest \$r; done
kbld	kbld -f images.yml (${#refs[@]} refs)
kubectl-images	kubectl images -A
EOF
if [[ "$private_auth" == both ]]; then
  cat >>"$out/steps.tsv" <<EOF
audit-basic	kubectl imgtrust audit -A -o json   (private registry: basic auth)
resolve-basic	kubectl imgtrust resolve <${#refs[@]} refs> -o json   (private registry: basic auth)
EOF
fi
cat >"$out/signature-steps.tsv" <<EOF
audit-verify-key	kubectl imgtrust audit -A --no-cache --verify-key KEY -o json
audit-trust-policy	kubectl imgtrust audit -A --no-cache --trust-policy FILE -o json
audit-provenance	kubectl imgtrust audit -A --no-cache --provenance --verify-key KEY -o json
cosign-verify-loop	for d in <${#refs[@]} digests>; do cosign verify --key KEY --insecure-ignore-tlog=true \$d; done
audit-keyless	kubectl imgtrust audit -A --no-cache --trust-policy FILE --trusted-root ROOT -o json   (keyless rule)
cosign-verify-keyless-loop	for d in <${#refs[@]} digests>; do cosign verify --certificate-identity ID --certificate-oidc-issuer ISSUER --trusted-root ROOT --insecure-ignore-tlog=true --insecure-ignore-sct=true --allow-certificate-chain \$d; done
EOF

# ---------------------------------------------------------------- signatures
# sign_bench_images signs every bench digest and attests BENCH_ATTEST of
# them, each timed and counted as a run of setup-sign and setup-attest.
sigdir="$out/signing"
sign_bench_images() {
  local s wanted=""
  for s in $sig_steps $sig_slow_steps; do selected "$s" && wanted=1; done
  [[ -n "$wanted" ]] || return 0
  mkdir -p "$sigdir"
  # A key pair for this run only, with an empty password.
  (cd "$sigdir" && COSIGN_PASSWORD="" cosign generate-key-pair --output-key-prefix bench >/dev/null 2>"$sigdir/keygen.log") ||
    die "cosign generate-key-pair failed: $(cat "$sigdir/keygen.log")"
  cat >"$sigdir/trust.yaml" <<EOF
apiVersion: imgtrust.dev/v1alpha1
kind: TrustPolicy
rules:
- images: ["**"]
  keys: [bench.pub]
  action: require
EOF
  # A minimal SLSA v1 predicate, as the e2e tests attach.
  cat >"$sigdir/slsa.json" <<'EOF'
{"buildDefinition": {"buildType": "https://imgtrust.example/build/v1",
  "externalParameters": {"configSource": {"uri": "git+https://imgtrust.example/app", "digest": {"sha1": "0123456789abcdef0123456789abcdef01234567"}}}},
 "runDetails": {"builder": {"id": "https://imgtrust.example/builder"},
  "metadata": {"startedOn": "2026-01-01T00:00:00Z", "finishedOn": "2026-01-01T00:01:00Z"}}}
EOF
  local total n jobs=${BENCH_ATTEST_JOBS:-4} signer=${BENCH_SIGNER:-imgtrust}
  total=$(wc -l <"$out/digests.txt")
  n=${BENCH_ATTEST:-$total}
  head -n "$n" "$out/digests.txt" >"$sigdir/attested.txt"
  local sign_text="kubectl imgtrust sign -A --key KEY (the $total digests the pods run)"
  [[ "$signer" == imgtrust ]] || sign_text="cosign sign --key KEY --tlog-upload=false, each of the $total digests, $jobs at once"
  printf '%s\t%s\n' \
    setup-sign "$sign_text; no added latency" \
    setup-attest "cosign attest --type slsaprovenance1 --key KEY, $(wc -l <"$sigdir/attested.txt") of the digests, $jobs at once; no added latency" >"$out/signature-setup.tsv"
  # Through the proxies, as the pods name the images, so the writes are
  # counted; without their latency, as this is setup.
  set_latency 0s
  log "signing the $total bench digests with $signer"
  case $signer in
    imgtrust) DOCKER_CONFIG="$out/docker" COSIGN_PASSWORD="" measure setup-sign kubectl imgtrust sign -A --key "$sigdir/bench.key" ;;
    cosign)
      # shellcheck disable=SC2016 # expanded by the inner bash
      DOCKER_CONFIG="$out/docker" COSIGN_PASSWORD="" measure setup-sign \
        xargs -P "$jobs" -I{} -a "$out/digests.txt" bash -c 'cosign sign -y --key "$1" --use-signing-config=false --tlog-upload=false \
          --registry-cacert "$2" "$3" >/dev/null 2>&1 || { echo "cosign sign $3 failed" >&2; exit 1; }' _ "$sigdir/bench.key" "$pki/ca.crt" {}
      ;;
    *) die "BENCH_SIGNER=$signer: use imgtrust or cosign" ;;
  esac
  [[ "$(<"$out/runs/setup-sign.1.rc")" == 0 ]] || die "signing the bench images failed; see $out/runs/setup-sign.1.stderr"
  log "attesting $n of them with cosign attest"
  # shellcheck disable=SC2016 # expanded by the inner bash
  DOCKER_CONFIG="$out/docker" COSIGN_PASSWORD="" measure setup-attest \
    xargs -P "$jobs" -I{} -a "$sigdir/attested.txt" bash -c 'cosign attest -y --key "$1" --type slsaprovenance1 --predicate "$2" \
      --use-signing-config=false --tlog-upload=false --registry-cacert "$3" "$4" >/dev/null 2>&1 || { echo "cosign attest $4 failed" >&2; exit 1; }' \
    _ "$sigdir/bench.key" "$sigdir/slsa.json" "$pki/ca.crt" {}
  [[ "$(<"$out/runs/setup-attest.1.rc")" == 0 ]] || die "attesting the bench images failed; see $out/runs/setup-attest.1.stderr"
  set_latency "$latency"
}

# set_latency DURATION: the delay both proxies add from now on.
set_latency() {
  local p
  for p in "$private" "$public"; do
    curl -fsS --cacert "$pki/ca.crt" "https://$p/_latency?set=$1" >/dev/null || die "setting the latency of the proxy $p failed"
  done
}

# sign_bench_keyless makes the private keyless signer and trusted root and
# signs every bench digest with it, timed and counted as setup-sign-keyless.
keyless_issuer=https://token.actions.githubusercontent.com
keyless_subject=https://github.com/imgtrust/bench/.github/workflows/release.yaml@refs/heads/main
sign_bench_keyless() {
  local s wanted=""
  for s in $keyless_steps; do selected "$s" && wanted=1; done
  [[ -n "$wanted" ]] || return 0
  local kdir="$sigdir/keyless" jobs=${BENCH_SIGN_JOBS:-4} total
  total=$(wc -l <"$out/digests.txt")
  mkdir -p "$kdir"
  "$tools/keyless" -dir "$kdir" -issuer "$keyless_issuer" -subject "$keyless_subject" 2>"$kdir/make.log" ||
    die "making the keyless CA and leaf failed: $(cat "$kdir/make.log")"
  # As test/fixture's TrustedRoot: the CA as the only Fulcio authority, its
  # URL a placeholder nothing contacts.
  cosign trusted-root create --fulcio="url=https://fulcio.invalid,certificate-chain=$kdir/ca.pem,start-time=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)" \
    --no-default-fulcio --no-default-rekor --no-default-ctfe --no-default-tsa --out "$kdir/trusted_root.json" >/dev/null 2>"$kdir/root.log" ||
    die "cosign trusted-root create failed: $(cat "$kdir/root.log")"
  cat >"$kdir/trust.yaml" <<EOF
apiVersion: imgtrust.dev/v1alpha1
kind: TrustPolicy
rules:
- images: ["**"]
  keyless: [{issuer: "$keyless_issuer", subject: "$keyless_subject"}]
  ignoreTlog: true   # a private CA: no Rekor, no CT log
  ignoreSCT: true
  action: require
EOF
  printf '%s\t%s\n' setup-sign-keyless \
    "cosign sign --certificate LEAF --certificate-chain CA --tlog-upload=false (a private Fulcio-like CA), each of the $total digests, $jobs at once, after the keyed rounds; no added latency" >>"$out/signature-setup.tsv"
  set_latency 0s
  log "signing the $total bench digests keylessly with cosign"
  # shellcheck disable=SC2016 # expanded by the inner bash
  DOCKER_CONFIG="$out/docker" COSIGN_PASSWORD="" measure setup-sign-keyless \
    xargs -P "$jobs" -I{} -a "$out/digests.txt" bash -c 'cosign sign -y --key "$1" --certificate "$2" --certificate-chain "$3" \
      --use-signing-config=false --tlog-upload=false --registry-cacert "$4" "$5" >/dev/null 2>&1 || { echo "cosign sign $5 failed" >&2; exit 1; }' \
    _ "$kdir/bench-keyless.key" "$kdir/bench-keyless.pem" "$kdir/ca.pem" "$pki/ca.crt" {}
  [[ "$(<"$out/runs/setup-sign-keyless.1.rc")" == 0 ]] || die "signing the bench images keylessly failed; see $out/runs/setup-sign-keyless.1.stderr"
  set_latency "$latency"
}

# sig_step runs one signature step; the audits' last report is kept for
# the report's verdict counts.
sig_step() {
  selected "$1" || return 0
  local key="$sigdir/bench.pub"
  case $1 in
    audit-verify-key) stdout_to="$out/runs/$1.out.json" measure "$1" kubectl imgtrust audit -A --no-cache --verify-key "$key" -o json ;;
    audit-trust-policy) stdout_to="$out/runs/$1.out.json" measure "$1" kubectl imgtrust audit -A --no-cache --trust-policy "$sigdir/trust.yaml" -o json ;;
    audit-provenance) stdout_to="$out/runs/$1.out.json" measure "$1" kubectl imgtrust audit -A --no-cache --provenance --verify-key "$key" -o json ;;
    cosign-verify-loop)
      # shellcheck disable=SC2016 # expanded by the inner bash
      DOCKER_CONFIG="$out/docker" measure cosign-verify-loop bash -c 'failed=0
        while read -r d; do
          cosign verify --key "$2" --insecure-ignore-tlog=true --registry-cacert "$3" "$d" >/dev/null 2>&1 || failed=$((failed + 1))
        done <"$1"
        echo "cosign verify failed for $failed digests" >&2
        ((failed == 0))' _ "$out/digests.txt" "$key" "$pki/ca.crt"
      ;;
    audit-keyless)
      stdout_to="$out/runs/$1.out.json" measure "$1" kubectl imgtrust audit -A --no-cache --trust-policy "$sigdir/keyless/trust.yaml" \
        --trusted-root "$sigdir/keyless/trusted_root.json" -o json
      ;;
    cosign-verify-keyless-loop)
      # The flags of the e2e oracle (test/fixture CosignVerifyKeyless).
      # shellcheck disable=SC2016 # expanded by the inner bash
      DOCKER_CONFIG="$out/docker" measure "$1" bash -c 'failed=0
        while read -r d; do
          cosign verify --trusted-root "$2" --certificate-identity "$3" --certificate-oidc-issuer "$4" \
            --insecure-ignore-tlog=true --insecure-ignore-sct=true --allow-certificate-chain \
            --registry-cacert "$5" "$d" >/dev/null 2>&1 || failed=$((failed + 1))
        done <"$1"
        echo "cosign verify failed for $failed digests" >&2
        ((failed == 0))' _ "$out/digests.txt" "$sigdir/keyless/trusted_root.json" "$keyless_subject" "$keyless_issuer" "$pki/ca.crt"
      ;;
  esac
}

step() {
  selected "$1" || return 0
  case $1 in
    get-pods) measure get-pods kubectl get pods -A -o json ;;
    audit-offline) measure audit-offline kubectl imgtrust audit -A --offline -o json ;;
    audit) measure audit kubectl imgtrust audit -A -o json ;;
    audit-full-first)
      # A cache directory of its own per round: each first run starts empty.
      full_cache="$out/cache.$((${count[audit-full-first]:-0} + 1))"
      measure audit-full-first kubectl imgtrust audit -A --signatures --provenance --updates --cache-dir "$full_cache" -o json
      ;;
    audit-full-cached)
      [[ -n "${full_cache:-}" ]] || die "audit-full-cached runs after audit-full-first, with its cache"
      measure audit-full-cached kubectl imgtrust audit -A --signatures --provenance --updates --cache-dir "$full_cache" -o json
      ;;
    resolve) DOCKER_CONFIG="$out/docker" measure resolve kubectl imgtrust resolve "${refs[@]}" -o json ;;
    crane-loop)
      # shellcheck disable=SC2016 # expanded by the inner bash
      DOCKER_CONFIG="$out/docker" measure crane-loop bash -c 'while read -r r; do crane digest "$r"; done <"$1"' _ "$out/refs.txt"
      ;;
    kbld) [[ ! -x "$tools/kbld" ]] || DOCKER_CONFIG="$out/docker" measure kbld kbld -f "$out/images.yml" --registry-ca-cert-path "$pki/ca.crt" ;;
    kubectl-images) [[ ! -x "$tools/kubectl-images" ]] || measure kubectl-images kubectl images -A ;;
    audit-basic | resolve-basic)
      [[ "$private_auth" == both ]] || die "$1 needs BENCH_PRIVATE_AUTH=both"
      use_upstream alt
      if [[ $1 == audit-basic ]]; then
        measure audit-basic kubectl imgtrust audit -A -o json
      else
        DOCKER_CONFIG="$out/docker" measure resolve-basic kubectl imgtrust resolve "${refs[@]}" -o json
      fi
      use_upstream main
      ;;
  esac
}

sign_bench_images

log "warming up the API server's caches"
kubectl get pods -A -o json >/dev/null
kubectl imgtrust audit -A --offline -o json >/dev/null

for ((round = 1; round <= runs; round++)); do
  log "round $round of $runs"
  for s in get-pods audit-offline audit audit-full-first audit-full-cached resolve audit-basic resolve-basic kubectl-images; do step "$s"; done
  for s in $sig_steps; do keyless_step "$s" || sig_step "$s"; done
  if ((round <= slow_runs)); then
    for s in crane-loop kbld; do step "$s"; done
    for s in $sig_slow_steps; do keyless_step "$s" || sig_step "$s"; done
  fi
done

# Keyless after every keyed row ran: those never see the keyless signature.
sign_bench_keyless
for ((round = 1; round <= runs; round++)); do
  if selected audit-keyless || selected cosign-verify-keyless-loop; then log "keyless round $round of $runs"; fi
  for s in $sig_steps; do ! keyless_step "$s" || sig_step "$s"; done
  if ((round <= slow_runs)); then
    for s in $sig_slow_steps; do ! keyless_step "$s" || sig_step "$s"; done
  fi
done

# ---------------------------------------------------------------- report
cp /proc/loadavg "$out/loadavg"
"$tools/report" -dir "$out" -latency "$latency" -per-host "$per_host" >"$out/results.md"
if [[ -z "${BENCH_NO_DOCS:-}" ]]; then
  "$tools/report" -dir "$out" -latency "$latency" -per-host "$per_host" -section "${BENCH_DOCS_SECTION:-all}" -splice docs/benchmarks.md
fi
cat "$out/results.md"
