#!/usr/bin/env bash
# The identity platform beside lowkey-vault (a Key Vault emulator, Java), all in one run on
# this machine, loopback only. Slipway: a `slipway server` built from the working tree with
# a temp data dir (HTTPS with the platform CA), a key vault with one secret, and a service
# principal (created by `bench/identity setup` before the server first starts: the tree has
# no Graph subset to create one over HTTP) holding "Key Vault Secrets User" on the vault.
# Its managed-identity endpoint is not mounted on a host-reachable address, so it is served
# by `bench/identity msi` (internal/identity's MSIHandler over a real store in its own temp
# dir) as a process of its own. lowkey-vault: the jar, on its default vaults, with one secret.
# The same driver (`bench/identity load`: N keep-alive HTTP/1.1 connections, every response
# checked) measures, each round, both sides in an order that flips every round:
#   token     Slipway only: client-credentials POST .../<tenant>/oauth2/v2.0/token (the
#             service principal, scope https://vault.azure.net/.default); lowkey-vault has no
#             token service for applications
#   msi       managed-identity token for https://vault.azure.net: Slipway GET /msi/token
#             (api-version 2019-08-01, X-IDENTITY-HEADER); lowkey-vault GET
#             /metadata/identity/oauth2/token on its HTTP port
#   secret    GET https://<vault>/secrets/<name>?api-version=7.5 with a bearer token from the
#             side's own token endpoint (Slipway: the service principal's, authorized by role;
#             lowkey-vault: its managed-identity stub's, which it only checks for presence)
#   secret_admin  Slipway only: the same with the server's admin token (no JWT to verify)
# with the CPU the serving process used. Before round 1 every workload runs once, unrecorded:
# WARM seconds on Slipway, WARM_REF on lowkey-vault, whose JVM keeps getting faster for about
# a minute of load while its JIT compiles the hot paths (with 15 s, its secret get still rose
# from 1,100 to 2,900 requests/s over the five rounds that followed).
# lowkey-vault's jar: LOWKEY_VAULT_JAR=<path>, or Maven Central
# (com.github.nagyesta.lowkey-vault:lowkey-vault-app:$LOWKEY_VERSION, default 3.4.33, the last
# release whose app runs on Java 17), or built with bench/identity/lowkey-vault/pom.xml from
# LOWKEY_VAULT_SRC=<checkout of github.com/nagyesta/lowkey-vault at v$LOWKEY_VERSION>. With
# none of them, Slipway is measured alone (absolute figures).
# Needs go, curl, jq, python3, openssl; java (17+) and mvn for the reference.
# ROUNDS (default 3, at least 3); C connections (default 8); D seconds per measurement
# (default 5); WARM and WARM_REF seconds of warm-up per workload (default 10 and 60); no
# round starts after BUDGET_S (default 480) seconds. About 5.5 minutes for 3 rounds on a
# 2-core VM (5 rounds: 6.5), plus lowkey-vault's build (about a minute once Maven's cache
# holds its dependencies).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
for t in go curl jq python3 openssl; do
  command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 1; }
done
ROUNDS=${ROUNDS:-3}
[ "$ROUNDS" -ge 3 ] || { echo "ROUNDS must be at least 3" >&2; exit 1; }
C=${C:-8} D=${D:-5} WARM=${WARM:-10} WARM_REF=${WARM_REF:-60}
LOWKEY_VERSION=${LOWKEY_VERSION:-3.4.33}
began=$(date +%s)
deadline=$((began + ${BUDGET_S:-480}))

tmp=$(mktemp -d /tmp/slipway-identity-bench.XXXXXX)
results=$(mktemp -d /tmp/slipway-identity-results.XXXXXX)
raw=$results/raw.tsv
: >"$raw"
spid='' mpid='' lpid=''

. "$root/bench/lib.sh" # alive, stop_pid, emit, kv
# What the server may leave on the host, named by its id (internal/server's shortID: the
# first 3 hex digits of sha256(data dir)): network namespaces sw<id>*, nftables slipway_<id>*.
server_leftovers() {
  local id
  id=$(printf %s "$tmp/data" | sha256sum | cut -c1-3)
  { ip netns list 2>/dev/null | awk '{ print $1 }' | grep "^sw$id" || true
    nft list tables 2>/dev/null | awk '{ print $3 }' | grep "^slipway_$id" || true; } | paste -sd' '
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_pid "$lpid" lowkey-vault || true
  stop_pid "$mpid" msi || true
  stop_pid "$spid" server || true
  local left
  left=$(server_leftovers)
  [ -z "$left" ] || echo "WARNING: left behind by the server: $left" >&2
  rm -rf "$tmp"
  echo "raw results: $raw" >&2
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; } # utime + stime
hz=$(getconf CLK_TCK)
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
tls_info() { # tls_info PORT SNI: protocol, cipher, server key of what a client negotiates
  openssl s_client -connect "127.0.0.1:$1" -servername "$2" </dev/null 2>/dev/null |
    grep -E '^(New,|Server public key|Peer signature type)' | tr -s ' ' | paste -sd';' || true
}
urlenc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }

