#!/usr/bin/env python3
"""Writes the Lorenz-63 sample's data: a true trajectory of 1024 states (truth.csv) of the chain
simbi.lorenz63 simulates (RK4, dt = 0.025, sigma = 10, rho = 28, beta = 8/3, process noise 0.1,
256 burn-in steps from (1, 1, 25) + N(0, I)), and its first component observed as in Rozet &
Louppe 2023, section 5.1: every 8th state with noise 0.4 (y_sparse.csv) and every state with
noise 2.0 (y_dense.csv), the paper's 0.05 and 0.25 times its scale of 8 for that component.

usage: /usr/bin/python3 make_observations.py [seed]   (needs numpy)
"""
import sys
from pathlib import Path

import numpy as np


def f(s, sigma=10.0, rho=28.0, beta=8.0 / 3.0):
    return np.array([sigma * (s[1] - s[0]), s[0] * (rho - s[2]) - s[1], s[0] * s[1] - beta * s[2]])


def rk4(s, dt=0.025):
    k1 = f(s)
    k2 = f(s + dt / 2 * k1)
    k3 = f(s + dt / 2 * k2)
    k4 = f(s + dt * k3)
    return s + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


def main():
    rng = np.random.default_rng(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
    s = np.array([1.0, 1.0, 25.0]) + rng.normal(size=3)
    for _ in range(256):
        s = rk4(s) + 0.1 * rng.normal(size=3)
    states = [s]
    while len(states) < 1024:
        states.append(rk4(states[-1]) + 0.1 * rng.normal(size=3))
    x = np.array(states)
    here = Path(__file__).parent
    # CSV files with a header row, as simbi reads observation files.
    np.savetxt(here / "truth.csv", x, fmt="%.6f", delimiter=",", header="x0,x1,x2", comments="")
    np.savetxt(here / "y_sparse.csv", x[::8, 0] + 0.4 * rng.normal(size=len(x[::8])), fmt="%.6f", header="x0", comments="")
    np.savetxt(here / "y_dense.csv", x[:, 0] + 2.0 * rng.normal(size=len(x)), fmt="%.6f", header="x0", comments="")


if __name__ == "__main__":
    main()
