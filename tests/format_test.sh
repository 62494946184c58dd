#!/usr/bin/env bash
# Every C and C++ file follows .clang-format: clang-format (Debian's, 14) changes nothing.
# usage: format_test.sh SOURCE_DIR
set -euo pipefail
cd "$1"
format=$(command -v clang-format || command -v clang-format-14 || true)
if [ -z "$format" ]; then
  echo "no clang-format on PATH: install Debian's clang-format (scripts/install-deps.sh does)" >&2
  exit 1
fi
files=$(find sdk framework plugins samples tests bench -type f \( -name '*.c' -o -name '*.h' -o -name '*.cpp' -o -name '*.hpp' \) \
  -not -path '*/fuzz/corpus/*' | sort)
"$format" --dry-run --Werror $files
echo "$(echo "$files" | wc -l) files follow .clang-format"
