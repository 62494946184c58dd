#!/usr/bin/env bash
# simbi_sda from a manifest: a small run writes its posterior trajectories and summary, the same
# manifest gives the same bytes, and bad manifests exit 2 naming what is wrong.
# usage: simbi_sda_test.sh SIMBI_SDA WORK_DIR
set -euo pipefail
sda=$1
work=$2
rm -rf "$work" && mkdir -p "$work" && cd "$work"

# A manifest with one substitution: manifest NAME KEY VALUE (KEY one of the placeholders below).
manifest() {
    local name=$1 sim=${2:-simbi.lorenz63} theta=${3:-'[10, 28, 2.6666667]'} components=${4:-'[0]'} y=${5:-'[1.0, 2.0]'} extra=${6:-}
    cat > "$name" <<JSON
{
  "simbi_sda": 1,
  "simulator": {"id": "$sim", "config": {"obs_noise": 0}, "theta": $theta},
  "training": {"simulations": 64, "epochs": 1, "batch": 256, "seed": 1},
  "score": {"k": 2, "hidden": [32, 32]},
  "observation": {"components": $components, "every": 8, "sigma": 0.4, "y": $y},
  "posterior": {"length": 16, "trajectories": 4, "steps": 8, "corrections": 1, "seed": 3$extra},
  "output": "out-${name%.json}"
}
JSON
}

fail() { echo "FAIL: $*" >&2; exit 1; }

# expect_usage NAME PATTERN: exit 2 and the message names what is wrong.
expect_usage() {
    local rc=0
    "$sda" "$1" > /dev/null 2> err.txt || rc=$?
    [ "$rc" = 2 ] || { cat err.txt >&2; fail "$1: exit $rc, expected 2"; }
    grep -q -- "$2" err.txt || { cat err.txt >&2; fail "$1: the message does not say '$2'"; }
    [ ! -e "out-${1%.json}" ] || fail "$1: wrote output despite the error"
}

manifest good.json
"$sda" good.json > stdout.txt
lines=$(wc -l < out-good/posterior.csv)
[ "$lines" = 65 ] || fail "posterior.csv has $lines lines, expected a header and 4 x 16 rows"
head -1 out-good/posterior.csv | grep -qx 'trajectory,time,x0,x1,x2' || fail "posterior.csv header"
for key in windows training_loss observed_values mean_posterior_sd observation_misfit_rms_sigmas draws_misfit_rms_sigmas invalid_simulations; do
    grep -q "\"$key\"" out-good/summary.json || fail "summary.json lacks $key"
done
grep -q '"windows": 1792' out-good/summary.json || fail "64 simulations of 32 states give 64 x 28 windows"

# Same seed, same result.
cp good.json again.json
sed -i 's/out-good/out-again/' again.json
"$sda" again.json > /dev/null
cmp out-good/posterior.csv out-again/posterior.csv || fail "the same manifest gave different trajectories"

# The score is saved with the output and reused by a run with the same simulator, training and
# score sections: same trajectories, no simulation; a changed training seed trains anew.
[ -f out-good/score/score.json ] && [ -f out-good/score/weights.pt ] || fail "the trained score was not saved"
grep -q '"score_reused": false' out-good/summary.json || fail "the first run reports a reused score"
cp out-good/posterior.csv first.csv
"$sda" good.json > /dev/null 2> reuse.txt
grep -q 'reusing the score' reuse.txt || { cat reuse.txt >&2; fail "the saved score was not reused"; }
! grep -q 'windows of' reuse.txt || fail "a reused score still simulated"
grep -q '"score_reused": true' out-good/summary.json || fail "summary does not say the score was reused"
cmp first.csv out-good/posterior.csv || fail "the reused score gave other trajectories"
sed -i 's/"seed": 1}/"seed": 2}/' good.json
"$sda" good.json > /dev/null 2> retrain.txt
grep -q 'trained on other settings' retrain.txt || { cat retrain.txt >&2; fail "a changed training did not retrain"; }
grep -q 'windows of' retrain.txt || fail "a changed training did not simulate"
sed -i 's/"seed": 2}/"seed": 1}/' good.json
# A damaged saved score is named and retrained, not taken for a score of other settings.
printf 'damaged' > out-good/score/weights.pt
"$sda" good.json > /dev/null 2> damaged.txt
grep -q 'not reusing .*training anew' damaged.txt || { cat damaged.txt >&2; fail "a damaged score was not named"; }
! grep -q 'other settings' damaged.txt || fail "a damaged score was reported as one of other settings"
grep -q 'windows of' damaged.txt || fail "a damaged score did not retrain"

# The truth, when given, yields an RMSE (16 states x 3 components).
{ echo x0,x1,x2; seq 1 48 | paste -d, - - -; } > truth.csv
manifest truth.json simbi.lorenz63 '[10, 28, 2.6666667]' '[0]' '[1.0, 2.0]' ', "truth": "truth.csv"'
"$sda" truth.json > /dev/null
grep -q '"rmse_to_truth"' out-truth/summary.json || fail "no rmse_to_truth with a truth"

# Nothing observed (the first observed state beyond the trajectory): prior trajectories.
manifest prior.json simbi.lorenz63 '[10, 28, 2.6666667]' '[0]' '[]'
sed -i 's/"every": 8,/"every": 8, "first": 16,/' prior.json
"$sda" prior.json > /dev/null
grep -q '"observed_values": 0' out-prior/summary.json || fail "an empty operator should observe nothing"
grep -q '"observation_misfit_rms_sigmas": null' out-prior/summary.json || fail "no misfit without observations"
[ "$(wc -l < out-prior/posterior.csv)" = 65 ] || fail "prior trajectories not written"

manifest count.json simbi.lorenz63 '[10, 28, 2.6666667]' '[0]' '[1.0, 2.0, 3.0]'
expect_usage count.json '/observation/y has 3 values; the operator observes 2'
manifest component.json simbi.lorenz63 '[10, 28, 2.6666667]' '[3]'
expect_usage component.json 'component 3; the state has 3'
manifest theta.json simbi.lorenz63 '[10, 28]'
expect_usage theta.json "/simulator/theta has 2 values; 'simbi.lorenz63' takes 3"
manifest shape.json sbibm.two_moons '[0, 0]'
expect_usage shape.json 'does not declare its output as a trajectory'
manifest file.json simbi.lorenz63 '[10, 28, 2.6666667]' '[0]' '"missing.csv"'
expect_usage file.json 'cannot read'
printf 'x0\n1.0\nnan\n' > bad_y.csv
manifest value.json simbi.lorenz63 '[10, 28, 2.6666667]' '[0]' '"bad_y.csv"'
expect_usage value.json "'nan'"
manifest unknown.json simbi.lorenz63 '[10, 28, 2.6666667]' '[0]' '[1.0, 2.0]' ', "colour": 1'
expect_usage unknown.json 'colour'
manifest truth_size.json simbi.lorenz63 '[10, 28, 2.6666667]' '[0]' '[1.0, 2.0]' ', "truth": [1, 2]'
expect_usage truth_size.json '/posterior/truth has 2 values'
# A manifest of another format (simbi's), or of no version.
sed '/"simbi_sda": 1,/d' good.json > version.json
sed -i 's/out-good/out-version/' version.json
expect_usage version.json '/simbi_sda: expected the simbi_sda manifest format version, 1'
rc=0; "$sda" > /dev/null 2>&1 || rc=$?; [ "$rc" = 2 ] || fail "no manifest: exit $rc, expected 2"
echo "simbi_sda: all checks passed"
