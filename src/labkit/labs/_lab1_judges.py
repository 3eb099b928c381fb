"""Lab 1's scorecards and task judges: run labkit on given seeds, say what failed and why.

Every ``judge_*(answer, seeds=...)`` returns a list of problems, one sentence
each, naming the budget, the seed and where to look; an empty list passes.
The seeds used for grading live in the notebook's hidden tests, never here.
Margins are chosen from theory so that a right answer passes on any seed and
each plausible wrong one fails (see ``tests/labs/test_lab1.py``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from labkit.knobs import CATALOGUE
from labkit.labs._tasks import check_task_knobs
from labkit.labs._lab1_scenarios import (
    BOUNDARY_SCENARIO, BOUNDARY_TASK_KNOBS, INCIDENT_SCENARIO, LATENCY_SCENARIO, REPLICA_TASK,
    REVIEW_P95_BUDGET_S, SHAPE_BUDGETS, SHAPE_TASK_KNOBS, SHAPE_WORKLOAD, SHAPES,
)
from labkit.sim import Result, simulate, theory

__all__ = [
    "shape_scorecard", "compare_shapes", "check_task_knobs", "judge_shape",
    "utilisation_table", "judge_replicas", "review_wait_theory_s", "judge_boundary",
    "harmful_request_ids", "incident_truth", "judge_incident_report",
]


def shape_scorecard(result: Result) -> dict[str, Any]:
    """The five task-1 numbers of one run, each with its budget and whether it holds.

    ``max_lag_s`` is the largest freshness lag of any answer: how long after the
    world changed the oldest out-of-date answer was served.
    """
    s = result.summary
    answered = result.records[result.records["outcome"] <= 1]
    lag = float(answered["freshness_lag_s"].max()) if len(answered) else 0.0
    actual = {"p95_ms": s["latency_ms"]["p95"], "cost_per_1k": s["cost"]["per_1k"],
              "quality": s["quality_mean"], "max_lag_s": lag, "leaks": s["leaks"]}
    rows = {}
    for name, limit in SHAPE_BUDGETS.items():
        value = actual[name]
        ok = value >= limit if name == "quality" else value <= limit
        rows[name] = {"limit": limit, "actual": value, "pass": bool(ok)}
    return {"pattern": result.scenario.serving.pattern, "budgets": rows,
            "stale_answer_ratio": s["stale_answer_ratio"],
            "all_pass": all(r["pass"] for r in rows.values())}


def compare_shapes(seed: int = 1, knobs: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """One row per shape on the shared workload: the five task-1 numbers and the share of
    stale answers; ``knobs`` are applied to every shape (for example more replicas)."""
    rows = []
    for name, shape in SHAPES.items():
        card = shape_scorecard(simulate({**SHAPE_WORKLOAD, **dict(knobs or {}), **shape},
                                        seed=seed))
        rows.append({"shape": name, **{k: v["actual"] for k, v in card["budgets"].items()},
                     "stale_answer_ratio": card["stale_answer_ratio"],
                     "all_pass": card["all_pass"]})
    return rows


def judge_shape(answer: Any, seeds: Iterable[int],
                change_times_s: Iterable[float] = (70.0,)) -> list[str]:
    """Problems with a task-1 answer, run on every (seed, world-change time) pair."""
    problems = check_task_knobs(answer, SHAPE_TASK_KNOBS, "shape_knobs")
    if problems:
        return problems
    for seed in seeds:
        for change in change_times_s:
            knobs = {**SHAPE_WORKLOAD, "world.change_at_s": float(change), **answer}
            card = shape_scorecard(simulate(knobs, seed=seed))
            for name, row in card["budgets"].items():
                if not row["pass"]:
                    problems.append(_shape_message(name, row, seed, change, card["pattern"]))
    return problems


_SHAPE_HINTS = {
    "p95_ms": "the model queue is the bottleneck: look at model.replicas",
    "cost_per_1k": "look at the cost breakdown: batch jobs, calls and warm replicas",
    "quality": "which shape grounds answers in your own documents?",
    "max_lag_s": "answers are built on data older than the change: how often is that data "
                 "rebuilt (serving.batch_interval_s or retrieval.index_refresh_s)?",
    "leaks": "retrieved documents reached users who may not see them: "
             "retrieval.permission_check",
}


def _shape_message(name: str, row: dict[str, Any], seed: int, change: float,
                   pattern: str) -> str:
    op = ">=" if name == "quality" else "<="
    return (f"{pattern}, seed {seed}, world change at {change:g} s: {name} = "
            f"{row['actual']:.3g}, budget {op} {row['limit']:g}; {_SHAPE_HINTS[name]}")


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


def judge_replicas(answer: Any, seeds: Iterable[int]) -> list[str]:
    """Problems with a task-2 answer (a whole number of replicas)."""
    if isinstance(answer, bool) or not isinstance(answer, (int, np.integer)):
        return [f"replicas_needed must be a whole number, got {answer!r}"]
    t = REPLICA_TASK
    rate, svc, budget = t["load.rate_rps"], t["model.service_ms"], t["budget.p95_ms"]
    best = theory.min_replicas_for_p95(rate, svc, budget)
    if answer != best:
        why = ("its p95 is over budget" if answer < best else
               f"{best} already meet it, and every extra replica is paid for")
        return [f"{best} replicas is the smallest number that meets the p95 budget of "
                f"{budget:g} ms at {rate:g} req/s, not {answer} ({why}); compare "
                f"theory.mmc_response_quantile_ms(rate, service_ms, c, 0.95) for each c"]
    problems = []
    for seed in seeds:
        for c, should_pass in ((answer, True), (answer - 1, False)):
            if c < 1:
                continue
            p95 = simulate({**t, "model.replicas": c}, seed=seed).summary["latency_ms"]["p95"]
            if (p95 <= budget) != should_pass:
                problems.append(f"seed {seed}: simulated p95 with {c} replicas is {p95:.0f} ms, "
                                f"which does not confirm the theory (budget {budget:g} ms)")
    return problems


def review_wait_theory_s(reviewers: int, q: float = 0.95,
                         scenario: Mapping[str, Any] | None = None) -> float:
    """The q-quantile of the wait for a reviewer in M/M/c (0 when most writes never wait).

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


