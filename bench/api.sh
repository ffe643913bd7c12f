#!/usr/bin/env bash
# Scenario 2c — the server API at wire speed: h2load (HTTP/1.1, keep-alive, one request in
# flight per connection) posts N publications of {"channel":"a","data":{"x":1}} as fast as
# answered, at 1, 16 and 128 connections, no subscribers, history on:
#   nginx + Nchan  POST /pubh/a   (nchan_message_buffer_length 10)
#   Gyre           POST /api/publish, memory engine   (history_size 10)
#   Gyre           POST /api/publish, Redis engine     (history_size 10; redis-server started
#                  here on 127.0.0.1:$REDIS_PORT, no persistence)
# The three run in turn in every repetition (so a noisy minute hits all of them), REPEAT
# times; the summary (api-summary.md, printed) gives the median requests/s of each and its
# ratio to Nchan's, the client-side request latency (p50 / p99, from h2load's per-request
# log) and the server's CPU time per request (all threads, /proc/PID/stat). At one
# connection the server handles one request at a time, so its CPU per request bounds the
# server time of a request (besides waiting for Redis). For the Redis engine the TSV also
# gives redis-server's share of that CPU, and from its INFO commandstats the EVALSHA calls
# per publication and Redis's own time per call (what the publish scripts cost in Redis).
# Environment (besides bench/lib.sh): N (default 60000), CONNS ("1 16 128"), REPEAT (3),
# SERVERS ("nchan memory redis"), REDIS_PORT (18790).
source "$(dirname "$0")/lib.sh"

N=${N:-60000}
CONNS=${CONNS:-"1 16 128"}
REPEAT=${REPEAT:-3}
SERVERS=${SERVERS:-"nchan memory redis"}
REDIS_PORT=${REDIS_PORT:-18790}
if [ "$QUICK" = 1 ]; then N=5000; REPEAT=1; fi
[ -x "$GYRE" ] || { echo "missing $GYRE: run scripts/build.sh release gyre" >&2; exit 2; }
command -v h2load >/dev/null || { echo "missing h2load: apt-get install nghttp2-client (scripts/deps.sh)" >&2; exit 2; }

REDIS_PID=""
stop_redis() {
  [ -n "$REDIS_PID" ] || return 0
  kill -TERM "$REDIS_PID" 2>/dev/null || true
  wait "$REDIS_PID" 2>/dev/null || true
  REDIS_PID=""
}
start_redis() {
  port_free "$REDIS_PORT"
  nice -n "$BENCH_NICE" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$TMP" > "$TMP/redis.log" 2>&1 &
  REDIS_PID=$!
  wait_port "$REDIS_PORT"
}
trap 'stop_redis; cleanup' EXIT

BODY="$TMP/body.json"
printf '{"channel":"a","data":{"x":1}}' > "$BODY"
HISTORY='"channel": { "without_namespace": { "history_size": 10, "history_ttl": "300s" } }'
OUT="$RESULTS_DIR/api.tsv"
[ -f "$OUT" ] || printf 'server\tconnections\trepeat\treq_per_s\tsucceeded\tp50_us\tp99_us\tserver_cpu_us_per_req\tredis_cpu_us_per_req\tevalsha_per_req\tevalsha_us_per_call\n' > "$OUT"

# CPU time (µs) of a set of processes, all threads: utime + stime from /proc/PID/stat.
cpu_us() {
  local total=0 pid t
  for pid in ${1//,/ }; do
    t=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)
    total=$(( total + t ))
  done
  echo $(( total * 1000000 / $(getconf CLK_TCK) ))
}

# EVALSHA "calls usec" from redis-server's INFO commandstats ("0 0" without Redis).
evalsha_stats() {
  [ -n "$REDIS_PID" ] || { echo "0 0"; return; }
  redis-cli -p "$REDIS_PORT" info commandstats | tr -d '\r' |
    awk -F'[:=,]' '/^cmdstat_evalsha:/ {print $3, $5; found=1} END {if (!found) print "0 0"}'
}

