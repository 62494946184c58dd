#!/usr/bin/env bash
# `simbi run` on an assimilation manifest: a small run writes its trajectories, summary and report,
# the same manifest gives the same bytes, a trained assimilator is reused only for its own setup,
# and bad manifests exit 2 naming what is wrong, writing nothing.
# usage: assimilation_run_test.sh SIMBI WORK_DIR
set -euo pipefail
simbi=$1
work=$2
rm -rf "$work" && mkdir -p "$work" && cd "$work"

fail() { echo "FAIL: $*" >&2; exit 1; }

cat > base.json <<'JSON'
{
  "simbi": 1,
  "simulator": {"id": "simbi.lorenz63", "config": {"obs_noise": 0}},
  "prior": {"type": "point", "at": [10, 28, 2.6666667]},
  "simulation": {"budget": 64, "seed": 1, "dtype": "float64"},
  "assimilation": {
    "id": "simbi.sda",
    "config": {"k": 2, "hidden": [32, 32], "steps": 8, "corrections": 1},
    "training": {"epochs": 1, "batch": 256},
    "length": 16, "trajectories": 4, "posterior_seed": 3,
    "observation": {"components": [0], "every": 8, "sigma": 0.4, "y": [1.0, 2.0]}
  }
}
JSON

# variant NAME PYTHON: base.json edited by a Python statement on the dict d, written to NAME.json
# with the output out-NAME.
variant() {
    /usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
name, edit = sys.argv[1], sys.argv[2]
d = json.load(open("base.json"))
a = d["assimilation"]
exec(edit)
d["output"] = "out-" + name
json.dump(d, open(name + ".json", "w"), indent=1)
PY
}

# expect_usage NAME PATTERN: exit 2, the message names what is wrong, nothing written.
expect_usage() {
    local rc=0
    "$simbi" run "$1.json" > /dev/null 2> err.txt || rc=$?
    [ "$rc" = 2 ] || { cat err.txt >&2; fail "$1: exit $rc, expected 2"; }
    grep -qF -- "$2" err.txt || { cat err.txt >&2; fail "$1: the message does not say '$2'"; }
    [ ! -e "out-$1" ] || fail "$1: wrote output despite the error"
}

variant good ""
"$simbi" run good.json > /dev/null 2> first.txt
lines=$(wc -l < out-good/trajectories.csv)
[ "$lines" = 65 ] || fail "trajectories.csv has $lines lines, expected a header and 4 x 16 rows"
head -1 out-good/trajectories.csv | grep -qx 'trajectory,time,x0,x1,x2' || fail "trajectories.csv header"
for key in trajectories length state_dim observed_values mean_posterior_sd observation_misfit_rms_sigmas draws_misfit_rms_sigmas \
           assimilator_reused training_trajectories; do
    grep -q "\"$key\"" out-good/summary.json || fail "summary.json lacks $key"
done
grep -q '"observed_values": 2' out-good/summary.json || fail "two entries are observed (times 0 and 8 of component 0)"
grep -q '"simbi.sda"' out-good/plugins.lock.json || fail "the assimilator is not pinned in plugins.lock.json"
grep -q 'component 0' out-good/report.html || fail "the report does not draw the trajectories"
grep -q '<svg' out-good/report.html || fail "the report has no figure"

# Same seed, same result.
variant again ""
"$simbi" run again.json > /dev/null 2>&1
cmp out-good/trajectories.csv out-again/trajectories.csv || fail "the same manifest gave different trajectories"

# Run again: the kept assimilator is reused, with the same trajectories.
cp out-good/trajectories.csv first.csv
"$simbi" run good.json > /dev/null 2> reuse.txt
grep -q 'assimilate: up to date' reuse.txt || { cat reuse.txt >&2; fail "the kept assimilator was not reused"; }
grep -q '"assimilator_reused": true' out-good/summary.json || fail "summary does not say the assimilator was reused"
cmp first.csv out-good/trajectories.csv || fail "the reused assimilator gave other trajectories"

# A sampler setting alone changed: the kept assimilator is reused, and the trajectories change.
variant steps 'a["config"]["steps"] = 12'
sed -i 's/out-steps/out-good/' steps.json
"$simbi" run steps.json > /dev/null 2> steps.txt
grep -q 'assimilate: up to date' steps.txt || { cat steps.txt >&2; fail "a changed sampler trained anew"; }
! cmp -s first.csv out-good/trajectories.csv || fail "a changed sampler gave the same trajectories"
"$simbi" run good.json > /dev/null 2>&1
cmp first.csv out-good/trajectories.csv || fail "the first sampler's trajectories did not come back"

