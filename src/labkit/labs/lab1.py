"""Lab 1, system shapes: the scenarios, scorecards and task judges the notebook shares.

The lab notebook and its hidden tests both import this module, so a scenario
is written down once.  Each activity has:

* a base scenario (a dict of knob overrides, see ``labkit knobs``);
* the knobs a learner may change in its graded task, with their allowed range;
* a judge: ``judge_*(answer, seeds=...)`` runs labkit with the learner's answer
  on the given seeds and returns a list of problems, each one sentence saying
  what failed, on which seed, and where to look (an empty list means it passes).

The seeds a learner is graded on live in the notebook's hidden tests, not here.

Activities:

1. *Three shapes, one workload*: batch, real-time and retrieval-augmented (RAG)
   serving of the same traffic, against five budgets (latency, cost, quality,
   freshness, leaks).
2. *Latency is a design constraint*: utilisation against queueing, and the
   fewest replicas for a p95 budget (Erlang C, confirmed by simulation).
3. *Boundaries*: writes that go straight through against an approval path
   with a review queue.
4. *Orchestration and traceability*: reading the audit trail of a harmful
   answer (see :func:`harmful_request_ids` and ``Result.trace``).

>>> sorted(SHAPES)
['batch', 'rag', 'realtime']
>>> judge_replicas(5, seeds=(1,))[0]
'6 replicas ... not 5...'
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from labkit.knobs import CATALOGUE, KnobError
from labkit.sim import Result, simulate
from labkit.sim import theory

__all__ = [
    "SHAPE_WORKLOAD", "SHAPES", "SHAPE_BUDGETS", "SHAPE_TASK_KNOBS", "shape_scorecard",
    "compare_shapes", "judge_shape",
    "LATENCY_SCENARIO", "REPLICA_TASK", "utilisation_table", "judge_replicas",
    "BOUNDARY_SCENARIO", "BOUNDARY_TASK_KNOBS", "REVIEW_P95_BUDGET_S", "review_wait_theory_s",
    "judge_boundary",
    "INCIDENT_SCENARIO", "harmful_request_ids", "incident_truth", "judge_incident_report",
    "check_task_knobs",
]

_NO_BUDGETS = {"budget.p95_ms": 0.0, "budget.p99_ms": 0.0, "budget.cost_per_1k": 0.0,
               "budget.success_rate": 0.0}

# --------------------------------------------------------------------------
# Activity 1: three shapes, one workload
# --------------------------------------------------------------------------

#: The shared workload: 30 requests/s for two simulated minutes; at 70 s the
#: world changes (a price list, a policy), so answers built earlier go stale.
SHAPE_WORKLOAD: dict[str, Any] = {
    **_NO_BUDGETS,
    "load.rate_rps": 30.0, "load.duration_s": 120.0, "world.change_at_s": 70.0,
    "model.replicas": 4, "retrieval.error_rate": 0.02,
}

#: The three shapes, each as the knobs that make it.
SHAPES: dict[str, dict[str, Any]] = {
    "batch": {"serving.pattern": "batch", "serving.batch_interval_s": 3600.0},
    "realtime": {"serving.pattern": "realtime"},
    "rag": {"serving.pattern": "rag"},
}

#: The budgets of the graded task (``max_lag_s``: the oldest data an answer may use).
SHAPE_BUDGETS: dict[str, float] = {
    "p95_ms": 400.0, "cost_per_1k": 3.0, "quality": 0.90, "max_lag_s": 30.0, "leaks": 0,
}

#: Knobs the learner may set in task 1, with (lowest, highest) allowed; None = any value.
#: The data pipeline cannot rebuild the index, or rerun the batch job, more often than
#: every 10 s: that is how long one run takes.
SHAPE_TASK_KNOBS: dict[str, tuple[float, float] | None] = {
    "serving.pattern": None, "serving.batch_interval_s": (10.0, 86400.0),
    "retrieval.index_refresh_s": (10.0, 86400.0), "retrieval.permission_check": None,
    "model.replicas": (1, 40),
}


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


def check_task_knobs(answer: Any, allowed: Mapping[str, tuple[float, float] | None],
                     task: str) -> list[str]:
    """Problems with the *form* of a knob answer: a dict of allowed, valid knobs."""
    if not isinstance(answer, Mapping):
        return [f"{task}: the answer must be a dict of knob names to values, "
                f"got {type(answer).__name__}"]
    problems = []
    for name, value in answer.items():
        if name not in allowed:
            problems.append(f"{task}: {name!r} is not a knob this task lets you change; "
                            f"allowed: {', '.join(allowed)}")
            continue
        try:
            value = CATALOGUE[name].check(value)
        except KnobError as exc:
            problems.append(f"{task}: {exc}")
            continue
        bounds = allowed[name]
        if bounds is not None and not bounds[0] <= value <= bounds[1]:
            problems.append(f"{task}: {name} must lie in {bounds[0]:g}..{bounds[1]:g} for "
                            f"this task, got {value!r}")
    return problems


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


# --------------------------------------------------------------------------
# Activity 2: latency is a design constraint
# --------------------------------------------------------------------------

#: The exploration scenario: 4 replicas of an 80 ms model; turn load.rate_rps up.
LATENCY_SCENARIO: dict[str, Any] = {
    **_NO_BUDGETS, "load.duration_s": 120.0, "model.replicas": 4, "model.service_ms": 80.0,
    "model.service_dist": "exponential", "gateway.deadline_ms": 1000.0,
}

#: Task 2: the fewest replicas whose p95 meets the budget at this load.
REPLICA_TASK: dict[str, Any] = {
    **_NO_BUDGETS, "load.rate_rps": 45.0, "load.duration_s": 120.0, "model.service_ms": 100.0,
    "model.service_dist": "exponential", "budget.p95_ms": 450.0,
}


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


# --------------------------------------------------------------------------
# Activity 3: boundaries
# --------------------------------------------------------------------------

#: An assistant that reads (explains a policy) and writes (approves a refund):
#: 10 requests/s, 5% of them writes; a careful review takes 6 s on average.
BOUNDARY_SCENARIO: dict[str, Any] = {
    **_NO_BUDGETS, "load.rate_rps": 10.0, "load.duration_s": 600.0, "model.replicas": 2,
    "load.write_fraction": 0.05, "boundary.wrong_write_rate": 0.08, "boundary.review_s": 6.0,
    "audit.enabled": True,
}

#: What a learner may change in task 3, and the review-wait budget (95th percentile).
BOUNDARY_TASK_KNOBS: dict[str, tuple[float, float] | None] = {
    "boundary.policy": None, "boundary.reviewers": (1, 50),
}
REVIEW_P95_BUDGET_S = 8.0


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


# --------------------------------------------------------------------------
# Activity 4: orchestration and traceability
# --------------------------------------------------------------------------

#: A RAG assistant with a guardrail whose threshold is set too high.
INCIDENT_SCENARIO: dict[str, Any] = {
    **_NO_BUDGETS, "load.rate_rps": 20.0, "load.duration_s": 120.0, "serving.pattern": "rag",
    "retrieval.index_refresh_s": 60.0, "model.version": "v3", "guardrail.enabled": True,
    "guardrail.threshold": 0.9, "guardrail.harmful_rate": 0.01, "audit.enabled": True,
}


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
