"""simbi's process bridge for Python: turns a plain `simulate(theta, rng) -> x` into a simulator
that simbi runs in worker processes (docs/bridge.md, protocol version 2). numpy only.

    import simbi_bridge

    def simulate(theta, rng):          # theta: 1-D array; rng: numpy.random.Generator
        return theta + rng.normal(size=2)

    simbi_bridge.serve(simulate, parameters=["a", "b"], outputs=2)

simbi installs this file in <prefix>/share/simbi/python and puts that folder on PYTHONPATH for the
bridges it starts, so a bridge script imports it as it is.

Each row's generator is seeded from the run's seed and the row's global index, so the dataset is
the same whatever the batch size or the number of workers. A row whose simulate returns NaN or
infinity comes back invalid; simbi counts it and applies the manifest's policy. An exception in
simulate is a bug, not an invalid row: the bridge answers with the protocol's error reply, naming
the row and the exception's last traceback line, and the run stops with that message.
"""
import json
import struct
import sys
import traceback

import numpy as np

MAGIC = b"SIMBIWK1"
VERSION = 2
SIMULATE, SHUTDOWN = 1, 2
OK, FAILED = 0, 1


def _read(stream, n):
    data = stream.read(n)
    if data is None or len(data) < n:
        raise EOFError
    return data


def _answer(out, status, sequence, payload):
    out.write(struct.pack("<IQQ", status, sequence, len(payload)) + payload)
    out.flush()


def _failure(row, error):
    last = traceback.format_exception_only(type(error), error)[-1].strip()
    frames = traceback.extract_tb(error.__traceback__)
    where = f" ({frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"row {row}: {last}{where}"


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
        sequence, seed, first, n = struct.unpack("<4Q", _read(inp, 32))
        theta = np.frombuffer(_read(inp, 8 * n * d), dtype="<f8").reshape(n, d)
        x = np.full((n, k), np.nan)
        valid = np.zeros(n, dtype=np.uint8)
        failure = None
        for i in range(n):
            rng = np.random.default_rng([seed, first + i])
            try:
                row = np.asarray(simulate(theta[i].copy(), rng), dtype=float).reshape(-1)
                if row.size != k:
                    raise ValueError(f"simulate returned {row.size} values; the bridge declares {k} outputs")
            except Exception as error:  # a bug in the model: the run stops with its message
                failure = _failure(first + i, error)
                break
            x[i] = row
            valid[i] = 1 if np.all(np.isfinite(row)) else 0
        if failure is not None:
            _answer(out, FAILED, sequence, failure.encode("utf-8", "replace")[:65536])
        else:
            _answer(out, OK, sequence, x.astype("<f8").tobytes() + valid.tobytes())
