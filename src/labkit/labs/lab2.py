"""Lab 2, scaling, cost and reliability: the scenarios, scorecards and task judges.

The lab notebook and its hidden tests both import this module, so every
scenario is written down once.  Each activity has a base scenario (a dict of
knob overrides, see ``labkit knobs``), small tables that put the simulation
next to theory, and for graded tasks the knobs a learner may change and a
judge: ``judge_*(answer, ...)`` runs labkit with the answer on the seeds it
is given and returns a list of problems, one sentence each saying what failed,
on which seed and where to look (an empty list means the answer passes).
The seeds a learner is graded on live in the notebook's hidden tests.

1. *Capacity and scaling*: ramp the load; vertical (a faster replica) against
   horizontal (more replicas) scaling; the cheapest fleet for a p95 budget.
2. *Caching and batching before more compute*: Che's curve, TTL against
   staleness, batching's throughput and first-request delay.
3. *The hidden multiplier*: the steps one request pays for.
4. *Peaks and autoscaling*: a warm pool for the peak against an autoscaler.
5. *Retries under load*: the metastable retry storm and a policy that survives.
6. *Graceful degradation*: an upstream rate limit and a slowdown.
7. *Production-ready audit*: kill switch, fallback, trace, data, access.

>>> sorted(MACHINES)
['large', 'standard']
>>> machine_knobs("standard", 4)["model.replicas"]
4
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from labkit.knobs import CATALOGUE, KnobError
from labkit.labs._lab2_judges import (
    CACHE_BATCH_SIMTASK, CACHE_BATCH_TASK, CACHE_BATCH_TASK_KNOBS, DEGRADE_CASES_VISIBLE, DEGRADE_SCENARIO,
    DEGRADE_TASK_KNOBS, DRILL_SCENARIO, DRILL_TASK_KNOBS, MULTIPLIER_SCENARIO,
    MULTIPLIER_SIMTASK, MULTIPLIER_TASK_KNOBS, STORM_CASES_VISIBLE, STORM_SCENARIO, STORM_TASK_KNOBS,
    check_task_knobs, drill_truth, judge_audit_answers, judge_cache_batch, judge_degradation,
    judge_drill, judge_multiplier, judge_retry_policy, storm_scorecard,
)
from labkit.sim import Result, simulate
from labkit.sim import theory

__all__ = [
    "NO_BUDGETS", "MACHINES", "CAPACITY_SCENARIO", "SCALING_TASK", "machine_knobs",
    "ramp_table", "scaling_options", "judge_scaling", "table",
    "CACHE_CURVE_SCENARIO", "hit_ratio_curve", "ttl_table", "batching_table",
    "CACHE_BATCH_TASK", "CACHE_BATCH_TASK_KNOBS", "CACHE_BATCH_SIMTASK", "judge_cache_batch",
    "MULTIPLIER_SCENARIO", "MULTIPLIER_TASK_KNOBS", "MULTIPLIER_SIMTASK", "cost_graph",
    "judge_multiplier",
    "PEAK_SCENARIO", "PEAK_OPTIONS", "cost_per_day", "peak_table",
    "STORM_SCENARIO", "STORM_TASK_KNOBS", "STORM_CASES_VISIBLE", "storm_scorecard",
    "judge_retry_policy",
    "DEGRADE_SCENARIO", "DEGRADE_TASK_KNOBS", "DEGRADE_CASES_VISIBLE", "judge_degradation",
    "DRILL_SCENARIO", "DRILL_TASK_KNOBS", "drill_truth", "judge_drill", "judge_audit_answers",
    "check_task_knobs", "budget_rows", "panel",
]

#: Budgets switched off, for scenarios that judge nothing by default.
NO_BUDGETS: dict[str, float] = {"budget.p95_ms": 0.0, "budget.p99_ms": 0.0,
                                "budget.cost_per_1k": 0.0, "budget.success_rate": 0.0}


def panel(knobs: Sequence[str], scenario: Mapping[str, Any], views: Sequence[str],
          **kwargs: Any) -> Any:
    """A :class:`labkit.ui.Panel` over ``scenario``: ``knobs`` are shown and start at the
    scenario's values, every other knob of the scenario is fixed."""
    from labkit.ui import Panel  # lazily: the judges must not need ipywidgets

    shown = list(knobs)
    fixed = {k: v for k, v in scenario.items() if k not in shown}
    live = Panel(knobs=shown, fixed=fixed, views=list(views), **kwargs)
    start = {k: scenario[k] for k in shown if k in scenario}
    if start:
        live.set(start)
    return live


