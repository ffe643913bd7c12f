#!/usr/bin/env bash
# The whole benchmark suite in about 15 minutes on a 2-core machine: builds the release
# binaries, then micro-benchmarks, idle, broadcast, one API publisher, the server API
# against Nchan's publisher (h2load), many channels and connect storm
# (Gyre and nginx + Nchan in the same run where both apply), then the Redis and NATS
# engines, and writes bench/results/<UTC time>/summary.md (bench/results/latest points to it).
# Environment: see bench/lib.sh (GYRE_PORT, BENCH_NICE, QUICK=1 for a smoke run).
# Optional stages (off by default): MEMORY=1 runs bench/memory.sh (memory returned to the OS
# after a spike, ~4 min), SOAK=1 runs bench/soak.sh (15,000 connections with churn and
# flooders for 10 minutes).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export RESULTS_DIR=${RESULTS_DIR:-"$ROOT/bench/results/$(date -u +%Y%m%dT%H%M%SZ)"}
mkdir -p "$RESULTS_DIR"
cd "$ROOT"
scripts/build.sh release gyre gyre-bench codec_bench fanout_bench ws_frame_bench memory_broker_bench fossil_bench \
  tags_filter_bench redis_broker_bench nats_broker_bench
{ date -u; uptime; nproc; grep MemTotal /proc/meminfo; uname -r; } > "$RESULTS_DIR/machine.txt"
start=$(date +%s)
bench/micro.sh
bench/idle.sh
bench/broadcast.sh
bench/publisher.sh
bench/api.sh
bench/grpc_api.sh
bench/channels.sh
bench/storm.sh
bench/engines.sh
if [ "${MEMORY:-0}" = 1 ]; then bench/memory.sh; fi
if [ "${SOAK:-0}" = 1 ]; then bench/soak.sh; fi
uptime >> "$RESULTS_DIR/machine.txt"
echo "suite: $(( $(date +%s) - start )) s" >> "$RESULTS_DIR/machine.txt"
ln -sfn "$RESULTS_DIR" "$ROOT/bench/results/latest"
python3 bench/summarize.py "$RESULTS_DIR"
