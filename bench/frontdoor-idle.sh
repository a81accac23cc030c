#!/usr/bin/env bash
# bench/frontdoor-idle.sh: the front door's memory per idle keep-alive connection, with the app
# lane (internal/frontdoor/lane.go) and with net/http's server serving every request
# (FD_NO_LANE=1), in alternating runs. Each run opens CONNS connections (default 3000), sends one
# GET on each (go upstream), keeps them open and idle, and reads the process's VmRSS before and
# after. RUNS (default 2) pairs; bounded: every socket op has a 10 s timeout.
# Needs go and python3. Prints one line per run; docs/benchmarks.md has the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
. "$root/bench/lib.sh"
CONNS=${CONNS:-3000}
RUNS=${RUNS:-2}
tmp=$(mktemp -d)
up="" fd=""
trap 'stop_pid "$fd" front-door; stop_pid "$up" upstream; rm -rf "$tmp"' EXIT
go build -o "$tmp/fdb" ./bench/frontdoor
if [ "$(ulimit -n)" -lt $((CONNS * 2 + 100)) ]; then ulimit -n $((CONNS * 2 + 100)); fi
"$tmp/fdb" -upstream-listen 127.0.0.1:18481 >/dev/null 2>&1 &
up=$!
cat >"$tmp/idle.py" <<'PY'
import socket, sys, time
port, pid, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1])
req = b"GET / HTTP/1.1\r\nHost: go.localhost\r\n\r\n"
for _ in range(100):  # the server is up?
    try:
        socket.create_connection(("127.0.0.1", port), timeout=10).close(); break
    except OSError:
        time.sleep(0.1)
before, socks = rss(), []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(req)
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            sys.exit("connection closed before an answer")
        buf += chunk
    socks.append(s)
time.sleep(1)
after = rss()
print(f"{n} idle connections: VmRSS {before} -> {after} KiB, {(after - before) * 1024 / n:.0f} bytes each")
PY
for i in $(seq 1 "$RUNS"); do
  for mode in lane net/http; do
    if [ "$mode" = lane ]; then env "$tmp/fdb" -listen 127.0.0.1:18488 -app go=http://127.0.0.1:18481 2>/dev/null &
    else env FD_NO_LANE=1 "$tmp/fdb" -listen 127.0.0.1:18488 -app go=http://127.0.0.1:18481 2>/dev/null &
    fi
    fd=$!
    printf 'run %d %-8s ' "$i" "$mode"
    python3 "$tmp/idle.py" 18488 "$fd" "$CONNS"
    stop_pid "$fd" front-door
    fd=""
  done
done
