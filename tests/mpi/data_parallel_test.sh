#!/usr/bin/env bash
# Data-parallel training: `simbi run --ranks 2` and `mpirun -n 2 simbi run --data-parallel` give
# the one-process loss curve at the same batch size, within a relative 1e-4 per epoch (the ranks
# sum float32 gradients in another order than one process; 8 epochs measured 1e-7); a rank killed
# mid-training fails the run naming it, and the rerun resumes from rank 0's checkpoint.
# usage: data_parallel_test.sh SIMBI_BINARY WORK_DIR
set -euo pipefail
simbi=$1 work=$2
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader OMPI_MCA_plm_rsh_agent=
rm -rf "$work" && mkdir -p "$work" && cd "$work"
cat > m.json <<'JSON'
{"simbi": 1, "simulator": {"id": "sbibm.gaussian_linear"},
 "simulation": {"budget": 4000, "seed": 3, "threads": 1, "chunk_rows": 500, "store": "sims.h5"},
 "estimator": {"id": "simbi.npe", "config": {"threads": 1}, "training": {"max_epochs": 8, "patience": 100, "batch_size": 128}},
 "observation": {"x": [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]}, "inference": {"samples": 500}, "output": "one"}
JSON
same_curve() {  # losses.csv of two runs agree within a relative 1e-4
  paste -d, "$1/losses.csv" "$2/losses.csv" | awk -F, -v a="$1" -v b="$2" '
    NR > 1 { for (i = 2; i <= 3; ++i) { d = $i - $(i + 3); if (d < 0) d = -d; if (d > 1e-4 * ($i < 0 ? -$i : $i)) {
      printf "epoch %d: %s has %s, %s has %s\n", $1, a, $i, b, $(i + 3); bad = 1 } } n = NR - 1 }
    END { if (n != 8) { print "expected 8 epochs, got " n; exit 1 } exit bad }'
}
"$simbi" run m.json -q > one.log
"$simbi" run m.json -q --ranks 2 --out two > two.log
grep -q "rank 1: simulated its share and trained with the others" two.log || { cat two.log; echo "rank 1 did not train"; exit 1; }
same_curve one two
echo "--ranks 2: the one-process loss curve"
if command -v mpirun > /dev/null; then
  # rank 0 listens there; a port of its own, should another job hold the default 29500
  SIMBI_RENDEZVOUS=127.0.0.1:$((20000 + RANDOM % 20000)) \
    mpirun --oversubscribe -n 2 -x SIMBI_RENDEZVOUS "$simbi" run m.json -q --data-parallel --out mpi > mpi.log 2>&1 || { cat mpi.log; exit 1; }
  same_curve one mpi
  echo "mpirun -n 2 --data-parallel: the one-process loss curve"
fi

# A rank killed mid-training: the run fails naming it; the rerun resumes from the checkpoint.
long=(run m.json --set estimator.training.max_epochs=40 --ranks 2 --out killed)
set +e
"$simbi" "${long[@]}" > killed.log 2>&1 &
runner=$!
for _ in $(seq 1 300); do
  ls killed/checkpoint/*/state.json > /dev/null 2>&1 && break
  sleep 0.1
done
pkill -9 -f "simbi run m.json --set estimator.training.max_epochs=40 --out killed"
wait $runner
rc=$?
set -e
[ "$rc" = 1 ] || { cat killed.log; echo "a killed rank: exit $rc, expected 1"; exit 1; }
grep -q "rank 1 was killed by signal 9" killed.log || { cat killed.log; echo "the failure does not name rank 1"; exit 1; }
"$simbi" "${long[@]}" > resumed.log 2>&1 || { cat resumed.log; exit 1; }
grep -q "resuming training after epoch" resumed.log || { cat resumed.log; echo "the rerun did not resume"; exit 1; }
[ "$(tail -n +2 killed/losses.csv | wc -l)" = 40 ] || { cat killed/losses.csv; echo "the resumed run's history is not whole"; exit 1; }
echo "a killed rank fails the run naming it; the rerun resumes and completes"

# Sequential rounds train in one process.
set +e
"$simbi" run m.json -q --ranks 2 --out rounds --set estimator.training.rounds=2 > rounds.log 2>&1
rc=$?
set -e
[ "$rc" != 0 ] && grep -q "sequential rounds train in one process" rounds.log || { cat rounds.log; echo "rounds with ranks: exit $rc"; exit 1; }
echo "sequential rounds with ranks are refused"
