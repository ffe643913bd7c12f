#!/usr/bin/env bash
# Scenario 5 — micro-benchmarks (Google Benchmark): codecs, hub fan-out (with the heap
# allocation counter), WebSocket frames, fossil delta, tags filter, memory broker.
# Results as JSON in $RESULTS_DIR/micro-<name>.json. MIN_TIME per benchmark (seconds).
source "$(dirname "$0")/lib.sh"
MIN_TIME=${MIN_TIME:-0.3}
if [ "$QUICK" = 1 ]; then MIN_TIME=0.05; fi
for b in codec_bench fanout_bench ws_frame_bench memory_broker_bench fossil_bench tags_filter_bench; do
  exe="$BUILD/bench/$b"
  [ -x "$exe" ] || { echo "missing $exe (scripts/build.sh release $b)" >&2; continue; }
  log "micro: $b"
  nice -n "$BENCH_NICE" "$exe" --benchmark_min_time="$MIN_TIME" --benchmark_out="$RESULTS_DIR/micro-$b.json" \
    --benchmark_out_format=json | grep -E '^(BM_|sizeof|Load)' || true
done