def judge_boundary(answer: Any, seeds: Iterable[int]) -> list[str]:
    """Problems with a task-3 answer: zero unauthorised writes, review p95 within budget,
    and no more reviewers than the budget needs (reviewers are people you pay)."""
    problems = check_task_knobs(answer, BOUNDARY_TASK_KNOBS, "boundary_knobs")
    if problems:
        return problems
    budget_ms = REVIEW_P95_BUDGET_S * 1000.0
    for seed in seeds:
        s = simulate({**BOUNDARY_SCENARIO, **answer}, seed=seed).summary
        if s["unauthorised_writes"]:
            problems.append(f"seed {seed}: {s['unauthorised_writes']} unauthorised writes went "
                            "through; every write needs a path where a person approves it "
                            "(boundary.policy)")
        elif s["review_wait_ms_p95"] > budget_ms:
            problems.append(f"seed {seed}: p95 review wait {s['review_wait_ms_p95'] / 1000:.1f} s"
                            f" is over the {REVIEW_P95_BUDGET_S:g} s budget; add reviewers "
                            "(review_wait_theory_s helps)")
    if not problems:
        fewest = next(c for c in range(1, 51) if review_wait_theory_s(c) <= REVIEW_P95_BUDGET_S)
        reviewers = answer.get("boundary.reviewers", CATALOGUE["boundary.reviewers"].default)
        if reviewers < fewest:
            problems.append(f"{reviewers} reviewers passed on these seeds by luck: over a long "
                            f"run their p95 wait is {review_wait_theory_s(reviewers):.1f} s "
                            f"(review_wait_theory_s), over the {REVIEW_P95_BUDGET_S:g} s budget")
        elif reviewers > fewest:
            problems.append(f"{reviewers} reviewers meet the budget, but so do {fewest}: "
                            "staff the queue with the fewest that hold the budget")
    return problems


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


def judge_incident_report(explain: Any, cases: Iterable[tuple[Mapping[str, Any], int]]) -> list[str]:
    """Problems with a task-4 answer: ``explain(result, request_id) -> dict`` must agree
    with the audit trail on every (knob overrides, seed) case, for every harmful answer."""
    if not callable(explain):
        return [f"explain must be a function explain(result, request_id), got {explain!r}"]
    problems = []
    for overrides, seed in cases:
        res = simulate({**INCIDENT_SCENARIO, **overrides}, seed=seed)
        for rid in harmful_request_ids(res)[:3]:
            want = incident_truth(res, rid)
            try:
                got = explain(res, rid)
            except Exception as exc:  # noqa: BLE001 - report the learner's error, do not crash
                problems.append(f"explain(result, {rid}) raised {type(exc).__name__}: {exc}")
                return problems
            if not isinstance(got, Mapping):
                return [f"explain must return a dict, got {type(got).__name__}"]
            for key in ("data_snapshot", "model_version", "threshold"):
                if key not in got:
                    problems.append(f"explain's dict has no {key!r} key")
                elif got[key] != want[key]:
                    problems.append(f"seed {seed}, {dict(overrides)}: request {rid} {key} is "
                                    f"{want[key]!r} in the audit trail, you gave {got[key]!r}; "
                                    "read it from result.trace(request_id), not from the "
                                    "scenario you expect")
            if problems:
                return problems
    return problems