# 1. Build the server and the driver.
echo "building slipway and bench/identity (working tree)..." >&2
timeout 300 go build -o "$tmp/slipway" ./cmd/slipway
timeout 300 go build -o "$tmp/identity" ./bench/identity
rev="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!bench' ':!docs' || echo ' + uncommitted changes')"
drv() { timeout 120 "$tmp/identity" "$@"; }

# 2. lowkey-vault's jar.
jar=''
if [ -n "${LOWKEY_VAULT_JAR:-}" ]; then
  jar=$LOWKEY_VAULT_JAR
  emit 0 lowkey jar "given: $jar"
elif command -v java >/dev/null && command -v mvn >/dev/null; then
  art=com.github.nagyesta.lowkey-vault:lowkey-vault-app:$LOWKEY_VERSION
  m2=${HOME}/.m2/repository/com/github/nagyesta/lowkey-vault/lowkey-vault-app/$LOWKEY_VERSION/lowkey-vault-app-$LOWKEY_VERSION.jar
  if timeout 300 mvn -B -q dependency:get -Dartifact="$art" -Dtransitive=false >"$tmp/mvn-get.log" 2>&1 && [ -s "$m2" ]; then
    jar=$m2
    emit 0 lowkey jar "Maven Central $art"
  elif [ -n "${LOWKEY_VAULT_SRC:-}" ]; then
    echo "lowkey-vault-app $LOWKEY_VERSION not on Maven Central here; building it from $LOWKEY_VAULT_SRC..." >&2
    timeout 600 mvn -B -q -f "$root/bench/identity/lowkey-vault/pom.xml" -DskipTests \
      -Dlowkey.src="$LOWKEY_VAULT_SRC/lowkey-vault-app/src" -Dlowkey.out="$tmp/lowkey-build" package >"$tmp/mvn-build.log" 2>&1 ||
      { echo "building lowkey-vault failed:" >&2; tail -30 "$tmp/mvn-build.log" >&2; exit 1; }
    jar=$tmp/lowkey-build/lowkey-vault-app-$LOWKEY_VERSION.jar
    emit 0 lowkey jar "built from source ($LOWKEY_VAULT_SRC, v$LOWKEY_VERSION) with bench/identity/lowkey-vault/pom.xml"
  else
    echo "lowkey-vault-app $LOWKEY_VERSION is not on Maven Central here and neither LOWKEY_VAULT_JAR nor LOWKEY_VAULT_SRC is set: measuring Slipway alone" >&2
    emit 0 lowkey jar "none: not on Maven Central here (see $tmp/mvn-get.log), no LOWKEY_VAULT_JAR or LOWKEY_VAULT_SRC"
  fi
else
  echo "no java or mvn: measuring Slipway alone" >&2
  emit 0 lowkey jar "none: no java or mvn"
fi

# 3. Slipway: service principal first (server not running), then the server, a vault, a secret,
# the role assignment, and a token for the vault.
sdata=$tmp/data
drv setup -data "$sdata" >"$tmp/sp.json"
export SLIPWAY_DATA=$sdata
"$tmp/slipway" server --data "$sdata" --http-port 0 --blob-port 0 >"$tmp/server.log" 2>&1 &
spid=$!
for _ in $(seq 1 600); do
  [ -s "$sdata/server.json" ] && grep -q "Slipway is running at" "$tmp/server.log" && break
  alive "$spid" || break
  sleep 0.2
done
grep -q "Slipway is running at" "$tmp/server.log" || { echo "server did not start:" >&2; tail -30 "$tmp/server.log" >&2; exit 1; }
port=$(jq -r .httpPort "$sdata/server.json")
cafile=$(jq -r .caFile "$sdata/server.json")
admin=$(jq -r .adminToken "$sdata/server.json")
tenant=$(jq -r .tenant "$tmp/sp.json")
slip() { timeout 120 "$tmp/slipway" "$@"; }
vault=kvbench$RANDOM
slip group create -n rg-identity-bench -l westeurope >/dev/null
slip keyvault create -g rg-identity-bench -n "$vault" >"$tmp/vault.json"
slip keyvault secret set --vault-name "$vault" -n bench --value "bench-secret-value" >/dev/null
slip role assignment create --role "Key Vault Secrets User" --scope "$(jq -r .id "$tmp/vault.json")" \
  --assignee-object-id "$(jq -r .objectId "$tmp/sp.json")" --assignee-principal-type ServicePrincipal >/dev/null