# Another training seed into the same folder: refused (exit 1, the run kept) unless --force.
variant reseed 'a["seed"] = 2'
sed -i 's/out-reseed/out-good/' reseed.json
rc=0; "$simbi" run reseed.json > /dev/null 2> reseed.txt || rc=$?
[ "$rc" = 1 ] && grep -q 'another setup' reseed.txt || { cat reseed.txt >&2; fail "a changed setup overwrote the kept assimilator (exit $rc)"; }
cmp first.csv out-good/trajectories.csv || fail "a refused run changed the kept trajectories"
"$simbi" run --force reseed.json > /dev/null 2> force.txt
grep -q "trained 'simbi.sda'" force.txt || { cat force.txt >&2; fail "--force did not train anew"; }

# A damaged kept assimilator is named and trained anew.
"$simbi" run --force good.json > /dev/null 2>&1
printf 'damaged' > out-good/assimilator/score.json
"$simbi" run good.json > /dev/null 2> damaged.txt
grep -q 'not reusing .*training anew' damaged.txt || { cat damaged.txt >&2; fail "a damaged assimilator was not named"; }
cmp first.csv out-good/trajectories.csv || fail "retraining the same setup gave other trajectories"

# The truth, when given, yields an RMSE (16 states x 3 components).
{ echo x0,x1,x2; seq 1 48 | paste -d, - - -; } > truth.csv
variant truth 'a["truth"] = "truth.csv"'
"$simbi" run truth.json > /dev/null 2>&1
grep -q '"rmse_to_truth"' out-truth/summary.json || fail "no rmse_to_truth with a truth"

# Nothing observed (the first observed state beyond the trajectory): prior trajectories.
variant prior 'a["observation"].update(first=16, y=[])'
"$simbi" run prior.json > /dev/null 2>&1
grep -q '"observed_values": 0' out-prior/summary.json || fail "an empty operator should observe nothing"
grep -q '"observation_misfit_rms_sigmas": null' out-prior/summary.json || fail "no misfit without observations"
[ "$(wc -l < out-prior/trajectories.csv)" = 65 ] || fail "prior trajectories not written"

variant count 'a["observation"]["y"] = [1.0, 2.0, 3.0]'
expect_usage count '/assimilation/observation/y: 3 values, but the operator observes 2'
variant component 'a["observation"]["components"] = [3]'
expect_usage component 'component 3, but the state has 3'
variant theta 'd["prior"]["at"] = [10, 28]'
expect_usage theta "/prior: has 2 dimensions but simulator 'simbi.lorenz63' takes 3"
variant shape 'd["simulator"] = {"id": "sbibm.two_moons"}; d["prior"]["at"] = [0, 0]'
expect_usage shape 'does not declare its output as a trajectory'
variant file 'a["observation"]["y"] = "missing.csv"'
expect_usage file 'missing.csv: cannot read'
printf 'x0\n1.0\nnan\n' > bad_y.csv
variant value 'a["observation"]["y"] = "bad_y.csv"'
expect_usage value "'nan' is not a finite number"
variant unknown 'a["colour"] = 1'
expect_usage unknown '/assimilation/colour: unknown key'
variant setting 'a["config"]["kk"] = 1'
expect_usage setting "/assimilation/config/kk: unknown config key for plugin 'simbi.sda'"
variant training 'a["training"]["epochs"] = -1'
expect_usage training '/assimilation/training/epochs: expected an integer at least 1'
variant truth_size 'a["truth"] = [1, 2]'
expect_usage truth_size '/assimilation/truth: 2 values, not length x D = 48'
variant plugin 'a["id"] = "simbi.sdaa"'
expect_usage plugin "did you mean 'simbi.sda'?"
variant both 'd["estimator"] = {"id": "simbi.npe"}'
expect_usage both '/estimator: a run estimates parameters or assimilates trajectories'
variant diagnostics 'd["diagnostics"] = [{"id": "simbi.coverage"}]'
expect_usage diagnostics '/diagnostics: a run estimates parameters or assimilates trajectories'
variant point 'del d["assimilation"]; d["estimator"] = {"id": "simbi.npe"}'
expect_usage point '/prior: a point prior fixes the parameters'
echo "assimilation runs: all checks passed"
