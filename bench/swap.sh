#!/usr/bin/env bash
# Slot swap benchmark: the time from the swap request to the flip (the first
# response of production that comes from the swapped-in code), on this machine.
#   an app "swapbench" on S1 with a slot "staging"; v1 in production, v2 in staging
#   ROUNDS swaps (default 5), each swapping the two versions back and forth; for each,
#   `slipway webapp deployment slot swap` runs in the background while production is
#   polled every 5 ms through the front door.
# The time includes the CLI's ARM calls, starting the instance, its readiness ping and
# the warm-up request (docs/slots.md §2). Prints a Markdown table for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-5}"
go build -o bin/slipway ./cmd/slipway
work=$(mktemp -d "${BENCH_TMP:-/tmp}/slipway-swapbench.XXXXXX")
trap '[ -n "${server:-}" ] && kill $server 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
export SLIPWAY_DATA=$work/data SLIPWAY_CACHE_DIR=$work/cache
root=$PWD
slip() { "$root/bin/slipway" "$@"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

./bin/slipway server --http-port 0 >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 600); do [ -s "$SLIPWAY_DATA/server.json" ] && break; sleep 0.2; done
[ -s "$SLIPWAY_DATA/server.json" ] || { cat "$work/server.log"; exit 1; }
base=$(sed -n 's/.*"url": *"\([^"]*\)".*/\1/p' "$SLIPWAY_DATA/server.json")

slip group create -n rg-swapbench -l westeurope >/dev/null
slip appservice plan create -g rg-swapbench -n plan-swapbench --sku S1 --is-linux >/dev/null
slip webapp create -g rg-swapbench -p plan-swapbench -n swapbench --runtime PYTHON:3.12 >/dev/null
slip webapp deployment slot create -g rg-swapbench -n swapbench --slot staging >/dev/null

# deploy <slot or ""> <version>: a WSGI app answering its version, zip-deployed via Kudu.
deploy() {
  local dir="$work/src-$2" host=swapbench args=()
  mkdir -p "$dir"
  printf 'def app(environ, start_response):\n    start_response("200 OK", [("Content-Type", "text/plain")])\n    return [b"%s"]\n' "$2" >"$dir/app.py"
  (cd "$dir" && python3 -m zipfile -c "$work/$2.zip" app.py)
  if [ -n "$1" ]; then args=(--slot "$1"); host="swapbench-$1"; fi
  creds=$(slip webapp deployment list-publishing-credentials -g rg-swapbench -n swapbench "${args[@]}")
  user=$(printf '%s' "$creds" | python3 -c 'import json,sys; print(json.load(sys.stdin)["publishingUserName"])')
  pass=$(printf '%s' "$creds" | python3 -c 'import json,sys; print(json.load(sys.stdin)["publishingPassword"])')
  curl -sSf -u "$user:$pass" --data-binary "@$work/$2.zip" -H "Host: $host.scm.localhost" "$base/api/zipdeploy" >/dev/null
}
deploy "" v1
deploy staging v2
serving() { curl -s --max-time 5 -H "Host: swapbench.localhost" "$base/" || true; }
for _ in $(seq 1 300); do [ "$(serving)" = v1 ] && break; sleep 0.2; done

flips=() totals=()
for i in $(seq 1 "$ROUNDS"); do
  before=$(serving)
  t0=$(now)
  slip webapp deployment slot swap -g rg-swapbench -n swapbench --slot staging >"$work/swap.log" 2>&1 &
  swap=$!
  flip=""
  for _ in $(seq 1 6000); do # at most 30 s
    got=$(serving)
    if [ -n "$got" ] && [ "$got" != "$before" ]; then flip=$(secs "$t0" "$(now)"); break; fi
    sleep 0.005
  done
  wait $swap || { cat "$work/swap.log"; exit 1; }
  totals+=("$(secs "$t0" "$(now)")")
  [ -n "$flip" ] || { echo "round $i: production never flipped"; exit 1; }
  flips+=("$flip")
done
cat <<MD
| measurement (one instance per slot, $(nproc) cores, $ROUNDS swaps) | seconds |
|---|---|
| request to flip: swap command started → production serves the other version (median of: ${flips[*]}) | $(median "${flips[@]}") |
| whole swap: until the command returns, source slot restarted with its new content (median of: ${totals[*]}) | $(median "${totals[@]}") |
MD
