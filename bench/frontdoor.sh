#!/usr/bin/env bash
# The front door beside nginx and Caddy (issue 13), all in one run on this machine.
# bench/frontdoor (internal/frontdoor served in process, as the server builds it: routing
# from the store's in-memory site table, the DualListener, HTTP/1.1 and HTTPS with h2 by
# ALPN) and, in front of the SAME upstreams:
#   nginx  (Debian package, worker_processes 1, upstream keepalive 32, access_log off, http2)
#   Caddy  (Debian package, reverse_proxy; installed with apt-get when missing; skipped, and
#           said so, when it does not install)
#   direct (wrk straight at the upstream, the reference for Django)
# nginx and Caddy send the app the same App Service headers the front door sends
# (X-Forwarded-*, Client-Ip, X-Client-Port, X-Original-Url, X-Arr-Log-Id, ...), so that the
# app behind each proxy parses the same request.
# Upstreams:
#   go     a Go net/http server (bench/frontdoor -upstream-listen): the fast upstream
#   hello  cmd/slipway/testdata/apps/hello under gunicorn with App Service's default line
#          (gunicorn --timeout 600 --access-logfile '-' --error-logfile '-' app:app, one sync
#          worker, which closes every connection)
#   todo   examples/todo (Django 5.2, SQLite) under the same gunicorn line, GET / (a list page)
# Each round runs every (upstream, proxy, protocol) cell once, the proxies' order rotating
# every round:  wrk -t2 -c50 -d${DUR}s --latency (HTTP/1.1, plain and HTTPS); h2load -c50 -m1
# over HTTP/2 for the go upstream; and the go upstream at fixed offered rates (RATES, default
# "5000 10000" requests per second; vegeta, open loop, 50 keep-alive connections, installed from
# the Go module proxy when missing), where latency is the proxy's own, not the queue that a
# closed loop at saturation builds. A cell where any request failed (non-2xx, h2load's
# "failed", vegeta's success under 1) gets no figures. One certificate (ECDSA P-256, made here)
# serves all.
# Every cell also records each proxy's CPU time per request (from /proc, the whole process).
# Then a CPU profile of the front door under wrk load against the go upstream (-cpuprofile).
# Results: a TSV and a Markdown table of medians and ratios with the rounds, in $OUT
# (default a new /tmp/slipway-frontdoor-bench.XXXXXX), plus cpu.pprof and pprof's top.
# ROUNDS (default 3, at least 3), DUR seconds per cell (default 5); no new round starts after
# BUDGET_S (default 600) seconds. About 7 minutes for 3 rounds at DUR=5 on a 2-core VM (5 without
# the fixed-rate cells: RATES="").
# ONLY (e.g. "go/http hello/http go/http@5000") keeps only those upstream/protocol cells and PROFILE=0
# skips the profile pass: for quick comparisons while working on the proxy. FD_ENV (e.g.
# "GOMAXPROCS=1") is set in the front door's environment only; FD_ENV=FD_NO_LANE=1 serves every
# request through net/http's server instead of the app lane (internal/frontdoor/lane.go), and
# FD_ENV=FD_H2_STD=1 serves HTTP/2 with net/http's own server, without internal/frontdoor/h2conn.go,
# each for an A/B.
# Needs wrk, nginx, openssl, curl, python3 with gunicorn and examples/todo's requirements;
# as root with apt-get, the Debian packages among them (wrk, nginx, openssl, curl), h2load
# (nghttp2-client) for HTTP/2 and caddy are installed when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
ROUNDS=${ROUNDS:-3}
DUR=${DUR:-5}
[ "$ROUNDS" -ge 3 ] || { echo "ROUNDS must be at least 3" >&2; exit 1; }
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  need=()
  for t in wrk nginx openssl curl; do command -v "$t" >/dev/null || need+=("$t"); done
  if [ ${#need[@]} -gt 0 ]; then
    echo "installing ${need[*]} with apt-get..." >&2
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need[@]}" >/dev/null 2>&1 ||
      { apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need[@]}" >/dev/null; } || true
  fi
fi
for t in wrk nginx openssl curl python3 gunicorn go; do
  command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 1; }
done
if [ "$(id -u)" = 0 ]; then
  command -v h2load >/dev/null || apt-get install -y nghttp2-client >/dev/null 2>&1 || true
  command -v caddy >/dev/null || apt-get install -y caddy >/dev/null 2>&1 || true
fi
have_caddy=0; command -v caddy >/dev/null && have_caddy=1
have_h2=0; command -v h2load >/dev/null && have_h2=1

