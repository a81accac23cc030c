#!/usr/bin/env bash
# Blob storage benchmark, all in one run on this machine:
#   Azurite  (npm package azurite, pinned below) on a free loopback port, data in a temp dir
#   Slipway  slipway server --dev-storage, data in a temp dir on the same filesystem
# and the same client workload against both (bench/blob: the Go SDK with the development
# account's connection string): 1 KiB put and get, 64 MiB upload and download, listing
# 10,000 blobs; plus the disk's own write/read speed on that filesystem.
# Prints a Markdown table for docs/benchmarks.md. Needs the npm registry (first run).
#
# Environment: AZURITE_VERSION (default pinned below), ROUNDS (default 2),
# BENCH_TMP (parent of the temp dir; default /tmp), BENCH_ARGS (extra bench/blob flags).
set -euo pipefail
cd "$(dirname "$0")/.."
AZURITE_VERSION="${AZURITE_VERSION:-3.37.0}"
ROUNDS="${ROUNDS:-2}"
go build -o bin/slipway ./cmd/slipway
go build -o bin/blobbench ./bench/blob
work=$(mktemp -d "${BENCH_TMP:-/tmp}/slipway-blobbench.XXXXXX")
azurite=""
server=""
cleanup() {
  [ -n "$azurite" ] && kill "$azurite" 2>/dev/null
  [ -n "$server" ] && kill "$server" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# Azurite from the npm registry, into the temp dir.
mkdir -p "$work/npm" "$work/azurite-data" "$work/slipway-data"
(cd "$work/npm" && npm install --no-audit --no-fund --loglevel=error "azurite@$AZURITE_VERSION" >"$work/npm.log" 2>&1) ||
  { cat "$work/npm.log"; exit 1; }
port=$(node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });')
"$work/npm/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$port" \
  --location "$work/azurite-data" --silent --skipApiVersionCheck --loose >"$work/azurite.log" 2>&1 &
azurite=$!
up=""
for _ in $(seq 1 150); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then up=1; break; fi
  sleep 0.2
done
[ -n "$up" ] || { echo "Azurite did not start:"; cat "$work/azurite.log"; exit 1; }

# Slipway's blob service: the dev account on a port of its own (0: a free one, read back
# from server.json).
./bin/slipway server --data "$work/slipway-data" --cache-dir "$work/slipway-cache" \
  --dev-storage --blob-port 0 --http-port 0 >"$work/slipway.log" 2>&1 &
server=$!
info="$work/slipway-data/server.json"
for _ in $(seq 1 150); do [ -s "$info" ] && break; sleep 0.2; done
[ -s "$info" ] || { echo "Slipway did not start:"; cat "$work/slipway.log"; exit 1; }
blob_url=$(sed -n 's/.*"blobUrl": *"\([^"]*\)".*/\1/p' "$info")
[ -n "$blob_url" ] || { echo "no blobUrl in $info"; exit 1; }

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(free -g | awk '/^Mem:/ { print $2 " GiB" }');" \
  "filesystem: $(df -T "$work" | awk 'NR == 2 { print $2 " on " $1 }'); kernel $(uname -r)" >&2
echo "versions: azurite $AZURITE_VERSION on node $(node --version); slipway $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- internal/blob 2>/dev/null || echo '+uncommitted internal/blob'); $(go version | cut -d' ' -f3); azblob $(go list -m -f '{{.Version}}' github.com/Azure/azure-sdk-for-go/sdk/storage/azblob)" >&2
# shellcheck disable=SC2086 # BENCH_ARGS is a list of flags
./bin/blobbench -disk "$work" -rounds "$ROUNDS" \
  -target "Azurite $AZURITE_VERSION=http://127.0.0.1:$port/devstoreaccount1" \
  -target "Slipway=$blob_url/devstoreaccount1" ${BENCH_ARGS:-}
