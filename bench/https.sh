#!/usr/bin/env bash
# HTTPS through Slipway's front door beside nginx (issue 10), all in one run on this machine.
# One slipway server built from the working tree, one B1 app running
# cmd/slipway/testdata/apps/hello (gunicorn) deployed by Kudu zipdeploy with
# SCM_DO_BUILD_DURING_DEPLOYMENT, and one nginx (Debian, worker_processes 1, TLSv1.2/1.3,
# http2, upstream keepalive 32) proxying to the SAME instance address. nginx's certificate
# is an ECDSA P-256 leaf for <app>.localhost signed by an ECDSA P-256 root made here with
# openssl, sent as the same chain Slipway sends (checked), so the handshake crypto matches.
# Each round measures both sides, the order flipping every round:
#   rps        wrk -t2 -c20 -d10s --latency https://<app>.localhost:<port>/ (keep-alive)
#   close      the same with 'Connection: close': a new TCP connection + full TLS
#              handshake per request (wrk does not resume sessions)
#   handshake  openssl s_time -new -time 5: handshakes only, one connection at a time
# with the CPU the server (or nginx, master + worker) used during each wrk run; then, for
# context, plain HTTP: wrk -d5s through the front door and straight at the instance.
# <app>.localhost must resolve to 127.0.0.1 for wrk (it sends SNI from the URL's host and
# resolves it with getaddrinfo): when it does not, a line is added to /etc/hosts for the
# run and the file is restored byte for byte on exit.
# Needs root, wrk, nginx, openssl, curl, zip, jq, python3.
# Before each measurement the instance must answer directly (waits are recorded as settle_*).
# ROUNDS (default 3, at least 3); no new round starts after BUDGET_S (default 330) seconds,
# and each round is at most ~3.5 minutes (waits included). About 3.5 minutes for 3 rounds
# on a 2-core VM when nothing stalls.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
[ "$(id -u)" = 0 ] || { echo "bench/https.sh needs root" >&2; exit 1; }
for t in wrk nginx openssl curl zip jq python3; do
  command -v "$t" >/dev/null || { echo "missing $t (apt-get install -y wrk nginx openssl curl zip jq python3)" >&2; exit 1; }
done
ROUNDS=${ROUNDS:-3}
[ "$ROUNDS" -ge 3 ] || { echo "ROUNDS must be at least 3" >&2; exit 1; }
APP=${APP:-httpsbench}
probe() { python3 "$root/bench/sandbox/probe.py" "$@"; }
began=$(date +%s)
deadline=$((began + ${BUDGET_S:-330})) # no round starts after this

tmp=$(mktemp -d /tmp/slipway-https-bench.XXXXXX)
results=$(mktemp -d /tmp/slipway-https-results.XXXXXX)
raw=$results/raw.tsv
: >"$raw"
spid='' sdata='' sid='' npid='' hosts_saved=''
user_existed=0
id -u "sw-$APP" >/dev/null 2>&1 && user_existed=1

