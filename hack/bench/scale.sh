#!/usr/bin/env bash
# How cost grows with the cluster (issue 18): hack/bench/run.sh at several
# sizes, only `kubectl get pods -A -o json` and `kubectl imgtrust audit -A
# --offline`, and one table of median wall time and peak RSS per size, with
# imgtrust's RSS as a share of kubectl's, in all and above each one's
# start-up RSS (measured once, with no cluster).
#
#   hack/bench/scale.sh                 sizes 1000 10000 30000
#   SCALE_SIZES="1000 5000" hack/bench/scale.sh
#
# Knobs: SCALE_SIZES, SCALE_RUNS (3), SCALE_IMAGES (100 unique references: the
# offline audit does not ask registries, so fewer images only shorten the
# load). Results: .cache/bench-scale/scale.md (and each size's raw runs).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out="$root/.cache/bench-scale"
sizes=${SCALE_SIZES:-1000 10000 30000}
runs=${SCALE_RUNS:-3}
images=${SCALE_IMAGES:-100}
rm -rf "$out"
mkdir -p "$out"

# median of the numbers on stdin
median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) {print "nan"; exit} print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2)}'; }
# wall FILE: GNU time's elapsed wall clock ([h:]m:ss.ss) in seconds
wall() { grep -F 'Elapsed (wall clock)' "$1" | awk '{print $NF}' | awk -F: '{s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s}'; }
rss() { grep -F 'Maximum resident set size' "$1" | awk '{print $NF}'; }

# The start-up floor of peak RSS, with no cluster: kubectl's own (which
# `kubectl imgtrust` pays before it execs the plugin) and the plugin's. Each
# size's "above start-up" ratio compares what the two add to it.
make --no-print-directory build >&2
export PATH="$root/bin:$root/.cache/tools/bin:$PATH" # kubectl from .cache/tools, the plugin from bin/
for n in $(seq "$runs"); do
  /usr/bin/time -v -o "$out/start-kubectl.$n.time" kubectl version --client >/dev/null
  /usr/bin/time -v -o "$out/start-plugin.$n.time" kubectl imgtrust version >/dev/null
done
start_kubectl=$(for f in "$out"/start-kubectl.*.time; do rss "$f"; done | median)
start_plugin=$(for f in "$out"/start-plugin.*.time; do rss "$f"; done | median)

{
  echo "| pods | \`kubectl get pods -A -o json\` wall | its peak RSS | \`kubectl imgtrust audit -A --offline\` wall | its peak RSS | RSS ratio | RSS ratio above start-up | wall ratio |"
  echo "|---|---|---|---|---|---|---|---|"
} >"$out/scale.md"
for pods in $sizes; do
  echo "scale: $pods pods" >&2
  BENCH_PODS=$pods BENCH_IMAGES=$images BENCH_RUNS=$runs BENCH_STEPS="get-pods audit-offline" BENCH_NO_DOCS=1 \
    hack/bench/run.sh >"$out/run-$pods.log" 2>&1
  cp -r "$root/.cache/bench" "$out/$pods"
  declare -A w=() m=()
  for id in get-pods audit-offline; do
    w[$id]=$(for f in "$out/$pods/runs/$id".*.time; do wall "$f"; done | median)
    m[$id]=$(for f in "$out/$pods/runs/$id".*.time; do rss "$f"; done | median)
  done
  awk -v p="$pods" -v gw="${w[get-pods]}" -v gm="${m[get-pods]}" -v aw="${w[audit-offline]}" -v am="${m[audit-offline]}" \
    -v sk="$start_kubectl" -v sp="$start_plugin" \
    'BEGIN {printf "| %d | %.2f s | %.0f MiB | %.2f s | %.0f MiB | %.2f× | %.2f× | %.2f× |\n", p, gw, gm/1024, aw, am/1024, am/gm, (am-sp)/(gm-sk), aw/gw}' >>"$out/scale.md"
done
awk -v sk="$start_kubectl" -v sp="$start_plugin" \
  'BEGIN {printf "\nStart-up peak RSS (no cluster, medians): `kubectl version --client` %.0f MiB, `kubectl imgtrust version` %.0f MiB.\n", sk/1024, sp/1024}' >>"$out/scale.md"
cat "$out/scale.md"
