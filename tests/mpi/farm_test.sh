#!/usr/bin/env bash
# The MPI simulation farm: `mpirun -n N simbi simulate` writes the same bytes as one process for
# N = 1..4, and after a kill -9 of rank 1 midway, the rerun resumes to the same bytes.
# The farm also runs isolated simulators and the Python bridge, and a rank that owns no chunk.
# usage: farm_test.sh SIMBI_BINARY SLOW_PLUGIN_DIR SOURCE_DIR WORK_DIR
set -euo pipefail
simbi=$1 slow_dir=$2 source=$3 work=$4
if ! command -v mpirun > /dev/null; then
  echo "no mpirun on PATH: install Debian's openmpi-bin (scripts/install-deps.sh does)" >&2
  exit 1
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader OMPI_MCA_plm_rsh_agent=
mpi=(mpirun --oversubscribe -n)
rm -rf "$work" && mkdir -p "$work" && cd "$work"

cat > m.json <<JSON
{"simbi": 1, "simulator": {"id": "sbibm.two_moons"},
 "simulation": {"budget": 20000, "seed": 3, "threads": 1, "chunk_rows": 1000, "store": "one.h5"}, "output": "out"}
JSON
"$simbi" simulate m.json -q > /dev/null
for n in 1 2 3 4; do
  "${mpi[@]}" "$n" "$simbi" simulate m.json -q --out "mpi$n.h5" > "mpi$n.log" 2>&1 || { cat "mpi$n.log"; exit 1; }
  cmp one.h5 "mpi$n.h5" || { echo "mpirun -n $n wrote other bytes than one process"; exit 1; }
  ls mpi$n.h5.journal* 2> /dev/null && { echo "shards were left behind"; exit 1; }
done
echo "mpirun -n 1..4: the same bytes as one process"
"${mpi[@]}" 2 "$simbi" simulate m.json -q --set simulation.isolation=process --set simulation.threads=2 --out iso.h5 > iso.log 2>&1 || { cat iso.log; exit 1; }
cmp one.h5 iso.h5 || { echo "mpirun -n 2 with process isolation wrote other bytes"; exit 1; }
echo "mpirun -n 2 with process isolation: the same bytes"
if /usr/bin/python3 -c "import numpy" 2> /dev/null; then
  cp "$source/samples/python_bridge/"{sir.py,sir.bridge.json,manifest.json} .
  "$simbi" simulate manifest.json -q --budget 400 --threads 1 --out bridge1.h5 > /dev/null
  "${mpi[@]}" 2 "$simbi" simulate manifest.json -q --budget 400 --threads 1 --out bridge2.h5 > bridge.log 2>&1 || { cat bridge.log; exit 1; }
  cmp bridge1.h5 bridge2.h5 || { echo "the Python bridge under mpirun -n 2 wrote other bytes"; exit 1; }
  echo "the Python bridge under mpirun -n 2: the same bytes"
fi

cat > slow.json <<JSON
{"simbi": 1, "plugin_paths": ["$slow_dir"], "simulator": {"id": "faulty.slow"},
 "simulation": {"budget": 6000, "seed": 4, "threads": 1, "chunk_rows": 100, "store": "slow1.h5"}, "output": "out"}
JSON
"$simbi" simulate slow.json -q > /dev/null
"${mpi[@]}" 3 "$simbi" simulate slow.json -q --out slow3.h5 > kill.log 2>&1 &
runner=$!
shard=slow3.h5.journal.rank1-of-3
for _ in $(seq 1 300); do
  [ -f "$shard" ] && [ "$(stat -c %s "$shard")" -gt 2000 ] && break
  sleep 0.02
done
victim=""
for p in $(pgrep -f "simulate slow.json" || true); do
  if tr '\0' '\n' < "/proc/$p/environ" 2> /dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1"; then victim=$p; fi
done
[ -n "$victim" ] || { echo "rank 1 was not found running"; cat kill.log; exit 1; }
kill -9 "$victim"
wait "$runner" && { echo "mpirun succeeded although rank 1 was killed"; exit 1; }
[ -f slow3.h5 ] && { echo "a store was sealed although rank 1 was killed"; exit 1; }
"${mpi[@]}" 3 "$simbi" simulate slow.json -q --out slow3.h5 > resume.log 2>&1 || { cat resume.log; exit 1; }
cmp slow1.h5 slow3.h5 || { echo "the resumed farm wrote other bytes"; exit 1; }
echo "kill -9 of rank 1, then a rerun: the same bytes"

cat > run.json <<JSON
{"simbi": 1, "simulator": {"id": "sbibm.two_moons"},
 "simulation": {"budget": 2000, "seed": 3, "threads": 1, "chunk_rows": 250, "store": "run.h5"},
 "estimator": {"id": "simbi.npe", "training": {"max_epochs": 3}}, "observation": {"x": [0.1, 0.2]},
 "inference": {"samples": 200}, "output": "run"}
JSON
if [ -f "$(dirname "$simbi")/../lib/simbi/plugins/simbi_npe.so" ]; then
  "${mpi[@]}" 2 "$simbi" run run.json -q > run.log 2>&1 || { cat run.log; exit 1; }
  grep -q "rank 1: simulated its share" run.log || { cat run.log; exit 1; }
  test -s run/summary.json
  echo "simbi run under mpirun -n 2: every rank simulated, rank 0 trained"
fi

# A rank that owns no chunk (one chunk, two ranks) writes no shard, and rank 0 never reads one:
# every run of 20 seals the one-process bytes.
cat > small.json <<JSON
{"simbi": 1, "simulator": {"id": "sbibm.two_moons"},
 "simulation": {"budget": 500, "seed": 5, "threads": 1, "chunk_rows": 1000, "store": "small1.h5"}, "output": "out"}
JSON
"$simbi" simulate small.json -q > /dev/null
for i in $(seq 1 20); do
  rm -f small2.h5*
  "${mpi[@]}" 2 "$simbi" simulate small.json -q --out small2.h5 > small.log 2>&1 || { echo "run $i of 20:"; cat small.log; exit 1; }
  cmp small1.h5 small2.h5 || { echo "run $i of 20 wrote other bytes"; exit 1; }
  ls small2.h5.journal* 2> /dev/null && { echo "run $i of 20 left a shard behind"; exit 1; }
done
echo "mpirun -n 2 with a rank that owns no chunk: 20 runs, the same bytes"
