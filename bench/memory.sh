#!/usr/bin/env bash
# Scenario — memory after a spike: does the server give memory back to the OS once a spike
# is over? For each allocator variant in VARIANTS, on a fresh server:
#   1. connections: gyre-bench idle, N (18,000) subscribed connections held HOLD s (their RSS
#      per connection is the figure of bench/idle.sh), then all closed at once;
#   2. API: 8 threads x 3 rounds of /api/batch, 100 history reads of 100 x 1 KB publications
#      (~10 MB responses) and 2,000 publications of 1 KB per request (bench/spike.py).
# After each spike the server's VmRSS is sampled every second for WATCH s (60). Reported:
# baseline, peak, RSS 10 / 30 / 60 s after the spike and the share of the spike returned
# ((peak - rss) / (peak - baseline)). Samples: $RESULTS_DIR/memory-<variant>-<spike>.tsv.
#
# Variants: default (the binary as built) and, for comparison on a binary built with the
# system allocator, glibc-trim (malloc_trim(0) every 5 s from a preloaded thread, built from
# bench/trim_preload.c), jemalloc (its defaults), jemalloc-bg (background_thread:true: a
# jemalloc thread returns unused pages on its own), mimalloc (Debian's libjemalloc2 /
# libmimalloc2.0, LD_PRELOAD). Environment: VARIANTS, N, HOLD, WATCH, and bench/lib.sh's.
source "$(dirname "$0")/lib.sh"
need_binaries

N=${N:-18000}
HOLD=${HOLD:-10}
WATCH=${WATCH:-60}
VARIANTS=${VARIANTS:-default}
if [ "$QUICK" = 1 ]; then N=2000; HOLD=2; WATCH=10; fi
LIBDIR=/usr/lib/x86_64-linux-gnu

variant_env() {
  case $1 in
    default) echo "" ;;
    glibc-trim)
      cc -O2 -shared -fPIC -o "$TMP/trim_preload.so" "$ROOT/bench/trim_preload.c" -lpthread
      echo "LD_PRELOAD=$TMP/trim_preload.so TRIM_INTERVAL_MS=${TRIM_INTERVAL_MS:-5000} TRIM_LOG=1" ;;
    jemalloc) echo "LD_PRELOAD=$LIBDIR/libjemalloc.so.2" ;;
    jemalloc-bg) echo "LD_PRELOAD=$LIBDIR/libjemalloc.so.2 MALLOC_CONF=background_thread:true" ;;
    mimalloc) echo "LD_PRELOAD=$LIBDIR/libmimalloc.so.2" ;;
    *) echo "unknown variant $1" >&2; exit 2 ;;
  esac
}

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$GYRE_PID/status"; }

# watch <file>: samples VmRSS every second for WATCH s into <file> (seconds, KB).
watch_rss() {
  local f=$1 i
  : > "$f"
  for i in $(seq 0 "$WATCH"); do
    echo -e "$i\t$(rss_kb)" >> "$f"
    sleep 1
  done
}

# report <variant> <spike> <baseline KB> <peak KB> <tsv>
report() {
  python3 - "$@" <<'PY'
import sys
variant, spike, base, peak, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
rows = [tuple(map(int, l.split())) for l in open(path) if l.strip()]
at = {s: kb for s, kb in rows}
peak = max([peak] + [kb for _, kb in rows])
def ret(kb):
    return 100.0 * (peak - kb) / (peak - base) if peak > base else 100.0
last = rows[-1][1]
print(f"| {variant} | {spike} | {base/1024:.1f} | {peak/1024:.1f} | "
      + " | ".join(f"{at.get(s, last)/1024:.1f}" for s in (10, 30, rows[-1][0]))
      + f" | {ret(last):.0f} % |")
PY
}

summary="$RESULTS_DIR/memory-summary.md"
echo "| variant | spike | baseline MB | peak MB | 10 s | 30 s | ${WATCH} s | returned |" > "$summary"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |" >> "$summary"
for v in $VARIANTS; do
  GYRE_ENV=$(variant_env "$v")
  export GYRE_ENV
  log "memory: $v ($GYRE_ENV)"
  GYRE_API='"key": "bench-key"' start_gyre "mem-$v" '"insecure": true' \
    '"channel": { "namespaces": [ { "name": "hist", "history_size": 1000, "history_ttl": "600s" } ] }'
  base=$(rss_kb)
  bench "memory-$v-idle" idle -n "$N" --connect-rate 5000 --channels per-conn:idle --settle 3 \
    --port "$GYRE_PORT" --server-pid "$GYRE_PID" --hold "$HOLD"
  peak=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["server_memory"]["rss_after_kb"])' \
    "$RESULTS_DIR/memory-$v-idle.json")
  watch_rss "$RESULTS_DIR/memory-$v-connections.tsv"
  report "$v" "connections ($N)" "$base" "$peak" "$RESULTS_DIR/memory-$v-connections.tsv" | tee -a "$summary"

  python3 "$ROOT/bench/spike.py" fill --port "$GYRE_PORT" --key bench-key
  sleep 2
  base=$(rss_kb)
  # The peak is sampled while the spike runs.
  peak_file="$TMP/peak"
  echo 0 > "$peak_file"
  ( while kill -0 "$GYRE_PID" 2>/dev/null; do r=$(rss_kb); [ "$r" -gt "$(cat "$peak_file")" ] && echo "$r" > "$peak_file"; sleep 0.2; done ) &
  sampler=$!
  python3 "$ROOT/bench/spike.py" api --port "$GYRE_PORT" --key bench-key
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  watch_rss "$RESULTS_DIR/memory-$v-api.tsv"
  report "$v" "API batches" "$base" "$(cat "$peak_file")" "$RESULTS_DIR/memory-$v-api.tsv" | tee -a "$summary"
  stop_gyre
  cp "$TMP/gyre-mem-$v.log" "$RESULTS_DIR/memory-$v-server.log"
done
unset GYRE_ENV
log "memory: $summary"
cat "$summary"
