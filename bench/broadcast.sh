#!/usr/bin/env bash
# Scenario 2 — broadcast: 1,000 and 10,000 subscribers of one channel; publications
# through the HTTP API (/api/publish; Nchan: POST /pub/<channel>) at increasing paced
# rates until delivery falls behind. A step passes when every expected message arrived,
# the publisher kept its rate (>= 95 %), no connection was lost and the last message
# arrived within MAX_LAG of the last publication (0.5 s at 1,000 subscribers, 1 s at
# 10,000, where one publication alone is 10,000 writes). Reported: the peak delivered messages/s
# of a passing step, latency (publish -> receipt) at half that rate, and for Gyre the
# latency at 1,000 subscribers x 1,000 publications/s and at Nchan's half-peak rate (Nchan
# runs first). Gyre and Nchan in the same run.
source "$(dirname "$0")/lib.sh"
need_binaries

STEP=${STEP:-3}
SUBS=${SUBS:-"1000 10000"}
if [ "$QUICK" = 1 ]; then STEP=1; SUBS="1000"; fi
# 256 publisher connections: an API response waits for the fan-out queued before it on
# its event loop, so the publisher needs many requests in flight to offer its rate.
common=(--connect-rate 5000 --channels one:bcast --settle 2 --step "$STEP" --fixed-duration 5
        --pub-conns 256 --retries 1 --drain 3)

# Nchan's half-peak rate: the latency step of its run, which Gyre then runs too, so that the
# two latencies are compared at one rate that both sustain.
nchan_half_rate() {
  python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))
print(next((int(s["target_pub_rate"]) for s in r["steps"] if s["kind"] == "half-peak" and s["pass"]), ""))' "$1"
}

for n in $SUBS; do
  if [ "$n" -ge 10000 ]; then gyre_ramp="100,1.3,4000"; nchan_ramp="5,1.3,2000"; fixed=""; lag=1
  else gyre_ramp="500,1.3,40000"; nchan_ramp="50,1.3,20000"; fixed="1000"; lag=0.5; fi
  if [ "$QUICK" = 1 ]; then gyre_ramp="500,2,2000"; nchan_ramp="50,2,200"; fi

  log "broadcast: nginx + Nchan, $n subscribers"
  start_nchan
  bench "broadcast-nchan-$n" broadcast "${common[@]}" -n "$n" --target nchan --port "$NCHAN_PORT" \
    --server-pid "$(nchan_pids)" --ramp "$nchan_ramp" --max-lag "$lag"
  stop_nchan
  half=$(nchan_half_rate "$RESULTS_DIR/broadcast-nchan-$n.json")
  fixed=$(echo "$fixed${half:+,$half}" | sed 's/^,//')

  log "broadcast: Gyre, $n subscribers"
  start_gyre bcast '"insecure": true'
  # shellcheck disable=SC2086
  bench "broadcast-gyre-$n" broadcast "${common[@]}" -n "$n" --port "$GYRE_PORT" --server-pid "$GYRE_PID" \
    --ramp "$gyre_ramp" --max-lag "$lag" ${fixed:+--fixed "$fixed"}
  stop_gyre
done
log "broadcast: results in $RESULTS_DIR"
