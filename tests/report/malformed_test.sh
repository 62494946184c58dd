#!/usr/bin/env bash
# The report validates before it draws: under valgrind, `simbi report` on run folders whose files
# are malformed (a header wider than its rows, a short last row, a histogram shorter than its
# shape, arrays of unequal length, a name with a comma) ends with a clear error (exit 1) or a
# report, and valgrind finds no invalid read or write.
# usage: malformed_test.sh SIMBI_BINARY WORK_DIR
set -euo pipefail
simbi=$1 work=$2
if ! command -v valgrind > /dev/null; then
  echo "no valgrind on PATH: install Debian's valgrind (scripts/install-deps.sh does)" >&2
  exit 1
fi
rm -rf "$work" && mkdir -p "$work"
make_run() {  # a run folder: marker, manifest, lock file, a small posterior
  local dir=$work/$1
  mkdir -p "$dir/diagnostics"
  echo '{"simbi_run": 1, "setup": ""}' > "$dir/.simbi-run.json"
  echo '{"simbi": 1, "simulator": {"id": "sbibm.two_moons"}, "output": "'"$dir"'"}' > "$dir/manifest.json"
  printf 'theta_1,theta_2\n0.1,0.2\n0.3,0.4\n-0.2,0.5\n' > "$dir/posterior.csv"
  echo "$dir"
}
check() {  # check NAME EXPECTED_EXIT MESSAGE
  local rc=0
  valgrind --quiet --error-exitcode=99 "$simbi" report "$work/$1" > "$work/$1.log" 2>&1 || rc=$?
  if [ "$rc" != "$2" ]; then echo "$1: exit $rc, expected $2"; cat "$work/$1.log"; exit 1; fi
  grep -q -- "$3" "$work/$1.log" || { echo "$1: no '$3' in"; cat "$work/$1.log"; exit 1; }
  echo "$1: exit $rc, $3"
}
dir=$(make_run good)
check good 0 "report.html"

dir=$(make_run wide_header)
printf 'theta_1,theta_2,extra\n0.1,0.2\n' > "$dir/posterior.csv"
check wide_header 1 "posterior.csv:2: 2 values in a row under a header of 3 names"

dir=$(make_run short_row)
printf 'theta_1,theta_2\n0.1,0.2\n0.3\n' > "$dir/posterior.csv"
check short_row 1 "posterior.csv:3: 1 values in a row under a header of 2 names"

dir=$(make_run sbc_shape)
echo '{"id": "simbi.sbc", "results": {"histogram": {"shape": [2, 10], "values": [1, 2, 3]}}}' > "$dir/diagnostics/simbi.sbc.json"
check sbc_shape 1 "result 'histogram' has shape \[2,10\] but 3 values"

dir=$(make_run sbc_rank)
echo '{"id": "simbi.sbc", "results": {"histogram": {"shape": [30], "values": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}}}' > "$dir/diagnostics/simbi.sbc.json"
check sbc_rank 1 "must have shape \[parameters, bins\]"

dir=$(make_run coverage_lengths)
echo '{"id": "simbi.coverage", "results": {"levels": {"shape": [3], "values": [0.1, 0.5, 0.9]}, "coverage": {"shape": [2], "values": [0.1, 0.5]}}}' > "$dir/diagnostics/simbi.coverage.json"
check coverage_lengths 1 "differ in length (3 and 2)"

dir=$(make_run mode_empty)
echo '{"id": "simbi.mode_convergence", "results": {"n": {"shape": [0], "values": []}, "distance": {"shape": [0], "values": []}}}' > "$dir/diagnostics/simbi.mode_convergence.json"
check mode_empty 1 "result 'n' is missing or empty"

dir=$(make_run comma_name)
printf '"rate, per day",theta_2\n0.1,0.2\n0.3,0.4\n' > "$dir/posterior.csv"
check comma_name 0 "report.html"
