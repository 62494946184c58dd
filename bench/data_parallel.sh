#!/usr/bin/env bash
# Data-parallel training speed: slcp, simbi.npe, 10^5 simulations, seconds per epoch of one process
# on one thread, one process on two threads, and two ranks (`simbi run --ranks 2`) on one thread
# each, at the same batch size and the same epochs; prints the speedups over one process.
# usage: bench/data_parallel.sh [SIMBI_BINARY] [WORK_DIR] [EPOCHS]
set -euo pipefail
simbi=${1:-./build/bin/simbi} work=${2:-/tmp/simbi-bench-dp} epochs=${3:-10}
simbi=$(realpath "$simbi")
mkdir -p "$work" && cd "$work"
export OMP_WAIT_POLICY=PASSIVE
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
"$simbi" run m.json --out one --force > one.log 2>&1
"$simbi" run m.json --out threads --force --set estimator.config.threads=2 > threads.log 2>&1
"$simbi" run m.json --out ranks --force --ranks 2 > ranks.log 2>&1
one=$(per_epoch one.log) threads=$(per_epoch threads.log) ranks=$(per_epoch ranks.log)
awk -v one="$one" -v threads="$threads" -v ranks="$ranks" 'BEGIN {
  printf "%-34s %12s %10s\n", "slcp NPE, 10^5 rows, batch 256", "s/epoch", "speedup"
  printf "%-34s %12.3f %10.2f\n", "1 process, 1 thread", one, 1
  printf "%-34s %12.3f %10.2f\n", "1 process, 2 threads", threads, one / threads
  printf "%-34s %12.3f %10.2f\n", "2 ranks, 1 thread each", ranks, one / ranks }'
