#!/usr/bin/env bash
# Sandbox overhead per instance (issue 8), all in one run on this machine:
#   OLD  slipway built from $OLD_REV (32c1cd1): instances on the host's loopback, no limits
#   NEW  slipway built from the working tree: per-instance network namespace (veth +
#        nftables), cgroup (B1 size), loop-mounted ext4 /home, hard-link tree of the env
# Each round runs both, one after the other (the order flips every round), each on a
# fresh server and data directory (one build cache per binary, shared across rounds, so
# pip downloads are not measured), with one B1 app running cmd/slipway/testdata/apps/hello
# (requirements: gunicorn) deployed by Kudu zipdeploy with SCM_DO_BUILD_DURING_DEPLOYMENT:
#   restart  `slipway webapp restart` until the new instance answers the readiness ping
#            (median of $RESTARTS), split with the platform log's timestamps into
#            prepare (→ "Starting container"), start (→ "initialized successfully"), tail
#   memory   after 20 requests and 3 s idle: PSS (smaps_rollup) of every process of the
#            app's user sw-<app>; the sandbox's own processes (bwrap, root) separately
#   rps      wrk -t2 -c20 -d10s --latency through the front door (Host: <app>.localhost:<port>),
#            with the CPU the app and the server used and the cgroup's throttling; then
#            wrk -d5s straight at the instance's address, without the front door
# NEW sessions then make one extra, unmeasured restart under strace to show which
# programs the server runs while preparing an instance (ip, nft, nsenter, ...).
# Prints Markdown tables per round and a summary; the raw figures stay in a results dir.
# Needs root, bubblewrap, iproute2, nftables, e2fsprogs, wrk, curl, zip, python3.
# ROUNDS (default 5, at least 3), RESTARTS (default 5); no new session starts after
# BUDGET_S (default 540) seconds. About 6-7 minutes for 5 rounds on a 2-core VM.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
[ "$(id -u)" = 0 ] || { echo "bench/sandbox.sh needs root" >&2; exit 1; }
for t in wrk curl zip bwrap ip nft strace; do
  command -v "$t" >/dev/null || { echo "missing $t (apt-get install -y wrk curl zip bubblewrap iproute2 nftables strace)" >&2; exit 1; }
done
ROUNDS=${ROUNDS:-5} RESTARTS=${RESTARTS:-5} OLD_REV=${OLD_REV:-32c1cd1}
APP=${APP:-sbbench}
PY=${PYTHON:-python3}
probe() { "$PY" "$root/bench/sandbox/probe.py" "$@"; }
began=$(date +%s)
deadline=$((began + ${BUDGET_S:-540})) # no session starts after this

tmp=$(mktemp -d /tmp/slipway-sandbox-bench.XXXXXX)
results=$(mktemp -d /tmp/slipway-sandbox-results.XXXXXX)
raw=$results/raw.tsv
: >"$raw"
spid='' sdata='' sid='' strace_pid=''
user_existed=0
id -u "sw-$APP" >/dev/null 2>&1 && user_existed=1

now() { date +%s.%N; }
alive() { # a live (not zombie) process
  local s
  s=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ -n "$s" ] && [ "$s" != Z ]
}
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
  local data=$1 id=$2 left=''
  local m
  for m in $(awk -v d="$data/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r); do
    left+=" mount:$m"; umount -l "$m" 2>/dev/null || true
  done
  if [ -d "$data/homes" ]; then
    local img dev
    for img in "$data"/homes/*.img; do
      [ -e "$img" ] || continue
      for dev in $(losetup -j "$img" 2>/dev/null | cut -d: -f1); do left+=" loop:$dev"; losetup -d "$dev" 2>/dev/null || true; done
    done
  fi
  local n
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

stop_server() {
  [ -n "$spid" ] || return 0
  local pid=$spid
  spid=''
  if alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 600); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then echo "server $pid did not stop within 60 s: SIGKILL" >&2; kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  wait "$pid" 2>/dev/null || true
  local l
  l=$(leftovers "$sdata" "$sid")
  [ "$l" = " none" ] || echo "  left behind by the server, removed:$l" >&2
  printf '%s\t%s\t%s\t%s\n' "${cur_round:-0}" "${cur_side:-?}" leftovers "${l# }" >>"$raw"
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$strace_pid" ]; then kill "$strace_pid" 2>/dev/null || true; wait "$strace_pid" 2>/dev/null || true; fi
  stop_server || true
  if [ -d "$tmp/old" ]; then rm -rf "$tmp/old"; fi
  rm -rf "$tmp"
  if [ "$user_existed" = 0 ] && id -u "sw-$APP" >/dev/null 2>&1 && ! pgrep -u "sw-$APP" >/dev/null; then
    userdel "sw-$APP" 2>/dev/null || true
  fi
  echo "raw results: $raw" >&2
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. The two binaries.
echo "building OLD ($OLD_REV) and NEW (working tree)..." >&2
mkdir -p "$tmp/old"
git archive "$OLD_REV" | tar -x -C "$tmp/old"
(cd "$tmp/old" && timeout 300 go build -o "$tmp/slipway-old" ./cmd/slipway)
rm -rf "$tmp/old"
timeout 300 go build -o "$tmp/slipway-new" ./cmd/slipway
new_rev="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!bench' ':!docs' || echo ' + uncommitted changes')"
(cd cmd/slipway/testdata/apps/hello && zip -qr "$tmp/hello.zip" .)
mkdir -p "$tmp/cache-OLD" "$tmp/cache-NEW"

emit() { printf '%s\t%s\t%s\t%s\n' "$cur_round" "$cur_side" "$1" "$2" >>"$raw"; }
kv() { sed -n "s/.*\b$2=\([^ ]*\).*/\1/p" <<<"$1"; }
median() { printf '%s\n' "$@" | grep -v NA | sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2); else print "NA" }'; }

