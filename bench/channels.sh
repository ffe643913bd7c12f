#!/usr/bin/env bash
# Scenario 3 — many channels: 19,800 connections (the server holds ~19,900 descriptors:
# the machine's hard limit is 20,000), each subscribed to its personal channel u<i> and
# to one of 10 shared channels; publications through the batch API (100 per request) as
# fast as the server answers on 8 keep-alive connections, in two steps on the same
# connections: every publication to a random personal channel, then 1 % of them to a
# shared channel (1,980 subscribers each). Reported: API publications/s, deliveries/s,
# delivery ratio, latency. Gyre only (an Nchan connection carries one channel per URL).
source "$(dirname "$0")/lib.sh"
need_binaries

N=${N:-19800}
DURATION=${DURATION:-10}
if [ "$QUICK" = 1 ]; then N=2000; DURATION=3; fi

log "channels: Gyre, $N connections on personal + 10 shared channels"
start_gyre channels '"insecure": true'
bench channels-gyre channels -n "$N" --procs 2 --connect-rate 5000 --channels personal-shared:10:shared \
  --settle 3 --port "$GYRE_PORT" --server-pid "$GYRE_PID" --via batch --batch 100 --pub-conns 8 \
  --duration "$DURATION" --shared-ratio 0,0.01 --drain 5
stop_gyre
log "channels: results in $RESULTS_DIR"