began=$(date +%s)
deadline=$((began + ${BUDGET_S:-600}))

OUT=${OUT:-$(mktemp -d /tmp/slipway-frontdoor-bench.XXXXXX)}
mkdir -p "$OUT"
tmp=$(mktemp -d /tmp/slipway-frontdoor-tmp.XXXXXX)
raw=$OUT/raw.tsv
# vegeta (open-loop load at a fixed rate) from the Go module proxy, into the run's own directory.
RATES=${RATES:-5000 10000}
vegeta=$(command -v vegeta || true)
if [ -z "$vegeta" ] && [ -n "$RATES" ]; then
  if GOBIN=$tmp/bin GOFLAGS=-mod=mod go install github.com/tsenart/vegeta/v12@v12.13.0 >/dev/null 2>&1; then
    vegeta=$tmp/bin/vegeta
  else
    echo "vegeta did not install: no fixed-rate cells" >&2
  fi
fi
printf 'round\tupstream\tproxy\tproto\trps\tp50_ms\tp99_ms\tcpu_us\n' >"$raw"
pids=()
. "$root/bench/lib.sh"
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do stop_pid "$p" "process"; done
  rm -rf "$tmp"
}
trap cleanup EXIT

P_GO=18181 P_HELLO=18182 P_TODO=18183 P_FD=18180 P_NGX=18190 P_NGXS=18191 P_CAD=18195 P_CADS=18196

# One leaf for every server, with the names and the address.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" \
  -days 2 -subj /CN=localhost -addext "subjectAltName=DNS:localhost,DNS:*.localhost,IP:127.0.0.1" 2>/dev/null

go build -o "$tmp/fdb" ./bench/frontdoor
"$tmp/fdb" -upstream-listen 127.0.0.1:$P_GO & pids+=($!)

cp -r cmd/slipway/testdata/apps/hello "$tmp/hello"
(cd "$tmp/hello" && exec gunicorn --timeout 600 --access-logfile '-' --error-logfile '-' --bind=127.0.0.1:$P_HELLO --control-socket "$tmp/hello.ctl" app:app) \
  >"$tmp/hello.log" 2>&1 & pids+=($!)
cp -r examples/todo "$tmp/todo"
rm -rf "$tmp/todo/db.sqlite3"
(cd "$tmp/todo" && export DJANGO_SECRET_KEY=bench && python3 manage.py migrate -v0 && python3 manage.py collectstatic --noinput -v0) >"$tmp/todo-setup.log" 2>&1
(cd "$tmp/todo" && ALLOWED_HOSTS=todo.localhost DJANGO_SECRET_KEY=bench exec gunicorn --timeout 600 --access-logfile '-' --error-logfile '-' \
  --bind=127.0.0.1:$P_TODO --control-socket "$tmp/todo.ctl" todoproject.wsgi) >"$tmp/todo.log" 2>&1 & pids+=($!)

env ${FD_ENV:-} "$tmp/fdb" -listen 127.0.0.1:$P_FD -cert "$tmp/cert.pem" -key "$tmp/key.pem" \
  -app go=http://127.0.0.1:$P_GO -app hello=http://127.0.0.1:$P_HELLO -app todo=http://127.0.0.1:$P_TODO \
  2>"$tmp/fd.log" & fdpid=$!; pids+=($fdpid)

