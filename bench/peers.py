#!/usr/bin/env python3
"""Peers side by side: sbi (PyPI) and simbi trained back to back on the same simulations.

For each task and method, both tools train on one simbi store of 10^4 simulations (sbibm's
two_moons or slcp), sample 10,000 draws at sbibm's observation 1, and are scored by one C2ST
classifier (`simbi c2st`, sbibm's protocol) against sbibm's reference posterior. Printed per cell:
seconds per epoch, training seconds and epochs, seconds for 10,000 draws (simbi: `simbi sample`,
process start included; sbi: posterior.sample in process), and C2ST. With --batched, NPE's
sampling of 10,000 observations x 1,000 draws (sbi: sample_batched; simbi: sample --each-row).
With --coverage N, the seconds of the expected-coverage diagnostic on N held-out pairs x 1,000
draws: simbi's simbi.coverage (`simbi diagnose`, process start included) and sbi's run_sbc with
reduce_fns=posterior.log_prob (its sample-based expected coverage, Deistler et al. 2022), batched
sampling on, in process; both rank the held-out theta's density among the draws'.

Needs a virtualenv with sbi (never the tests or CI):
  python3 -m venv ~/peers && ~/peers/bin/pip install sbi h5py
  ~/peers/bin/python bench/peers.py [--tasks two_moons,slcp] [--methods npe,nre,nle,fmpe,npse]
                                    [--max-epochs 200] [--batched] [--coverage 1000] [--work bench-work/peers]
Both tools train with their own defaults, capped at --max-epochs epochs.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import h5py
import numpy as np
import sbi
import torch
from sbi import inference as sbi_inference
from sbi.utils import BoxUniform

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIMBI = os.environ.get("SIMBI_BIN", os.path.join(ROOT, "build", "bin", "simbi"))
SBIBM = os.path.join(ROOT, "..", "shared", "sbibm")
PRIORS = {"two_moons": ([-1.0, -1.0], [1.0, 1.0]), "slcp": ([-3.0] * 5, [3.0] * 5)}
SBI_CLASSES = {"npe": "NPE", "nre": "NRE", "nle": "NLE", "fmpe": "FMPE", "npse": "NPSE"}


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def csv_rows(path):
    return np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)


def write_csv(path, array, names):
    np.savetxt(path, array, delimiter=",", header=",".join(names), comments="")


def c2st(reference, samples):
    return float(run([SIMBI, "c2st", reference, samples]).stdout.strip())


def simulate(task, work, budget, seed=None):
    manifest = os.path.join(ROOT, "samples", "sbibm", task, "manifest.json")
    os.makedirs(work, exist_ok=True)
    store = os.path.join(work, f"{task}.h5")
    run([SIMBI, "simulate", manifest, "-q", "--budget", str(budget), "--out", store] + (["--seed", str(seed)] if seed is not None else []))
    with h5py.File(store, "r") as f:
        return store, np.asarray(f["theta"]), np.asarray(f["x"])


def sbi_cell(task, method, theta, x, obs, work, max_epochs, reference, batched_x, held_out=None):
    low, high = PRIORS[task]
    prior = BoxUniform(torch.tensor(low), torch.tensor(high))
    torch.manual_seed(1)
    inference = getattr(sbi_inference, SBI_CLASSES[method])(prior=prior)
    inference.append_simulations(torch.tensor(theta, dtype=torch.float32), torch.tensor(x, dtype=torch.float32))
    t0 = time.time()
    estimator = inference.train(max_num_epochs=max_epochs, show_train_summary=False)
    train_s = time.time() - t0
    epochs = inference.epoch if hasattr(inference, "epoch") else len(inference._summary["training_loss"])
    posterior = inference.build_posterior(estimator)
    x_o = torch.tensor(obs, dtype=torch.float32)
    t0 = time.time()
    draws = posterior.sample((10000,), x=x_o, show_progress_bars=False)
    sample_s = time.time() - t0
    path = os.path.join(work, f"sbi_{task}_{method}.csv")
    write_csv(path, draws.numpy(), [f"theta{i}" for i in range(draws.shape[1])])
    cell = {"epochs": epochs, "train_s": train_s, "s_per_epoch": train_s / max(epochs, 1), "sample_s": sample_s,
            "c2st": c2st(reference, path)}
    if batched_x is not None and method == "npe":
        t0 = time.time()
        try:
            posterior.sample_batched((1000,), x=torch.tensor(batched_x, dtype=torch.float32), show_progress_bars=False)
            cell["batched_s"] = time.time() - t0
        except (MemoryError, RuntimeError) as e:  # the address-space limit below: reported, not fatal
            cell["batched_error"] = f"out of memory after {time.time() - t0:.0f} s"
    if held_out is not None:
        from sbi.diagnostics import run_sbc
        t0 = time.time()
        run_sbc(torch.tensor(held_out[0], dtype=torch.float32), torch.tensor(held_out[1], dtype=torch.float32), posterior,
                num_posterior_samples=1000, reduce_fns=posterior.log_prob, show_progress_bar=False, use_batched_sampling=True)
        cell["coverage_s"] = time.time() - t0
    return cell


def simbi_cell(task, method, store, obs, work, max_epochs, reference, batched_csv, coverage_pairs=0):
    manifest = os.path.join(ROOT, "samples", "sbibm", task, "manifest.json")
    out = os.path.join(work, f"simbi_{task}_{method}")
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    run([SIMBI, "run", manifest, "-q", "--out", out, "--set", f"estimator.id=simbi.{method}", "--set", "estimator.training={}",
         "--set", f"estimator.training.max_epochs={max_epochs}", "--set", f"simulation.store={store}",
         "--set", f"observation.x={json.dumps(list(map(float, obs)))}", "--set", "diagnostics=[]"], env=env)
    summary = json.load(open(os.path.join(out, "summary.json")))
    losses = json.load(open(os.path.join(out, "losses.json")))
    epochs = len(losses.get("val_loss", losses.get("train_loss", [])))
    train_s = summary["train_seconds"]
    path = os.path.join(work, f"simbi_{task}_{method}.csv")
    t0 = time.time()
    run([SIMBI, "sample", os.path.join(out, "artifact"), "--x", ",".join(map(str, obs)), "--n", "10000", "--seed", "2", "--out", path],
        env=env)
    sample_s = time.time() - t0
    cell = {"epochs": epochs, "train_s": train_s, "s_per_epoch": train_s / max(epochs, 1), "sample_s": sample_s,
            "c2st": c2st(reference, path)}
    if batched_csv and method == "npe":
        t0 = time.time()
        run([SIMBI, "sample", os.path.join(out, "artifact"), "--x", batched_csv, "--each-row", "--n", "1000", "-q", "--out",
             os.path.join(work, f"simbi_{task}_batched.h5")], env=env)
        cell["batched_s"] = time.time() - t0
    if coverage_pairs:
        manifest_path = os.path.join(out, "manifest.json")
        m = json.load(open(manifest_path))
        m["diagnostics"] = [{"id": "simbi.coverage", "config": {"pairs": coverage_pairs, "samples": 1000}}]
        json.dump(m, open(manifest_path, "w"))
        t0 = time.time()
        run([SIMBI, "diagnose", out, "-q"], env=env)
        cell["coverage_s"] = time.time() - t0
    return cell


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", default="two_moons,slcp")
    ap.add_argument("--methods", default="npe,nre,nle,fmpe,npse")
    ap.add_argument("--budget", type=int, default=10000)
    ap.add_argument("--max-epochs", type=int, default=200)
    ap.add_argument("--batched", action="store_true")
    ap.add_argument("--coverage", type=int, default=0, help="held-out pairs for the coverage diagnostic's seconds (0: none)")
    ap.add_argument("--work", default=os.path.join("bench-work", "peers"))
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    torch.set_num_threads(int(os.environ.get("PEERS_THREADS", "2")))
    # sbi's sample_batched holds every draw of every observation at once: cap the address space,
    # so that running out of memory is an error in the table, not the kernel killing the bench.
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (16 << 30, resource.RLIM_INFINITY))
    print(f"sbi {sbi.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads); "
          f"{run([SIMBI, '--version']).stdout.splitlines()[0]}", flush=True)
    print("| task | method | tool | epochs | s/epoch | train s | 10k samples s | C2ST | 10k obs x 1000 s | coverage s |")
    print("|---|---|---|---|---|---|---|---|---|---|", flush=True)
    for task in args.tasks.split(","):
        store, theta, x = simulate(task, args.work, args.budget)
        obs = csv_rows(os.path.join(SBIBM, task, "obs1", "observation.csv"))[0]
        reference = os.path.join(SBIBM, task, "obs1", "reference_posterior_samples.csv")
        batched_x, batched_csv = None, None
        if args.batched:
            batched_x = x[:10000]
            batched_csv = os.path.join(args.work, f"{task}_x10000.csv")
            write_csv(batched_csv, batched_x, [f"x{i}" for i in range(x.shape[1])])
        held_out = None
        if args.coverage:
            # Pairs apart from the training store (another seed), the same for sbi as simbi's own draw.
            _, held_theta, held_x = simulate(task, os.path.join(args.work, "held_out"), args.coverage, seed=777)
            held_out = (held_theta, held_x)
        for method in args.methods.split(","):
            for tool, cell_of in (("simbi", lambda: simbi_cell(task, method, store, obs, args.work, args.max_epochs, reference, batched_csv,
                                                                 args.coverage)),
                                  (f"sbi {sbi.__version__}", lambda: sbi_cell(task, method, theta, x, obs, args.work, args.max_epochs,
                                                                              reference, batched_x, held_out))):
                try:
                    c = cell_of()
                    print(f"| {task} | {method} | {tool} | {c['epochs']} | {c['s_per_epoch']:.3f} | {c['train_s']:.1f} | "
                          f"{c['sample_s']:.2f} | {c['c2st']:.3f} | {c.get('batched_error') or format(c.get('batched_s', float('nan')), '.1f')} | "
                          f"{c.get('coverage_s', float('nan')):.1f} |",
                          flush=True)
                except Exception as e:  # one failed cell does not cost the table
                    print(f"| {task} | {method} | {tool} | failed: {str(e).splitlines()[0][:120] if str(e) else type(e).__name__} ||||||||",
                          flush=True)


if __name__ == "__main__":
    sys.exit(main())
