"""Lab 1's numbers: scorecards, tables next to theory, and what an audit trail says.

The notebook shows these, and the judges grade with the same functions, so a
learner and a grader read one definition of each number.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from labkit.labs.common import Table, table
from labkit.labs.lab1.draws import incident_scenario, shape_budgets, shape_workload
from labkit.labs.lab1.scenarios import (
    BOUNDARY_SCENARIO,
    LATENCY_SCENARIO,
    SHAPES,
    incident_case,
)
from labkit.sim import Result, codes, simulate, theory

__all__ = ["shape_scorecard", "compare_shapes", "utilisation_table", "review_wait_theory_s",
           "fewest_reviewers", "harmful_request_ids", "incident_truth", "incident_run",
           "incident_requests", "broken_budgets", "hop_table"]


def shape_scorecard(result: Result, budgets: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The five task-1 numbers of one run, each with its budget and whether it holds.

    ``max_lag_s`` is the largest freshness lag of any answer: how long after the
    world changed the oldest out-of-date answer was served.  ``budgets`` defaults to this
    learner's (:func:`~labkit.labs.lab1.draws.shape_budgets`).
    """
    s = result.summary
    outcome = result.records["outcome"]
    answered = result.records[(outcome == codes.OK) | (outcome == codes.DEGRADED)]
    lag = float(answered["freshness_lag_s"].max()) if len(answered) else 0.0
    actual = {"p95_ms": s["latency_ms"]["p95"], "cost_per_1k": s["cost"]["per_1k"],
              "quality": s["quality_mean"], "max_lag_s": lag, "leaks": s["leaks"]}
    rows = {}
    for name, limit in (shape_budgets() if budgets is None else budgets).items():
        value = actual[name]
        ok = value >= limit if name == "quality" else value <= limit
        rows[name] = {"limit": limit, "actual": value, "pass": bool(ok)}
    return {"pattern": result.scenario.serving.pattern, "budgets": rows,
            "stale_answer_ratio": s["stale_answer_ratio"],
            "all_pass": all(r["pass"] for r in rows.values())}


def compare_shapes(seed: int = 1, knobs: Mapping[str, Any] | None = None, *,
                   learner: str | None = None) -> list[dict[str, Any]]:
    """One row per shape on this learner's workload: the five task-1 numbers and the share
    of stale answers; ``knobs`` are applied to every shape (for example more replicas)."""
    rows = []
    workload, budgets = shape_workload(learner=learner), shape_budgets(learner=learner)
    for name, shape in SHAPES.items():
        card = shape_scorecard(simulate({**workload, **dict(knobs or {}), **shape}, seed=seed),
                               budgets)
        rows.append({"shape": name, **{k: v["actual"] for k, v in card["budgets"].items()},
                     "stale_answer_ratio": card["stale_answer_ratio"],
                     "all_pass": card["all_pass"]})
    return rows


def broken_budgets(rows: Iterable[Mapping[str, Any]], *, learner: str | None = None) -> str:
    """Which of this learner's task-1 budgets each shape of :func:`compare_shapes` breaks,
    in one line ("batch breaks max_lag_s; ...")."""
    budgets = shape_budgets(learner=learner)
    parts = []
    for row in rows:
        broken = [name for name, limit in budgets.items()
                  if (row[name] < limit if name == "quality" else row[name] > limit)]
        parts.append(f"{row['shape']} breaks {', '.join(broken) or 'nothing'}")
    return "; ".join(parts)


