#!/usr/bin/env bash
# Scenario 2b — one API publisher connection: a single keep-alive HTTP connection (one
# request in flight) publishes to one channel at increasing paced rates, with 1, 1,000 and
# 10,000 subscribers. An API publish is answered once the publication is accepted, never
# after its fan-out, so the rate one connection reaches should not fall with the number of
# subscribers until the deliveries themselves saturate the machine. Reported: the peak
# publications/s of a passing step (every message delivered, the rate kept) and the publish
# request latency. Gyre only.
source "$(dirname "$0")/lib.sh"
need_binaries

SUBS=${SUBS:-"1 1000 10000"}
if [ "$QUICK" = 1 ]; then SUBS="1 1000"; fi
common=(--connect-rate 5000 --channels one:pub --settle 2 --step 3 --pub-conns 1 --retries 1 --drain 3
        --no-half-peak)

for n in $SUBS; do
  case $n in
    1) ramp="1000,1.5,40000"; lag=0.5 ;;
    1000) ramp="500,1.3,20000"; lag=0.5 ;;
    *) ramp="50,1.3,4000"; lag=1 ;;
  esac
  if [ "$QUICK" = 1 ]; then ramp="500,2,2000"; fi
  log "publisher: Gyre, one API connection, $n subscribers"
  start_gyre pub '"insecure": true'
  bench "publisher-gyre-$n" broadcast "${common[@]}" -n "$n" --port "$GYRE_PORT" --server-pid "$GYRE_PID" \
    --ramp "$ramp" --max-lag "$lag"
  stop_gyre
done
log "publisher: results in $RESULTS_DIR"
