#!/usr/bin/env bash
# Connect storm through the connect proxy (docs/proxy.md): like storm.sh's first scenario,
# but the clients send no token and every connect is authenticated by an HTTP backend
# (bench/proxy_backend.mjs, one Node process on 127.0.0.1) through Gyre's per-loop
# keep-alive connection pools. A connection counts when its connect reply arrived.
source "$(dirname "$0")/lib.sh"
need_binaries

N=${N:-15000}
ROUNDS=${ROUNDS:-3}
if [ "$QUICK" = 1 ]; then N=3000; ROUNDS=2; fi
BACKEND_PORT=${BACKEND_PORT:-18790}

# The same storm with HS256 tokens (storm.sh's first scenario), in the same conditions, for
# comparison.
SECRET="gyre-bench-storm-secret"
log "proxy storm: Gyre, HS256 tokens (baseline)"
start_gyre storm-jwt "\"token\": { \"hmac_secret_key\": \"$SECRET\" }"
bench storm-gyre-jwt storm -n "$N" --rounds "$ROUNDS" --no-subscribe --token-secret "$SECRET" --port "$GYRE_PORT" \
  --server-pid "$GYRE_PID" --settle 1
stop_gyre

log "proxy storm: Node backend on 127.0.0.1:$BACKEND_PORT"
port_free "$BACKEND_PORT"
PORT=$BACKEND_PORT nice -n "$BENCH_NICE" node "$(dirname "$0")/proxy_backend.mjs" > "$TMP/backend.log" 2>&1 &
BACKEND_PID=$!
wait_port "$BACKEND_PORT"

log "proxy storm: Gyre, connect proxy"
start_gyre proxy-storm "\"proxy\": { \"connect\": { \"enabled\": true, \"endpoint\": \"http://127.0.0.1:$BACKEND_PORT/connect\", \"timeout\": \"5s\" } }"
bench storm-gyre-connect-proxy storm -n "$N" --rounds "$ROUNDS" --no-subscribe --port "$GYRE_PORT" \
  --server-pid "$GYRE_PID" --settle 1
# Backend CPU over the whole run (user+sys ticks of the Node process).
read -r -a st < "/proc/$BACKEND_PID/stat"
log "proxy storm: backend CPU $(( (st[13] + st[14]) / $(getconf CLK_TCK) )) s"
stop_gyre
kill -TERM "$BACKEND_PID" 2>/dev/null || true
wait "$BACKEND_PID" 2>/dev/null || true
log "proxy storm: $(tail -1 "$TMP/backend.log"); results in $RESULTS_DIR"
