"""Benchmark: the full labkit pipeline against a bare SimPy M/M/c model.

Runs the ``reference`` preset (every mechanism switched on) and a textbook
SimPy M/M/c model (one process per customer, a ``simpy.Resource`` for the
servers) with the same number of requests, in one process, several rounds
each, and prints the ratio of the best CPU time per request (process time,
so other work on the machine does not distort the ratio).  Target: the full
pipeline costs at most 1.5x the bare model per request (goal 1.0x).

It also runs a token-mode workload (``TOKEN_WORKLOAD``: a chat assistant, a few hundred
prompt and output tokens, continuous batching on one replica that a traffic spike saturates
for a third of the run) and reports its CPU time per request as a ratio to the
``reference`` preset's in the same run.  Target: at most 3x.  The same workload with the
router's cascade (a small model first, on a replica of its own) and the semantic cache on
(``ROUTER_WORKLOAD``) is reported beside it, for information: an escalated request makes
two model calls, so its cost per request is not held to the 3x.

And an agent workload (``AGENT_WORKLOAD``: the ``agent-support`` preset at 5 tasks/s, no
token mode): its CPU time per *task* (a task makes about four model calls, four tool calls
and sometimes a human review) as a ratio to ``reference``'s per request, reported only.

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

#: Token mode (issue 16): chat-like requests on one 8B-model replica (the llm.* defaults, an
#: H100), 20 req/s with a 3x spike from 40 s to 60 s, which the replica cannot keep up with
#: (its queue and running sequences peak at llm.max_batch_seqs), then recovers.
TOKEN_WORKLOAD = {
    "llm.enabled": True, "llm.scheduler": "continuous", "model.replicas": 1,
    "load.rate_rps": 20.0, "load.duration_s": 120.0, "load.pattern": "spike",
    "load.spike_multiplier": 3.0, "load.spike_start_s": 40.0, "load.spike_duration_s": 20.0,
    "load.prompt_tokens": 400, "load.output_tokens": 250,
}

#: Agent mode (issue 17): the agent-support preset (refunds behind approval, budgets, a guard),
#: 5 tasks/s for 120 s on 4 replicas with 40 reviewers, so neither queue saturates.
AGENT_WORKLOAD = {
    **PRESETS["agent-support"], "load.rate_rps": 5.0, "load.duration_s": 120.0,
    "model.replicas": 4, "boundary.reviewers": 40,
}


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

#: The token workload with a cascade (small model first, on one replica of its own; a judge
#: escalates weak answers to the large one) behind a semantic cache.
ROUTER_WORKLOAD = {**TOKEN_WORKLOAD, "router.policy": "cascade", "router.small_replicas": 1,
                   "llm.semantic_cache": True}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    ref = PRESETS["reference"]
    full_times, bare_times, token_times, router_times, agent_times = [], [], [], [], []
    n = n_tok = n_tasks = 0
    for r in range(args.rounds):
        t0 = time.process_time()
        result = simulate(preset="reference", seed=args.seed + r)
        full_times.append((time.process_time() - t0) / result.summary["requests"])
        n = result.summary["requests"]
        t0 = time.process_time()
        served = bare_mmc(n, ref["load.rate_rps"], 0.08, ref["model.replicas"], args.seed + r)
        bare_times.append((time.process_time() - t0) / served)
        t0 = time.process_time()
        tokens = simulate(TOKEN_WORKLOAD, seed=args.seed + r)
        token_times.append((time.process_time() - t0) / tokens.summary["requests"])
        n_tok = tokens.summary["requests"]
        t0 = time.process_time()
        routed = simulate(ROUTER_WORKLOAD, seed=args.seed + r)
        router_times.append((time.process_time() - t0) / routed.summary["requests"])
        t0 = time.process_time()
        agents = simulate(AGENT_WORKLOAD, seed=args.seed + r)
        n_tasks = len(agents.tasks) if agents.tasks is not None else 0
        agent_times.append((time.process_time() - t0) / max(n_tasks, 1))
    full, bare, tok = min(full_times), min(bare_times), min(token_times)
    routed_us, agent = min(router_times), min(agent_times)
    report = {"requests_per_run": n, "full_us_per_request": full * 1e6,
              "bare_simpy_us_per_request": bare * 1e6, "ratio": full / bare, "target": 1.5,
              "token_requests_per_run": n_tok, "token_us_per_request": tok * 1e6,
              "token_ratio_to_reference": tok / full, "token_target": 3.0,
              "router_us_per_request": routed_us * 1e6,
              "router_ratio_to_reference": routed_us / full,
              "agent_tasks_per_run": n_tasks, "agent_us_per_task": agent * 1e6,
              "agent_task_ratio_to_reference_request": agent / full}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"reference preset: {n} requests per run, best of {args.rounds} rounds")
        print(f"  full pipeline   {full * 1e6:8.1f} us/request")
        print(f"  bare SimPy M/M/c {bare * 1e6:7.1f} us/request")
        print(f"  ratio           {full / bare:8.2f}x  (target <= 1.5x, goal 1.0x)")
        print(f"token mode: {n_tok} requests per run")
        print(f"  token workload  {tok * 1e6:8.1f} us/request")
        print(f"  vs reference    {tok / full:8.2f}x  (target <= 3x)")
        print(f"  with cascade and semantic cache {routed_us * 1e6:8.1f} us/request, "
              f"{routed_us / full:.2f}x reference")
        print(f"agent mode: {n_tasks} tasks per run")
        print(f"  agent workload  {agent * 1e6:8.1f} us/task")
        print(f"  vs reference    {agent / full:8.2f}x  per task / per request (reported only)")


if __name__ == "__main__":
    main()
