#!/usr/bin/env bash
# Data-parallel training speed: slcp, simbi.npe, 10^5 simulations, seconds per epoch of one process
# on one thread, one process on two threads, and two ranks (`simbi run --ranks 2`) on one thread
# each, at the same batch size and the same epochs, for batches of 256 (the default) and 2048;
# prints the speedups over one process and, from the estimator's debug log, where rank 0's epoch
# went (forward and backward, the gradient all-reduce, the optimizer).
# usage: bench/data_parallel.sh [SIMBI_BINARY] [WORK_DIR] [EPOCHS]
set -euo pipefail
simbi=${1:-./build/bin/simbi} work=${2:-/tmp/simbi-bench-dp} epochs=${3:-10}
simbi=$(realpath "$simbi")
mkdir -p "$work" && cd "$work"
export OMP_WAIT_POLICY=PASSIVE SIMBI_DEBUG=1
cat > m.json <<JSON
{"simbi": 1, "simulator": {"id": "sbibm.slcp"},
 "simulation": {"budget": 100000, "seed": 5, "threads": 2, "store": "slcp-1e5.h5"},
 "estimator": {"id": "simbi.npe", "config": {"threads": 1},
               "training": {"max_epochs": $epochs, "patience": 1000, "batch_size": 256}},
 "observation": {"x": [-0.9, -1.0, 0.1, 1.5, 1.3, 0.9, -0.3, -1.3]},
 "inference": {"samples": 100}, "output": "out"}
JSON
"$simbi" simulate m.json -q > /dev/null
per_epoch() {  # the estimator's own seconds per epoch, from its log line
  grep -o '([0-9.]* s/epoch)' "$1" | tail -1 | tr -d '(' | cut -d' ' -f1
}
profile() {  # rank 0's last epoch: seconds in forward and backward, all-reduce, optimizer
  grep 'rank 0: batches' "$1" | tail -1 | sed 's/.*forward and backward \([0-9.]*\) s, gradient all-reduce \([0-9.]*\) s, optimizer \([0-9.]*\) s.*/\1 \2 \3/'
}
printf "%-36s %10s %9s %28s\n" "slcp NPE, 10^5 rows" "s/epoch" "speedup" "fwd+bwd / all-reduce / opt"
for batch in 256 2048; do
  b="--set estimator.training.batch_size=$batch"
  "$simbi" run m.json --out one --force $b > one.log 2>&1
  "$simbi" run m.json --out threads --force $b --set estimator.config.threads=2 > threads.log 2>&1
  "$simbi" run m.json --out ranks --force $b --ranks 2 > ranks.log 2>&1
  one=$(per_epoch one.log) threads=$(per_epoch threads.log) ranks=$(per_epoch ranks.log)
  awk -v b="$batch" -v one="$one" -v threads="$threads" -v ranks="$ranks" -v p1="$(profile one.log)" -v p2="$(profile ranks.log)" 'BEGIN {
    split(p1, a, " "); split(p2, r, " ")
    printf "%-36s %10.3f %9.2f %10.3f %7.3f %7.3f\n", "batch " b ": 1 process, 1 thread", one, 1, a[1], a[2], a[3]
    printf "%-36s %10.3f %9.2f\n", "batch " b ": 1 process, 2 threads", threads, one / threads
    printf "%-36s %10.3f %9.2f %10.3f %7.3f %7.3f\n", "batch " b ": 2 ranks, 1 thread each", ranks, one / ranks, r[1], r[2], r[3] }'
done
