#!/usr/bin/env bash
# The run report renders in headless Chromium: a short projectile run with its diagnostics, simbi's
# and an out-of-tree one (samples/rmse_diagnostic), writes report.html; Chromium loads it with no
# console error, its check script counts every plot, the outside diagnostic's curve is among them,
# and a screenshot is kept in WORK_DIR/report.png.
# usage: render_test.sh SIMBI_BINARY PLUGIN_DIR SOURCE_DIR WORK_DIR SAMPLE_PLUGIN_DIR
set -euo pipefail
simbi=$1 plugins=$2 source=$3 work=$4 samples=$5
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
  echo "no chromium on PATH: install Debian's chromium package (scripts/install-deps.sh does)" >&2
  exit 1
fi
rm -rf "$work" && mkdir -p "$work"
cp "$source/samples/projectile/manifest.json" "$work/manifest.json"
"$simbi" run "$work/manifest.json" -q --plugin-path "$plugins" --plugin-path "$samples" \
  --set simulation.budget=3000 --set estimator.training.max_epochs=15 \
  --set 'diagnostics=[{"id": "simbi.coverage", "config": {"pairs": 100, "samples": 200}},
                      {"id": "simbi.sbc", "config": {"pairs": 100, "samples": 99, "bins": 10}},
                      {"id": "simbi.tarp", "config": {"pairs": 100, "samples": 200}},
                      {"id": "simbi.ppc", "config": {"draws": 200}},
                      {"id": "simbi.mode_convergence", "config": {"max_n": 8, "candidates": 256}},
                      {"id": "sample.rmse", "config": {"pairs": 50, "samples": 64}}]' \
  --set 'observation.theta=[30.0, 0.6]' --out "$work/run"
report="$work/run/report.html"
test -s "$report"
# Self-contained: nothing is fetched from elsewhere.
if grep -Eq '(src|href)="(https?:)?//' "$report"; then echo "report.html refers to an outside resource" >&2; exit 1; fi
expected=$(ls "$work/run/plots"/*.svg | wc -l)
[ "$expected" -ge 9 ] || { echo "expected 9 plots, found $expected" >&2; exit 1; }
# The outside diagnostic's curve and headline, drawn as simbi's own are.
test -s "$work/run/plots/sample.rmse-1.svg" || { echo "no figure of the out-of-tree diagnostic" >&2; exit 1; }
grep -q 'posterior-mean error' "$report" || { echo "report.html lacks the out-of-tree diagnostic's figure" >&2; exit 1; }
log="$work/chromium.log"
"$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --enable-logging=stderr --v=0 \
  --window-size=1200,5000 --screenshot="$work/report.png" "file://$report" > /dev/null 2> "$log" || true
"$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --enable-logging=stderr --v=0 \
  --dump-dom "file://$report" > "$work/dom.html" 2>> "$log" || true
test -s "$work/report.png" || { echo "no screenshot"; cat "$log"; exit 1; }
grep -q "simbi-report: $expected plots" "$log" || { echo "the report's check did not count $expected plots:"; grep CONSOLE "$log"; exit 1; }
if grep "CONSOLE" "$log" | grep -v "simbi-report: " ; then echo "console messages other than the check" >&2; exit 1; fi
grep -q "data-plots=\"$expected\"" "$work/dom.html" || { echo "the rendered DOM lacks the plots"; exit 1; }
echo "report renders: $expected plots, screenshot $work/report.png"