mkdir -p "$tmp/nginx"
{
  echo "worker_processes 1; daemon off; pid $tmp/nginx/nginx.pid; error_log $tmp/nginx/error.log warn;"
  echo "events { worker_connections 4096; }"
  echo "http { access_log off; keepalive_requests 1000000; client_body_temp_path $tmp/nginx; proxy_temp_path $tmp/nginx; fastcgi_temp_path $tmp/nginx; uwsgi_temp_path $tmp/nginx; scgi_temp_path $tmp/nginx;"
  echo "  ssl_certificate $tmp/cert.pem; ssl_certificate_key $tmp/key.pem; ssl_protocols TLSv1.2 TLSv1.3;"
  for app in go:$P_GO hello:$P_HELLO todo:$P_TODO; do
    n=${app%%:*} p=${app##*:}
    echo "  upstream $n { server 127.0.0.1:$p; keepalive 32; }"
    echo "  server { listen 127.0.0.1:$P_NGX; listen 127.0.0.1:$P_NGXS ssl http2; server_name $n.localhost;"
    echo "    location / { proxy_pass http://$n; proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_set_header Host \$host;"
    # The headers App Service's front end (and Slipway's) sends each request, so that the
    # app parses the same request behind every proxy ("" values are not sent by nginx).
    echo "      proxy_set_header X-Forwarded-For \$remote_addr; proxy_set_header X-Forwarded-Proto \$scheme;"
    echo "      proxy_set_header Client-Ip \$remote_addr; proxy_set_header X-Client-Ip \$remote_addr; proxy_set_header X-Client-Port \$remote_port;"
    echo "      proxy_set_header X-Appservice-Proto \$scheme; proxy_set_header X-Forwarded-Host \$host; proxy_set_header X-Original-Url \$request_uri;"
    echo "      proxy_set_header Was-Default-Hostname \$host; proxy_set_header X-Arr-Log-Id \$request_id;"
    echo "      proxy_set_header X-Arr-Ssl \$https; proxy_set_header X-Forwarded-Tlsversion \$ssl_protocol; } }"
  done
  echo "}"
} >"$tmp/nginx/nginx.conf"
nginx -c "$tmp/nginx/nginx.conf" & ngxpid=$!; pids+=($ngxpid)

if [ $have_caddy = 1 ]; then
  {
    echo "{
  admin off
  auto_https off
  default_sni go.localhost
  servers {
    protocols h1 h2
  }
}"
    for app in go:$P_GO hello:$P_HELLO todo:$P_TODO; do
      n=${app%%:*} p=${app##*:}
      # Caddy sends X-Forwarded-For/-Proto/-Host itself; the rest of App Service's set here.
      hdrs="header_up Client-Ip {remote_host}
    header_up X-Client-Ip {remote_host}
    header_up X-Client-Port {remote_port}
    header_up X-Appservice-Proto {scheme}
    header_up X-Original-Url {uri}
    header_up Was-Default-Hostname {host}
    header_up X-Arr-Log-Id {http.request.uuid}"
      echo "http://$n.localhost:$P_CAD {
  bind 127.0.0.1
  reverse_proxy 127.0.0.1:$p {
    $hdrs
  }
}
https://$n.localhost:$P_CADS {
  bind 127.0.0.1
  tls $tmp/cert.pem $tmp/key.pem
  reverse_proxy 127.0.0.1:$p {
    $hdrs
    header_up X-Arr-Ssl 1
    header_up X-Forwarded-Tlsversion {http.request.tls.version}
  }
}"
    done
  } >"$tmp/Caddyfile"
  HOME=$tmp XDG_DATA_HOME=$tmp XDG_CONFIG_HOME=$tmp caddy run --adapter caddyfile --config "$tmp/Caddyfile" >"$tmp/caddy.log" 2>&1 & cadpid=$!; pids+=($cadpid)
fi