def budget_rows(result: Result) -> list[dict[str, Any]]:
    """The judged budgets of a run as table rows (budget, limit, actual, pass)."""
    return [{"budget": name, "limit": b["limit"], "actual": b["actual"], "pass": b["pass"]}
            for name, b in result.summary["budgets"].items() if b["judged"]]


class table:  # noqa: N801 - used like a function: lab2.table(rows)
    """Rows of dicts shown as a Markdown table in a notebook (plain text elsewhere).

    >>> print(repr(table([{"a": 1.23456, "b": None}])))
    a    | b
    1.23 | -
    """

    def __init__(self, rows: Iterable[Mapping[str, Any]], digits: int = 3):
        self.rows = [dict(r) for r in rows]
        self.digits = digits

    def _cells(self) -> tuple[list[str], list[list[str]]]:
        cols = list(dict.fromkeys(k for r in self.rows for k in r))
        def fmt(v: Any) -> str:
            if v is None:
                return "-"
            if isinstance(v, float):
                return f"{v:.{self.digits}g}" if abs(v) < 100 else f"{v:,.0f}"
            return str(v)
        return cols, [[fmt(r.get(c)) for c in cols] for r in self.rows]

    def _repr_markdown_(self) -> str:
        cols, body = self._cells()
        return "\n".join(["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
                         + ["| " + " | ".join(row) + " |" for row in body])

    def __repr__(self) -> str:
        cols, body = self._cells()
        widths = [max(len(x) for x in col) for col in zip(cols, *body)]
        return "\n".join(" | ".join(x.ljust(w) for x, w in zip(row, widths)).rstrip()
                         for row in [cols, *body])


# --------------------------------------------------------------------------
# Activity 1: capacity and scaling
# --------------------------------------------------------------------------

#: Two machine types you can rent: a large replica is twice as fast and twice the price.
#: The model is self-hosted, so you pay for replica-hours, not per call.
MACHINES: dict[str, dict[str, float]] = {
    "standard": {"model.service_ms": 80.0, "model.cost_per_replica_hour": 2.5},
    "large": {"model.service_ms": 40.0, "model.cost_per_replica_hour": 5.0},
}

#: Four standard replicas behind a 2 s deadline; turn load.rate_rps up until it bends.
CAPACITY_SCENARIO: dict[str, Any] = {
    **NO_BUDGETS, "load.rate_rps": 40.0, "load.duration_s": 40.0, "model.replicas": 4,
    **MACHINES["standard"], "model.cost_per_call": 0.0, "gateway.deadline_ms": 2000.0,
}

#: Task 1: the cheapest fleet that holds p95 <= 200 ms at 90 requests/s.
SCALING_TASK: dict[str, Any] = {
    **CAPACITY_SCENARIO, "load.rate_rps": 90.0, "budget.p95_ms": 200.0,
}


def machine_knobs(machine: str, replicas: int) -> dict[str, Any]:
    """The knobs of ``replicas`` replicas of one machine type.

    >>> machine_knobs("large", 3)["model.service_ms"]
    40.0
    """
    if machine not in MACHINES:
        raise KnobError(f"machine must be one of {', '.join(MACHINES)}, got {machine!r}")
    return {**MACHINES[machine], "model.replicas": CATALOGUE["model.replicas"].check(replicas)}


def _p95_theory(rate: float, service_ms: float, replicas: int) -> float | None:
    if rate * service_ms / 1000.0 >= replicas:
        return None
    return theory.mmc_response_quantile_ms(rate, service_ms, replicas, 0.95)


def ramp_table(rates_rps: Iterable[float], machine: str = "standard", replicas: int = 4,
               seed: int = 1) -> list[dict[str, Any]]:
    """For each arrival rate: utilisation, M/M/c p95 (None when overloaded) and the run."""
    rows = []
    for rate in rates_rps:
        knobs = {**CAPACITY_SCENARIO, **machine_knobs(machine, replicas),
                 "load.rate_rps": float(rate)}
        s = simulate(knobs, seed=seed).summary
        svc = MACHINES[machine]["model.service_ms"]
        rows.append({"rate_rps": float(rate), "utilisation": rate * svc / 1000.0 / replicas,
                     "theory_p95_ms": _p95_theory(rate, svc, replicas),
                     "sim_p95_ms": s["latency_ms"]["p95"], "success_rate": s["success_rate"],
                     "cost_per_1k": s["cost"]["per_1k"]})
    return rows


def scaling_options(rate_rps: float = 60.0, seed: int = 1) -> list[dict[str, Any]]:
    """Baseline, horizontal (twice the replicas) and vertical (twice as fast) at one load."""
    options = {"baseline: 4 x standard": ("standard", 4),
               "horizontal: 8 x standard": ("standard", 8),
               "vertical: 4 x large": ("large", 4)}
    rows = []
    for label, (machine, n) in options.items():
        knobs = {**CAPACITY_SCENARIO, **machine_knobs(machine, n), "load.rate_rps": rate_rps}
        s = simulate(knobs, seed=seed).summary
        svc = MACHINES[machine]["model.service_ms"]
        rows.append({"option": label, "capacity_rps": n * 1000.0 / svc,
                     "per_hour": n * MACHINES[machine]["model.cost_per_replica_hour"],
                     "p50_ms": s["latency_ms"]["p50"], "p95_ms": s["latency_ms"]["p95"],
                     "theory_p95_ms": _p95_theory(rate_rps, svc, n),
                     "success_rate": s["success_rate"], "cost_per_1k": s["cost"]["per_1k"]})
    return rows


def _cheapest_fleet(task: Mapping[str, Any] | None = None) -> tuple[str, int, float]:
    """(machine, replicas, $/hour) of the cheapest fleet that meets the task's p95 (M/M/c)."""
    t = dict(SCALING_TASK if task is None else task)
    best: tuple[str, int, float] | None = None
    for machine, spec in MACHINES.items():
        try:
            n = theory.min_replicas_for_p95(t["load.rate_rps"], spec["model.service_ms"],
                                            t["budget.p95_ms"])
        except ValueError:  # no number of these replicas can meet it
            continue
        price = n * spec["model.cost_per_replica_hour"]
        if best is None or price < best[2]:
            best = (machine, n, price)
    if best is None:
        raise ValueError(f"budget.p95_ms {t['budget.p95_ms']:g} cannot be met by any machine")
    return best


def judge_scaling(machine: Any, replicas: Any, seeds: Iterable[int], *,
                  check_cost: bool = True) -> list[str]:
    """Problems with a task-1 answer: a machine type and a number of replicas.

    The p95 budget must hold on every seed; with ``check_cost`` no cheaper fleet may meet it.
    """
    if machine not in MACHINES:
        return [f"scale_machine must be one of {', '.join(map(repr, MACHINES))}, got "
                f"{machine!r}"]
    if isinstance(replicas, bool) or not isinstance(replicas, (int, np.integer)) or not (
            1 <= replicas <= 40):
        return [f"scale_replicas must be a whole number from 1 to 40, got {replicas!r}"]
    t, budget = SCALING_TASK, SCALING_TASK["budget.p95_ms"]
    problems = []
    for seed in seeds:
        p95 = simulate({**t, **machine_knobs(machine, int(replicas))},
                       seed=seed).summary["latency_ms"]["p95"]
        if p95 > budget:
            svc = MACHINES[machine]["model.service_ms"]
            hint = (f"one {svc:g} ms call alone has a p95 of {math.log(20) * svc:.0f} ms, so no "
                    "number of these replicas can meet it: scale up, not out"
                    if math.log(20) * svc > budget else "add replicas (ramp_table helps)")
            problems.append(f"seed {seed}: p95 is {p95:.0f} ms with {replicas} x {machine}, "
                            f"over the {budget:g} ms budget; {hint}")
    if problems or not check_cost:
        return problems
    best_machine, best_n, best_price = _cheapest_fleet()
    price = int(replicas) * MACHINES[machine]["model.cost_per_replica_hour"]
    if price > best_price + 1e-9:
        problems.append(f"{replicas} x {machine} costs ${price:g}/h; {best_n} x {best_machine} "
                        f"also meets the budget for ${best_price:g}/h")
    return problems


# --------------------------------------------------------------------------
# Activity 2: caching and batching
# --------------------------------------------------------------------------

#: A cache in front of a fast model, for comparing hit ratios with Che's approximation.
CACHE_CURVE_SCENARIO: dict[str, Any] = {
    **NO_BUDGETS, "load.rate_rps": 100.0, "load.duration_s": 120.0, "model.replicas": 12,
    "model.service_ms": 10.0, "cache.enabled": True, "load.catalog_size": 10000,
    "load.zipf_alpha": 1.0,
}


def _hits(records: np.ndarray, after_s: float) -> float:
    rows = records[(records["arrival_s"] >= after_s) & (records["cache"] > 0)]
    return float(np.isin(rows["cache"], (2, 3)).mean()) if len(rows) else 0.0


def hit_ratio_curve(capacities: Iterable[int], seeds: Iterable[int] = (1,),
                    warmup_s: float = 40.0,
                    scenario: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Hit ratio against cache size, in the row format :func:`labkit.viz.sweep_figure` plots.

    One row per capacity for Che's approximation (``source`` "Che (theory)", seed 0), and
    per capacity and seed for the run, counted after ``warmup_s`` (an empty cache needs
    time to fill) and over the whole run.
    """
    sc = dict(CACHE_CURVE_SCENARIO if scenario is None else scenario)
    pop = theory.zipf_popularity(int(sc["load.catalog_size"]), float(sc["load.zipf_alpha"]))
    rows = []
    for cap in capacities:
        cap = int(cap)
        rows.append({"cache.capacity_items": cap, "source": "Che (theory)", "seed": 0,
                     "hit_ratio": theory.che_lru_hit_ratio(pop, cap)})
        for seed in seeds:
            res = simulate({**sc, "cache.capacity_items": cap}, seed=seed)
            rows.append({"cache.capacity_items": cap, "source": "simulated, after warm-up",
                         "seed": seed, "hit_ratio": _hits(res.records, warmup_s)})
            rows.append({"cache.capacity_items": cap, "source": "simulated, whole run",
                         "seed": seed, "hit_ratio": res.summary["cache_hit_ratio"]})
    return rows


def ttl_table(ttls_s: Iterable[float], seed: int = 1, content_change_s: float = 60.0,
              scenario: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """What a TTL buys (fewer stale hits) and costs (fewer hits), for a 2,000-item cache
    whose answers change about every ``content_change_s`` seconds; theory: an unbounded
    cache with insertion-time expiry."""
    sc = {**CACHE_CURVE_SCENARIO, "cache.capacity_items": 2000,
          "cache.content_change_s": content_change_s, **dict(scenario or {})}
    pop = theory.zipf_popularity(int(sc["load.catalog_size"]), float(sc["load.zipf_alpha"]))
    rows = []
    for ttl in ttls_s:
        s = simulate({**sc, "cache.ttl_s": float(ttl)}, seed=seed).summary
        rows.append({"ttl_s": float(ttl),
                     "theory_hit_ratio_unbounded": (theory.ttl_cache_hit_ratio(
                         pop, sc["load.rate_rps"], float(ttl)) if ttl > 0 else None),
                     "hit_ratio": s["cache_hit_ratio"], "stale_hit_ratio": s["stale_hit_ratio"],
                     "fresh_hit_ratio": s["cache_hit_ratio"] - s["stale_hit_ratio"]})
    return rows


def batching_table(settings: Iterable[tuple[int, float]], rate_rps: float,
                   seed: int = 1, replicas: int = 1) -> list[dict[str, Any]]:
    """For each (max_size, max_wait_ms): capacity (theory), mean batch, p50 and p95 latency."""
    rows = []
    for size, wait in settings:
        knobs = {**NO_BUDGETS, "load.rate_rps": rate_rps, "load.duration_s": 30.0,
                 "model.replicas": replicas, "model.service_ms": 80.0,
                 "model.service_dist": "deterministic", "batch.max_size": int(size),
                 "batch.max_wait_ms": float(wait), "gateway.deadline_ms": 3000.0}
        res = simulate(knobs, seed=seed)
        s, rec = res.summary, res.records
        served = rec[rec["batch_size"] > 0]
        rows.append({
            "max_size": int(size), "max_wait_ms": float(wait),
            "capacity_rps": theory.batch_capacity_rps(int(size), 80.0,
                                                      res.scenario.model.per_item_fraction,
                                                      replicas),
            "mean_batch": float(served["batch_size"].mean()) if len(served) else 0.0,
            "p50_ms": s["latency_ms"]["p50"], "p95_ms": s["latency_ms"]["p95"],
            "success_rate": s["success_rate"]})
    return rows


# --------------------------------------------------------------------------
# Activity 3: the hidden multiplier
# --------------------------------------------------------------------------

_STEP_BITS = {"embed": 8, "retrieval": 16, "rerank": 32}


def cost_graph(result: Result) -> list[dict[str, Any]]:
    """What one request pays for, step by step: runs per request, $ per 1k, quality added."""
    rec, sc, s = result.records, result.scenario, result.summary
    n = max(len(rec), 1)
    rows = []
    for step, bit in _STEP_BITS.items():
        runs = int(((rec["path"] & bit) > 0).sum())
        cfg = getattr(sc, step)
        gain = getattr(cfg, "quality_gain", 0.0)
        rows.append({"step": step, "runs_per_request": runs / n,
                     "cost_per_1k": 1000.0 * runs * cfg.cost_per_call / n,
                     "quality_gain": gain})
    calls = s["model_calls"]
    rows.append({"step": "generation (incl. retries)", "runs_per_request": calls / n,
                 "cost_per_1k": 1000.0 * s["cost"]["calls"] / n, "quality_gain": sc.model.quality})
    rows.append({"step": "warm replicas", "runs_per_request": 0.0,
                 "cost_per_1k": 1000.0 * s["cost"]["replicas"] / n, "quality_gain": 0.0})
    return rows


# --------------------------------------------------------------------------
# Activity 4: peaks, autoscaling and overprovisioning
# --------------------------------------------------------------------------

#: 20 requests/s with a fourfold spike from 45 s to 75 s; self-hosted replicas at $4/h.
PEAK_SCENARIO: dict[str, Any] = {
    **NO_BUDGETS, "load.rate_rps": 20.0, "load.duration_s": 120.0, "load.pattern": "spike",
    "load.spike_multiplier": 4.0, "load.spike_start_s": 45.0, "load.spike_duration_s": 30.0,
    "model.service_ms": 80.0, "model.cost_per_call": 0.0, "model.cost_per_replica_hour": 4.0,
    "autoscale.cold_start_s": 10.0, "autoscale.interval_s": 15.0,
    "autoscale.max_replicas": 16, "gateway.deadline_ms": 3000.0,
}

#: The two strategies compared in activity 4.
PEAK_OPTIONS: dict[str, dict[str, Any]] = {
    "warm pool for the peak": {"model.replicas": 8},
    "autoscaler from 2": {"autoscale.enabled": True, "model.replicas": 2,
                          "autoscale.min_replicas": 2, "autoscale.target_utilization": 0.6},
}


def cost_per_day(result: Result) -> float:
    """The run's spending rate scaled to 24 hours: what a day costs if it looks like this run."""
    return result.summary["cost"]["total"] / result.scenario.load.duration_s * 86400.0


def peak_table(seed: int = 1, options: Mapping[str, Mapping[str, Any]] | None = None,
               scenario: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Each strategy on the spike: cost per day, mean replicas, success and p95."""
    sc = dict(PEAK_SCENARIO if scenario is None else scenario)
    rows = []
    for label, knobs in (options or PEAK_OPTIONS).items():
        res = simulate({**sc, **knobs}, seed=seed)
        s = res.summary
        rows.append({"strategy": label, "cost_per_day": cost_per_day(res),
                     "replicas_mean": s["replicas_mean"], "success_rate": s["success_rate"],
                     "p95_ms": s["latency_ms"]["p95"], "utilisation": s["utilisation"]})
    return rows
