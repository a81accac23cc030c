#!/usr/bin/env bash
# Deploy benchmark for examples/todo, all in one run on this machine:
#   plain    python -m venv && pip install -r requirements.txt && collectstatic
#            (fresh pip cache), the reference a cold deploy is compared with
#   cold     slipway webapp up with an empty build cache (until the app answers)
#   warm     slipway webapp up after a code-only change (3 runs)
#   restart  slipway webapp restart until the new instance is ready (3 runs)
# Prints a Markdown table for docs/benchmarks.md. Needs network access to PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-$(ls -d /root/.pyenv/versions/3.12.*/bin/python3 2>/dev/null | tail -1)}"
PY="${PY:-python3}"
ver=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
go build -o bin/slipway ./cmd/slipway
work=$(mktemp -d /tmp/slipway-bench.XXXXXX)
trap '[ -n "${server:-}" ] && kill $server 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
export SLIPWAY_DATA=$work/data SLIPWAY_CACHE_DIR=$work/cache
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# Reference: a plain install of the same app with an empty pip cache.
cp -r examples/todo "$work/plain"
t0=$(now)
(cd "$work/plain" && "$PY" -m venv .venv && .venv/bin/pip install -q --disable-pip-version-check \
  --cache-dir "$work/plain-pip" -r requirements.txt && \
  DJANGO_SECRET_KEY=x .venv/bin/python manage.py collectstatic --noinput >/dev/null)
plain=$(secs "$t0" "$(now)")

./bin/slipway server --http-port 0 >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 600); do [ -s "$SLIPWAY_DATA/server.json" ] && break; sleep 0.2; done
[ -s "$SLIPWAY_DATA/server.json" ] || { cat "$work/server.log"; exit 1; }

cp -r examples/todo "$work/app"
root=$PWD
slip() { "$root/bin/slipway" "$@"; }
up() { (cd "$work/app" && slip webapp up -n benchtodo --sku B1 --runtime "PYTHON:$ver" >"$work/up.log" 2>&1) || { cat "$work/up.log"; exit 1; }; }
t0=$(now); up; cold=$(secs "$t0" "$(now)")
rg=$(sed -n 's/^group *= *//p' "$work/app/.azure/config")

warm=()
for i in 1 2 3; do
  echo "<!-- bench change $i -->" >>"$work/app/todos/templates/todos/todo_list.html"
  t0=$(now); up; warm+=("$(secs "$t0" "$(now)")")
done
restart=()
for i in 1 2 3; do
  t0=$(now); slip webapp restart -g "$rg" -n benchtodo >/dev/null; restart+=("$(secs "$t0" "$(now)")")
done

ratio=$(awk -v c="$cold" -v p="$plain" 'BEGIN { printf "%.2f", c / p }')
cat <<MD
| measurement (examples/todo, Python $ver) | seconds |
|---|---|
| plain venv + pip install + collectstatic (empty pip cache) | $plain |
| cold deploy: \`webapp up\`, empty build cache, until the app answers | $cold (×$ratio of plain) |
| warm redeploy: code-only change, \`webapp up\` (median of 3: ${warm[*]}) | $(median "${warm[@]}") |
| restart to ready: \`webapp restart\` (median of 3: ${restart[*]}) | $(median "${restart[@]}") |
MD