# wait_ok URL HOST: up to 60 s for a 200.
wait_ok() {
  for _ in $(seq 1 600); do
    [ "$(curl -sk -o /dev/null -w '%{http_code}' -H "Host: $2" "$1" 2>/dev/null)" = 200 ] && return 0
    sleep 0.1
  done
  echo "no 200 from $1 (Host: $2)" >&2; for f in "$tmp"/*.log; do echo "== $f" >&2; tail -n 20 "$f" >&2; done; return 1
}
for app in go:$P_GO hello:$P_HELLO todo:$P_TODO; do
  n=${app%%:*} p=${app##*:}
  wait_ok "http://127.0.0.1:$p/" $n.localhost
  wait_ok "http://127.0.0.1:$P_FD/" $n.localhost
  wait_ok "https://127.0.0.1:$P_FD/" $n.localhost
  wait_ok "http://127.0.0.1:$P_NGX/" $n.localhost
  wait_ok "https://127.0.0.1:$P_NGXS/" $n.localhost
  if [ $have_caddy = 1 ]; then
    wait_ok "http://127.0.0.1:$P_CAD/" $n.localhost:$P_CAD
    wait_ok "https://127.0.0.1:$P_CADS/" $n.localhost:$P_CADS
  fi
done

port_of() { # proxy proto upstream -> port
  case $1/$2 in
    slipway/http) echo $P_FD ;; slipway/https|slipway/h2) echo $P_FD ;;
    nginx/http) echo $P_NGX ;; nginx/https|nginx/h2) echo $P_NGXS ;;
    caddy/http) echo $P_CAD ;; caddy/https|caddy/h2) echo $P_CADS ;;
    direct/http) case $3 in go) echo $P_GO ;; hello) echo $P_HELLO ;; todo) echo $P_TODO ;; esac ;;
  esac
}
host_of() { # proxy upstream port -> Host header (Caddy matches the port too)
  if [ "$1" = caddy ]; then echo "$2.localhost:$3"; else echo "$2.localhost"; fi
}
# proxy_pids PROXY: the processes whose CPU time is the proxy's (nginx: its master and workers).
proxy_pids() {
  case $1 in
    slipway) echo "$fdpid" ;;
    nginx) echo "$ngxpid $(pgrep -P "$ngxpid" | tr '\n' ' ')" ;;
    caddy) echo "${cadpid:-}" ;;
  esac
}
# cpu_ticks PID...: user+system clock ticks of those processes, all their threads.
cpu_ticks() {
  local t=0 p f a
  for p in "$@"; do
    f=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    read -ra a <<<"${f##*) }"  # the fields after the command name (which may hold spaces)
    t=$((t + a[11] + a[12]))   # utime and stime: fields 14 and 15 of the whole line
  done
  echo "$t"
}
# cell ROUND UPSTREAM PROXY PROTO
cell() {
  local r=$1 up=$2 px=$3 proto=$4 port host out rps p50 p99 n=NA cpu0 cpu1 cpu_us=NA pp
  port=$(port_of "$px" "${proto%@*}" "$up")
  host=$(host_of "$px" "$up" "$port")
  pp=$(proxy_pids "$px")
  cpu0=$(cpu_ticks $pp)
  if [ "$proto" = h2 ]; then
    out=$(h2load -c50 -m1 -t2 -D "$DUR" -H ":authority: $host" "https://127.0.0.1:$port/" 2>&1) || true
    n=$(echo "$out" | awk '/^requests:/ { print $2 }')
    rps=$(echo "$out" | awk '/^finished in/ { gsub(",", "", $4); print $4 }')
    # h2load has no percentiles: its "time for request" line gives min max mean sd; the
    # p50 column gets the mean and the p99 column the max for h2 (report.md says so).
    p50=$(echo "$out" | awk '/time for request:/ { print $6 }')
    p99=$(echo "$out" | awk '/time for request:/ { print $5 }')
    toms() { python3 -c "import sys;v=sys.argv[1];print(float(v[:-2]) if v.endswith('ms') else float(v[:-2])/1000 if v.endswith('us') else float(v[:-1])*1000)" "$1" 2>/dev/null || echo NA; }
    p50=$(toms "$p50") p99=$(toms "$p99")
    # A proxy that fails fast is not a fast proxy: a cell with a failed request has no figures.
    if ! echo "$out" | awk '/^requests:/ { gsub(",", ""); ok = ($8 > 0 && $8 == $6 && $10 == 0) } END { exit !ok }'; then
      echo "failed requests in $up/$px/$proto: no figures for this cell" >&2; echo "$out" | grep -E '^requests:|^status codes:' >&2
      rps=NA p50=NA p99=NA
    fi
  elif [ "${proto#http@}" != "$proto" ]; then
    # A fixed offered rate (open loop, vegeta): the latency each proxy adds at a load below
    # saturation, where wrk's closed loop measures the queue at saturation.
    local rate=${proto#http@} js
    js=$(echo "GET http://127.0.0.1:$port/" | "$vegeta" attack -rate="$rate" -duration="${DUR}s" -connections=50 -max-connections=50 \
      -keepalive -timeout=10s -header "Host: $host" | "$vegeta" report -type=json)
    read -r rps p50 p99 < <(echo "$js" | python3 -c '
import json, sys
r = json.load(sys.stdin)
ok = r["requests"] > 0 and r["success"] == 1
print(*(["%.2f" % r["throughput"], "%.3f" % (r["latencies"]["50th"] / 1e6), "%.3f" % (r["latencies"]["99th"] / 1e6)] if ok else ["NA"] * 3))')
    n=$(echo "$js" | python3 -c 'import json, sys; print(json.load(sys.stdin)["requests"])')
    [ "$rps" = NA ] && { echo "failed requests in $up/$px/$proto: no figures for this cell" >&2; echo "$js" | head -c 600 >&2; echo >&2; }
  else
    local scheme=http; [ "$proto" = https ] && scheme=https
    out=$(wrk -t2 -c50 -d"${DUR}s" --latency -H "Host: $host" "$scheme://127.0.0.1:$port/" 2>&1)
    rps=$(echo "$out" | awk '/^Requests\/sec:/ { print $2 }')
    n=$(echo "$out" | awk '/ requests in / { print $1 }')
    ms() { echo "$out" | awk -v q="$1" '$1 == q { v=$2; if (v ~ /us$/) { sub("us","",v); v/=1000 } else if (v ~ /ms$/) { sub("ms","",v) } else if (v ~ /s$/) { sub("s","",v); v*=1000 } print v }'; }
    p50=$(ms 50%) p99=$(ms 99%)
    if echo "$out" | grep -q "Non-2xx"; then
      echo "non-2xx answers in $up/$px/$proto: no figures for this cell" >&2; echo "$out" >&2
      rps=NA p50=NA p99=NA
    fi
  fi
  # The proxy's CPU time per request served (whole process, every thread; /proc's clock
  # ticks, 10 ms each: ~1% of a 5 s cell at saturation). Steadier than req/s on a VM whose
  # speed drifts, and the cost every request pays whatever the machine.
  cpu1=$(cpu_ticks $pp)
  if [ -n "$pp" ] && [ "$rps" != NA ] && [ "${n:-0}" -gt 0 ] 2>/dev/null; then
    cpu_us=$(python3 -c "import os,sys; print('%.1f' % ((int(sys.argv[2]) - int(sys.argv[1])) * 1e6 / os.sysconf('SC_CLK_TCK') / int(sys.argv[3])))" "$cpu0" "$cpu1" "$n")
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$up" "$px" "$proto" "${rps:-NA}" "${p50:-NA}" "${p99:-NA}" "$cpu_us" >>"$raw"
  printf 'round %s %-5s %-7s %-5s %10s req/s  p50 %s ms  p99 %s ms  CPU %s us/req\n' "$r" "$up" "$px" "$proto" "${rps:-NA}" "${p50:-NA}" "${p99:-NA}" "$cpu_us"
}

proxies=(slipway nginx); [ $have_caddy = 1 ] && proxies+=(caddy)
for r in $(seq 1 "$ROUNDS"); do
  if [ "$r" -gt 3 ] && [ "$(date +%s)" -gt "$deadline" ]; then echo "budget spent: stopping after $((r - 1)) rounds"; break; fi
  # Rotate the proxies' order every round.
  n=${#proxies[@]} order=()
  for i in $(seq 0 $((n - 1))); do order+=("${proxies[$(((i + r) % n))]}"); done
  for up in go hello todo; do
    protos=(http); [ "$up" = go ] && protos=(http https) && [ $have_h2 = 1 ] && protos+=(h2)
    for proto in "${protos[@]}"; do
      if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $up/$proto "* ]]; then continue; fi
      for px in "${order[@]}"; do cell "$r" "$up" "$px" "$proto"; done
      [ "$proto" = http ] && cell "$r" "$up" direct http
    done
    # The go upstream at fixed rates below saturation, when vegeta is there.
    if [ "$up" = go ] && [ -n "$vegeta" ]; then
      for rate in $RATES; do
        if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" go/http@$rate "* ]]; then continue; fi
        for px in "${order[@]}" direct; do cell "$r" go "$px" "http@$rate"; done
      done
    fi
  done
done

# A CPU profile of the front door under load (go upstream, HTTP/1.1, then HTTPS).
if [ "${PROFILE:-1}" = 0 ]; then
  python3 "$root/bench/frontdoor/report.py" "$raw" "$have_caddy" >"$OUT/report.md"
  cat "$OUT/report.md"; exit 0
fi
kill -TERM "$fdpid"; wait "$fdpid" 2>/dev/null || true
"$tmp/fdb" -listen 127.0.0.1:$P_FD -cert "$tmp/cert.pem" -key "$tmp/key.pem" -app go=http://127.0.0.1:$P_GO \
  -cpuprofile "$OUT/cpu.pprof" 2>>"$tmp/fd.log" & fdpid=$!; pids+=($fdpid)
wait_ok "http://127.0.0.1:$P_FD/" go.localhost
wrk -t2 -c50 -d10s -H "Host: go.localhost" "http://127.0.0.1:$P_FD/" >"$OUT/profile-wrk.txt"
kill -TERM "$fdpid"; wait "$fdpid" 2>/dev/null || true
cp "$tmp/fdb" "$OUT/frontdoor.bin"
go tool pprof -top -nodecount=40 "$OUT/frontdoor.bin" "$OUT/cpu.pprof" >"$OUT/cpu-top.txt" 2>/dev/null || true

python3 "$root/bench/frontdoor/report.py" "$raw" "$have_caddy" >"$OUT/report.md"
cat "$OUT/report.md"
echo "results in $OUT (raw.tsv, report.md, cpu.pprof, cpu-top.txt); $(($(date +%s) - began)) s"
