#!/usr/bin/env bash
# A real, throwaway Kubernetes control plane plus two real registries for the
# end-to-end tests: etcd, kube-apiserver, kube-controller-manager (no kubelet,
# so pods stay Pending), a private registry with htpasswd auth and an anonymous
# one standing in for a public registry. Loopback only, no Docker, free ports,
# so two checkouts (two IMGTRUST_STACK_DIRs) can run side by side. A third
# registry uses token auth, as Docker Hub, ghcr, quay, Harbor and ECR do: its
# 401 names a token service (stackutil tokenserver, the same htpasswd user)
# whose signed JWTs it accepts.
#
#   hack/local-cluster.sh up       start the stack (no-op when already up)
#   hack/local-cluster.sh env      print export lines: eval "$(hack/local-cluster.sh env)"
#   hack/local-cluster.sh status   say what runs (exit 1 when not fully up)
#   hack/local-cluster.sh down     stop what up started and remove the state dir
#
# IMGTRUST_STACK_NO_CONTROLLERS=1 at `up` leaves kube-controller-manager out:
# the scale bench (hack/bench) creates pods with owner references by hand and
# nothing may reconcile, adopt or delete them. Namespaces then get no
# "default" ServiceAccount by themselves. `up` records the choice in the state
# dir, so env, status and down need no variable.
#
# State lives in ${IMGTRUST_STACK_DIR:-<repo>/.cache/local-cluster}.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin="${IMGTRUST_TOOLS_DIR:-$root/.cache/tools}/bin"
state="${IMGTRUST_STACK_DIR:-$root/.cache/local-cluster}"
# Absolute and without trailing slashes: daemons are told these paths, env
# hands them out, and pid_of matches them in command lines.
[[ "$state" == /* ]] || state="$PWD/$state"
while [[ "$state" == */ && "$state" != / ]]; do state=${state%/}; done
marker="$state/.imgtrust-local-cluster" # proves a dir is ours before rm -rf

# Start order; down stops in reverse.
daemons=(etcd registry-private registry-public tokenserver registry-token kube-apiserver kube-controller-manager)
no_controllers_marker="$state/no-controllers"
# A stack that is (or was) up keeps the choice it was started with; a new
# one follows the variable.
if { [[ -f "$state/stack.env" ]] && [[ -f "$no_controllers_marker" ]]; } ||
  { [[ ! -f "$state/stack.env" ]] && [[ "${IMGTRUST_STACK_NO_CONTROLLERS:-}" == 1 ]]; }; then
  no_controllers=1
  daemons=(etcd registry-private registry-public tokenserver registry-token kube-apiserver)
else
  no_controllers=""
fi
registry_user=imgtrust
context=imgtrust-local
token_service=imgtrust-token-registry
token_issuer=imgtrust-local-token

log() { echo "local-cluster: $*" >&2; }
die() { log "$*"; exit 1; }

# quote VALUE: single-quote for any POSIX shell.
quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# pid_of NAME: the recorded PID of a daemon of THIS stack that is still alive.
# The command line must mention our state dir, so a recycled PID (or another
# checkout's daemon) is never mistaken for ours.
pid_of() {
  local pidfile="$state/run/$1.pid" pid args
  [[ -s "$pidfile" ]] || return 1
  pid=$(<"$pidfile")
  args=$(ps -ww -p "$pid" -o args= 2>/dev/null) || return 1
  [[ "$args" == *"$state/"* ]] || return 1
  echo "$pid"
}

# count_alive: how many of the daemons run.
count_alive() {
  local n=0 d
  for d in "${daemons[@]}"; do
    if pid_of "$d" >/dev/null; then n=$((n + 1)); fi
  done
  echo "$n"
}

is_up() { [[ -f "$state/stack.env" && "$(count_alive)" == "${#daemons[@]}" ]]; }

# spawn NAME CMD...: run CMD detached from the terminal in its own session;
# the caller redirects its output. The wrapper records its own PID and then
# execs, so the PID file holds the daemon's PID whether or not setsid forks.
spawn() {
  local name=$1; shift
  # shellcheck disable=SC2016 # expanded by the inner bash, on purpose
  setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$state/run/$name.pid" "$@" &
  started+=("$name")
  # Wait for the PID file, so a failure right after this still finds the PID.
  for _ in $(seq 50); do [[ -s "$state/run/$name.pid" ]] && return 0; sleep 0.02; done
}

