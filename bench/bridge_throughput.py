#!/usr/bin/env python3
"""Rows per second through the process bridge, against the same numpy code run in-process.

The simulator is trivial on purpose (x = theta + noise, two outputs), so the figure is the
bridge's own cost: the protocol, the worker process and simbi's store, at batch 1024 on one
worker. Both sides seed a numpy Generator per row, as samples/python_bridge/simbi_bridge.py does.
Run from the repository root after scripts/build.sh, with Debian's python3-numpy:

  /usr/bin/python3 bench/bridge_throughput.py [rows, default 200000]
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRIVIAL = '''
import simbi_bridge
def simulate(theta, rng):
    return theta + rng.normal(size=2)
simbi_bridge.serve(simulate, parameters=["a", "b"], outputs=2)
'''


def main():
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
    work = tempfile.mkdtemp(prefix="simbi-bridge-bench-")
    try:
        shutil.copy(os.path.join(ROOT, "samples", "python_bridge", "simbi_bridge.py"), work)
        with open(os.path.join(work, "trivial.py"), "w") as f:
            f.write(TRIVIAL)
        json.dump({"id": "bench.trivial", "command": [sys.executable, "trivial.py"], "parameters": ["a", "b"], "outputs": 2,
                   "prior": {"type": "box_uniform", "low": [0, 0], "high": [1, 1]}}, open(os.path.join(work, "trivial.bridge.json"), "w"))
        json.dump({"simbi": 1, "plugin_paths": ["."], "simulator": {"id": "bench.trivial"},
                   "simulation": {"budget": rows, "seed": 1, "threads": 1, "batch_size": 1024, "store": "s.h5"}, "output": "out"},
                  open(os.path.join(work, "m.json"), "w"))

        theta = np.random.default_rng(0).uniform(size=(rows, 2))
        t0 = time.time()
        for i in range(rows):
            rng = np.random.default_rng([1, i])
            theta[i] + rng.normal(size=2)
        in_process = time.time() - t0

        t0 = time.time()
        r = subprocess.run([os.path.join(ROOT, "build", "bin", "simbi"), "simulate", os.path.join(work, "m.json")], capture_output=True, text=True)
        bridge = time.time() - t0
        if r.returncode != 0:
            sys.exit(r.stderr)
        print(f"{rows} rows, batch 1024, one worker: in-process numpy {rows / in_process:.0f} rows/s, through the bridge "
              f"{rows / bridge:.0f} rows/s (bridge/in-process {in_process / bridge:.3f})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
