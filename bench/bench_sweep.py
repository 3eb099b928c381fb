"""Benchmark: how a sweep scales with workers, on a process pool and on Dask local.

The same grid (``model.replicas`` values x seeds, fixed traffic) runs first in
this process, one run after the other (the baseline: one process), then on a
process pool and on a local Dask cluster of 1, 2, 4, ... workers up to the
usable cores (``labkit.sweep.usable_cores``), all in one run of this script.
For each it prints the wall-clock seconds (Dask's split into starting the
cluster and running), the speedup against one process and the efficiency
(speedup / workers), and it checks that every executor produced exactly the
baseline's rows.  With ``--repeat R`` every configuration is timed R times, in
rounds through all of them, and its best time counts: that filters out moments
when other work on the machine had the CPUs.

    python bench/bench_sweep.py [--replicas 2,3,4,5,6,7,8,9] [--seeds 4] [--duration-s 300]
                                [--rate-rps 60] [--max-workers N] [--repeat 1] [--json]

The default grid is 32 runs (a minute or two on 2 cores).  The grid of issue 20
is 64 runs of 600 s at 60 req/s: ``--seeds 8 --duration-s 600``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from labkit.sweep import SweepSpec, usable_cores
from labkit.sweep.executors import SweepRun, dask_client, run_here, run_on_dask, run_on_pool


def worker_counts(top: int) -> list[int]:
    """1, 2, 4, ... below ``top``, then ``top`` itself."""
    counts, n = [], 1
    while n < top:
        counts.append(n)
        n *= 2
    return [*counts, top]


def timed(execute: Any) -> tuple[float, float, list[dict[str, Any]]]:
    """(start-up seconds, run seconds, rows) of ``execute(accept) -> start-up seconds``."""
    rows: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    start_s = execute(rows.append)
    return start_s, time.perf_counter() - t0 - start_s, rows


def here(runs: list[SweepRun]) -> Any:
    def execute(accept: Any) -> float:
        run_here(runs, accept)
        return 0.0
    return execute


def on_pool(runs: list[SweepRun], workers: int) -> Any:
    def execute(accept: Any) -> float:
        run_on_pool(runs, accept, workers=workers)    # forking the pool is part of the run
        return 0.0
    return execute


def on_dask(runs: list[SweepRun], workers: int) -> Any:
    def execute(accept: Any) -> float:
        t0 = time.perf_counter()
        with dask_client("local", workers=workers) as client:
            start_s = time.perf_counter() - t0
            run_on_dask(runs, accept, client=client)
        return start_s
    return execute


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", default="2,3,4,5,6,7,8,9",
                        help="model.replicas values (the grid)")
    parser.add_argument("--seeds", type=int, default=4, help="seeds 1..N at every point")
    parser.add_argument("--duration-s", type=float, default=300.0, help="traffic per run")
    parser.add_argument("--rate-rps", type=float, default=60.0, help="arrival rate per run")
    parser.add_argument("--max-workers", type=int, default=usable_cores(),
                        help="the most workers tried (default: the usable cores)")
    parser.add_argument("--repeat", type=int, default=1, help="timings per configuration; "
                        "the best counts")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    spec = SweepSpec.build({"model.replicas": args.replicas.split(",")}, args.seeds,
                           fixed={"load.duration_s": args.duration_s,
                                  "load.rate_rps": args.rate_rps})
    runs = [SweepRun(preset=None, fixed=spec.fixed, point=tuple(p.items()), seed=s)
            for p, s in spec.runs()]
    counts = worker_counts(args.max_workers)
    configs = [("one process", 1, here(runs)),
               *(("process pool", n, on_pool(runs, n)) for n in counts),
               *(("Dask local", n, on_dask(runs, n)) for n in counts)]

    def order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(rows, key=lambda r: (r["model.replicas"], r["seed"]))

    # Rounds go through every configuration in turn, so a burst of other work on the
    # machine lands on all of them alike instead of on one configuration's trials.
    load_before = os.getloadavg()[0]
    trials: list[list[tuple[float, float, list[dict[str, Any]]]]] = [[] for _ in configs]
    for _ in range(max(1, args.repeat)):
        for i, (_, _, execute) in enumerate(configs):
            trials[i].append(timed(execute))
    baseline_rows = order(trials[0][0][2])
    identical = all(order(rows) == baseline_rows for ts in trials for _, _, rows in ts)
    results = []
    for (name, n, _), ts in zip(configs, trials):
        start_s, run_s, _ = min(ts, key=lambda t: t[0] + t[1])
        results.append({"executor": name, "workers": n, "start_s": start_s, "run_s": run_s,
                        "total_s": start_s + run_s})
    load_after = os.getloadavg()[0]
    one = results[0]["total_s"]
    for r in results:
        r["speedup"] = one / r["total_s"]
        r["efficiency"] = r["speedup"] / r["workers"]
    report = {"runs": len(runs), "replicas": args.replicas, "seeds": args.seeds,
              "duration_s": args.duration_s, "rate_rps": args.rate_rps,
              "usable_cores": usable_cores(), "repeat": args.repeat,
              "load_average_1min": [load_before, load_after],
              "rows_identical": identical, "results": results}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"grid: model.replicas {args.replicas} x {args.seeds} seeds = {len(runs)} runs of "
          f"{args.duration_s:g} s at {args.rate_rps:g} req/s; usable cores: {usable_cores()}; "
          f"best of {args.repeat}")
    print(f"{'executor':<14}{'workers':>8}{'start s':>9}{'run s':>8}{'total s':>9}"
          f"{'speedup':>9}{'efficiency':>12}")
    for r in results:
        print(f"{r['executor']:<14}{r['workers']:>8}{r['start_s']:>9.2f}{r['run_s']:>8.2f}"
              f"{r['total_s']:>9.2f}{r['speedup']:>9.2f}{r['efficiency']:>11.0%}")
    print(f"rows identical on every executor: {'yes' if identical else 'NO'}; load average "
          f"(1 min) {load_before:.1f} before, {load_after:.1f} after (work beside the benchmark "
          "takes CPUs from it)")


if __name__ == "__main__":
    main()
