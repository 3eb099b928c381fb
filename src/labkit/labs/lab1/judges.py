"""Lab 1's task judges: an answer and seeds in, problems out (empty: it passes).

Each judge has the labs' one signature, ``judge_x(answer, *, seeds) -> list[str]``
(see :mod:`labkit.labs.common`), plus ``learner``: whose numbers to judge with
(``None``: this kernel's learner, at grading the student the submission is filed
under; see :mod:`labkit.labs.lab1.draws`).  The answer is plain data, a wrong
form is a problem, and no message names an answer that passes, says which way a
better one lies, or gives away the grader's reference.  Margins are chosen so
that a right answer passes on any seed and each plausible wrong one fails (see
``tests/labs/test_lab1.py``).  The seeds used for grading live in the notebook's
hidden tests, never here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from labkit.checkpoints import check_number
from labkit.labs.common import Judge, call_learner, check_seeds, form_problems, knob_answer_problems
from labkit.labs.lab1.analysis import (
    fewest_reviewers,
    incident_requests,
    incident_run,
    incident_truth,
    shape_scorecard,
)
from labkit.labs.lab1.draws import (
    boundary_task,
    expected_q4,
    hop_fix,
    hop_task,
    replica_task,
    shape_budgets,
    shape_workload,
)
from labkit.labs.lab1.scenarios import (
    BOUNDARY_TASK_KNOBS,
    HOP_BUDGETS,
    HOP_TASK_KNOBS,
    REVIEW_P95_BUDGET_S,
    SHAPE_TASK_KNOBS,
    shape_case,
)
from labkit.sim import Scenario, simulate, theory
from labkit.sim.scenario import CATALOGUE

__all__ = ["judge_shape", "judge_replicas", "judge_boundary", "collect_explanations",
           "judge_incident_report", "judge_q4", "hop_budget_problems", "judge_hops",
           "EXPLAIN_KEYS", "Q4_TOLERANCE", "JUDGES"]

# ------------------------------------------------------------------ task 1: the shape
_SHAPE_HINTS = {
    "p95_ms": "requests wait in the model queue: look at model.replicas",
    "cost_per_1k": "look at the cost breakdown: batch jobs, index rebuilds, calls and warm "
                   "replicas",
    "quality": "answers are not grounded well enough for the quality floor",
    "max_lag_s": "answers are built on data older than the change: how often is that data "
                 "rebuilt (serving.batch_interval_s or retrieval.index_refresh_s)?",
    "leaks": "retrieved documents reached users who may not see them: "
             "retrieval.permission_check",
}


def _num(value: float) -> str:
    """A measured value for a message: whole numbers from 100 up (no exponent), else 3 digits."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def judge_shape(answer: Any, *, seeds: Sequence[int], learner: str | None = None) -> list[str]:
    """Task 1: all five budgets hold on every seed for this learner's workload, the world
    changing when the seed says."""
    seeds = check_seeds(seeds)
    workload, budgets = shape_workload(learner=learner), shape_budgets(learner=learner)
    problems = knob_answer_problems(answer, SHAPE_TASK_KNOBS, task="shape_knobs",
                                    build=lambda k: Scenario.from_knobs({**workload, **k}))
    if problems:
        return problems
    for seed in seeds:
        case = shape_case(seed)
        card = shape_scorecard(simulate({**workload, **answer, **case}, seed=seed), budgets)
        for name, row in card["budgets"].items():
            if not row["pass"]:
                op = ">=" if name == "quality" else "<="
                problems.append(f"{card['pattern']}, seed {seed}, world change at "
                                f"{case['world.change_at_s']:g} s: {name} = {_num(row['actual'])}, "
                                f"budget {op} {row['limit']:g}; {_SHAPE_HINTS[name]}")
    return problems


# ------------------------------------------------------------------ task 2: replicas
def judge_replicas(answer: Any, *, seeds: Sequence[int], learner: str | None = None) -> list[str]:
    """Task 2: the fewest replicas that meet the p95 budget at this learner's rate (Erlang C),
    confirmed by simulation on every seed (that number passes, one fewer fails)."""
    seeds = check_seeds(seeds)
    problems = form_problems(check_number, answer, minimum=1, maximum=1000, integer=True,
                             unit="replicas", question="replicas_needed")
    if problems:
        return problems
    c = int(answer)
    t = replica_task(learner=learner)
    rate, svc, budget = t["load.rate_rps"], t["model.service_ms"], t["budget.p95_ms"]
    if c != theory.min_replicas_for_p95(rate, svc, budget):
        # one message whichever way the answer is off, so it points nowhere
        return [f"replicas_needed: {c} is not the fewest replicas whose p95 (Erlang C) meets "
                f"the {budget:g} ms budget at {rate:g} req/s; compare "
                "theory.mmc_response_quantile_ms(rate, service_ms, c, 0.95) with the budget "
                "for each c"]
    for seed in seeds:
        for fleet, should_pass in ((c, True), (c - 1, False)):
            if fleet < 1:
                continue
            p95 = simulate({**t, "model.replicas": fleet}, seed=seed).summary["latency_ms"]["p95"]
            if (p95 <= budget) != should_pass:
                which = "your answer" if fleet == c else "one replica fewer"
                problems.append(f"seed {seed}: the simulated p95 with {which} is {p95:.0f} ms, "
                                f"which does not confirm the theory (budget {budget:g} ms)")
    return problems


