#!/usr/bin/env bash
# Scenario 4 — connect storm: new authenticated connections per second. Each client u<i>
# connects with its own HS256 JWT (signed by the tool, verified by Gyre) as fast as the
# server accepts them (256 connects in flight per tool thread), in 3 rounds of 15,000
# (connect all, close all). A connection counts when its connect reply arrived.
# nginx + Nchan is run the same way for reference, without any token (Nchan has no
# authentication step of its own).
source "$(dirname "$0")/lib.sh"
need_binaries

N=${N:-15000}
ROUNDS=${ROUNDS:-3}
if [ "$QUICK" = 1 ]; then N=3000; ROUNDS=2; fi
SECRET="gyre-bench-storm-secret"

log "storm: Gyre, HS256 tokens"
start_gyre storm "\"token\": { \"hmac_secret_key\": \"$SECRET\" }"
bench storm-gyre storm -n "$N" --rounds "$ROUNDS" --no-subscribe --token-secret "$SECRET" --port "$GYRE_PORT" \
  --server-pid "$GYRE_PID" --settle 1
stop_gyre

log "storm: Gyre, HS256 tokens + one subscribe per connection"
start_gyre storm-sub "\"token\": { \"hmac_secret_key\": \"$SECRET\" }" \
  '"channel": { "without_namespace": { "allow_subscribe_for_client": true } }'
bench storm-gyre-subscribe storm -n "$N" --rounds "$ROUNDS" --token-secret "$SECRET" --channels per-conn:s \
  --port "$GYRE_PORT" --server-pid "$GYRE_PID" --settle 1
stop_gyre

log "storm: nginx + Nchan (no authentication)"
start_nchan
bench storm-nchan storm -n "$N" --rounds "$ROUNDS" --target nchan --channels per-conn:s --port "$NCHAN_PORT" \
  --server-pid "$(nchan_pids)" --settle 1
stop_nchan
log "storm: results in $RESULTS_DIR"