now() { date +%s.%N; }
. "$root/bench/lib.sh" # alive, stop_pid, emit, kv
# shortID in internal/server: the first 3 hex digits of sha256(data dir).
server_id() { printf %s "$1" | sha256sum | cut -c1-3; }
id_in_use() {
  ip netns list 2>/dev/null | grep -q "^sw$1" && return 0
  nft list tables 2>/dev/null | grep -q "slipway_$1" && return 0
  compgen -G "/sys/fs/cgroup/*/slipway-$1*" >/dev/null && return 0
  compgen -G "/sys/fs/cgroup/slipway-$1*" >/dev/null && return 0
  return 1
}
# leftovers DATA ID: remove (and record) what a server with this data dir and id left.
leftovers() {
  local data=$1 id=$2 left='' m n img dev
  for m in $(awk -v d="$data/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r); do
    left+=" mount:$m"; umount -l "$m" 2>/dev/null || true
  done
  for img in "$data"/homes/*.img; do
    [ -e "$img" ] || continue
    for dev in $(losetup -j "$img" 2>/dev/null | cut -d: -f1); do left+=" loop:$dev"; losetup -d "$dev" 2>/dev/null || true; done
  done
  for n in $(ip netns list 2>/dev/null | awk '{ print $1 }' | grep "^sw$id[ab]-" || true); do
    left+=" netns:$n"; ip netns del "$n" 2>/dev/null || true
  done
  for n in $(ip -o link show 2>/dev/null | awk -F': ' '{ print $2 }' | cut -d@ -f1 | grep "^sw$id[ab]" || true); do
    left+=" link:$n"; ip link del "$n" 2>/dev/null || true
  done
  for n in $(nft list tables 2>/dev/null | awk '{ print $3 }' | grep "^slipway_$id[ab]$" || true); do
    left+=" nft:$n"; nft delete table inet "$n" 2>/dev/null || true
  done
  for n in $(find /sys/fs/cgroup -maxdepth 2 -type d -name "slipway-$id*" 2>/dev/null); do
    left+=" cgroup:$n"; find "$n" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
  echo "${left:- none}"
}

stop_nginx() {
  [ -n "$npid" ] || return 0
  local pid=$npid
  npid=''
  stop_pid "$pid" nginx # SIGTERM: fast shutdown of master and worker
}
stop_server() {
  [ -n "$spid" ] || return 0
  local pid=$spid
  spid=''
  stop_pid "$pid" server
  local l
  l=$(leftovers "$sdata" "$sid")
  [ "$l" = " none" ] || echo "  left behind by the server, removed:$l" >&2
  printf '0\t-\tleftovers\t%s\n' "${l# }" >>"$raw"
}
restore_hosts() {
  [ -n "$hosts_saved" ] || return 0
  # Write in place (the file may be a bind mount), then check it is byte for byte the old one.
  cat "$hosts_saved" >/etc/hosts
  cmp -s "$hosts_saved" /etc/hosts || echo "WARNING: /etc/hosts differs from the saved copy $hosts_saved" >&2
  hosts_saved=''
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_nginx || true
  stop_server || true
  restore_hosts || true
  rm -rf "$tmp"
  if [ "$user_existed" = 0 ] && id -u "sw-$APP" >/dev/null 2>&1 && ! pgrep -u "sw-$APP" >/dev/null; then
    userdel "sw-$APP" 2>/dev/null || true
  fi
  echo "raw results: $raw" >&2
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ticks() { # utime + stime of the given pids, in clock ticks
  local t=0 p
  for p in "$@"; do t=$((t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{ print $12 + $13 }'))); done
  echo "$t"
}

# 1. Slipway, the app, and the instance's address.
echo "building slipway (working tree)..." >&2
timeout 300 go build -o "$tmp/slipway" ./cmd/slipway
rev="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!bench' ':!docs' || echo ' + uncommitted changes')"
(cd cmd/slipway/testdata/apps/hello && zip -qr "$tmp/hello.zip" .)
sdata=$tmp/data k=0
sid=$(server_id "$sdata")
while id_in_use "$sid"; do k=$((k + 1)); [ $k -lt 20 ] || { echo "no free server id" >&2; exit 1; }; sdata=$tmp/data$k; sid=$(server_id "$sdata"); done
mkdir -p "$sdata" "$tmp/cache"
export SLIPWAY_DATA=$sdata SLIPWAY_CACHE_DIR=$tmp/cache
"$tmp/slipway" server --data "$sdata" --http-port 0 --blob-port 0 >"$tmp/server.log" 2>&1 &
spid=$!
for _ in $(seq 1 900); do
  [ -s "$sdata/server.json" ] && grep -q "Slipway is running at" "$tmp/server.log" && break
  alive "$spid" || break
  sleep 0.2
done
if ! [ -s "$sdata/server.json" ] || ! grep -q "Slipway is running at" "$tmp/server.log"; then
  echo "server did not start:" >&2; tail -30 "$tmp/server.log" >&2; exit 1
fi
port=$(jq -r .httpPort "$sdata/server.json")
cafile=$(jq -r .caFile "$sdata/server.json")
name=$APP.localhost
slip() { timeout 300 "$tmp/slipway" "$@"; }
slip group create -n "rg-$APP" -l westeurope >/dev/null
slip appservice plan create -g "rg-$APP" -n "plan-$APP" --sku B1 --is-linux >/dev/null
slip webapp create -g "rg-$APP" -p "plan-$APP" -n "$APP" --runtime PYTHON:3.12 >/dev/null
slip webapp config appsettings set -g "rg-$APP" -n "$APP" --settings SCM_DO_BUILD_DURING_DEPLOYMENT=true >/dev/null
creds=$(slip webapp deployment list-publishing-credentials -g "rg-$APP" -n "$APP")
user=$(jq -r .publishingUserName <<<"$creds") pass=$(jq -r .publishingPassword <<<"$creds")
echo "deploying $APP (zipdeploy with build)..." >&2
code=$(curl -sS --max-time 300 --connect-to "::127.0.0.1:$port" -u "$user:$pass" -X POST \
  --data-binary "@$tmp/hello.zip" -o "$tmp/deploy.out" -w '%{http_code}' "http://$APP.scm.localhost:$port/api/zipdeploy")
[ "$code" = 200 ] || { echo "zipdeploy: HTTP $code" >&2; cat "$tmp/deploy.out" >&2; tail -30 "$tmp/server.log" >&2; exit 1; }
body=$(curl -sS --max-time 10 --cacert "$cafile" --connect-to "::127.0.0.1:$port" "https://$name:$port/")
[ "$body" = "hello v1" ] || { echo "app answered over HTTPS: $body" >&2; exit 1; }
sleep 0.5 # the platform log is flushed within 200 ms
addr=$(cat "$sdata/sites/$APP/home/LogFiles/"*[0-9]_docker.log | sed -n 's/.*Starting container .* (port \([0-9]*\)\(, address \([0-9.:]*\)\)\?).*/\1 \3/p' | tail -1)
[ -n "$addr" ] || { echo "no 'Starting container' line in the platform log" >&2; exit 1; }
set -- $addr
addr=${2:-127.0.0.1:$1}
emit 0 - instance_addr "$addr"
body=$(curl -sS --max-time 10 "http://$addr/")
[ "$body" = "hello v1" ] || { echo "instance $addr answered: $body" >&2; exit 1; }

# 2. What Slipway's handshake looks like: chain length and key types.
openssl s_client -connect "127.0.0.1:$port" -servername "$name" -showcerts </dev/null >"$tmp/slipway.s_client" 2>&1 || true
chain_len=$(grep -c 'BEGIN CERTIFICATE' "$tmp/slipway.s_client" || true)
[ "$chain_len" -ge 1 ] || { echo "no certificate from Slipway's front door:" >&2; cat "$tmp/slipway.s_client" >&2; exit 1; }
awk '/BEGIN CERTIFICATE/ { n++ } n == 1 { print } /END CERTIFICATE/ && n == 1 { exit }' "$tmp/slipway.s_client" >"$tmp/slip-leaf.pem"
slip_leaf=$(openssl x509 -in "$tmp/slip-leaf.pem" -noout -text | grep -E 'Public Key Algorithm|NIST CURVE|Signature Algorithm' | sort -u | tr -s ' ' | paste -sd';')
slip_root=$(openssl x509 -in "$cafile" -noout -text | grep -E 'Public Key Algorithm|NIST CURVE|Signature Algorithm' | sort -u | tr -s ' ' | paste -sd';')
emit 0 slipway chain_sent "$chain_len"
emit 0 slipway leaf "$slip_leaf"
emit 0 slipway root "$slip_root"

# 3. nginx's CA and leaf, the same shape: ECDSA P-256 root, ECDSA P-256 leaf, ecdsa-with-SHA256.
n=$tmp/nginx
mkdir -p "$n/logs" "$n/tmp"
openssl ecparam -name prime256v1 -genkey -noout -out "$n/ca.key" 2>/dev/null
openssl req -x509 -new -key "$n/ca.key" -sha256 -days 2 -subj "/O=bench/CN=bench root" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign -out "$n/ca.pem" 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out "$n/leaf.key" 2>/dev/null
openssl req -new -key "$n/leaf.key" -subj "/CN=$name" -out "$n/leaf.csr" 2>/dev/null
printf 'subjectAltName=DNS:%s\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' "$name" >"$n/leaf.ext"
openssl x509 -req -in "$n/leaf.csr" -CA "$n/ca.pem" -CAkey "$n/ca.key" -CAcreateserial -sha256 -days 1 \
  -extfile "$n/leaf.ext" -out "$n/leaf.pem" 2>/dev/null
# Send what Slipway sends: the leaf alone, or the leaf and the root.
if [ "$chain_len" -ge 2 ]; then cat "$n/leaf.pem" "$n/ca.pem" >"$n/chain.pem"; else cp "$n/leaf.pem" "$n/chain.pem"; fi
nport=$(free_port)
cat >"$n/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
user root root;
pid $n/nginx.pid;
error_log $n/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $n/tmp/body;
  proxy_temp_path $n/tmp/proxy;
  fastcgi_temp_path $n/tmp/fastcgi;
  uwsgi_temp_path $n/tmp/uwsgi;
  scgi_temp_path $n/tmp/scgi;
  upstream app { server $addr; keepalive 32; }
  server {
    listen 127.0.0.1:$nport ssl http2;
    server_name $name;
    ssl_certificate $n/chain.pem;
    ssl_certificate_key $n/leaf.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$http_host;
    }
  }
}
EOF
nginx -t -c "$n/nginx.conf" -p "$n" >/dev/null 2>&1 || { nginx -t -c "$n/nginx.conf" -p "$n" >&2; exit 1; }
nginx -c "$n/nginx.conf" -p "$n" >"$n/logs/stdout.log" 2>&1 &
npid=$!
nworker=''
for _ in $(seq 1 50); do
  nworker=$(pgrep -P "$npid" | head -1 || true)
  [ -n "$nworker" ] && curl -s -o /dev/null --max-time 2 --cacert "$n/ca.pem" --connect-to "::127.0.0.1:$nport" "https://$name:$nport/" && break
  alive "$npid" || break
  sleep 0.1
