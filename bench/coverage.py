#!/usr/bin/env python3
"""Expected-coverage tables: level against empirical coverage of highest-posterior-density regions,
with N held-out pairs, for estimators x tasks x budgets, through `simbi run` and the simbi.coverage
diagnostic. Prints one table per task and budget, and each cell's verdict against the targets:

  - BNRE conservative (coverage >= level - 0.02 at every level);
  - NPE on gaussian_linear at 10^4 within +-0.05 of every level;
  - BNPE at or above level - 0.02 at every level where NPE's coverage is below the level.

--seeds 1,2,3 trains each cell once per training seed (`estimator.seed`) and prints the worst gap
of each training instead of the coverage tables: one training's gap moves by a few hundredths
from seed to seed. With 500 pairs the standard error at level 0.5 is 0.022, the size of the
targets' 0.02; --pairs 3000 (0.009) gives the sharper verdict, at six times the diagnostic's
cost. --config '{"ensemble": 1}' sets the estimators' config keys, --training '{"lr_decay": 0.5}'
their training keys.

With --timing it also times coverage with 1000 pairs x 1000 posterior draws on two_moons at 10^4 for
each of --methods (targets: 30 s for NPE, 60 s for the MCMC estimators).
Python's standard library only; run from the repository root after scripts/build.sh (or set
SIMBI_BIN to another simbi binary):

  python3 bench/coverage.py [--tasks two_moons,slcp] [--methods npe,nre,bnre,nle]
                            [--budgets 1000,10000] [--pairs 500] [--work bench-work] [--timing]
                            [--seeds 1,2,3] [--config JSON] [--training JSON]
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# SIMBI_BIN: another simbi (e.g. a copy of build/ that a rebuild leaves alone while this runs).
SIMBI = os.environ.get("SIMBI_BIN", os.path.join(ROOT, "build", "bin", "simbi"))


def run_cell(task, method, budget, pairs, samples, work, seed=None, config=None, training=None):
    name = f"{task}-{method}-{budget}" + (f"-seed{seed}" if seed is not None else "")
    if config or training:
        keys = config if not training else {"config": config or {}, "training": training}
        name += "-" + hashlib.sha256(json.dumps(keys, sort_keys=True).encode()).hexdigest()[:8]
    out = os.path.join(work, name)
    manifest = {
        "simbi": 1,
        "simulator": {"id": f"sbibm.{task}"},
        "simulation": {"budget": budget, "seed": 1000 + budget, "store": f"{task}-{budget}.h5"},
        "estimator": {"id": f"simbi.{method}"},
        "diagnostics": [{"id": "simbi.coverage", "config": {"pairs": pairs, "samples": samples}}],
        "output": out,
    }
    if seed is not None:
        manifest["estimator"]["seed"] = seed
    if config:
        manifest["estimator"]["config"] = config
    if training:
        manifest["estimator"]["training"] = training
    path = os.path.join(work, name + ".json")
    with open(path, "w") as f:
        json.dump(manifest, f)
    t0 = time.time()
    r = subprocess.run([SIMBI, "run", path, "-q"], capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stdout + r.stderr)
        return None, time.time() - t0
    with open(os.path.join(out, "diagnostics", "simbi.coverage.json")) as f:
        return json.load(f)["results"], time.time() - t0


def level_gaps(res):
    """Coverage minus level, at each level."""
    return [c - l for l, c in zip(res["levels"]["values"], res["coverage"]["values"])]


def verdict(method, task, budget, res):
    levels, gaps = res["levels"]["values"], level_gaps(res)
    worst = levels[gaps.index(min(gaps))]
    # A calibrated estimator's coverage at level c has the binomial standard error sqrt(c (1 - c) / N).
    se = (worst * (1 - worst) / res["pairs"]) ** 0.5
    notes = [f"worst gap {min(gaps):+.3f} at {worst:.2f} (standard error {se:.3f})",
             "conservative" if res["conservative"] >= 1 else "overconfident"]
    if method == "bnre":
        ok = all(g >= -0.02 for g in gaps)
        notes.append("target (>= level - 0.02): " + ("met" if ok else "missed"))
    if method == "npe" and task == "gaussian_linear" and budget == 10000:
        ok = all(abs(g) <= 0.05 for g in gaps)
        notes.append("target (+-0.05): " + ("met" if ok else "missed"))
    return ", ".join(notes)


def bnpe_target(npe, bnpe):
    """BNPE's target: at or above level - 0.02 wherever NPE's coverage is below the level."""
    levels = npe["levels"]["values"]
    below = [i for i, l in enumerate(levels) if npe["coverage"]["values"][i] < l]
    return all(bnpe["coverage"]["values"][i] >= levels[i] - 0.02 for i in below)


def seed_table(task, budget, methods, seeds, a, work):
    gaps = {m: [] for m in methods}
    for seed in seeds:
        for m in methods:
            res, secs = run_cell(task, m, budget, a.pairs, a.samples, work, seed, a.config, a.training)
            gaps[m].append(None if res is None else min(level_gaps(res)))
            if res is not None:
                print(f"{task} {budget} {m} seed {seed}: worst gap {gaps[m][-1]:+.3f} ({secs:.0f} s with training)", flush=True)
    print(f"\n{task}, {budget} simulations, {a.pairs} held-out pairs: worst gap by training seed")
    print("| training seed | " + " | ".join(methods) + " |")
    print("|---|" + "---|" * len(methods))
    for i, seed in enumerate(seeds):
        print(f"| {seed} | " + " | ".join("failed" if gaps[m][i] is None else f"{gaps[m][i]:+.3f}" for m in methods) + " |")
    means = [[g for g in gaps[m] if g is not None] for m in methods]
    print("| mean | " + " | ".join(f"{sum(v) / len(v):+.3f}" if v else "-" for v in means) + " |")
    print(flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", default="two_moons,slcp")
    ap.add_argument("--methods", default="npe,nre,bnre,nle")
    ap.add_argument("--budgets", default="1000,10000")
    ap.add_argument("--pairs", type=int, default=500)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--work", default="bench-coverage")
    ap.add_argument("--timing", action="store_true")
    ap.add_argument("--seeds", default="", help="training seeds: one training per seed, worst gaps only")
    ap.add_argument("--config", type=json.loads, default=None, help="estimator config keys, as JSON")
    ap.add_argument("--training", type=json.loads, default=None, help="estimator training keys, as JSON")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    work = os.path.abspath(a.work)
    methods = a.methods.split(",")
    for task in a.tasks.split(","):
        for budget in [int(b) for b in a.budgets.split(",")]:
            if a.seeds:
                seed_table(task, budget, methods, [int(s) for s in a.seeds.split(",")], a, work)
                continue
            results = {}
            for m in methods:
                res, secs = run_cell(task, m, budget, a.pairs, a.samples, work, config=a.config, training=a.training)
                if res is None:
                    print(f"{task} {m} {budget}: failed")
                    continue
                results[m] = res
                print(f"{task} {budget} {m}: {verdict(m, task, budget, res)} ({secs:.0f} s with training)", flush=True)
            if not results:
                continue
            if "npe" in results and "bnpe" in results:
                met = bnpe_target(results["npe"], results["bnpe"])
                print(f"{task} {budget} bnpe target (>= level - 0.02 where npe is below): " + ("met" if met else "missed"))
            first = next(iter(results.values()))
            print(f"\n{task}, {budget} simulations, {a.pairs} held-out pairs: empirical coverage")
            print("| level | " + " | ".join(results) + " |")
            print("|---|" + "---|" * len(results))
            for i, level in enumerate(first["levels"]["values"]):
                print(f"| {level:.2f} | " + " | ".join(f"{results[m]['coverage']['values'][i]:.3f}" for m in results) + " |")
            print(flush=True)
    if a.timing:
        # Train once per method (coverage off), then time the coverage diagnostic alone on the saved run.
        for m in methods:
            res, _ = run_cell("two_moons", m, 10000, 10, 10, work)
            run_dir = os.path.join(work, f"two_moons-{m}-10000")
            manifest = json.load(open(os.path.join(run_dir, "manifest.json")))
            manifest["diagnostics"] = [{"id": "simbi.coverage", "config": {"pairs": 1000, "samples": 1000}}]
            json.dump(manifest, open(os.path.join(run_dir, "manifest.json"), "w"))
            t0 = time.time()
            r = subprocess.run([SIMBI, "diagnose", run_dir, "-q"], capture_output=True, text=True)
            secs = time.time() - t0
            target = 30 if m in ("npe", "bnpe") else 60
            print(f"coverage, two_moons {m.upper()} 10^4, 1000 pairs x 1000 draws: {secs:.1f} s (target <= {target} s)"
                  if r.returncode == 0 else r.stderr, flush=True)

if __name__ == "__main__":
    main()
