#!/usr/bin/env bash
# Async consumers end to end: Redis Streams and NATS JetStream into one subscribed SDK
# client — commands/s of a burst, Gyre CPU per command, latency p50/p99 at a paced rate.
# Needs build/gyre, redis-server, nats-server and tests/e2e's npm packages (npm ci there).
# N (burst, default 50000), RATE (paced commands/s, 1000), SECONDS_PACED (5).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[ -d "$root/tests/e2e/node_modules" ] || (cd "$root/tests/e2e" && npm ci --silent)
export GYRE_BIN=${GYRE_BIN:-$root/build/gyre}
# Node resolves the SDK from tests/e2e/node_modules (the helpers live there).
exec node "$root/bench/consumers.mjs"
