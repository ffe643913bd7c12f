#!/usr/bin/env bash
# The one command to try Gyre on a fresh Debian 12 machine: installs dependencies,
# builds, writes config.json with `gyre genconfig` when none exists, and runs the server.
# Extra arguments go to the server (e.g. --http_server.port 9000).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh release gyre
if [ ! -f config.json ]; then
  build/gyre genconfig -c config.json
  echo "run.sh: wrote config.json (API key and token secret inside)"
fi
exec build/gyre -c config.json "$@"