# start NAME CMD...: spawn with stdout and stderr to logs/NAME.log.
start() {
  local name=$1
  spawn "$@" </dev/null >>"$state/logs/$name.log" 2>&1
}

# fail_with_log NAME MESSAGE: show why NAME failed and exit; the EXIT trap of
# cmd_up stops what was started.
fail_with_log() {
  log "$2; last lines of $state/logs/$1.log:"
  tail -n 30 "$state/logs/$1.log" >&2 || true
  exit 1
}

# wait_for DESC NAME TIMEOUT_SECONDS CMD...: poll CMD until it succeeds; fail
# early when any daemon started so far has died, or with NAME's log on timeout.
wait_for() {
  local desc=$1 name=$2 timeout=$3; shift 3
  local deadline=$((SECONDS + timeout)) d
  until "$@" >/dev/null 2>&1; do
    for d in "${started[@]}"; do
      if ! pid_of "$d" >/dev/null; then
        fail_with_log "$d" "$d exited while waiting for $desc"
      fi
    done
    if ((SECONDS >= deadline)); then
      fail_with_log "$name" "timed out after ${timeout}s waiting for $desc"
    fi
    sleep 0.2
  done
}

# stop_all: TERM every live daemon of this stack, wait, then KILL stragglers.
stop_all() {
  local i d pid pids=()
  for ((i = ${#daemons[@]} - 1; i >= 0; i--)); do
    d=${daemons[i]}
    if pid=$(pid_of "$d"); then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  ((${#pids[@]})) || return 0
  for _ in $(seq 100); do # up to 10s for a clean shutdown
    local alive=()
    for pid in "${pids[@]}"; do
      if kill -0 "$pid" 2>/dev/null; then alive+=("$pid"); fi
    done
    ((${#alive[@]})) || return 0
    sleep 0.1
  done
  log "killing ${alive[*]} after 10s"
  kill -KILL "${alive[@]}" 2>/dev/null || true
}

# remove_state: rm -rf the state dir, but only one we made (or an empty one,
# as from mktemp -d).
remove_state() {
  [[ -d "$state" ]] || return 0
  if [[ -f "$marker" ]]; then
    rm -rf "$state"
  elif [[ -z "$(ls -A "$state")" ]]; then
    rmdir "$state"
  else
    die "$state is not empty and was not made by $0; not touching it"
  fi
}

# ---------------------------------------------------------------- PKI
# One CA signs everything; all certs are short-lived and loopback-only.
# openssl's chatter goes to logs/openssl.log.
make_pki() {
  local pki="$state/pki"
  exec 3>>"$state/logs/openssl.log"
  cat >"$pki/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = imgtrust-local-ca
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[serving]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
EOF
  openssl req -x509 -config "$pki/openssl.cnf" -extensions ca -newkey rsa:2048 -nodes \
    -keyout "$pki/ca.key" -out "$pki/ca.crt" -days 30 2>&3
  # leaf NAME SUBJECT EXTENSIONS
  leaf() {
    openssl req -new -newkey rsa:2048 -nodes -keyout "$pki/$1.key" -subj "$2" \
      -out "$pki/$1.csr" 2>&3
    openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
      -set_serial "0x$(openssl rand -hex 16)" -days 30 \
      -extfile "$pki/openssl.cnf" -extensions "$3" -out "$pki/$1.crt" 2>&3
    rm "$pki/$1.csr"
  }
  leaf serving /CN=localhost serving
  leaf admin "/O=system:masters/CN=admin" client
  # The token service's signing key (ES256) and its self-signed certificate,
  # the registry's rootcertbundle.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=imgtrust-local-token \
    -keyout "$pki/token-signing.key" -out "$pki/token-signing.crt" -days 30 2>&3
  # Service-account token signing key pair (RSA, as the brief and most clusters use).
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$pki/sa.key" 2>&3
  openssl pkey -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>&3

  # Go reads SSL_CERT_FILE *instead of* the system roots, so hand out the
  # system bundle plus our CA: `go` and kubectl keep reaching the internet.
  local sys="" f
  for f in "${SSL_CERT_FILE:-}" /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt \
    /etc/ssl/ca-bundle.pem /etc/ssl/cert.pem; do
    if [[ -n "$f" && -s "$f" ]]; then sys=$f; break; fi
  done
  { [[ -z "$sys" ]] || cat "$sys"; echo; cat "$pki/ca.crt"; } >"$pki/ca-bundle.crt"
  exec 3>&-
}

# ---------------------------------------------------------------- registries
# write_registry NAME PORT [HTPASSWD_FILE | token TOKEN_PORT]
write_registry() {
  local dir="$state/$1" auth=""
  mkdir -p "$dir/storage"
  if [[ "${3:-}" == token ]]; then
    auth="auth:
  token:
    realm: https://localhost:$4/token
    service: $token_service
    issuer: $token_issuer
    rootcertbundle: $state/pki/token-signing.crt"
  elif [[ -n "${3:-}" ]]; then
    auth="auth:
  htpasswd:
    realm: imgtrust-local
    path: $3"
  fi
  cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$2
  secret: $(openssl rand -hex 16)
  tls:
    certificate: $state/pki/serving.crt
    key: $state/pki/serving.key
  headers:
    X-Content-Type-Options: [nosniff]
$auth
EOF
}

# start_registry NAME: the access log goes to stdout (gorilla's combined log
# format, one line per request), the application log to stderr.
start_registry() {
  local name=$1
  # No tracing collector here; without this the exporter retries and logs.
  spawn "$name" env OTEL_TRACES_EXPORTER=none "$bin/registry" serve "$state/$name/config.yml" \
    </dev/null >>"$state/$name/access.log" 2>>"$state/logs/$name.log"
}

# registry_answers PORT: /v2/ answers 200 or 401 (the private one wants auth).
registry_answers() {
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$state/pki/ca.crt" \
    "https://localhost:$1/v2/") || return 1
  [[ "$code" == 200 || "$code" == 401 ]]
}

# ---------------------------------------------------------------- commands
cmd_up() {
  # Checked before build-tools.sh, so a rebuild never swaps binaries under a
  # running stack.
  if is_up; then
    log "already up ($state)"
    return 0
  fi
  if [[ -d "$state" ]]; then
    [[ "$(count_alive)" == 0 ]] ||
      die "$state is partly up ($(count_alive) of ${#daemons[@]} daemons); run \"$0 down\" first"
    remove_state # stale leftovers of a stack that died
  fi

  local missing=() c
  for c in openssl curl setsid; do
    command -v "$c" >/dev/null || missing+=("$c")
  done
  ((${#missing[@]} == 0)) ||
    die "missing ${missing[*]}; install it (e.g. sudo apt-get install -y openssl curl util-linux)"

  "$root/hack/build-tools.sh" tools

  local t0=$SECONDS
  umask 077 # keys and the registry password live here
  mkdir -p "$state"/{pki,run,logs,etcd,docker}
  touch "$marker"
  [[ -z "$no_controllers" ]] || touch "$no_controllers_marker"
  started=()
  # A failure anywhere below (not just in wait_for) must not leave daemons behind.
  trap 'rc=$?; if ((rc)); then stop_all; log "up failed; logs kept in $state/logs (\"$0 down\" removes them)"; fi' EXIT

  local etcd_port etcd_peer_port api_port private_port public_port token_port token_registry_port
  { read -r etcd_port; read -r etcd_peer_port; read -r api_port; read -r private_port; read -r public_port
    read -r token_port; read -r token_registry_port; } < <("$bin/stackutil" freeport 7)

  log "generating certificates"
  make_pki
  local pki="$state/pki"

  local password
  password=$(openssl rand -hex 16)
  # IMGTRUST_STACK_BCRYPT_COST (default 10): the bench lowers it to stand for
  # registries and token services whose password checks run on other machines.
  "$bin/stackutil" htpasswd "$registry_user" "$password" "${IMGTRUST_STACK_BCRYPT_COST:-10}" >"$state/registry-private.htpasswd"
  write_registry registry-private "$private_port" "$state/registry-private.htpasswd"
  write_registry registry-public "$public_port"
  write_registry registry-token "$token_registry_port" token "$token_port"

  log "starting etcd and registries"
  start etcd "$bin/etcd" --name=imgtrust --data-dir="$state/etcd" \
    --listen-client-urls="http://127.0.0.1:$etcd_port" \
    --advertise-client-urls="http://127.0.0.1:$etcd_port" \
    --listen-peer-urls="http://127.0.0.1:$etcd_peer_port" \
    --initial-advertise-peer-urls="http://127.0.0.1:$etcd_peer_port" \
    --initial-cluster="imgtrust=http://127.0.0.1:$etcd_peer_port" \
    --unsafe-no-fsync --log-level=warn
  start_registry registry-private
  start_registry registry-public
  mkdir -p "$state/tokenserver"
  start tokenserver "$bin/stackutil" tokenserver "127.0.0.1:$token_port" "$state/registry-private.htpasswd" \
    "$pki/token-signing.key" "$pki/token-signing.crt" "$pki/serving.crt" "$pki/serving.key" \
    "$token_issuer" "$token_service" "$state/tokenserver/access.log"
  start_registry registry-token
  wait_for "etcd health" etcd 30 curl -fsS "http://127.0.0.1:$etcd_port/health"

  log "starting kube-apiserver"
  # --endpoint-reconciler-type=none: with the default (lease) reconciler
  # kube-apiserver refuses to start on a loopback advertise address. Default admission plugins stay on: ServiceAccount copies
  # a service account's imagePullSecrets onto pods, which the tests rely on.
  start kube-apiserver "$bin/kube-apiserver" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$api_port" \
    --endpoint-reconciler-type=none \
    --etcd-servers="http://127.0.0.1:$etcd_port" \
    --cert-dir="$pki/apiserver" \
    --tls-cert-file="$pki/serving.crt" --tls-private-key-file="$pki/serving.key" \
    --client-ca-file="$pki/ca.crt" \
    --authorization-mode=RBAC \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$pki/sa.pub" \
    --service-account-signing-key-file="$pki/sa.key" \
    --service-cluster-ip-range=10.0.0.0/24 \
    --profiling=false

  # Kubeconfigs, written with kubectl itself, certs embedded so they can be copied.
  local kc
  for kc in "$state/kubeconfig" "$state/kube-controller-manager.kubeconfig"; do
    "$bin/kubectl" config --kubeconfig="$kc" set-cluster "$context" --embed-certs \
      --server="https://127.0.0.1:$api_port" --certificate-authority="$pki/ca.crt" >/dev/null
    "$bin/kubectl" config --kubeconfig="$kc" set-credentials admin --embed-certs \
      --client-certificate="$pki/admin.crt" --client-key="$pki/admin.key" >/dev/null
    "$bin/kubectl" config --kubeconfig="$kc" set-context "$context" \
      --cluster="$context" --user=admin >/dev/null
    "$bin/kubectl" config --kubeconfig="$kc" use-context "$context" >/dev/null
  done
  # No registry credentials here: each test decides where credentials come from.
  echo '{}' >"$state/docker/config.json"

  wait_for "kube-apiserver /readyz" kube-apiserver 90 "$bin/kubectl" --kubeconfig="$state/kubeconfig" get --raw=/readyz

  if [[ -z "$no_controllers" ]]; then
    log "starting kube-controller-manager"
    # Only the workload controllers (no kubelet, no nodes, no scheduler), plus
    # serviceaccount (the "default" SA), namespace deletion and garbage collection.
    start kube-controller-manager "$bin/kube-controller-manager" \
      --kubeconfig="$state/kube-controller-manager.kubeconfig" \
      --controllers=deployment-controller,replicaset-controller,replicationcontroller-controller,statefulset-controller,daemonset-controller,job-controller,cronjob-controller,serviceaccount-controller,namespace-controller,garbage-collector-controller \
      --leader-elect=false --secure-port=0 \
      --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt"
  else
    log "not starting kube-controller-manager (IMGTRUST_STACK_NO_CONTROLLERS=1)"
  fi

  wait_for "registry-private /v2/" registry-private 30 registry_answers "$private_port"
  wait_for "registry-public /v2/" registry-public 30 registry_answers "$public_port"
  wait_for "registry-token /v2/" registry-token 30 registry_answers "$token_registry_port"
  wait_for "tokenserver /token" tokenserver 30 curl -fsS --cacert "$pki/ca.crt" "https://localhost:$token_port/token"
  if [[ -z "$no_controllers" ]]; then
    wait_for "the default ServiceAccount" kube-controller-manager 60 \
      "$bin/kubectl" --kubeconfig="$state/kubeconfig" get serviceaccount default -n default
  fi

  # Written last: its presence plus live PIDs is what "up" means.
  cat >"$state/stack.env" <<EOF
api_port=$api_port
etcd_port=$etcd_port
etcd_peer_port=$etcd_peer_port
private_port=$private_port
public_port=$public_port
token_port=$token_port
token_registry_port=$token_registry_port
registry_user=$registry_user
registry_password=$password
EOF
  trap - EXIT
  log "up in $((SECONDS - t0))s: apiserver https://127.0.0.1:$api_port, registries localhost:$private_port (private, user $registry_user), localhost:$public_port (anonymous), localhost:$token_registry_port (token auth via https://localhost:$token_port/token)"
  log "use it with: eval \"\$($0 env)\""
}

cmd_env() {
  is_up || die "not up ($state); run \"$0 up\""
  # shellcheck source=/dev/null
  source "$state/stack.env"
  # Our dirs first, without piling up duplicates when env is eval'ed twice.
  local path=":$PATH:" d
  for d in "$root/bin" "$bin"; do path=${path//":$d:"/:}; done
  path="$root/bin:$bin:${path#:}"
  path=${path%:}
  local -a vars=(
    KUBECONFIG "$state/kubeconfig"
    PATH "$path"
    SSL_CERT_FILE "$state/pki/ca-bundle.crt"
    DOCKER_CONFIG "$state/docker"
    IMGTRUST_E2E_STACK_DIR "$state"
    IMGTRUST_E2E_CA_FILE "$state/pki/ca.crt"
    IMGTRUST_E2E_REGISTRY "localhost:$private_port"
    IMGTRUST_E2E_REGISTRY_USER "$registry_user"
    IMGTRUST_E2E_REGISTRY_PASSWORD "$registry_password"
    IMGTRUST_E2E_REGISTRY_ACCESS_LOG "$state/registry-private/access.log"
    IMGTRUST_E2E_PUBLIC_REGISTRY "localhost:$public_port"
    IMGTRUST_E2E_PUBLIC_REGISTRY_ACCESS_LOG "$state/registry-public/access.log"
    IMGTRUST_E2E_TOKEN_REGISTRY "localhost:$token_registry_port"
    IMGTRUST_E2E_TOKEN_REGISTRY_ACCESS_LOG "$state/registry-token/access.log"
    IMGTRUST_E2E_TOKEN_LOG "$state/tokenserver/access.log"
    IMGTRUST_E2E_TOKEN_SERVER "localhost:$token_port"
  )
  local i
  for ((i = 0; i < ${#vars[@]}; i += 2)); do
    echo "export ${vars[i]}=$(quote "${vars[i + 1]}")"
  done
}

cmd_status() {
  if [[ ! -d "$state" ]]; then
    echo "local cluster: down ($state does not exist)"
    return 1
  fi
  local d pid where
  # shellcheck source=/dev/null
  [[ ! -f "$state/stack.env" ]] || source "$state/stack.env"
  if is_up; then echo "local cluster: up ($state)"; else echo "local cluster: NOT fully up ($state)"; fi
  for d in "${daemons[@]}"; do
    case $d in
      etcd) where="http://127.0.0.1:${etcd_port:-?}" ;;
      registry-private) where="https://localhost:${private_port:-?} (user ${registry_user:-?})" ;;
      registry-public) where="https://localhost:${public_port:-?} (anonymous)" ;;
      tokenserver) where="https://localhost:${token_port:-?}/token" ;;
      registry-token) where="https://localhost:${token_registry_port:-?} (token auth, user ${registry_user:-?})" ;;
      kube-apiserver) where="https://127.0.0.1:${api_port:-?}" ;;
      *) where="" ;;
    esac
    if pid=$(pid_of "$d"); then
      printf '  %-24s running  pid %-8s %s\n' "$d" "$pid" "$where"
    else
      printf '  %-24s stopped  (log: %s)\n' "$d" "$state/logs/$d.log"
    fi
  done
  [[ -z "$no_controllers" ]] || printf '  %-24s off      (IMGTRUST_STACK_NO_CONTROLLERS=1)\n' kube-controller-manager
  is_up
}

cmd_down() {
  if [[ ! -d "$state" ]]; then
    log "already down ($state does not exist)"
    return 0
  fi
  # Daemons only ever run from a dir that has the marker.
  [[ ! -f "$marker" ]] || stop_all
  remove_state
  log "down"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  env) cmd_env ;;
  status) cmd_status ;;
  *) echo "usage: $0 up|down|env|status" >&2; exit 2 ;;
esac
