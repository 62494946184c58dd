#!/usr/bin/env bash
# simbi serve: the catalogue lists the cache's store and posterior and the runs this test made,
# each run links to its report.html, which opens; path traversal in every form (.., encoded,
# double-encoded, backslashes, a link out of a run folder) gets 404; the SQLite index is reused,
# rebuilt when a run is added or the index is damaged, and rebuilt by `cache reindex`; headless
# Chromium renders the page and its screenshot is kept in WORK_DIR/serve.png.
# usage: serve_test.sh SIMBI_BINARY SOURCE_DIR WORK_DIR
set -euo pipefail
simbi=$1 source=$2 work=$3
fail() { echo "FAIL: $*" >&2; exit 1; }
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || fail "no chromium on PATH (scripts/install-deps.sh installs it)"
rm -rf "$work" && mkdir -p "$work/cache/stores" "$work/cache/posteriors" "$work/runs"
chmod 755 "$work/cache" "$work/cache/stores" "$work/cache/posteriors"
echo "{\"cache\": \"$work/cache\"}" > "$work/lab.json"
export SIMBI_CONFIG="$work/lab.json" OMP_WAIT_POLICY=PASSIVE

# No store named: the runs simulate into the lab cache. The second also measures C2ST against the
# first's draws.
for name in first second; do
    c2st=""
    [ $name = second ] && c2st=", {\"id\": \"simbi.c2st\", \"config\": {\"reference\": \"$work/runs/first/posterior.csv\", \"draws\": 1000}}"
    cat > "$work/$name.json" <<JSON
{"simbi": 1, "simulator": {"id": "simbi.projectile"},
 "simulation": {"budget": 2000, "seed": ${#name}},
 "estimator": {"id": "simbi.npe", "training": {"max_epochs": 5}},
 "observation": {"x": [38.2]},
 "diagnostics": [{"id": "simbi.coverage", "config": {"pairs": 20, "samples": 50}}$c2st]}
JSON
    "$simbi" run "$work/$name.json" -q --out "$work/runs/$name" > "$work/run_$name.txt" 2>&1 ||
        { cat "$work/run_$name.txt" >&2; fail "the $name run failed"; }
done
"$simbi" artifact publish "$work/runs/first" projectile_first > /dev/null
ln -s /etc/passwd "$work/runs/first/leak.txt"   # a link out of a run folder
ln -s /etc "$work/runs/first/etc"

server_log="$work/serve.txt"
"$simbi" serve --port 0 --runs "$work/runs" > "$server_log" 2>&1 &
server=$!
trap 'kill $server 2> /dev/null || true' EXIT
for _ in $(seq 1 100); do grep -q "^serving" "$server_log" && break; sleep 0.1; done
port=$(sed -n 's|.*at http://127\.0\.0\.1:\([0-9]*\)/$|\1|p' "$server_log")
[ -n "$port" ] || { cat "$server_log" >&2; fail "serve did not say where it listens on 127.0.0.1"; }
base="http://127.0.0.1:$port"
code() { curl -s -o /dev/null -w '%{http_code}' --path-as-is "$@"; }
# Into a file, then read: `curl | grep -q` fails under pipefail when grep stops reading first.
get() { curl -s "$1" > "$work/got.txt"; cat "$work/got.txt"; }
has() { curl -s "$1" > "$work/got.txt" && grep -q "$2" "$work/got.txt"; }

catalogue=$(get "$base/catalogue.json")
/usr/bin/python3 - "$catalogue" "$work" <<'PY' || fail "the catalogue lacks what the test made"
import json, sys
c = json.loads(sys.argv[1]); work = sys.argv[2]
kinds = sorted(e["kind"] for e in c["entries"])
assert kinds == ["posterior", "run", "run", "store", "store"], kinds
runs = [e for e in c["entries"] if e["kind"] == "run"]
assert {e["name"] for e in runs} == {"first", "second"}
for e in runs:
    assert e["simulator"] == "simbi.projectile" and e["estimator"] == "simbi.npe" and e["budget"] == 2000, e
    assert e["coverage"] != "" and e["owner"] != "" and e["report"].startswith("/run/"), e
second = [e for e in runs if e["name"] == "second"][0]
assert isinstance(second["c2st"], float) and 0.4 < second["c2st"] < 1.0, second
post = [e for e in c["entries"] if e["kind"] == "posterior"][0]
assert post["name"] == "projectile_first" and post["estimator"] == "simbi.npe" and post["budget"] == 2000, post
PY
report=$(/usr/bin/python3 -c 'import json,sys; print([e for e in json.loads(sys.argv[1])["entries"] if e["name"] == "first"][0]["report"])' "$catalogue")
[ "$(code "$base$report")" = 200 ] || fail "the report link $report does not open"
has "$base$report" "<html" || fail "the report link serves no page"
run_root=${report%/report.html}
[ "$(code "$base$run_root/summary.json")" = 200 ] || fail "a run's own file is not served"

# Path traversal, in every form: all 404.
for path in "$run_root/../../../../etc/passwd" "$run_root/%2e%2e/%2e%2e/%2e%2e/etc/passwd" "$run_root/..%2f..%2f..%2fetc%2fpasswd" \
            "$run_root/%252e%252e/%252e%252e/etc/passwd" "$run_root/..%5c..%5cetc%5cpasswd" "$run_root/%2fetc%2fpasswd" \
            "$run_root/leak.txt" "$run_root/etc/passwd" "$run_root/%00report.html" "$run_root/./report.html" \
            "/run/../../etc/passwd" "/run/0000000000000000/report.html" "/etc/passwd" "/../etc/passwd" "/%2e%2e/etc/passwd"; do
    got=$(code "$base$path")
    [ "$got" = 404 ] || fail "GET $path gave $got, not 404"
done
[ "$(code -X POST "$base/")" = 405 ] || fail "POST was not refused"
[ "$(code -X DELETE "$base$report")" = 405 ] || fail "DELETE was not refused"

# The index: reused while the files stand, rebuilt when they change or it is damaged.
index="$work/cache/.simbi-index.sqlite"
[ -f "$index" ] || fail "no index was written"
has "$base/catalogue.json" '"rebuilt": false' || fail "an unchanged catalogue was not read from the index"
cp -r "$work/runs/second" "$work/runs/third"
has "$base/catalogue.json" '"name": "third"' || fail "a new run was not listed (stale index trusted)"
echo "not an sqlite file" > "$index"
has "$base/catalogue.json" '"rebuilt": true' || fail "a damaged index was not rebuilt"
"$simbi" cache reindex --runs "$work/runs" > "$work/reindex.txt" && grep -q "indexed 6 entries" "$work/reindex.txt" || fail "cache reindex"

# The page in headless Chromium: every run listed, with its report link, and a screenshot kept.
log="$work/chromium.log"
"$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --window-size=1400,700 \
    --screenshot="$work/serve.png" "$base/" > /dev/null 2> "$log" || true
"$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --dump-dom "$base/" > "$work/dom.html" 2>> "$log" || true
test -s "$work/serve.png" || { cat "$log" >&2; fail "no screenshot"; }
for name in first second third; do grep -q ">$name</a>" "$work/dom.html" || fail "the rendered page does not link the run $name"; done
grep -q 'data-entries="6"' "$work/dom.html" || fail "the rendered page does not list 6 entries"
"$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --dump-dom "$base$report" > "$work/report_dom.html" 2>> "$log" || true
grep -q "data-plots=" "$work/report_dom.html" || fail "the report did not open in the browser"
echo "serve: all checks passed; screenshot $work/serve.png"
