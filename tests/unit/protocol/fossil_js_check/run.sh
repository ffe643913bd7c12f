#!/bin/sh
# Cross-checks Gyre's fossil encoder against the centrifuge JS SDK's decoder.
# Usage: run.sh <path to fossil_vectors binary> [vectors.json]
# Installs the pinned SDK (package-lock.json) into node_modules/ here on first use.
# CTest runs it as `fossil_js_check` when node and npm are found.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# Relative paths are taken from the caller's directory.
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
vectors_bin=$(abs "$1")
out=$(abs "${2:-$here/vectors.json}")

cd "$here"
installed=$(node -p "try { JSON.parse(require('fs').readFileSync('node_modules/centrifuge/package.json')).version } catch (e) { '' }")
wanted=$(node -p "require('./package.json').dependencies.centrifuge")
if [ "$installed" != "$wanted" ]; then
  npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
fi
"$vectors_bin" "$out"
node check.js "$out"
