#!/usr/bin/env bash
# Builds the libFuzzer targets (preset `fuzz`, clang + ASan/UBSan) and runs each one for a
# bounded time: scripts/fuzz.sh [seconds-per-target] [target...]
# Seeds come from tests/fuzz/corpus/<target>/ (read-only); new inputs go to
# build-fuzz/corpus/<target>/, crashes to build-fuzz/artifacts/<target>/.
# Exits non-zero if any target finds a crash, leak, timeout or sanitizer report.
set -euo pipefail

seconds="${1:-60}"
shift || true
root="$(cd "$(dirname "$0")/.." && pwd)"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(json_command_fuzz protobuf_command_fuzz ws_frame_fuzz fossil_fuzz tags_filter_fuzz
    jwt_fuzz token_claims_fuzz resp_fuzz pb_wire_fuzz control_fuzz config_fuzz)
fi
jobs="${FUZZ_BUILD_JOBS:-2}"

cd "$root"
[ -f build-fuzz/build.ninja ] || cmake --preset fuzz >/dev/null
ninja -C build-fuzz -j"$jobs" "${targets[@]}"

status=0
for t in "${targets[@]}"; do
  work="build-fuzz/corpus/$t"
  artifacts="build-fuzz/artifacts/$t"
  mkdir -p "$work" "$artifacts"
  dict=()
  [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
  echo "== $t: ${seconds}s"
  # -rss_limit_mb / -timeout: one input must never take 2 GB or 10 s.
  # -max_len: the transport's 64 KiB message limit (also ample for tokens, replies, configs).
  # -entropic=0: libFuzzer 14's entropic scheduler spends >80% of the time in its own
  #   feature bookkeeping on these targets (measured: ~200 vs ~4000-8000 exec/s).
  if ! "build-fuzz/tests/fuzz/$t" "$work" "tests/fuzz/corpus/$t" \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -entropic=0 \
      "${dict[@]}" -artifact_prefix="$artifacts/" -print_final_stats=1; then
    echo "!! $t failed; reproduce with: build-fuzz/tests/fuzz/$t $artifacts/<file>"
    status=1
  fi
done
exit $status
