"""Benchmark: the full labkit pipeline against a bare SimPy M/M/c model.

Runs the ``reference`` preset (every mechanism switched on) and a textbook
SimPy M/M/c model (one process per customer, a ``simpy.Resource`` for the
servers) with the same number of requests, in one process, several rounds
each, and prints the ratio of the best CPU time per request (process time,
so other work on the machine does not distort the ratio).  Target: the full
pipeline costs at most 1.5x the bare model per request (goal 1.0x).

    python bench/bench_sim.py [--rounds 5] [--seed 1] [--json]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import simpy

from labkit.sim import simulate
from labkit.sim.presets import PRESETS


def bare_mmc(n_requests: int, rate_rps: float, service_s: float, servers: int, seed: int) -> int:
    """A textbook SimPy M/M/c: a generator of customers, each a process using a Resource."""
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1.0 / rate_rps, n_requests).tolist()
    services = rng.exponential(service_s, n_requests).tolist()
    env = simpy.Environment()
    servers_res = simpy.Resource(env, capacity=servers)
    done = [0]

    def customer(i: int):
        with servers_res.request() as req:
            yield req
            yield env.timeout(services[i])
        done[0] += 1

    def source():
        for i in range(n_requests):
            yield env.timeout(gaps[i])
            env.process(customer(i))

    env.process(source())
    env.run()
    return done[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    ref = PRESETS["reference"]
    full_times, bare_times = [], []
    n = 0
    for r in range(args.rounds):
        t0 = time.process_time()
        result = simulate(preset="reference", seed=args.seed + r)
        full_times.append((time.process_time() - t0) / result.summary["requests"])
        n = result.summary["requests"]
        t0 = time.process_time()
        served = bare_mmc(n, ref["load.rate_rps"], 0.08, ref["model.replicas"], args.seed + r)
        bare_times.append((time.process_time() - t0) / served)
    full, bare = min(full_times), min(bare_times)
    report = {"requests_per_run": n, "full_us_per_request": full * 1e6,
              "bare_simpy_us_per_request": bare * 1e6, "ratio": full / bare, "target": 1.5}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"reference preset: {n} requests per run, best of {args.rounds} rounds")
        print(f"  full pipeline   {full * 1e6:8.1f} us/request")
        print(f"  bare SimPy M/M/c {bare * 1e6:7.1f} us/request")
        print(f"  ratio           {full / bare:8.2f}x  (target <= 1.5x, goal 1.0x)")


if __name__ == "__main__":
    main()
