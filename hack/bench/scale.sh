#!/usr/bin/env bash
# How cost grows with the cluster (issues 18 and 32): hack/bench/run.sh at
# several sizes, only `kubectl get pods -A -o json` and `kubectl imgtrust audit
# -A --offline`, and one table of median wall time and peak RSS per size, with
# imgtrust's RSS as a share of kubectl's, in all and above each one's
# start-up RSS (measured once, with no cluster), and the audit's time per pod.
# Beside them, per size, the API server's own cost: its resident memory (now
# and peak, and etcd's) and its mean latency per LIST page of pods (from its
# apiserver_request_duration_seconds, over every pod LIST of the size's runs:
# kubectl's and the plugin's, 500 pods a page).
#
#   hack/bench/scale.sh                 sizes 1000 10000 30000 100000 (~50 min)
#   SCALE_SIZES="30000 100000" SCALE_RUNS=1 hack/bench/scale.sh
#
# 100,000 pods take ~20 minutes alone (the load, and kubectl's ~8 GiB JSON
# listing); SCALE_SIZES leaves it out. Knobs: SCALE_SIZES, SCALE_RUNS (3),
# SCALE_IMAGES (100 unique references: the offline audit does not ask
# registries, so fewer images only shorten the load). Results:
# .cache/bench-scale/scale.md (and each size's raw runs).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out="$root/.cache/bench-scale"
sizes=${SCALE_SIZES:-1000 10000 30000 100000}
runs=${SCALE_RUNS:-3}
images=${SCALE_IMAGES:-100}
rm -rf "$out"
mkdir -p "$out"

# median of the numbers on stdin
median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) {print "nan"; exit} print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2)}'; }
# wall FILE: GNU time's elapsed wall clock ([h:]m:ss.ss) in seconds
wall() { grep -F 'Elapsed (wall clock)' "$1" | awk '{print $NF}' | awk -F: '{s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s}'; }
rss() { grep -F 'Maximum resident set size' "$1" | awk '{print $NF}'; }
# cpu FILE: user + system CPU seconds (less swayed than wall time by other
# work on a shared machine)
cpu() { awk -F': ' '/User time \(seconds\)|System time \(seconds\)/ {s += $2} END {print s}' "$1"; }

# The start-up floor of peak RSS, with no cluster: kubectl's own (which
# `kubectl imgtrust` pays before it execs the plugin) and the plugin's. Each
# size's "above start-up" ratio compares what the two add to it.
make --no-print-directory build >&2
# kubectl from the stack's tools (IMGTRUST_TOOLS_DIR, as hack/local-cluster.sh
# finds them), the plugin from bin/
export PATH="$root/bin:${IMGTRUST_TOOLS_DIR:-$root/.cache/tools}/bin:$PATH"
for n in $(seq "$runs"); do
  /usr/bin/time -v -o "$out/start-kubectl.$n.time" kubectl version --client >/dev/null
  /usr/bin/time -v -o "$out/start-plugin.$n.time" kubectl imgtrust version >/dev/null
done
start_kubectl=$(for f in "$out"/start-kubectl.*.time; do rss "$f"; done | median)
start_plugin=$(for f in "$out"/start-plugin.*.time; do rss "$f"; done | median)

# The bench's stack is kept up after each size's runs (BENCH_KEEP) so that
# the API server can be asked about itself; then it and run.sh's proxies
# are stopped here.
export IMGTRUST_STACK_DIR="$root/.cache/stack-bench"
stack_down() {
  local pid
  if [[ -s "$out/proxies" ]]; then
    for pid in $(<"$out/proxies"); do kill -TERM "$pid" 2>/dev/null || true; done
    rm -f "$out/proxies"
  fi
  hack/local-cluster.sh down >&2 || true
}
trap stack_down EXIT
# KiB of a daemon of the stack: field (VmRSS, VmHWM) of /proc/PID/status
daemon_kib() {
  local pid
  pid=$(cat "$IMGTRUST_STACK_DIR/run/$1.pid" 2>/dev/null) || { echo nan; return; }
  awk -v f="$2:" '$1 == f {print $2; found = 1} END {if (!found) print "nan"}' "/proc/$pid/status" 2>/dev/null || echo nan
}