# session SIDE ROUND: one server of one binary, one app, all measurements.
session() {
  local side=$1 r=$2 bin=$tmp/slipway-${1,,}
  cur_side=$side cur_round=$r
  local dir=$tmp/r$r-$side k=0
  mkdir -p "$dir"
  # A data dir whose server id no other server on this host uses.
  sdata=$dir/data
  sid=$(server_id "$sdata")
  while id_in_use "$sid"; do k=$((k + 1)); [ $k -lt 20 ] || { echo "no free server id" >&2; return 1; }; sdata=$dir/data$k; sid=$(server_id "$sdata"); done
  mkdir -p "$sdata"
  export SLIPWAY_DATA=$sdata SLIPWAY_CACHE_DIR=$tmp/cache-$side
  local t0 t1
  t0=$(now)
  "$bin" server --data "$sdata" --http-port 0 --blob-port 0 >"$dir/server.log" 2>&1 &
  spid=$!
  for _ in $(seq 1 900); do
    [ -s "$sdata/server.json" ] && grep -q "Slipway is running at" "$dir/server.log" && break
    alive "$spid" || break
    sleep 0.2
  done
  if ! [ -s "$sdata/server.json" ] || ! grep -q "Slipway is running at" "$dir/server.log"; then
    echo "$side server did not start:" >&2; tail -30 "$dir/server.log" >&2; return 1
  fi
  emit server_start_s "$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')"
  local port host
  port=$(jq -r .httpPort "$sdata/server.json")
  host=$APP.localhost:$port
  slip() { timeout 300 "$bin" "$@"; }
  slip group create -n "rg-$APP" -l westeurope >/dev/null
  slip appservice plan create -g "rg-$APP" -n "plan-$APP" --sku B1 --is-linux >/dev/null
  slip webapp create -g "rg-$APP" -p "plan-$APP" -n "$APP" --runtime PYTHON:3.12 >/dev/null
  slip webapp config appsettings set -g "rg-$APP" -n "$APP" --settings SCM_DO_BUILD_DURING_DEPLOYMENT=true >/dev/null
  local creds user pass code
  creds=$(slip webapp deployment list-publishing-credentials -g "rg-$APP" -n "$APP")
  user=$(jq -r .publishingUserName <<<"$creds") pass=$(jq -r .publishingPassword <<<"$creds")
  t0=$(now)
  code=$(curl -sS --max-time 300 --connect-to "::127.0.0.1:$port" -u "$user:$pass" -X POST \
    --data-binary "@$tmp/hello.zip" -o "$dir/deploy.out" -w '%{http_code}' "http://$APP.scm.localhost:$port/api/zipdeploy")
  [ "$code" = 200 ] || { echo "$side zipdeploy: HTTP $code" >&2; cat "$dir/deploy.out" >&2; tail -30 "$dir/server.log" >&2; return 1; }
  emit deploy_s "$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')"
  local body
  body=$(curl -sS --max-time 10 -H "Host: $host" "http://127.0.0.1:$port/")
  [ "$body" = "hello v1" ] || { echo "$side app answered: $body" >&2; return 1; }
  local uid
  uid=$(id -u "sw-$APP")

  # b. memory of the idle instance.
  for _ in $(seq 1 20); do curl -sS --max-time 10 -o /dev/null -H "Host: $host" "http://127.0.0.1:$port/"; done
  sleep 3
  local pss
  pss=$(probe pss "$spid" "$uid")
  echo "$pss" >"$dir/pss.txt"
  emit pss_app_mib "$(awk -v k="$(kv "$pss" app_kb)" 'BEGIN { printf "%.2f", k / 1024 }')"
  emit uss_app_mib "$(awk -v k="$(kv "$pss" app_uss_kb)" 'BEGIN { printf "%.2f", k / 1024 }')"
  emit rss_app_mib "$(awk -v k="$(kv "$pss" app_rss_kb)" 'BEGIN { printf "%.2f", k / 1024 }')"
  emit app_procs "$(kv "$pss" app_procs)"
  emit pss_sandbox_mib "$(awk -v k="$(kv "$pss" sandbox_kb)" 'BEGIN { printf "%.2f", k / 1024 }')"
  emit sandbox_procs "$(kv "$pss" sandbox_procs)"
  emit sandbox_names "$(kv "$pss" sandbox_names)"
  local base_procs
  base_procs=$(kv "$pss" app_procs)

  # c. throughput through the front door.
  # With what CPU: the app's processes and the server (front door), and whether the
  # instance's cgroup (NEW: its SKU's CPU quota) throttled it.
  local c0 c1
  c0=$(probe cpu "$spid" "$uid")
  t0=$(now)
  timeout 30 wrk -t2 -c20 -d10s --latency -H "Host: $host" "http://127.0.0.1:$port/" >"$dir/wrk.txt" 2>&1
  t1=$(now)
  c1=$(probe cpu "$spid" "$uid")
  printf '%s\n%s\n' "$c0" "$c1" >"$dir/cpu.txt"
  emit app_cpu_cores "$(awk -v a="$(kv "$c0" app_ticks)" -v b="$(kv "$c1" app_ticks)" -v hz="$(kv "$c1" hz)" -v s="$t0" -v e="$t1" 'BEGIN { printf "%.2f", (b - a) / hz / (e - s) }')"
  emit server_cpu_cores "$(awk -v a="$(kv "$c0" server_ticks)" -v b="$(kv "$c1" server_ticks)" -v hz="$(kv "$c1" hz)" -v s="$t0" -v e="$t1" 'BEGIN { printf "%.2f", (b - a) / hz / (e - s) }')"
  if [ -n "$(kv "$c1" nr_periods)" ]; then
    emit throttled_pct "$(awk -v p0="$(kv "$c0" nr_periods)" -v p1="$(kv "$c1" nr_periods)" -v t0="$(kv "$c0" nr_throttled)" -v t1="$(kv "$c1" nr_throttled)" 'BEGIN { d = p1 - p0; printf "%.0f", (d > 0 ? 100 * (t1 - t0) / d : 0) }')"
    emit cpu_quota "$(kv "$c1" quota)"
  fi
  local w
  w=$(probe wrk "$dir/wrk.txt")
  for k in rps p50_ms p99_ms errors; do emit "$k" "$(kv "$w" "$k")"; done

  # The same load straight at the instance, without the front door: on the host's
  # loopback (OLD) or over the instance's veth into its namespace (NEW).
  local addr
  addr=$(cat "$sdata/sites/$APP/home/LogFiles/"*[0-9]_docker.log | sed -n 's/.*Starting container .* (port \([0-9]*\)\(, address \([0-9.:]*\)\)\?).*/\1 \3/p' | tail -1)
  if [ -n "$addr" ]; then
    set -- $addr
    addr=${2:-127.0.0.1:$1}
    emit instance_addr "$addr"
    timeout 30 wrk -t2 -c20 -d5s --latency -H "Host: $host" "http://$addr/" >"$dir/wrk-direct.txt" 2>&1 || true
    w=$(probe wrk "$dir/wrk-direct.txt")
    emit direct_rps "$(kv "$w" rps)"
    emit direct_p50_ms "$(kv "$w" p50_ms)"
    emit direct_p99_ms "$(kv "$w" p99_ms)"
    cp "$dir/wrk-direct.txt" "$results/wrk-direct-r$r-$side.txt"
  fi

  # a. instance start to ready.
  : >"$dir/restarts.txt"
  local i
  for i in $(seq 1 "$RESTARTS"); do
    # Let the previous roll finish: old instance drained (2 s) and stopped.
    sleep 2.5
    for _ in $(seq 1 75); do [ "$(pgrep -c -u "$uid" || true)" -le "$base_procs" ] && break; sleep 0.2; done
    t0=$(now)
    slip webapp restart -g "rg-$APP" -n "$APP" >/dev/null
    t1=$(now)
    echo "$i $t0 $t1" >>"$dir/restarts.txt"
  done
  sleep 0.5 # the platform log is flushed within 200 ms
  probe restarts "$sdata/sites/$APP/home/LogFiles" "$dir/restarts.txt" >"$dir/restart-split.txt"
  local tot=() prep=() ready=() rep=() tail=() line
  while read -r line; do
    tot+=("$(kv "$line" total)") prep+=("$(kv "$line" prep)") ready+=("$(kv "$line" ready)")
    rep+=("$(kv "$line" reported)") tail+=("$(kv "$line" tail)")
  done <"$dir/restart-split.txt"
  emit restart_s "$(median "${tot[@]}")"
  emit restart_all "${tot[*]}"
  emit prep_s "$(median "${prep[@]}")"
  emit ready_s "$(median "${ready[@]}")"
  emit reported_s "$(median "${rep[@]}")"
  emit reported_all "${rep[*]}"
  emit tail_s "$(median "${tail[@]}")"

  # NEW only: one extra restart under strace (not in the figures above) to see
  # which programs the server runs to prepare an instance, and how long each takes.
  if [ "$side" = NEW ]; then
    sleep 2.5
    for _ in $(seq 1 75); do [ "$(pgrep -c -u "$uid" || true)" -le "$base_procs" ] && break; sleep 0.2; done
    strace -f -ttt -e trace=execve -e signal=none -o "$dir/strace.txt" -p "$spid" 2>/dev/null &
    strace_pid=$!
    sleep 1
    t0=$(now)
    slip webapp restart -g "rg-$APP" -n "$APP" >/dev/null
    t1=$(now)
    sleep 0.5
    kill "$strace_pid" 2>/dev/null || true; wait "$strace_pid" 2>/dev/null || true; strace_pid=''
    { echo "restart under strace: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }') s"
      probe execs "$dir/strace.txt" "$t0" "$t1"; } >"$dir/execs.txt" || true
    cp "$dir/execs.txt" "$results/execs-r$r.txt"
    # The per-instance view of the environment: how many entries a hard-link tree has,
    # and what `cp -al` of it takes (reference only; the server does it in Go, with chown).
    local venv
    venv=$(ls -d "$SLIPWAY_CACHE_DIR"/scopes/"$APP"/venvs/*/antenv 2>/dev/null | head -1 || true)
    if [ -n "$venv" ]; then
      emit venv_entries "$(find "$venv" | wc -l)"
      t0=$(now); cp -al "$venv" "$dir/cp-al"; t1=$(now); rm -rf "$dir/cp-al"
      emit cp_al_s "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
    fi
  fi
  cp "$dir/restart-split.txt" "$results/restarts-r$r-$side.txt"
  cp "$dir/wrk.txt" "$results/wrk-r$r-$side.txt"
  cp "$dir/pss.txt" "$results/pss-r$r-$side.txt"
  cp "$dir/cpu.txt" "$results/cpu-r$r-$side.txt"
  cat "$sdata/sites/$APP/home/LogFiles/"*[0-9]_docker.log >"$results/platform-r$r-$side.log" 2>/dev/null || true
  stop_server
  cp "$dir/server.log" "$results/server-r$r-$side.log"
  unset SLIPWAY_DATA SLIPWAY_CACHE_DIR
}

for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then order="OLD NEW"; else order="NEW OLD"; fi
  cur_round=$r cur_side=-
  emit order "${order/ /,}"
  for side in $order; do
    if [ "$(date +%s)" -gt "$deadline" ]; then echo "time budget spent: stopping before round $r $side" >&2; break 2; fi
    echo "round $r: $side" >&2
    session "$side" "$r"
  done
done

echo "## Sandbox overhead per instance: $(date -u), $(nproc) cores, OLD=$OLD_REV NEW=working tree at $new_rev, $ROUNDS rounds, $(($(date +%s) - began)) s"
probe report "$raw"
echo
for f in "$results"/execs-r*.txt; do [ -e "$f" ] && { echo "### ${f##*/}"; cat "$f"; }; done
echo
awk -F'\t' '$3 == "venv_entries" || $3 == "cpu_quota" || $3 == "cp_al_s" || $3 == "leftovers" || $3 == "restart_all" || $3 == "reported_all" || $3 == "sandbox_names" || $3 == "server_start_s" { print "round " $1 " " $2 " " $3 ": " $4 }' "$raw"
