# Shared helpers of the benchmark scenario scripts (sourced, not run).
#
# Each scenario starts what it needs on loopback ports, runs bounded in time, stops
# everything (also on error or Ctrl-C) and writes gyre-bench JSON results into
# $RESULTS_DIR (default bench/results/<UTC time>/, git-ignored).
#   GYRE_PORT   Gyre's port (default 18700)
#   NCHAN_PORT  fixed by bench/nchan/nginx.conf: 18781
#   BENCH_NICE  nice value for the server and the tool (default 0; the machine is shared)
#   QUICK=1     smaller and shorter runs (a smoke test of the scripts)
#   BENCH_BUILD the directory of gyre and gyre-bench (default build/; e.g. a copy of an older build)
#   GYRE_ENV    environment for the server process only, e.g. "LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libmimalloc.so.2"
#   GYRE_API    members of the config's http_api block (default '"insecure": true')
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BENCH_BUILD:-"$ROOT/build"}
GYRE="$BUILD/gyre"
BENCH="$BUILD/gyre-bench"
GYRE_PORT=${GYRE_PORT:-18700}
NCHAN_PORT=18781
BENCH_NICE=${BENCH_NICE:-0}
QUICK=${QUICK:-0}
RESULTS_DIR=${RESULTS_DIR:-"$ROOT/bench/results/$(date -u +%Y%m%dT%H%M%SZ)"}
mkdir -p "$RESULTS_DIR"
TMP=$(mktemp -d /tmp/gyre-bench.XXXXXX)

GYRE_PID=""
NCHAN_PID=""

cleanup() {
  stop_gyre || true
  stop_nchan || true
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "== $(date -u +%H:%M:%S) $*  [load $(cut -d' ' -f1-3 /proc/loadavg)]" >&2; }

need_binaries() {
  for b in "$GYRE" "$BENCH"; do
    [ -x "$b" ] || { echo "missing $b: run scripts/build.sh release gyre gyre-bench" >&2; exit 2; }
  done
}

# Waits (at most 10 s) until something accepts TCP connections on 127.0.0.1:$1.
wait_port() {
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "nothing listens on 127.0.0.1:$1" >&2
  return 1
}

# Refuses to start a server on a port something already listens on: Gyre binds with
# SO_REUSEPORT, so a second instance would silently share the port with a stale one.
port_free() {
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    echo "127.0.0.1:$1 is already in use (a stale server?)" >&2
    return 1
  fi
}

# start_gyre <name> <client block members, e.g. '"insecure": true'> [more top-level members]
# Writes a Centrifugo v6 config into $TMP and starts build/gyre in the background.
start_gyre() {
  local name=$1 client=$2 extra=${3:-}
  local cfg="$TMP/gyre-$name.json"
  local api=${GYRE_API:-'"insecure": true'}
  port_free "$GYRE_PORT"
  cat > "$cfg" <<EOF
{
  ${extra:+$extra,}
  "client": { $client },
  "http_api": { $api },
  "http_server": { "address": "127.0.0.1", "port": $GYRE_PORT },
  "log": { "level": "error" },
  "gyre": { "num_event_loops": 0 }
}
EOF
  # shellcheck disable=SC2086
  env ${GYRE_ENV:-} nice -n "$BENCH_NICE" "$GYRE" -c "$cfg" > "$TMP/gyre-$name.log" 2>&1 &
  GYRE_PID=$!
  wait_port "$GYRE_PORT"
  sleep 0.5  # let the loops settle before the memory baseline
}

stop_gyre() {
  [ -n "$GYRE_PID" ] || return 0
  kill -TERM "$GYRE_PID" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$GYRE_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$GYRE_PID" 2>/dev/null || true
  wait "$GYRE_PID" 2>/dev/null || true
  GYRE_PID=""
}

# Starts nginx + Nchan with bench/nchan/nginx.conf, its prefix under $TMP.
start_nchan() {
  local prefix="$TMP/nginx"
  port_free "$NCHAN_PORT"
  mkdir -p "$prefix/tmp"
  nice -n "$BENCH_NICE" nginx -p "$prefix/" -c "$ROOT/bench/nchan/nginx.conf" -e "$prefix/error.log" \
    > "$prefix/stdout.log" 2>&1 &
  NCHAN_PID=$!
  wait_port "$NCHAN_PORT"
  sleep 0.5
}

# The master and worker pids, comma-separated (for --server-pid).
nchan_pids() {
  local workers
  workers=$(pgrep -P "$NCHAN_PID" | paste -sd, -)
  echo "$NCHAN_PID${workers:+,$workers}"
}

stop_nchan() {
  [ -n "$NCHAN_PID" ] || return 0
  kill -TERM "$NCHAN_PID" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$NCHAN_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$NCHAN_PID" 2>/dev/null || true
  wait "$NCHAN_PID" 2>/dev/null || true
  NCHAN_PID=""
}

# Percent of CPU time idle over the next second (all CPUs).
cpu_idle_percent() {
  local a b
  a=($(head -1 /proc/stat))
  sleep 1
  b=($(head -1 /proc/stat))
  local total=0 i
  for i in 1 2 3 4 5 6 7 8; do total=$(( total + b[i] - a[i] )); done
  echo $(( total > 0 ? 100 * (b[4] - a[4]) / total : 0 ))
}

# The machine is shared: before a measurement, wait (at most WAIT_QUIET s, default 60)
# until at least QUIET_IDLE % (default 70) of the CPU time is idle, and log what it was.
wait_quiet() {
  local want=${QUIET_IDLE:-70} limit=${WAIT_QUIET:-60} idle waited=0
  while :; do
    idle=$(cpu_idle_percent)
    waited=$(( waited + 1 ))
    if [ "$idle" -ge "$want" ] || [ "$waited" -ge "$limit" ]; then break; fi
  done
  log "CPU idle ${idle}% before the run (waited ${waited} s)"
}

# bench <result name> <gyre-bench args...>: runs the tool (niced like the server).
bench() {
  local name=$1
  shift
  wait_quiet
  log "$name: gyre-bench $*"
  nice -n "$BENCH_NICE" "$BENCH" "$@" --label "$name" -o "$RESULTS_DIR/$name.json"
}