{
  echo "| pods | \`kubectl get pods -A -o json\` wall | its peak RSS | \`kubectl imgtrust audit -A --offline\` wall | its peak RSS | RSS ratio | RSS ratio above start-up | wall ratio | audit µs per pod: wall / CPU | API server RSS now / peak | etcd RSS | API server LIST pods, mean per page (pages) |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
} >"$out/scale.md"
for pods in $sizes; do
  echo "scale: $pods pods ($(date -u +%H:%M) UTC)" >&2
  rc=0
  BENCH_KEEP=1 BENCH_PODS=$pods BENCH_IMAGES=$images BENCH_RUNS=$runs BENCH_STEPS="get-pods audit-offline" BENCH_NO_DOCS=1 \
    hack/bench/run.sh >"$out/run-$pods.log" 2>&1 || rc=$?
  # run.sh names the proxies it leaves up: "... (pids P1 P2) stay up".
  sed -n 's/.*the proxies (pids \([0-9 ]*\)) stay up.*/\1/p' "$out/run-$pods.log" | tail -1 >"$out/proxies"
  if ((rc != 0)); then
    echo "scale: run.sh failed at $pods pods (exit $rc); see $out/run-$pods.log" >&2
    exit "$rc"
  fi
  api_rss=$(daemon_kib kube-apiserver VmRSS)
  api_hwm=$(daemon_kib kube-apiserver VmHWM)
  etcd_rss=$(daemon_kib etcd VmRSS)
  # Σ and count of the LIST pods histogram, every scope and component.
  read -r list_sum list_count < <(KUBECONFIG="$IMGTRUST_STACK_DIR/kubeconfig" kubectl get --raw /metrics |
    awk '/^apiserver_request_duration_seconds_(sum|count)\{/ && /verb="LIST"/ && /resource="pods"/ {
           if ($1 ~ /_sum\{/) s += $NF; else c += $NF } END {print s + 0, c + 0}')
  stack_down
  cp -r "$root/.cache/bench" "$out/$pods"
  declare -A w=() m=()
  for id in get-pods audit-offline; do
    w[$id]=$(for f in "$out/$pods/runs/$id".*.time; do wall "$f"; done | median)
    m[$id]=$(for f in "$out/$pods/runs/$id".*.time; do rss "$f"; done | median)
  done
  audit_cpu=$(for f in "$out/$pods/runs/audit-offline".*.time; do cpu "$f"; done | median)
  awk -v p="$pods" -v gw="${w[get-pods]}" -v gm="${m[get-pods]}" -v aw="${w[audit-offline]}" -v am="${m[audit-offline]}" \
    -v sk="$start_kubectl" -v sp="$start_plugin" -v ar="$api_rss" -v ah="$api_hwm" -v er="$etcd_rss" -v ls="$list_sum" -v lc="$list_count" -v ac="$audit_cpu" \
    'BEGIN {printf "| %d | %.2f s | %.0f MiB | %.2f s | %.0f MiB | %.2f× | %.2f× | %.2f× | %.1f / %.1f | %.0f / %.0f MiB | %.0f MiB | %s |\n",
       p, gw, gm/1024, aw, am/1024, am/gm, (am-sp)/(gm-sk), aw/gw, aw*1e6/p, ac*1e6/p, ar/1024, ah/1024, er/1024,
       (lc > 0 ? sprintf("%.0f ms (%d)", ls*1000/lc, lc) : "n/a")}' >>"$out/scale.md"
done
awk -v sk="$start_kubectl" -v sp="$start_plugin" \
  'BEGIN {printf "\nStart-up peak RSS (no cluster, medians): `kubectl version --client` %.0f MiB, `kubectl imgtrust version` %.0f MiB.\n", sk/1024, sp/1024}' >>"$out/scale.md"
cat "$out/scale.md"