# ------------------------------------------------------------------ task 3: boundary
def judge_boundary(answer: Any, *, seeds: Sequence[int], learner: str | None = None) -> list[str]:
    """Task 3: no unauthorised write, the review p95 within budget on every seed, and the
    fewest reviewers that hold the budget over a long run (reviewers are people you pay),
    on this learner's share of writes."""
    seeds = check_seeds(seeds)
    scenario = boundary_task(learner=learner)
    problems = knob_answer_problems(
        answer, BOUNDARY_TASK_KNOBS, task="boundary_knobs",
        build=lambda k: Scenario.from_knobs({**scenario, **k}))
    if problems:
        return problems
    budget_ms = REVIEW_P95_BUDGET_S * 1000.0
    for seed in seeds:
        s = simulate({**scenario, **answer}, seed=seed).summary
        if s["unauthorised_writes"]:
            problems.append(f"seed {seed}: {s['unauthorised_writes']} unauthorised writes went "
                            "through; every write needs a path where a person approves it "
                            "(boundary.policy)")
        elif s["review_wait_ms_p95"] > budget_ms:
            problems.append(f"seed {seed}: p95 review wait {s['review_wait_ms_p95'] / 1000:.1f} s"
                            f" is over the {REVIEW_P95_BUDGET_S:g} s budget")
    if problems:
        return problems
    reviewers = CATALOGUE["boundary.reviewers"].check(
        answer.get("boundary.reviewers", scenario.get(
            "boundary.reviewers", CATALOGUE["boundary.reviewers"].default)))
    if reviewers != fewest_reviewers(REVIEW_P95_BUDGET_S, scenario):
        # one message whichever way the team is off, so it points nowhere
        problems.append(f"{reviewers} reviewers held the budget on these seeds, but that is not "
                        "the fewest whose p95 wait over a long run (Erlang C: "
                        f"review_wait_theory_s on your scenario) is within "
                        f"{REVIEW_P95_BUDGET_S:g} s")
    return problems


# ------------------------------------------------------------------ task 4: the trail
#: What ``explain(result, request_id)`` must return for each complaint.
EXPLAIN_KEYS = ("data_snapshot", "model_version", "threshold")
_PLAIN = (str, int, float, type(None))


def _records(answer: Any) -> bool:
    return (isinstance(answer, Sequence) and not isinstance(answer, str)
            and all(isinstance(r, Mapping) for r in answer))


def collect_explanations(explain: Any, *, seeds: Sequence[int],
                         learner: str | None = None) -> list[dict[str, Any]]:
    """Task 4's answer as plain data: ``explain(result, request_id)`` called on the first
    complaints of each seed's incident run (this learner's deployment).

    One record per complaint: ``{"seed", "request", "answer"}``, or ``{"seed", "request",
    "error"}`` when ``explain`` raised or returned no dict; ``[{"error": ...}]`` when
    ``explain`` is no function.  ``explain`` may also be records collected before (as the
    grader sends them): those of ``seeds`` are returned as they are.
    :func:`judge_incident_report` judges the records.
    """
    seeds = check_seeds(seeds)
    if _records(explain) and explain:
        return [dict(r) for r in explain if r.get("seed") in seeds or "seed" not in r]
    if not callable(explain):
        return [{"error": f"explain must be a function explain(result, request_id), got "
                          f"{explain!r}"[:300]}]
    records = []
    for seed in seeds:
        res = incident_run(seed, learner=learner)
        for rid in incident_requests(res):
            records.append({"seed": seed, "request": rid,
                            **call_learner(explain, res, rid, name="explain")})
    return records