def utilisation_table(rates_rps: Iterable[float], seed: int = 1,
                      scenario: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """For each arrival rate: utilisation, Erlang C's prediction and the simulated figures.

    Theory columns are None where the queue is unstable (utilisation >= 1), where
    Erlang C has no steady state to predict.
    """
    base = dict(LATENCY_SCENARIO if scenario is None else scenario)
    rows = []
    for rate in rates_rps:
        knobs = {**base, "load.rate_rps": float(rate)}
        res = simulate(knobs, seed=seed)
        s = res.summary
        c, svc = res.scenario.model.replicas, res.scenario.model.service_ms
        rho = rate * svc / 1000.0 / c
        stable = rho < 1.0
        rows.append({
            "rate_rps": float(rate), "utilisation": rho,
            "theory_wait_ms": theory.mmc(rate, svc, c).wq_ms if stable else None,
            "theory_p95_ms": (theory.mmc_response_quantile_ms(rate, svc, c, 0.95)
                              if stable else None),
            "sim_wait_ms": s["model_wait_ms_mean"], "sim_p95_ms": s["latency_ms"]["p95"],
            "timed_out": s["outcomes"]["failed"] / s["requests"] if s["requests"] else 0.0,
        })
    return rows


def review_wait_theory_s(reviewers: int, q: float = 0.95,
                         scenario: Mapping[str, Any] | None = None) -> float:
    """The q-quantile of the wait for a reviewer in M/M/c (0 when most writes never wait),
    on ``scenario`` (default: activity 3's :data:`BOUNDARY_SCENARIO`).

    P(wait > t) = C(c, a) exp(-(c mu - lambda) t), so the quantile is
    ln(C / (1 - q)) / (c mu - lambda) when C > 1 - q, else 0.

    >>> round(review_wait_theory_s(5), 1)
    4.7
    """
    sc = dict(BOUNDARY_SCENARIO if scenario is None else scenario)
    lam = sc["load.rate_rps"] * sc["load.write_fraction"]
    mu = 1.0 / sc["boundary.review_s"]
    if reviewers * mu <= lam:
        return math.inf
    c_wait = theory.erlang_c(reviewers, lam / mu)
    tail = 1.0 - q
    return math.log(c_wait / tail) / (reviewers * mu - lam) if c_wait > tail else 0.0


def fewest_reviewers(budget_s: float, scenario: Mapping[str, Any] | None = None) -> int:
    """The smallest review team whose p95 wait (theory) is within ``budget_s`` (the grader's
    reference; never shown to a learner)."""
    return next(c for c in range(1, 1001) if review_wait_theory_s(c, 0.95, scenario) <= budget_s)


def harmful_request_ids(result: Result) -> list[int]:
    """Ids of requests whose harmful answer reached the customer (the complaints)."""
    return [int(i) for i in np.flatnonzero(result.records["harmful"])]


def incident_truth(result: Result, request_id: int) -> dict[str, Any]:
    """What the audit trail says produced one answer (the grader's reference)."""
    t = result.trace(request_id)
    guard = t["guardrail"]
    return {"request": int(request_id), "data_snapshot": t["data_snapshot"],
            "model_version": t["model"]["version"],
            "threshold": guard["threshold"] if isinstance(guard, dict) else guard}


def incident_run(seed: int, *, learner: str | None = None) -> Result:
    """Task 4's incident on ``seed``: this learner's deployment with the changes the seed
    picks (:func:`incident_case`)."""
    return simulate({**incident_scenario(learner=learner), **incident_case(seed)}, seed=seed)


def incident_requests(result: Result) -> list[int]:
    """The complaints task 4 asks about in one run: its first three harmful answers."""
    return harmful_request_ids(result)[:3]


def hop_table(result: Result) -> Table:
    """Where one run's requests waited: each data-path hop (servers, calls per second,
    utilisation, mean and p95 wait for a server) and the model's replicas, in request order.

    A hop without capacity (servers unlimited) never makes anyone wait; its utilisation is
    left empty.  The model's wait is its batcher queue's.
    """
    s, duration = result.summary, result.scenario.load.duration_s
    rows = []
    for name, hop in s.get("steps", {}).items():
        if not hop["calls"]:
            continue
        rows.append({"hop": name, "servers": hop["servers"] or "unlimited",
                     "calls_per_s": hop["calls"] / duration,
                     "utilisation": hop["utilisation"] if hop["servers"] else None,
                     "wait_ms_mean": hop["wait_ms_mean"], "wait_ms_p95": hop["wait_ms_p95"]})
    calls = result.attempts[result.attempts["model_call"]]
    waits = 1000.0 * calls["wait_s"]
    rows.append({"hop": "model", "servers": result.scenario.model.replicas,
                 "calls_per_s": len(calls) / duration, "utilisation": s["utilisation"],
                 "wait_ms_mean": s["model_wait_ms_mean"],
                 "wait_ms_p95": float(np.percentile(waits, 95)) if len(waits) else 0.0})
    return table(rows)
