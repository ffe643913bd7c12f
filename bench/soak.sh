#!/usr/bin/env bash
# Scenario — soak (issue 8): 15,000 connections for 10 minutes, each subscribed to its
# personal channel u<i> (presence, history 10 / 60 s) and to one of 10 shared channels
# feed:s<k> (presence, history 100 / 300 s, 1,500 subscribers each), 1 % of the
# connections closed and reopened every second, 1,000 publications/s through /api/batch
# (1 % to a shared channel), and a flooder of each kind running the whole time (rates in
# bench/load/flooders.hpp terms): 50,000 pings/s from a connected WebSocket that never
# reads, 100 pipelined `history` (limit 100) commands/s from a connected client that never
# reads, 10 API requests/s with a wrong key and 1 MB bodies (1/s with the right key and
# 20 MB bodies), and a slow reader of feed:s0 (1 KB per 100 ms). A flooder the server
# closes connects again after 1 s. The warm-up covers the history TTLs and the presence
# and history of 15,000 channels filling up (RSS reaches its level after ~4 min). Every 10 s: server RSS, open files,
# connections and the latency (publish -> receipt) of that window; at the end the last
# two minutes are compared with the two minutes after a 240 s warm-up (see `gyre-bench soak
# --help`). Samples: $RESULTS_DIR/soak.json; the table: $RESULTS_DIR/soak.txt.
#
# Both processes stay within 20,000 open files (ulimit -n below); the tool needs ~15,000 +
# its publisher and flooders, the server the same plus its listeners.
# Environment: N, DURATION (s), RATE (publications/s), CHURN (share per s), the flood rates
# PING_RATE, COMMAND_RATE, API_RATE, and bench/lib.sh's. QUICK=1: 2,000 connections, 60 s.
source "$(dirname "$0")/lib.sh"
need_binaries

N=${N:-15000}
DURATION=${DURATION:-600}
RATE=${RATE:-1000}
CHURN=${CHURN:-0.01}
PING_RATE=${PING_RATE:-50000}
COMMAND_RATE=${COMMAND_RATE:-100}
API_RATE=${API_RATE:-10}
WARMUP=${WARMUP:-240}
WINDOW=${WINDOW:-120}
if [ "$QUICK" = 1 ]; then N=2000; DURATION=60; WARMUP=10; WINDOW=20; fi

ulimit -n 20000
KEY=soak-bench-key
log "soak: $N connections, ${DURATION} s, churn $CHURN/s, $RATE pub/s; floods: pings $PING_RATE/s, history commands $COMMAND_RATE/s, API $API_RATE/s, a slow reader"
GYRE_API="\"key\": \"$KEY\"" start_gyre soak '"insecure": true' \
  '"channel": { "without_namespace": { "presence": true, "history_size": 10, "history_ttl": "60s" },
               "namespaces": [ { "name": "feed", "presence": true, "history_size": 100, "history_ttl": "300s" } ] }'
bench soak soak -n "$N" --connect-rate 5000 --channels personal-shared:10:feed:s --settle 3 \
  --port "$GYRE_PORT" --server-pid "$GYRE_PID" --api-key "$KEY" --duration "$DURATION" --rate "$RATE" \
  --pub-conns 4 --batch 10 --churn "$CHURN" --warmup "$WARMUP" --judge-window "$WINDOW" \
  --flood-ping-rate "$PING_RATE" --flood-command-rate "$COMMAND_RATE" --flood-history-channel feed:s1 \
  --flood-api-rate "$API_RATE" --slow-channel feed:s0 | tee "$RESULTS_DIR/soak.txt"
kill -0 "$GYRE_PID" 2>/dev/null || { log "soak: the server died"; tail -20 "$TMP/gyre-soak.log" >&2; exit 1; }
grep -ci 'error\|warn' "$TMP/gyre-soak.log" > "$RESULTS_DIR/soak-server-log-lines.txt" || true
cp "$TMP/gyre-soak.log" "$RESULTS_DIR/soak-server.log"
stop_gyre
log "soak: results in $RESULTS_DIR/soak.json"