def judge_incident_report(answer: Any, *, seeds: Sequence[int],
                          learner: str | None = None) -> list[str]:
    """Task 4: on every seed, each complaint's data snapshot, model version and threshold
    as the audit trail records them (``answer``: what :func:`collect_explanations` returns)."""
    seeds = check_seeds(seeds)
    if not _records(answer):
        return ["explain: the answer must be the records lab1.collect_explanations(explain, "
                f"seeds=...) returns, got {type(answer).__name__}"]
    errors = [str(r["error"]) for r in answer if "error" in r]
    if errors:
        return [errors[0]]
    given = {(r.get("seed"), r.get("request")): r.get("answer") for r in answer}
    for seed in seeds:
        res = incident_run(seed, learner=learner)
        problems: list[str] = []
        for rid in incident_requests(res):
            got = given.get((seed, rid))
            if not isinstance(got, Mapping):
                return [f"seed {seed}: no answer for request {rid}; collect the answers with "
                        "lab1.collect_explanations(explain, seeds=...) on the same seeds"]
            want = incident_truth(res, rid)
            for key in EXPLAIN_KEYS:
                if key not in got:
                    problems.append(f"explain's dict has no {key!r} key")
                elif not isinstance(got[key], _PLAIN) or got[key] != want[key]:
                    problems.append(f"seed {seed}: request {rid} {key} {got[key]!r:.60} is not "
                                    "what the audit trail records; read it from "
                                    "result.trace(request_id), not from the scenario you expect")
            if problems:
                return problems
    return []


# ------------------------------------------------------------------ task 5: the data path
def hop_budget_problems(answer: Any, *, seeds: Sequence[int],
                        learner: str | None = None) -> list[str]:
    """Task 5, the part a learner sees: with ``answer``'s servers on this learner's
    deployment, p95 and the share answered hold their budgets on every seed."""
    seeds = check_seeds(seeds)
    task = hop_task(learner=learner)
    problems = knob_answer_problems(answer, HOP_TASK_KNOBS, task="hop_knobs",
                                    build=lambda k: Scenario.from_knobs({**task, **k}))
    if problems:
        return problems
    p95_budget, answered_budget = HOP_BUDGETS["p95_ms"], HOP_BUDGETS["success_rate"]
    for seed in seeds:
        s = simulate({**task, **answer}, seed=seed).summary
        p95, answered = s["latency_ms"]["p95"], s["success_rate"]
        if p95 > p95_budget or answered < answered_budget:
            problems.append(f"seed {seed}: p95 {_num(p95)} ms (budget <= {p95_budget:g}) and "
                            f"{answered:.1%} answered (budget >= {answered_budget:.0%}); find "
                            "where requests wait: result.summary['steps'] and the model's "
                            "utilisation (lab1.hop_table)")
    return problems


def judge_hops(answer: Any, *, seeds: Sequence[int], learner: str | None = None) -> list[str]:
    """Task 5: the budgets hold on every seed (:func:`hop_budget_problems`), only the hop
    that was short of servers is changed, and it gets the fewest servers that keep it under
    capacity with room (servers are paid for whether busy or not)."""
    problems = hop_budget_problems(answer, seeds=seeds, learner=learner)
    if problems:
        return problems
    task = hop_task(learner=learner)
    (short, need), = hop_fix(learner=learner).items()
    for knob, value in answer.items():
        if knob != short and value != task[knob]:
            problems.append(f"{knob}: {value} changes a hop that was not holding the requests "
                            "up; its servers belong to another team and cost money")
    given = answer.get(short, task[short])
    if not problems and given != need:
        # one message whichever way the number is off, so it points nowhere
        problems.append(f"{short}: {given} servers hold the budgets on these seeds, but that is "
                        "not the fewest that keep this hop's utilisation at or below 0.85 "
                        "(rate x its mean time per call / servers)")
    return problems


# ------------------------------------------------------------------ Q4: Little's law
Q4_TOLERANCE = 0.1


def judge_q4(answer: Any, *, seeds: Sequence[int] = (), learner: str | None = None) -> list[str]:
    """Q4: within ``Q4_TOLERANCE`` of this learner's rate x slower response time (seeds are
    not used)."""
    problems = form_problems(check_number, answer, minimum=0, unit="requests", question="Q4")
    if problems:
        return problems
    if abs(float(answer) - expected_q4(learner=learner)) > Q4_TOLERANCE:
        return ["Q4: not the expected number; Little's law: requests in the system = arrival "
                "rate x the time each one stays (in seconds), at the response time the "
                "question asks about."]
    return []


#: Every judge of the lab's simulation tasks, by the answer it grades.
JUDGES: dict[str, Judge] = {
    "shape_knobs": judge_shape, "replicas_needed": judge_replicas,
    "boundary_knobs": judge_boundary, "explain": judge_incident_report,
    "hop_knobs": judge_hops,
}
