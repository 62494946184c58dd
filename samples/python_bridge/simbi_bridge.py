"""simbi's process bridge for Python: turns a plain `simulate(theta, rng) -> x` into a simulator
that simbi runs in worker processes (docs/bridge.md, protocol version 1). numpy only.

    import simbi_bridge

    def simulate(theta, rng):          # theta: 1-D array; rng: numpy.random.Generator
        return theta + rng.normal(size=2)

    simbi_bridge.serve(simulate, parameters=["a", "b"], outputs=2)

Each row's generator is seeded from the run's seed and the row's global index, so the dataset is
the same whatever the batch size or the number of workers. A row whose simulate raises, or
returns NaN or infinity, comes back invalid; simbi counts it and applies the manifest's policy.
"""
import json
import struct
import sys

import numpy as np

MAGIC = b"SIMBIWK1"
VERSION = 1
SIMULATE, SHUTDOWN = 1, 2
OK = 0


def _read(stream, n):
    data = stream.read(n)
    if data is None or len(data) < n:
        raise EOFError
    return data


def serve(simulate, parameters, outputs, stdin=None, stdout=None):
    inp = stdin or sys.stdin.buffer
    out = stdout or sys.stdout.buffer
    # Anything the simulator prints must not reach the protocol's channel.
    sys.stdout = sys.stderr
    d, k = len(parameters), int(outputs)
    names = json.dumps({"parameters": list(parameters)}).encode()
    out.write(MAGIC + struct.pack("<4I", VERSION, d, k, len(names)) + names)
    out.flush()
    while True:
        try:
            (kind,) = struct.unpack("<I", _read(inp, 4))
        except EOFError:
            return
        if kind == SHUTDOWN:
            return
        if kind != SIMULATE:
            raise SystemExit(f"simbi_bridge: unknown request {kind}")
        seed, first, n = struct.unpack("<3Q", _read(inp, 24))
        theta = np.frombuffer(_read(inp, 8 * n * d), dtype="<f8").reshape(n, d)
        x = np.full((n, k), np.nan)
        valid = np.zeros(n, dtype=np.uint8)
        for i in range(n):
            rng = np.random.default_rng([seed, first + i])
            try:
                row = np.asarray(simulate(theta[i].copy(), rng), dtype=float).reshape(-1)
            except Exception as e:  # a failed row is invalid, not the end of the run
                print(f"simbi_bridge: row {first + i}: {type(e).__name__}: {e}", file=sys.stderr)
                continue
            if row.size != k:
                raise SystemExit(f"simbi_bridge: simulate returned {row.size} values, declared {k}")
            x[i] = row
            valid[i] = 1 if np.all(np.isfinite(row)) else 0
        out.write(struct.pack("<I", OK) + x.astype("<f8").tobytes() + valid.tobytes())
        out.flush()
