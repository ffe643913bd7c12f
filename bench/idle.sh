#!/usr/bin/env bash
# Scenario 1 — idle connections: 18,000 WebSocket connections, each subscribed to its
# own channel, held open. Server RSS per connection (difference over a fresh server's
# baseline), server CPU per idle connection per second (pings included), for Gyre
# (JSON, default 25 s pings; and 2 s pings) and nginx + Nchan (no pings; 2 s pings).
source "$(dirname "$0")/lib.sh"
need_binaries

N=${N:-18000}
HOLD=${HOLD:-30}       # > Gyre's 25 s ping interval: every connection is pinged at least once
HOLD_SHORT=${HOLD_SHORT:-10}
if [ "$QUICK" = 1 ]; then N=2000; HOLD=5; HOLD_SHORT=3; fi
common=(-n "$N" --connect-rate 5000 --channels per-conn:idle --settle 3)

log "idle: Gyre, default pings (25 s)"
start_gyre idle '"insecure": true'
bench idle-gyre idle "${common[@]}" --port "$GYRE_PORT" --server-pid "$GYRE_PID" --hold "$HOLD"
stop_gyre

log "idle: Gyre, 2 s pings"
start_gyre idle-ping '"insecure": true, "ping_interval": "2s", "pong_timeout": "1s"'
bench idle-gyre-ping2s idle "${common[@]}" --port "$GYRE_PORT" --server-pid "$GYRE_PID" --hold "$HOLD_SHORT"
stop_gyre

log "idle: nginx + Nchan, no pings"
start_nchan
bench idle-nchan idle "${common[@]}" --target nchan --port "$NCHAN_PORT" --server-pid "$(nchan_pids)" --hold "$HOLD"
stop_nchan

log "idle: nginx + Nchan, 2 s WebSocket pings"
start_nchan
bench idle-nchan-ping2s idle "${common[@]}" --target nchan --port "$NCHAN_PORT" --ws-path '/subping/{channel}' \
  --server-pid "$(nchan_pids)" --hold "$HOLD_SHORT"
stop_nchan
log "idle: results in $RESULTS_DIR"