done
[ -n "$nworker" ] || { echo "nginx did not start:" >&2; cat "$n/logs/error.log" >&2; exit 1; }
body=$(curl -sS --max-time 10 --cacert "$n/ca.pem" --connect-to "::127.0.0.1:$nport" "https://$name:$nport/")
[ "$body" = "hello v1" ] || { echo "nginx answered: $body" >&2; exit 1; }
openssl s_client -connect "127.0.0.1:$nport" -servername "$name" -showcerts </dev/null >"$tmp/nginx.s_client" 2>&1 || true
emit 0 nginx chain_sent "$(grep -c 'BEGIN CERTIFICATE' "$tmp/nginx.s_client" || true)"
emit 0 nginx leaf "$(openssl x509 -in "$n/leaf.pem" -noout -text | grep -E 'Public Key Algorithm|NIST CURVE|Signature Algorithm' | sort -u | tr -s ' ' | paste -sd';')"
# What each side negotiates with wrk's and s_time's OpenSSL, and whether both speak h2.
for side in slipway nginx; do
  if [ $side = slipway ]; then p=$port; else p=$nport; fi
  emit 0 $side negotiated "$(grep -E '^(New|Peer signature type|Server Temp Key|Negotiated TLS1.3 group)' "$tmp/$side.s_client" | tr -s ' ' | paste -sd';')"
  emit 0 $side h2 "$(curl -sS -k --http2 --max-time 10 -o /dev/null -w '%{http_version}' --connect-to "::127.0.0.1:$p" "https://$name:$p/")"
