#!/usr/bin/env bash
# Scenario — broadcast with permessage-deflate (websocket.compression, docs/compression.md):
# 1,000 subscribers of one channel, 1 KB JSON payloads published through the HTTP API at
# increasing paced rates, once with compression off and once with it on (the subscribers
# offer permessage-deflate with client_no_context_takeover and inflate every message).
# Reported per run: the peak delivered messages/s of a passing step (same pass rule as
# broadcast.sh) and the bytes the subscribers read (gyre-bench's `bytes`), so the wire
# saving is the ratio of bytes per delivery. Target: compressed >= 50 % of uncompressed.
source "$(dirname "$0")/lib.sh"
need_binaries

N=${N:-1000}
STEP=${STEP:-3}
RAMP=${RAMP:-"500,1.3,40000"}
if [ "$QUICK" = 1 ]; then STEP=1; RAMP="500,2,2000"; fi
common=(--connect-rate 5000 --channels one:bcast --settle 2 --step "$STEP" --fixed-duration 5
        --pub-conns 256 --retries 1 --drain 3 --payload 1024 --no-half-peak -n "$N"
        --port "$GYRE_PORT" --ramp "$RAMP" --max-lag 0.5)

for mode in off on; do
  log "compression: Gyre, $N subscribers, websocket.compression $mode"
  if [ "$mode" = on ]; then
    start_gyre "deflate-$mode" '"insecure": true' '"websocket": { "compression": true }'
    bench "compression-$mode-$N" broadcast "${common[@]}" --server-pid "$GYRE_PID" --deflate
  else
    start_gyre "deflate-$mode" '"insecure": true'
    bench "compression-$mode-$N" broadcast "${common[@]}" --server-pid "$GYRE_PID"
  fi
  stop_gyre
done
log "compression: results in $RESULTS_DIR"