token_url="https://login.localhost:$port/$tenant/oauth2/v2.0/token"
token_body="grant_type=client_credentials&client_id=$(jq -r .appId "$tmp/sp.json")&client_secret=$(urlenc "$(jq -r .password "$tmp/sp.json")")&scope=$(urlenc https://vault.azure.net/.default)"
sp_token=$(curl -sS --max-time 10 --cacert "$cafile" --connect-to "::127.0.0.1:$port" --data "$token_body" "$token_url" | jq -r .access_token)
[ -n "$sp_token" ] && [ "$sp_token" != null ] || { echo "no token for the service principal" >&2; exit 1; }
secret_url="https://$vault.vault.localhost:$port/secrets/bench?api-version=7.5"
got=$(curl -sS --max-time 10 --cacert "$cafile" --connect-to "::127.0.0.1:$port" -H "Authorization: Bearer $sp_token" "$secret_url" | jq -r .value)
[ "$got" = bench-secret-value ] || { echo "secret get with the service principal's token: $got" >&2; exit 1; }
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$cafile" --connect-to "::127.0.0.1:$port" -H "Authorization: Bearer not-a-token" "$secret_url")
emit 0 slipway secret_with_bogus_token "HTTP $code"

# 4. Slipway's managed-identity endpoint, in a process of its own.
"$tmp/identity" msi -data "$tmp/msi-data" >"$tmp/msi.addr" 2>"$tmp/msi.log" &
mpid=$!
for _ in $(seq 1 100); do [ -s "$tmp/msi.addr" ] && break; alive "$mpid" || break; sleep 0.1; done
read -r msi_addr msi_header <"$tmp/msi.addr" || { echo "msi endpoint did not start:" >&2; cat "$tmp/msi.log" >&2; exit 1; }
msi_url="http://$msi_addr/msi/token?api-version=2019-08-01&resource=https://vault.azure.net"

# 5. lowkey-vault.
if [ -n "$jar" ]; then
  lport=$(free_port) ltport=$(free_port)
  java -Xmx512m -jar "$jar" --server.address=127.0.0.1 --server.port="$lport" --app.token.port="$ltport" \
    >"$tmp/lowkey.log" 2>&1 &
  lpid=$!
  lk_token_url="http://127.0.0.1:$ltport/metadata/identity/oauth2/token?api-version=2019-08-01&resource=https://vault.azure.net"
  for _ in $(seq 1 120); do
    curl -s -o /dev/null --max-time 2 "$lk_token_url" && break
    alive "$lpid" || break
    sleep 0.5
  done
  lk_token=$(curl -sS --max-time 10 -H "X-IDENTITY-HEADER: bench" "$lk_token_url" | jq -r .access_token) ||
    { echo "lowkey-vault did not start:" >&2; tail -30 "$tmp/lowkey.log" >&2; exit 1; }
  lk_secret_url="https://localhost:$lport/secrets/bench?api-version=7.5"
  curl -sS -k --max-time 10 --connect-to "::127.0.0.1:$lport" -X PUT -H "Authorization: Bearer $lk_token" \
    -H 'Content-Type: application/json' --data '{"value":"bench-secret-value"}' "$lk_secret_url" >/dev/null
  got=$(curl -sS -k --max-time 10 --connect-to "::127.0.0.1:$lport" -H "Authorization: Bearer $lk_token" "$lk_secret_url" | jq -r .value)
  [ "$got" = bench-secret-value ] || { echo "lowkey-vault secret get: $got" >&2; exit 1; }
  code=$(curl -s -k -o /dev/null -w '%{http_code}' --max-time 10 --connect-to "::127.0.0.1:$lport" -H "Authorization: Bearer not-a-token" "$lk_secret_url")
  emit 0 lowkey secret_with_bogus_token "HTTP $code"
  emit 0 lowkey version "$(sed -n 's/.*Starting LowkeyVaultApp \(v[^ ]*\) using \(Java [^ ]*\).*/\1 on \2/p' "$tmp/lowkey.log" | head -1)"
  emit 0 lowkey tls "$(tls_info "$lport" localhost)"
fi
emit 0 slipway tls "$(tls_info "$port" "$vault.vault.localhost")"

