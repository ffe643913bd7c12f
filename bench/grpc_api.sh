#!/usr/bin/env bash
# The GRPC server API against the HTTP API (docs/grpc-api.md): h2load posts N publications of
# {"channel":"a","data":{"x":1}} (history on, no subscribers) to one Gyre, memory engine:
#   http     POST /api/publish over one HTTP/1.1 keep-alive connection, one request in flight
#   grpc     /centrifugal.centrifugo.api.CentrifugoApi/Publish over one HTTP/2 connection
#            (h2c, the GRPC frame of a PublishRequest), one call in flight
#   grpc-m16 the same with 16 calls in flight on that one connection (HTTP/2 streams)
# Each runs REPEAT times, in turn. Reported: requests/s (median), the server's CPU time per
# request (all threads, /proc/PID/stat) and how many publications the server stored (the
# channel's top offset, read with the HTTP API after each run: every call must have
# published once; h2load sees GRPC errors only in trailers).
# Environment (besides bench/lib.sh): N (default 50000), REPEAT (3), GRPC_PORT (18710).
source "$(dirname "$0")/lib.sh"

N=${N:-50000}
REPEAT=${REPEAT:-3}
GRPC_PORT=${GRPC_PORT:-18710}
if [ "$QUICK" = 1 ]; then N=5000; REPEAT=1; fi
[ -x "$GYRE" ] || { echo "missing $GYRE: run scripts/build.sh release gyre" >&2; exit 2; }
command -v h2load >/dev/null || { echo "missing h2load: apt-get install nghttp2-client (scripts/deps.sh)" >&2; exit 2; }

BODY="$TMP/body.json"
printf '{"channel":"a","data":{"x":1}}' > "$BODY"
# GRPC message: 0 (not compressed), length 12 (big endian), PublishRequest{channel:"a" (1),
# data:'{"x":1}' (2)}.
GBODY="$TMP/body.grpc"
printf '\x00\x00\x00\x00\x0c\x0a\x01a\x12\x07{"x":1}' > "$GBODY"
OUT="$RESULTS_DIR/grpc_api.tsv"
[ -f "$OUT" ] || printf 'api\trepeat\treq_per_s\tsucceeded\tstored\tserver_cpu_us_per_req\n' > "$OUT"

cpu_us() {
  local t
  t=$(awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0)
  echo $(( t * 1000000 / $(getconf CLK_TCK) ))
}
top_offset() {
  curl -s -X POST -d '{"channel":"a","limit":0}' "http://127.0.0.1:$GYRE_PORT/api/history" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["result"].get("offset", 0))'
}

# run <name> <h2load arguments...>
run() {
  local name=$1 rep=$2
  shift 2
  wait_quiet
  local before after off0 off1
  off0=$(top_offset)
  before=$(cpu_us "$GYRE_PID")
  nice -n "$BENCH_NICE" h2load -n "$N" -c 1 -t 1 "$@" > "$TMP/h2load.txt"
  after=$(cpu_us "$GYRE_PID")
  off1=$(top_offset)
  python3 - "$TMP/h2load.txt" "$name" "$rep" "$(( after - before ))" "$(( off1 - off0 ))" >> "$OUT" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
rps = float(re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", text).group(1))
ok = int(re.search(r"(\d+) succeeded", text).group(1))
cpu = int(sys.argv[4]) / ok if ok else 0
print("\t".join([sys.argv[2], sys.argv[3], "%.0f" % rps, str(ok), sys.argv[5], "%.1f" % cpu]))
PY
  log "grpc_api: $name: $(tail -1 "$OUT" | cut -f3) req/s, stored $(tail -1 "$OUT" | cut -f5) of $N"
}

start_gyre grpc-api '"insecure": true' \
  "\"channel\": { \"without_namespace\": { \"history_size\": 10, \"history_ttl\": \"300s\" } }, \"grpc_api\": { \"enabled\": true, \"address\": \"127.0.0.1\", \"port\": $GRPC_PORT }"
wait_port "$GRPC_PORT"
HTTP_URL="http://127.0.0.1:$GYRE_PORT/api/publish"
GRPC_URL="http://127.0.0.1:$GRPC_PORT/centrifugal.centrifugo.api.CentrifugoApi/Publish"
GRPC_ARGS=(-d "$GBODY" -H 'content-type: application/grpc' -H 'te: trailers' "$GRPC_URL")
# Warm-up, not reported.
h2load --h1 -n 2000 -c 1 -m 1 -d "$BODY" "$HTTP_URL" > /dev/null
h2load -n 2000 -c 1 -m 1 "${GRPC_ARGS[@]}" > /dev/null
for rep in $(seq 1 "$REPEAT"); do
  run http "$rep" --h1 -m 1 -d "$BODY" -H 'Content-Type: application/json' "$HTTP_URL"
  run grpc "$rep" -m 1 "${GRPC_ARGS[@]}"
  run grpc-m16 "$rep" -m 16 "${GRPC_ARGS[@]}"
done
stop_gyre

python3 - "$OUT" > "$RESULTS_DIR/grpc_api-summary.md" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
names = {"http": "HTTP API, 1 keep-alive connection, 1 in flight",
         "grpc": "GRPC API, 1 connection, 1 call in flight",
         "grpc-m16": "GRPC API, 1 connection, 16 calls in flight"}
base = statistics.median(float(r["req_per_s"]) for r in rows if r["api"] == "http")
print("| API | publishes/s (median of %d) | vs HTTP | server CPU per publish (µs) | stored / sent |" % max(int(r["repeat"]) for r in rows))
print("| --- | --- | --- | --- | --- |")
for a in names:
    rs = [r for r in rows if r["api"] == a]
    if not rs:
        continue
    rps = statistics.median(float(r["req_per_s"]) for r in rs)
    cpu = statistics.median(float(r["server_cpu_us_per_req"]) for r in rs)
    stored = sum(int(r["stored"]) for r in rs)
    sent = sum(int(r["succeeded"]) for r in rs)
    print("| %s | %.1f k | %.2f× | %.1f | %d / %d |" % (names[a], rps / 1000, rps / base, cpu, stored, sent))
PY
cat "$RESULTS_DIR/grpc_api-summary.md"
log "grpc_api: results in $RESULTS_DIR"
