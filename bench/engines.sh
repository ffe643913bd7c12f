#!/usr/bin/env bash
# Scenario 6 — the scale-out engines (Google Benchmark, each starts its own server on a free
# loopback port): the Redis broker (redis_broker_bench: publish throughput pipelined and one
# at a time, without and with history, cross-node delivery latency through PUB/SUB) and the
# NATS broker (nats_broker_bench: publish throughput, cross-instance latency and
# throughput). Results in $RESULTS_DIR/micro-<name>.json, summarized with the
# micro-benchmarks.
source "$(dirname "$0")/lib.sh"
MIN_TIME=${MIN_TIME:-0.5}
if [ "$QUICK" = 1 ]; then MIN_TIME=0.05; fi
for b in redis_broker_bench nats_broker_bench; do
  exe="$BUILD/bench/$b"
  [ -x "$exe" ] || { echo "missing $exe (scripts/build.sh release $b)" >&2; exit 2; }
  wait_quiet
  log "engines: $b"
  nice -n "$BENCH_NICE" "$exe" --benchmark_min_time="$MIN_TIME" --benchmark_out="$RESULTS_DIR/micro-$b.json" \
    --benchmark_out_format=json | grep -E '^[a-zA-Z_]+/|^BM_|^[a-z_]+ ' || true
done
