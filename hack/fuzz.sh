#!/usr/bin/env bash
# Runs every native Go fuzz target under pkg/ for FUZZTIME each (default 1m),
# one at a time (the machine has 2 cores), and prints the executions of
# each. Their seed corpora also run in plain `go test` (make unit).
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-1m}
status=0
while IFS=: read -r file name; do
  pkg=./$(dirname "$file")
  log=$(mktemp)
  if go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg" >"$log" 2>&1; then
    result=ok
  else
    result=FAILED
    status=1
    cat "$log" >&2
  fi
  execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  printf '%-8s %-24s %-22s %s executions in %s\n' "$result" "$name" "$pkg" "${execs:-?}" "$fuzztime"
  rm -f "$log"
done < <(grep -rhoE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' pkg -H | sed 's/func //' | sort)
exit $status
