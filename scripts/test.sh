#!/usr/bin/env bash
# The one command that runs every test (CI runs it through .ci/run):
#   1. installs dependencies (scripts/deps.sh) and checks the formatting (scripts/lint.sh),
#   2. release build: unit tests (ctest), the .deb (scripts/package-test.sh) and end-to-end
#      tests (Node, real SDKs) against build/gyre,
#   3. ASan+UBSan build: the same unit and end-to-end tests,
#   4. each libFuzzer target for a bounded time (clang).
# Set GYRE_TEST_SKIP="asan fuzz e2e package" (any subset) to skip stages locally.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
skip=" ${GYRE_TEST_SKIP:-} "
export CTEST_OUTPUT_ON_FAILURE=1
started=$(date +%s)
stage() { echo; echo "=== $* ($(( $(date +%s) - started ))s)"; }

stage "dependencies"
scripts/deps.sh
stage "formatting"
scripts/lint.sh

e2e() {
  local bin=$1
  (cd tests/e2e && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; } )
  GYRE_BIN="$root/$bin" npm --prefix tests/e2e test
}

stage "release build"
scripts/build.sh release
stage "unit tests (release)"
ctest --test-dir build -j2 --timeout 600
if [[ $skip != *" package "* ]]; then
  stage "package (.deb installed in a clean root)"
  scripts/package-test.sh
fi
if [[ $skip != *" e2e "* ]]; then
  stage "end-to-end tests (release)"
  e2e build/gyre
fi

if [[ $skip != *" asan "* ]]; then
  stage "ASan+UBSan build"
  scripts/build.sh asan-ubsan
  stage "unit tests (ASan+UBSan)"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  ctest --test-dir build-asan -j2 --timeout 900 -E fossil_js_check
  if [[ $skip != *" e2e "* ]]; then
    stage "end-to-end tests (ASan+UBSan)"
    GYRE_E2E_SLOW=1 e2e build-asan/gyre
  fi
  unset ASAN_OPTIONS UBSAN_OPTIONS
fi

if [[ $skip != *" fuzz "* ]]; then
  stage "fuzzing"
  scripts/fuzz.sh "${GYRE_FUZZ_SECONDS:-20}"
fi

stage "all tests passed"
