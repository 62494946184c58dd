#!/usr/bin/env bash
# The report validates before it draws: under valgrind, `simbi report` on run folders whose files
# are malformed (a header wider than its rows, a short last row, figures whose arrays disagree in
# length, an unknown figure kind, a name with a comma) ends with a clear error (exit 1) or a
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

report() {  # report DIR FIGURE_JSON: a diagnostic whose report holds that one figure
  echo '{"id": "x.d", "results": {}, "report": {"headline": {"verdict": "ok", "numbers": [["n", 1]]}, "figures": ['"$2"']}}' > "$1/diagnostics/x.d.json"
}
dir=$(make_run histogram_edges)
report "$dir" '{"kind": "histogram", "counts": [1, 2, 3], "edges": [0, 1]}'
check histogram_edges 1 "figure 0 (\"histogram\"): 'edges' must hold one more value than 'counts' (4), not 2"

dir=$(make_run curve_lengths)
report "$dir" '{"kind": "curve", "x": [0.1, 0.5, 0.9], "y": [0.1, 0.5]}'
check curve_lengths 1 "'x' and 'y' differ in length (3 and 2)"

dir=$(make_run band_lengths)
report "$dir" '{"kind": "curve", "x": [0.1, 0.5], "y": [0.1, 0.5], "low": [0], "high": [1, 1]}'
check band_lengths 1 "'x' and 'low' differ in length (2 and 1)"

dir=$(make_run points_empty)
report "$dir" '{"kind": "points", "x": [], "y": []}'
check points_empty 1 "'x' is missing or empty"

dir=$(make_run labels_short)
report "$dir" '{"kind": "points", "x": [0.2, 0.4], "y": [1, 2], "labels": ["a"]}'
check labels_short 1 "'labels' must hold one string a point"

dir=$(make_run unknown_kind)
report "$dir" '{"kind": "pie", "x": [1]}'
check unknown_kind 1 "unknown kind 'pie'"

dir=$(make_run table_ragged)
report "$dir" '{"kind": "table", "columns": ["a", "b"], "rows": [[1, 2], [3]]}'
check table_ragged 1 "a row of 1 cells under 2 columns"

dir=$(make_run all_kinds)
report "$dir" '{"kind": "curve", "x": [0, 1], "y": [0, 1], "low": [0, 0.5], "high": [0.5, 1], "diagonal": true},
  {"kind": "histogram", "counts": [3, 1, 2], "band": [1, 3], "expected": 2},
  {"kind": "points", "x": [0.2, 0.9], "y": [1, 2], "labels": ["a", "b"], "flagged": [0, 1], "x_band": [0.1, 0.9], "x_line": 0.5},
  {"kind": "table", "columns": ["name", "value"], "rows": [["a", 1], ["b", null]]}'
check all_kinds 0 "plots/x.d-3.svg"

dir=$(make_run comma_name)
printf '"rate, per day",theta_2\n0.1,0.2\n0.3,0.4\n' > "$dir/posterior.csv"
check comma_name 0 "report.html"