done

# 4. <app>.localhost → 127.0.0.1 for wrk.
if ! getent hosts "$name" | grep -q '^127\.0\.0\.1\b'; then
  cp -p /etc/hosts "$tmp/hosts.orig"
  hosts_saved=$tmp/hosts.orig
  printf '127.0.0.1 %s # bench/https.sh, removed at exit\n' "$name" >>/etc/hosts
  getent hosts "$name" | grep -q '^127\.0\.0\.1\b' || { echo "$name does not resolve to 127.0.0.1 even with /etc/hosts" >&2; exit 1; }
  emit 0 - etc_hosts "line added for the run"
fi

hz=$(getconf CLK_TCK)
# settle ROUND WHAT: before each measurement, wait (at most 45 s) until the instance answers
# directly within 2 s, and record how long that took: a stalled instance would otherwise
# be measured as a slow proxy.
settle() {
  local t0 ok=0
  t0=$(now)
  for _ in $(seq 1 45); do
    if [ "$(curl -s --max-time 2 -o /dev/null -w '%{http_code}' "http://$addr/")" = 200 ]; then ok=1; break; fi
    sleep 1
  done
  [ $ok = 1 ] || echo "  instance $addr did not answer within 45 s before $2" >&2
  emit "$1" - "settle_$2" "$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')"
  sleep 1
}
# measure ROUND SIDE: keep-alive rps, new connection per request, handshakes only.
measure() {
  local r=$1 side=$2 p pids w c0 c1 t0 t1 d=$results/r$1-$2
  if [ "$side" = slipway ]; then p=$port pids=$spid; else p=$nport pids="$npid $nworker"; fi
  settle "$r" "$side-rps"
  c0=$(ticks $pids); t0=$(now)
  timeout 30 wrk -t2 -c20 -d10s --latency -H "Host: $name:$p" "https://$name:$p/" >"$d-rps.txt" 2>&1 || true
  t1=$(now); c1=$(ticks $pids)
  w=$(probe wrk "$d-rps.txt")
  for k in rps p50_ms p99_ms errors; do emit "$r" "$side" "$k" "$(kv "$w" "$k")"; done
  emit "$r" "$side" cpu_cores "$(awk -v a="$c0" -v b="$c1" -v hz="$hz" -v s="$t0" -v e="$t1" 'BEGIN { printf "%.2f", (b - a) / hz / (e - s) }')"
  emit "$r" "$side" cpu_us_per_req "$(awk -v a="$c0" -v b="$c1" -v hz="$hz" -v n="$(kv "$w" requests)" 'BEGIN { printf "%.0f", (n > 0 ? (b - a) / hz / n * 1e6 : 0) }')"

  settle "$r" "$side-close"
  c0=$(ticks $pids); t0=$(now)
  timeout 30 wrk -t2 -c20 -d10s --latency -H "Host: $name:$p" -H 'Connection: close' "https://$name:$p/" >"$d-close.txt" 2>&1 || true
  t1=$(now); c1=$(ticks $pids)
  w=$(probe wrk "$d-close.txt")
  emit "$r" "$side" close_rps "$(kv "$w" rps)"
  emit "$r" "$side" close_p50_ms "$(kv "$w" p50_ms)"
  emit "$r" "$side" close_p99_ms "$(kv "$w" p99_ms)"
  emit "$r" "$side" close_errors "$(kv "$w" errors)"
  emit "$r" "$side" close_cpu_cores "$(awk -v a="$c0" -v b="$c1" -v hz="$hz" -v s="$t0" -v e="$t1" 'BEGIN { printf "%.2f", (b - a) / hz / (e - s) }')"
  emit "$r" "$side" close_cpu_us_per_req "$(awk -v a="$c0" -v b="$c1" -v hz="$hz" -v n="$(kv "$w" requests)" 'BEGIN { printf "%.0f", (n > 0 ? (b - a) / hz / n * 1e6 : 0) }')"

  c0=$(ticks $pids); t0=$(now)
  # OpenSSL 3.0's s_time has no -servername: without SNI Slipway serves its leaf for the
  # bare domain and nginx its only server's leaf, both ECDSA P-256 under a P-256 root.
  timeout 20 openssl s_time -connect "127.0.0.1:$p" -new -time 5 >"$d-stime.txt" 2>&1 || true
  t1=$(now); c1=$(ticks $pids)
  local nconn
  nconn=$(sed -n 's/^\([0-9]*\) connections in [0-9.]* real seconds.*/\1/p' "$d-stime.txt" | tail -1)
  if [ -n "$nconn" ]; then
    emit "$r" "$side" handshakes_per_s "$(awk -v n="$nconn" -v s="$t0" -v e="$t1" 'BEGIN { printf "%.0f", n / (e - s) }')"
    emit "$r" "$side" hs_cpu_us "$(awk -v a="$c0" -v b="$c1" -v hz="$hz" -v n="$nconn" 'BEGIN { printf "%.0f", (n > 0 ? (b - a) / hz / n * 1e6 : 0) }')"
  else
    emit "$r" "$side" handshakes_per_s NA
  fi
}

for r in $(seq 1 "$ROUNDS"); do
  if [ "$(date +%s)" -gt "$deadline" ]; then echo "time budget spent: stopping before round $r" >&2; break; fi
  if [ $((r % 2)) = 1 ]; then order="slipway nginx"; else order="nginx slipway"; fi
  emit "$r" - order "${order/ /,}"
  for side in $order; do
    echo "round $r: $side" >&2
    measure "$r" "$side"
  done
  # Context: plain HTTP through the front door and straight at the instance.
  settle "$r" http-frontdoor
  timeout 20 wrk -t2 -c20 -d5s --latency -H "Host: $name:$port" "http://127.0.0.1:$port/" >"$results/r$r-http-frontdoor.txt" 2>&1 || true
  w=$(probe wrk "$results/r$r-http-frontdoor.txt")
  emit "$r" slipway http_rps "$(kv "$w" rps)"
  settle "$r" http-direct
  timeout 20 wrk -t2 -c20 -d5s --latency -H "Host: $name:$port" "http://$addr/" >"$results/r$r-http-direct.txt" 2>&1 || true
  w=$(probe wrk "$results/r$r-http-direct.txt")
  emit "$r" - direct_rps "$(kv "$w" rps)"
done

cp "$n/nginx.conf" "$results/"
stop_nginx
cp "$n/logs/error.log" "$results/nginx-error.log" 2>/dev/null || true
cp "$sdata/sites/$APP/home/LogFiles/"*[0-9]_docker.log "$results/" 2>/dev/null || true
stop_server
cp "$tmp/server.log" "$results/server.log"
restore_hosts

echo "## HTTPS through the front door beside nginx: $(date -u), $(nproc) cores, working tree at $rev, $(nginx -v 2>&1 | sed 's/.*: //'), $(openssl version | cut -d' ' -f1-2), $(($(date +%s) - began)) s"
python3 "$root/bench/https/report.py" "$raw"