# measure ROUND SIDE NAME PID LOAD-ARGS...: one load, with the CPU PID used.
measure() {
  local r=$1 side=$2 name=$3 pid=$4 out c0 c1 t0 t1 n
  shift 4
  c0=$(ticks "$pid"); t0=$(now)
  local d=$D
  if [ "$r" = 0 ] && [ "$side" = lowkey ]; then d=$WARM_REF; elif [ "$r" = 0 ]; then d=$WARM; fi
  out=$("$tmp/identity" load -c "$C" -d "${d}s" -warmup 1s "$@" 2>"$results/r$r-$side-$name.err") || true
  t1=$(now); c1=$(ticks "$pid")
  echo "  $side $name: $out" >&2
  [ -s "$results/r$r-$side-$name.err" ] && sed 's/^/    /' "$results/r$r-$side-$name.err" >&2
  [ "$r" = 0 ] && return 0
  for k in rps p50_ms p99_ms errors; do emit "$r" "$side" "${name}_$k" "$(kv "$out" "$k")"; done
  n=$(kv "$out" requests)
  # CPU over the whole load (warm-up included) per request counted in the measured window:
  # scaled by the window's share of the wall time, so both sides are treated alike.
  emit "$r" "$side" "${name}_cpu_cores" "$(awk -v a="$c0" -v b="$c1" -v hz="$hz" -v s="$t0" -v e="$t1" 'BEGIN { printf "%.2f", (b - a) / hz / (e - s) }')"
  emit "$r" "$side" "${name}_cpu_us" "$(awk -v a="$c0" -v b="$c1" -v hz="$hz" -v s="$t0" -v e="$t1" -v n="${n:-0}" -v d="$D" \
    'BEGIN { printf "%.0f", (n > 0 ? (b - a) / hz * (d / (e - s)) / n * 1e6 : 0) }')"
}
run_side() { # run_side ROUND SIDE
  local r=$1
  if [ "$2" = slipway ]; then
    measure "$r" slipway token "$spid" -method POST -url "$token_url" -connect "127.0.0.1:$port" -cacert "$cafile" \
      -H "Content-Type: application/x-www-form-urlencoded" -body "$token_body" -json-field access_token
    measure "$r" slipway msi "$mpid" -url "$msi_url" -H "X-IDENTITY-HEADER: $msi_header" -json-field access_token
    measure "$r" slipway secret "$spid" -url "$secret_url" -connect "127.0.0.1:$port" -cacert "$cafile" \
      -H "Authorization: Bearer $sp_token" -json-field value
    measure "$r" slipway secret_admin "$spid" -url "$secret_url" -connect "127.0.0.1:$port" -cacert "$cafile" \
      -H "Authorization: Bearer $admin" -json-field value
  elif [ -n "$lpid" ]; then
    measure "$r" lowkey msi "$lpid" -url "$lk_token_url" -H "X-IDENTITY-HEADER: bench" -json-field access_token
    measure "$r" lowkey secret "$lpid" -url "$lk_secret_url" -connect "127.0.0.1:$lport" -insecure \
      -H "Authorization: Bearer $lk_token" -json-field value
  fi
}

emit 0 - load_average_before "$(cut -d' ' -f1-3 /proc/loadavg)"
echo "warm-up (not recorded)..." >&2
run_side 0 slipway
run_side 0 lowkey
for r in $(seq 1 "$ROUNDS"); do
  if [ "$(date +%s)" -gt "$deadline" ]; then echo "time budget spent: stopping before round $r" >&2; break; fi
  if [ $((r % 2)) = 1 ]; then order="slipway lowkey"; else order="lowkey slipway"; fi
  emit "$r" - order "${order/ /,}"
  echo "round $r: $order" >&2
  for side in $order; do run_side "$r" "$side"; done
done

emit 0 - load_average_after "$(cut -d' ' -f1-3 /proc/loadavg)"
rss() { awk '/^VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo NA; }
emit 0 slipway rss_mib "server $(rss "$spid"), msi process $(rss "$mpid")"
[ -z "$lpid" ] || emit 0 lowkey rss_mib "$(rss "$lpid") (-Xmx512m)"
stop_pid "$lpid" lowkey-vault; lpid=''
stop_pid "$mpid" msi; mpid=''
stop_pid "$spid" server; spid=''
emit 0 slipway left_behind "$(server_leftovers | sed 's/^$/nothing/')"
cp "$tmp/server.log" "$results/server.log"
[ ! -f "$tmp/lowkey.log" ] || cp "$tmp/lowkey.log" "$results/lowkey.log"

echo "## Identity platform beside lowkey-vault: $(date -u), $(nproc) cores, working tree at $rev, $(go version | cut -d' ' -f3), $(java -version 2>&1 | head -1), C=$C D=${D}s WARM=${WARM}s WARM_REF=${WARM_REF}s, $(($(date +%s) - began)) s"
python3 "$root/bench/identity/report.py" "$raw"
