#!/usr/bin/env bash
# Installs everything Gyre needs on Debian 12 (bookworm): the compiler toolchain, the
# libraries it links, the servers its tests start (redis, nats, nginx+nchan for the
# benchmarks) and Node.js for the end-to-end tests. Safe to run again.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git clang libclang-rt-14-dev clang-format
  libboost1.81-dev libssl-dev libsimdjson-dev libspdlog-dev libfmt-dev libcli11-dev
  libyaml-cpp-dev libtomlplusplus-dev libre2-dev
  libprotobuf-dev protobuf-compiler
  # the GRPC server API (src/grpc_api): gRPC's C++ library, reflection and stub generator
  libgrpc++-dev protobuf-compiler-grpc
  libhiredis-dev libnats-dev libpq-dev
  # permessage-deflate on WebSocket (src/transport/ws_deflate.cpp)
  zlib1g-dev
  # the OTLP/HTTP span exporter (src/tracing/otlp_exporter.cpp)
  libcurl4-openssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  redis-server nats-server nginx libnginx-mod-nchan postgresql
  # bench/memory.sh and bench/allocators.sh compare glibc (what Gyre uses, with a periodic
  # malloc_trim; docs/design/memory.md) with these allocators by LD_PRELOAD.
  libjemalloc2 libmimalloc2.0
  # bench/api.sh: h2load, the HTTP/1.1 load tool the server API is measured with.
  nghttp2-client
  nodejs npm curl jq procps
  # promtool (tests/e2e/tests/metrics_compat.test.js checks the /metrics exposition with
  # it); Debian ships it only inside the prometheus server package.
  prometheus
  # The admin UI's end-to-end tests drive Debian's Chromium headless (npm playwright-core,
  # tests/e2e/lib/browser.js looks for /usr/bin/chromium).
  chromium
  # scripts/package-test.sh: a clean Debian root to install the .deb into, and lintian.
  mmdebstrap lintian
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A newer Node from elsewhere satisfies the e2e tests too.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}")
  missing=("${missing[@]/npm}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The packages start their servers as system services on some machines; the tests start
# their own instances on loopback ports.
for svc in redis-server nats-server nginx prometheus postgresql; do
  $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
echo "deps: done"
