#!/usr/bin/env bash
# A swap's faithfulness: for each estimator, `simbi run` of the sbibm sample manifest with the id
# swapped in (the manifest's training keys kept) against the same with the estimator's own
# training defaults (estimator.training = {}), on the same store; C2ST at the manifest's
# observation against sbibm's reference. Prints one row per estimator; the target is
# |swap - own| <= 0.03.
# usage: bench/swap.sh [SIMBI] [TASK] [ESTIMATORS] [WORK]
set -euo pipefail
simbi=${1:-build/bin/simbi}
task=${2:-two_moons}
estimators=${3:-simbi.npe,simbi.bnpe,simbi.fmpe,simbi.npse,simbi.nre,simbi.bnre,simbi.nle}
work=${4:-/tmp/simbi-swap}
here=$(cd "$(dirname "$0")/.." && pwd)
manifest="$here/samples/sbibm/$task/manifest.json"
reference="$here/../shared/sbibm/$task/obs1/reference_posterior_samples.csv"
mkdir -p "$work"
export OMP_WAIT_POLICY=PASSIVE
printf '| estimator | swapped: epochs, s, C2ST | own defaults: epochs, s, C2ST | difference |\n|---|---|---|---|\n'
for id in ${estimators//,/ }; do
    row="| $id "
    declare -A c2st=()
    for variant in swap own; do
        extra=()
        [ "$variant" = own ] && extra=(--set 'estimator.training={}')
        out="$work/${id}_$variant"
        "$simbi" run "$manifest" -q --force --set estimator.id="$id" "${extra[@]}" --set simulation.store="$work/$task.h5" --out "$out" > /dev/null 2>&1
        epochs=$(/usr/bin/python3 -c "import json; l = json.load(open('$out/losses.json')); print(len(l['train_loss']), round(l.get('train_seconds', 0)))")
        c2st[$variant]=$("$simbi" c2st "$reference" "$out/posterior.csv" | tail -1)
        row+="| ${epochs/ /, } s, ${c2st[$variant]} "
    done
    row+="| $(/usr/bin/python3 -c "print(f'{${c2st[swap]} - ${c2st[own]}:+.3f}')") |"
    echo "$row"
done