# measure <server> <url> <pids> <repeat>: one h2load run per connection count.
measure() {
  local server=$1 url=$2 pids=$3 rep=$4 c
  # Warm-up (connections, the channel, Redis scripts), not reported.
  h2load --h1 -n 2000 -c 4 -m 1 -t 1 -d "$BODY" -H 'Content-Type: application/json' "$url" > /dev/null
  for c in $CONNS; do
    wait_quiet
    local before after rbefore rafter ebefore eafter
    before=$(cpu_us "$pids")
    rbefore=$(cpu_us "${REDIS_PID:-0}")
    ebefore=$(evalsha_stats)
    rm -f "$TMP/requests.log"  # h2load appends to its log file
    nice -n "$BENCH_NICE" h2load --h1 -n "$N" -c "$c" -m 1 -t 1 -d "$BODY" -H 'Content-Type: application/json' \
      --log-file="$TMP/requests.log" "$url" > "$TMP/h2load.txt"
    after=$(cpu_us "$pids")
    rafter=$(cpu_us "${REDIS_PID:-0}")
    eafter=$(evalsha_stats)
    python3 - "$TMP/h2load.txt" "$TMP/requests.log" "$server" "$c" "$rep" "$(( after - before ))" \
      "$(( rafter - rbefore ))" "$ebefore" "$eafter" >> "$OUT" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
rps = float(re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", text).group(1))
ok = int(re.search(r"(\d+) succeeded", text).group(1))
lat = sorted(int(l.split()[2]) for l in open(sys.argv[2]) if l.strip() and l.split()[1].startswith("2"))
pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else 0
cpu = int(sys.argv[6]) / ok if ok else 0
rcpu = int(sys.argv[7]) / ok if ok else 0
(c0, u0), (c1, u1) = (map(int, a.split()) for a in sys.argv[8:10])
calls = c1 - c0
print("\t".join([sys.argv[3], sys.argv[4], sys.argv[5], "%.0f" % rps, str(ok), str(pct(0.5)), str(pct(0.99)),
                 "%.1f" % cpu, "%.1f" % rcpu, "%.3f" % (calls / ok if ok else 0),
                 "%.1f" % ((u1 - u0) / calls if calls else 0)]))
EOF
    log "api: $server, $c connections: $(tail -1 "$OUT" | cut -f4) req/s ($(grep -o '[0-9]* succeeded, [0-9]* failed' "$TMP/h2load.txt"))"
  done
}

for rep in $(seq 1 "$REPEAT"); do
  for s in $SERVERS; do
    case $s in
      nchan)
        start_nchan
        measure nchan "http://127.0.0.1:$NCHAN_PORT/pubh/a" "$(nchan_pids)" "$rep"
        stop_nchan ;;
      memory)
        start_gyre api-memory '"insecure": true' "$HISTORY"
        measure memory "http://127.0.0.1:$GYRE_PORT/api/publish" "$GYRE_PID" "$rep"
        stop_gyre ;;
      redis)
        start_redis
        start_gyre api-redis '"insecure": true' \
          "$HISTORY, \"engine\": { \"type\": \"redis\", \"redis\": { \"address\": \"127.0.0.1:$REDIS_PORT\" } }"
        measure redis "http://127.0.0.1:$GYRE_PORT/api/publish" "$GYRE_PID,$REDIS_PID" "$rep"
        stop_gyre
        stop_redis ;;
      *) echo "unknown server $s" >&2; exit 2 ;;
    esac
  done
done

# Median per server and connection count; ratios to Nchan.
python3 - "$OUT" > "$RESULTS_DIR/api-summary.md" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
servers = [s for s in ["nchan", "memory", "redis"] if any(r["server"] == s for r in rows)]
conns = sorted({int(r["connections"]) for r in rows})
def med(s, c, k):
    v = [float(r[k]) for r in rows if r["server"] == s and int(r["connections"]) == c]
    return statistics.median(v) if v else None
names = {"nchan": "nginx + Nchan `/pub`", "memory": "Gyre `/api/publish`, memory engine",
         "redis": "Gyre `/api/publish`, Redis engine (redis-server CPU included)"}
print("requests/s, median of %d runs (ratio to Nchan)\n" % max(int(r["repeat"]) for r in rows))
print("| server | " + " | ".join("%d conn." % c for c in conns) + " |")
print("| --- |" + " --- |" * len(conns))
for s in servers:
    cells = []
    for c in conns:
        v, n = med(s, c, "req_per_s"), med("nchan", c, "req_per_s")
        cells.append("-" if v is None else "%.1f k" % (v / 1000) + ("" if s == "nchan" or not n else " (%.2f×)" % (v / n)))
    print("| %s | %s |" % (names[s], " | ".join(cells)))
print("\nclient-side request latency p50 / p99 (µs), server CPU per request (µs, all threads)\n")
print("| server | " + " | ".join("%d conn." % c for c in conns) + " |")
print("| --- |" + " --- |" * len(conns))
for s in servers:
    cells = []
    for c in conns:
        p50, p99, cpu = med(s, c, "p50_us"), med(s, c, "p99_us"), med(s, c, "server_cpu_us_per_req")
        cell = "-" if p50 is None else "%.0f / %.0f, CPU %.1f" % (p50, p99, cpu)
        if s == "redis" and p50 is not None and "redis_cpu_us_per_req" in rows[0]:
            cell += " (redis-server %.1f; %.3f EVALSHA per publish, %.1f µs each in Redis)" % (
                med(s, c, "redis_cpu_us_per_req"), med(s, c, "evalsha_per_req"), med(s, c, "evalsha_us_per_call"))
        cells.append(cell)
    print("| %s | %s |" % (names[s], " | ".join(cells)))
EOF
cat "$RESULTS_DIR/api-summary.md"
log "api: results in $RESULTS_DIR"
