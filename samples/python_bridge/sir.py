"""A stochastic SIR epidemic (chain binomial, Reed-Frost style daily steps) for simbi's process
bridge: theta = (beta, gamma), the infection and recovery rates per day; x = the number of
infected in a population of 1000 on days 5, 10, ..., 50, divided by 100."""
import numpy as np

import simbi_bridge

POPULATION, DAYS = 1000, 50


def simulate(theta, rng):
    beta, gamma = theta
    s, i = POPULATION - 10, 10
    infected = []
    for day in range(1, DAYS + 1):
        new_infections = rng.binomial(s, 1.0 - np.exp(-beta * i / POPULATION))
        recoveries = rng.binomial(i, 1.0 - np.exp(-gamma))
        s -= new_infections
        i += new_infections - recoveries
        if day % 5 == 0:
            infected.append(i / 100.0)
    return infected


if __name__ == "__main__":
    simbi_bridge.serve(simulate, parameters=["beta", "gamma"], outputs=DAYS // 5)
