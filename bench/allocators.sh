#!/usr/bin/env bash
# Throughput and latency of Gyre per allocator variant (the companion of bench/memory.sh,
# which measures memory): for each round and each variant in VARIANTS, on a fresh server,
#   publisher  one keep-alive API connection, 1 subscriber, paced rates rising x1.5 per 3 s
#              step: the peak publications/s (an allocation-heavy path: a request, a
#              publication and a reply each);
#   broadcast  1,000 subscribers of one channel, 5 s at 1,000 publications/s (256 API
#              connections): latency p50 / p99;
#   storm      3 rounds of 15,000 HS256-authenticated connections: connections/s.
# Variants are the ones of bench/memory.sh (default, glibc-trim, jemalloc, jemalloc-bg,
# mimalloc; LD_PRELOAD on a system-allocator binary). ROUNDS (default 2) interleaves them
# so that the machine's drift hits every variant alike; compare the spread, not one run.
source "$(dirname "$0")/lib.sh"
need_binaries

VARIANTS=${VARIANTS:-"default glibc-trim jemalloc-bg"}
ROUNDS=${ROUNDS:-2}
if [ "$QUICK" = 1 ]; then ROUNDS=1; fi
LIBDIR=/usr/lib/x86_64-linux-gnu
SECRET=allocators-bench-secret

variant_env() {
  case $1 in
    default) echo "" ;;
    glibc-trim)
      [ -f "$TMP/trim_preload.so" ] || cc -O2 -shared -fPIC -o "$TMP/trim_preload.so" "$ROOT/bench/trim_preload.c" -lpthread
      echo "LD_PRELOAD=$TMP/trim_preload.so TRIM_INTERVAL_MS=${TRIM_INTERVAL_MS:-5000}" ;;
    jemalloc) echo "LD_PRELOAD=$LIBDIR/libjemalloc.so.2" ;;
    jemalloc-bg) echo "LD_PRELOAD=$LIBDIR/libjemalloc.so.2 MALLOC_CONF=background_thread:true" ;;
    mimalloc) echo "LD_PRELOAD=$LIBDIR/libmimalloc.so.2" ;;
    *) echo "unknown variant $1" >&2; exit 2 ;;
  esac
}

# A fresh port for every server: a stopped server may leave TIME_WAIT sockets on its port.
BASE_PORT=$GYRE_PORT
starts=0
next_port() { GYRE_PORT=$(( BASE_PORT + starts % 50 )); starts=$(( starts + 1 )); }

for r in $(seq 1 "$ROUNDS"); do
  for v in $VARIANTS; do
    GYRE_ENV=$(variant_env "$v")
    export GYRE_ENV
    log "allocators: round $r, $v"
    next_port; start_gyre "alloc-$v" '"insecure": true'
    bench "alloc-$v-r$r-publisher" broadcast -n 1 --channels one:pub --pub-conns 1 --connect-rate 5000 \
      --settle 1 --step 3 --retries 1 --drain 3 --no-half-peak --ramp 1000,1.5,60000 --max-lag 0.5 \
      --port "$GYRE_PORT" --server-pid "$GYRE_PID"
    stop_gyre
    next_port; start_gyre "alloc-$v" '"insecure": true'
    bench "alloc-$v-r$r-broadcast" broadcast -n 1000 --channels one:bcast --pub-conns 256 --connect-rate 5000 \
      --settle 2 --step 5 --retries 0 --drain 3 --no-half-peak --rates 1000 --max-lag 0.5 \
      --port "$GYRE_PORT" --server-pid "$GYRE_PID"
    stop_gyre
    next_port; start_gyre "alloc-$v" "\"token\": { \"hmac_secret_key\": \"$SECRET\" }"
    bench "alloc-$v-r$r-storm" storm -n 15000 --rounds 3 --no-subscribe --token-secret "$SECRET" \
      --port "$GYRE_PORT" --server-pid "$GYRE_PID" --settle 1
    stop_gyre
  done
done
unset GYRE_ENV
python3 - "$RESULTS_DIR" $VARIANTS <<'PY'
import glob, json, os, sys
d, variants = sys.argv[1], sys.argv[2:]
print("| variant | round | one API connection: peak pub/s | 1,000 subs x 1,000 pub/s: p50 / p99 (ms) | storm: best connections/s |")
print("| --- | --- | --- | --- | --- |")
for path in sorted(glob.glob(os.path.join(d, "alloc-*-publisher.json"))):
    name = os.path.basename(path)[len("alloc-"):-len("-publisher.json")]
    v, r = name.rsplit("-r", 1)
    pub = json.load(open(path))
    bc = json.load(open(path.replace("-publisher", "-broadcast")))
    st = json.load(open(path.replace("-publisher", "-storm")))
    lat = next((s["latency"] for s in bc.get("steps", []) if s.get("latency")), {})
    best = max((x.get("connections_per_s", 0) for x in st.get("rounds", [])), default=0)
    print(f"| {v} | {r} | {pub.get('peak', {}).get('pub_rate', 0):.0f} | "
          f"{lat.get('p50_us', 0)/1e3:.1f} / {lat.get('p99_us', 0)/1e3:.1f} | {best:.0f} |")
PY
