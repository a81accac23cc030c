#!/usr/bin/env bash
# Cold start benchmark: the latency of the first request to an app that was unloaded for
# idleness (Always On off), against a warm request, on this machine.
#   a server with --idle-unload-after 2s; an app "coldbench" on B1 (Always On off), a small
#   WSGI app zip-deployed via Kudu; ROUNDS rounds (default 5), each waiting until the app has
#   no instance (`slipway webapp list-instances` prints []) and then timing one request through
#   the front door with curl (time_total), then 10 warm requests.
# The cold request waits for the start of the instance (sandbox, gunicorn) and its readiness
# ping (internal/idle, docs/appservice.md §11). Prints a Markdown table for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-5}"
go build -o bin/slipway ./cmd/slipway
work=$(mktemp -d "${BENCH_TMP:-/tmp}/slipway-coldbench.XXXXXX")
trap '[ -n "${server:-}" ] && kill $server 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
export SLIPWAY_DATA=$work/data SLIPWAY_CACHE_DIR=$work/cache
root=$PWD
slip() { "$root/bin/slipway" "$@"; }
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

./bin/slipway server --http-port 0 --idle-unload-after 2s >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 600); do [ -s "$SLIPWAY_DATA/server.json" ] && break; sleep 0.2; done
[ -s "$SLIPWAY_DATA/server.json" ] || { cat "$work/server.log"; exit 1; }
base=$(sed -n 's/.*"url": *"\([^"]*\)".*/\1/p' "$SLIPWAY_DATA/server.json")

slip group create -n rg-coldbench -l westeurope >/dev/null
slip appservice plan create -g rg-coldbench -n plan-coldbench --sku B1 --is-linux >/dev/null
slip webapp create -g rg-coldbench -p plan-coldbench -n coldbench --runtime PYTHON:3.12 >/dev/null
mkdir -p "$work/src"
printf 'def app(environ, start_response):\n    start_response("200 OK", [("Content-Type", "text/plain")])\n    return [b"cold"]\n' >"$work/src/app.py"
(cd "$work/src" && python3 -m zipfile -c "$work/app.zip" app.py)
creds=$(slip webapp deployment list-publishing-credentials -g rg-coldbench -n coldbench)
user=$(printf '%s' "$creds" | python3 -c 'import json,sys; print(json.load(sys.stdin)["publishingUserName"])')
pass=$(printf '%s' "$creds" | python3 -c 'import json,sys; print(json.load(sys.stdin)["publishingPassword"])')
curl -sSf -u "$user:$pass" --data-binary "@$work/app.zip" -H "Host: coldbench.scm.localhost" "$base/api/zipdeploy" >/dev/null
get() { curl -s -o "$work/body" -w '%{http_code} %{time_total}' --max-time 150 -H "Host: coldbench.localhost" "$base/"; }

colds=() warms=()
for i in $(seq 1 "$ROUNDS"); do
  unloaded=""
  for _ in $(seq 1 300); do # at most 60 s
    if [ "$(slip webapp list-instances -g rg-coldbench -n coldbench | tr -d ' \n')" = "[]" ]; then unloaded=1; break; fi
    sleep 0.2
  done
  [ -n "$unloaded" ] || { echo "round $i: the app never unloaded"; tail -20 "$work/server.log"; exit 1; }
  read -r code t <<<"$(get)"
  [ "$code" = 200 ] && [ "$(cat "$work/body")" = cold ] || { echo "round $i: cold request answered $code"; exit 1; }
  colds+=("$t")
  for _ in $(seq 1 10); do read -r code t <<<"$(get)"; warms+=("$t"); done
done
cat <<MD
| measurement (B1, one instance, $(nproc) cores, $ROUNDS cold starts) | seconds |
|---|---|
| first request after an idle unload, until the answer (median of: ${colds[*]}) | $(median "${colds[@]}") |
| warm request (median of $(( ROUNDS * 10 ))) | $(median "${warms[@]}") |
MD
