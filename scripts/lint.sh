#!/usr/bin/env bash
# Checks that every C++ file in the repository is formatted as `.clang-format` says
# (clang-format 14, Debian 12). Run by scripts/test.sh before building; `scripts/lint.sh
# --fix` rewrites the files instead.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.h' '*.cc' | grep -v '/gen/' || true)
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
bad=()
for f in "${files[@]}"; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -ne 0 ]; then
  echo "lint: ${#bad[@]} file(s) not formatted as .clang-format says (scripts/lint.sh --fix):" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "lint: ${#files[@]} files formatted"
