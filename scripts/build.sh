#!/usr/bin/env bash
# Configures and builds one CMake preset (default: release, the server in build/gyre).
# Usage: scripts/build.sh [release|debug|asan-ubsan|fuzz] [ninja targets...]
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
shift || true
dir=$(case "$preset" in release) echo build;; debug) echo build-debug;; asan-ubsan) echo build-asan;; fuzz) echo build-fuzz;; *) echo "unknown preset $preset" >&2; exit 2;; esac)
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
export CCACHE_BASEDIR="$PWD"
# The release preset has debug info (-g), for which ccache would also hash the build
# directory: without this, a second checkout (a worktree, CI's clean clone) reuses nothing.
export CCACHE_NOHASHDIR=1
cmake --preset "$preset" >/dev/null
ninja -C "$dir" "$@"
