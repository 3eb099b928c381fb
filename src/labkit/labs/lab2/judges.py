"""Lab 2's task judges: an answer and seeds in, problems out (empty: it passes).

Each judge has the labs' one signature, ``judge_x(answer, *, seeds) -> list[str]``
(see :mod:`labkit.labs.common`), plus ``learner=None``: the learner whose numbers
(:mod:`labkit.labs.lab2.variants`) the answer is judged against; ``None`` is this
kernel's learner (at grading: the student the submission is filed under).  It runs
labkit with the learner's answer on each seed, in the case the seed picks (when the
outage starts, when the kill switch is thrown), and returns one sentence per failure
naming the case and where to look, never an answer that passes nor whether a better
one exists beyond what the visible seed shows.

Answers are plain data (they cross to the grader's kernel as JSON): tuples may
arrive as lists, and an evidence object as its ``to_dict()``.  Tolerances are not needed on the
knobs: each task is judged on the budgets the lab states, with margins checked
by the lab's tests (the reference answer passes on every hidden case and
plausible wrong answers fail).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from labkit.checkpoints import CheckpointError, check_number
from labkit.evidence.design import DesignError, LoadFailureDesign
from labkit.labs.common import Judge, call_learner, check_seeds, form_problems, knob_answer_problems
from labkit.labs.lab2 import variants
from labkit.labs.lab2.analysis import (
    after_loss_p95_ms,
    audit_requests,
    audit_run,
    cheapest_fleet,
    drill_truth,
    machine_knobs,
    retry_case_score,
)
from labkit.labs.lab2.scenarios import (
    CACHE_BATCH_TASK_KNOBS,
    DEGRADE_TASK_KNOBS,
    DRILL_SCENARIO,
    DRILL_TASK_KNOBS,
    MACHINES,
    MULTIPLIER_TASK_KNOBS,
    PEAK_OPTIONS,
    STICKY_MODES,
    STORM_LIMITS,
    STORM_TASK_KNOBS,
    cache_batch_task,
    degrade_case,
    degrade_scenario,
    multiplier_scenario,
    peak_scenario,
    retry_cases,
    scaling_task,
    sticky_scenario,
    storm_scenario,
)
from labkit.sim import Result, Scenario, codes, simulate

__all__ = ["scaling_answer_problems", "judge_scaling_budget", "judge_scaling",
           "judge_cache_batch", "judge_multiplier", "SPIKE_S", "LAG_CAUSES", "autoscale_truth",
           "judge_autoscale", "first_relief_s", "sticky_truth", "judge_sessions",
           "judge_retry_policy", "judge_degradation", "judge_drill", "AUDIT_KEYS",
           "collect_audit_answers", "judge_audit_answers", "judge_q7", "design_data",
           "design_problems", "JUDGES"]


def _knob_problems(answer: Any, allowed: Mapping[str, Any], base: Mapping[str, Any],
                   task: str) -> list[str]:
    return knob_answer_problems(answer, allowed, task=task,
                                build=lambda k: Scenario.from_knobs({**base, **k}))


def _budget_problems(result: Result, case: str, hints: Mapping[str, str]) -> list[str]:
    out = []
    for name, b in result.summary["budgets"].items():
        if b["judged"] and not b["pass"]:
            op = ">=" if name in ("success_rate", "quality") else "<="
            out.append(f"{case}: {name} = {b['actual']:.3g}, budget {op} {b['limit']:g}; "
                       f"{hints.get(name, '')}".rstrip("; "))
    return out


# ------------------------------------------------------------------ task 1: the fleet
def scaling_answer_problems(answer: Any) -> list[str]:
    """The form of a task-1 answer: ``{"machine": "standard" or "large", "replicas": n}``."""
    if not isinstance(answer, Mapping) or set(answer) != {"machine", "replicas"}:
        return ["scaling: the answer must be a dict with the keys 'machine' and 'replicas', "
                f"got {answer!r}"]
    machine = answer["machine"]
    if machine is None or machine is Ellipsis:
        return ["scale_machine: not answered yet; set it to 'standard' or 'large'."]
    if not isinstance(machine, str) or machine not in MACHINES:
        return [f"scale_machine must be one of {', '.join(map(repr, MACHINES))}, got "
                f"{machine!r}"]
    return form_problems(check_number, answer["replicas"], minimum=1, maximum=40, integer=True,
                         unit="replicas", question="scale_replicas")


def judge_scaling_budget(answer: Any, *, seeds: Sequence[int],
                         learner: str | None = None) -> list[str]:
    """Task 1, the part a learner sees: the fleet holds p95 within budget on every seed."""
    seeds = check_seeds(seeds)
    problems = scaling_answer_problems(answer)
    if problems:
        return problems
    machine, replicas = answer["machine"], int(answer["replicas"])
    task = scaling_task(learner=learner)
    budget = task["budget.p95_ms"]
    for seed in seeds:
        p95 = simulate({**task, **machine_knobs(machine, replicas)},
                       seed=seed).summary["latency_ms"]["p95"]
        if p95 > budget:
            svc = MACHINES[machine]["model.service_ms"]
            alone = math.log(20) * svc   # the p95 of one exponential service time
            hint = (f"one {svc:g} ms call alone has a p95 of {alone:.0f} ms, so no number of "
                    "these replicas can meet it: scale up, not out" if alone > budget
                    else "add replicas (ramp_table helps)")
            problems.append(f"seed {seed}: p95 is {p95:.0f} ms with {replicas} x {machine}, "
                            f"over the {budget:g} ms budget; {hint}")
    return problems


def judge_scaling(answer: Any, *, seeds: Sequence[int],
                  learner: str | None = None) -> list[str]:
    """Task 1: p95 within budget on every seed, and no cheaper fleet meets it (M/M/c)."""
    problems = judge_scaling_budget(answer, seeds=seeds, learner=learner)
    if problems:
        return problems
    machine, replicas = answer["machine"], int(answer["replicas"])
    price = replicas * MACHINES[machine]["model.cost_per_replica_hour"]
    if price > cheapest_fleet(learner=learner)[2] + 1e-9:
        problems.append("scaling: the fleet holds the budget, but it is not the lowest price "
                        "per hour that does")
    return problems


# ------------------------------------------------------------------ task 2: cache and batch
_CACHE_HINTS = {
    "p95_ms": "two replicas cannot keep up one request at a time: batch (batch.max_size, "
              "batch.max_wait_ms) and send fewer requests to the model (cache)",
    "quality": "too many stale answers: a shorter cache.ttl_s retires them sooner",
    "cost_per_1k": "every miss is a paid call: a larger cache and a TTL no shorter than "
                   "quality needs raise the hit ratio",
    "success_rate": "requests are timing out in the queue",
}


def judge_cache_batch(answer: Any, *, seeds: Sequence[int],
                      learner: str | None = None) -> list[str]:
    """Task 2: every budget holds with the answer's cache and batch knobs, on every seed,
    for the learner's content-change interval and cost budget."""
    seeds = check_seeds(seeds)
    task = cache_batch_task(learner=learner)
    problems = _knob_problems(answer, CACHE_BATCH_TASK_KNOBS, task, "cache_batch_knobs")
    for seed in seeds if not problems else ():
        res = simulate({**task, **answer}, seed=seed)
        problems += _budget_problems(res, f"seed {seed}", _CACHE_HINTS)
    return problems


# ------------------------------------------------------------------ task 3: the multiplier
_STEP_HINTS = {
    "cost_per_1k": "which always-on step costs the most for the least quality? (cost_graph)",
    "quality": "you removed a step that carries most of the quality: look at quality_gain",
    "success_rate": "transient model errors need a retry: keep retry.max_attempts above 1",
    "p95_ms": "the request path is too long",
}


def judge_multiplier(answer: Any, *, seeds: Sequence[int],
                     learner: str | None = None) -> list[str]:
    """Task 3: which steps run, and how often, within every budget on every seed (the
    learner's reranker gain, quality floor and cost budget)."""
    seeds = check_seeds(seeds)
    base = multiplier_scenario(learner=learner)
    problems = _knob_problems(answer, MULTIPLIER_TASK_KNOBS, base, "multiplier_knobs")
    for seed in seeds if not problems else ():
        res = simulate({**base, **answer}, seed=seed)
        problems += _budget_problems(res, f"seed {seed}", _STEP_HINTS)
    return problems


# ------------------------------------------------------------------ task 4a: the autoscaler
#: The window of activity 4's spike (s).
SPIKE_S = (45, 75)
#: The parts of the autoscaler's lag task 4a asks to compare.
LAG_CAUSES = ("decision", "cold_start")


def autoscale_truth(*, learner: str | None = None) -> dict[str, Any]:
    """What the learner's autoscaler run on seed 1 shows (the grader's reference: never
    shown): ``first_relief_s`` (seconds from the spike's start to the first rise of ready
    replicas), ``spike_ready_max`` (most replicas ready at any second of the spike),
    ``wait_s`` (from the spike's start to the decision that added them) and ``lag_cause``
    (the longer part of the relief: waiting for that decision or the cold start; both when
    they are equal)."""
    res = simulate({**peak_scenario(learner=learner), **PEAK_OPTIONS["autoscaler from 2"]},
                   seed=1)
    series = res.timeseries(1.0)
    ready, provisioned = series["ready"], series["replicas"]
    start, end = SPIKE_S
    relief = next(t for t in range(start, len(ready)) if ready[t] > ready[t - 1]) - start
    wait = next(t for t in range(start, len(provisioned))
                if provisioned[t] > provisioned[t - 1]) - start
    cold = relief - wait
    cause = (("decision",) if wait > cold else ("cold_start",) if cold > wait else LAG_CAUSES)
    return {"first_relief_s": relief, "spike_ready_max": int(max(ready[start:end])),
            "wait_s": wait, "lag_cause": cause}


def first_relief_s(*, learner: str | None = None) -> int:
    """Seconds from the spike's start (45 s) to the first rise of ready replicas in the
    learner's autoscaler run on seed 1 (the grader's reference: never shown)."""
    return int(autoscale_truth(learner=learner)["first_relief_s"])


def judge_autoscale(answer: Any, *, seeds: Sequence[int],
                    learner: str | None = None) -> list[str]:
    """Task 4a: ``{"first_relief_s": s, "spike_ready_max": n, "lag_cause": c}`` read from the
    learner's own autoscaler run on seed 1: the relief to 1 s, the most ready replicas
    exactly, and the longer part of the lag (seeds are not used: the task is about the run
    the learner makes)."""
    check_seeds(seeds)
    keys = {"first_relief_s", "spike_ready_max", "lag_cause"}
    if not isinstance(answer, Mapping) or set(answer) != keys:
        return ["autoscale: the answer must be a dict with the keys 'first_relief_s', "
                f"'spike_ready_max' and 'lag_cause', got {answer!r}"]
    problems = form_problems(check_number, answer["first_relief_s"], minimum=0, maximum=75,
                             unit="s", question="first_relief_s")
    problems += form_problems(check_number, answer["spike_ready_max"], minimum=1, maximum=16,
                              integer=True, unit="replicas", question="spike_ready_max")
    if answer["lag_cause"] not in LAG_CAUSES:
        problems.append(f"lag_cause must be one of {', '.join(map(repr, LAG_CAUSES))}, got "
                        f"{answer['lag_cause']!r}")
    if problems:
        return problems
    truth = autoscale_truth(learner=learner)
    if abs(float(answer["first_relief_s"]) - truth["first_relief_s"]) > 1.0:
        problems.append("first_relief_s: not when the first added replica started serving in "
                        "your run; read the ready replicas of run4.timeseries(1.0)")
    if int(answer["spike_ready_max"]) != truth["spike_ready_max"]:
        problems.append("spike_ready_max: not the most replicas ready at any second from 45 s "
                        "to 75 s in your run")
    if answer["lag_cause"] not in truth["lag_cause"]:
        problems.append("lag_cause: compare, in your run, when the autoscaler chose to add "
                        "replicas (provisioned replicas rise) with when they started serving "
                        "(ready replicas rise)")
    return problems


# ------------------------------------------------------------------ checkpoint 4b: sessions
def sticky_truth(*, learner: str | None = None) -> dict[str, Any]:
    """What the learner's sticky run (state rebuilt, seed 1) shows: ``sessions_moved`` and
    ``after_loss_p95_ms`` (the grader's reference: never shown)."""
    scenario = {**sticky_scenario(learner=learner), **STICKY_MODES["sticky, state rebuilt"]}
    res = simulate(scenario, seed=1)
    return {"sessions_moved": int(res.summary["sessions"]["moved"]),
            "after_loss_p95_ms": after_loss_p95_ms(res)}


def judge_sessions(answer: Any, *, seeds: Sequence[int],
                   learner: str | None = None) -> list[str]:
    """Checkpoint 4b: ``{"sessions_moved": n, "after_loss_p95_ms": ms}`` read from the
    learner's own sticky run (state rebuilt, seed 1): the count exactly, the p95 within 3%
    (percentile conventions differ by less; seeds are not used)."""
    check_seeds(seeds)
    if not isinstance(answer, Mapping) or set(answer) != {"sessions_moved", "after_loss_p95_ms"}:
        return ["sessions: the answer must be a dict with the keys 'sessions_moved' and "
                f"'after_loss_p95_ms', got {answer!r}"]
    problems = form_problems(check_number, answer["sessions_moved"], minimum=0, integer=True,
                             unit="sessions", question="sessions_moved")
    problems += form_problems(check_number, answer["after_loss_p95_ms"], minimum=0, unit="ms",
                              question="after_loss_p95_ms")
    if problems:
        return problems
    truth = sticky_truth(learner=learner)
    if int(answer["sessions_moved"]) != truth["sessions_moved"]:
        problems.append("sessions_moved: not how many sessions moved in your sticky run "
                        "(state rebuilt); read its summary")
    want = truth["after_loss_p95_ms"]
    if abs(float(answer["after_loss_p95_ms"]) - want) > 0.03 * want:
        problems.append("after_loss_p95_ms: not the p95 of the requests answered that arrived "
                        "in the ten seconds after your replica was lost, in your sticky run "
                        "(state rebuilt); filter its records by arrival time and outcome")
    return problems


# ------------------------------------------------------------------ task 5: retry storm
def _retry_case_problems(card: Mapping[str, float], case: str, where: str) -> list[str]:
    """What went wrong in one case: what the run shows, never which knob to turn."""
    lim = STORM_LIMITS
    if case == "transient" and card["answered"] < lim["transient"]:
        return [f"{where}: {card['answered']:.1%} of requests answered while some calls fail "
                f"at random (need {lim['transient']:.0%})"]
    out = []
    if case == "storm" and card["post"] < lim["post"]:
        out.append(f"{where}: {card['post']:.1%} answered from {lim['recover_s']:g} s "
                   f"after the hang ended (need {lim['post']:.0%})")
    if case == "dead" and card["calls_per_request"] > lim["dead_calls"]:
        out.append(f"{where}: while the model failed every call, it still received "
                   f"{card['calls_per_request']:.2f} calls per arriving request (limit "
                   f"{lim['dead_calls']:g})")
    if case == "quota" and card["repeats"] > lim["quota_repeats"]:
        out.append(f"{where}: {card['repeats']:.1%} of requests sent a call again after the "
                   f"provider had refused one (at most one request in "
                   f"{1 / lim['quota_repeats']:.0f} may)")
    if case == "burst" and card["post"] < lim["burst_post"]:
        out.append(f"{where}: {card['post']:.1%} answered from {lim['burst_after_s']:g} s after "
                   f"the burst (need {lim['burst_post']:.0%})")
    return out


def judge_retry_policy(answer: Any, *, seeds: Sequence[int],
                       learner: str | None = None) -> list[str]:
    """Task 5: the policy survives every case (:data:`RETRY_CASES`) on every seed, in the
    learner's world (their traffic and error rate, :func:`storm_scenario`): the seed picks
    when the hang starts and how long it lasts; the learner's numbers set the quota and a
    shift of the fault times.  Judged by simulation only.  Recovery after the hang and the
    burst's wave are averaged over the seeds (one seed's is noisy)."""
    seeds = check_seeds(seeds)
    base = storm_scenario(learner=learner)
    problems = _knob_problems(answer, STORM_TASK_KNOBS, base, "retry_policy")
    if problems:
        return problems
    recovered, waves = [], []
    for seed in seeds:
        for case, knobs in retry_cases(seed, learner=learner).items():
            res = simulate({**base, **answer, **knobs}, seed=seed)
            where = f"seed {seed}, {case} case"
            if case in ("storm", "dead"):
                where += (f" ({knobs['fault.outage_duration_s']:g} s from "
                          f"{knobs['fault.outage_start_s']:g} s)")
            card = retry_case_score(res, case)
            if case == "storm":
                recovered.append(card["window"])
            if case == "burst":
                waves.append(card["wave"])
            problems += _retry_case_problems(card, case, where)
    named = ", ".join(map(str, seeds))
    window = sum(recovered) / len(recovered)
    if window < STORM_LIMITS["window"]:
        problems.append(f"storm case, seeds {named}: {window:.0%} answered of the requests "
                        "arriving 5 to 15 s after the hang ended (need "
                        f"{STORM_LIMITS['window']:.0%}): the service stayed down after the "
                        "trigger was gone")
    wave = sum(waves) / len(waves)
    if wave > STORM_LIMITS["wave"]:
        problems.append(f"burst case, seeds {named}: on average {wave:.0%} of the retries sent "
                        "in the 10 s from the burst started within the same tenth of a second "
                        f"(at most {STORM_LIMITS['wave']:.0%}): the requests that failed "
                        "together came back together, in waves")
    return problems


# ------------------------------------------------------------------ task 6: degradation
_DEGRADE_HINTS = {
    "success_rate": "requests the primary cannot answer need somewhere to go: fallback.chain",
    "p95_ms": "slow or throttled attempts hold requests too long: a per-attempt timeout and "
              "a breaker move them to the fallback sooner",
    "quality": "too many answers come from a low-quality fallback: a timeout that cuts your "
               "model's calls before they finish sends them there; which fallback comes first?",
    "cost_per_1k": "degraded requests still pay for retrieval, and repeats still pay for a "
                   "call: steps.skip_when_degraded, the cache",
}


def judge_degradation(answer: Any, *, seeds: Sequence[int],
                      learner: str | None = None) -> list[str]:
    """Task 6: every budget of the learner's world (:func:`degrade_scenario`: their model's
    service time, p95 budget and quality floor) holds through the slowdown of every seed's
    case."""
    seeds = check_seeds(seeds)
    base = degrade_scenario(learner=learner)
    problems = _knob_problems(answer, DEGRADE_TASK_KNOBS, base, "degrade_knobs")
    for seed in seeds if not problems else ():
        case = degrade_case(seed, learner=learner)
        res = simulate({**base, **answer, **case}, seed=seed)
        problems += _budget_problems(
            res, f"seed {seed}, slowdown at {case['fault.slowdown_start_s']:g} s",
            _DEGRADE_HINTS)
    return problems


# ------------------------------------------------------------------ task 7: the drill
def judge_drill(answer: Any, *, seeds: Sequence[int], learner: str | None = None) -> list[str]:
    """Task 7: the kill switch is thrown at the learner's time; after it nothing reaches the
    primary and everything is answered; the trail names data and model; nothing leaks; on
    every seed."""
    seeds = check_seeds(seeds)
    problems = _knob_problems(answer, DRILL_TASK_KNOBS, DRILL_SCENARIO, "drill_knobs")
    if problems:
        return problems
    if answer.get("kill.at_s") in (None, -1, "off", "never", "none"):
        return ["drill_knobs: set kill.at_s (a time from 20 to 40 s) to throw the kill switch"]
    if float(answer["kill.at_s"]) != variants.drill(learner=learner).kill_at_s:
        return ["drill_knobs: kill.at_s is not the time your task 7 prompt gives for the drill"]
    for seed in seeds:
        res = simulate({**DRILL_SCENARIO, **answer}, seed=seed)
        kill, rec = res.scenario.kill.at_s, res.records
        late = rec[rec["arrival_s"] >= kill]
        truth = drill_truth(res, int(late["id"][0]) if len(late) else 0)
        if truth["primary_calls_after_kill"]:
            problems.append(f"seed {seed}: {truth['primary_calls_after_kill']} primary calls "
                            "started after the kill switch")
        failed = int(((late["outcome"] == codes.FAILED) | (late["outcome"] == codes.REJECTED))
                     .sum())
        if failed:
            problems.append(f"seed {seed}: {failed} requests after the kill switch got no "
                            "answer: the fallback chain must end in something that always "
                            "answers")
        if not res.scenario.audit.enabled:
            problems.append(f"seed {seed}: the trail cannot say which data or model version "
                            "produced an answer: audit.enabled")
        if truth["leaks"]:
            problems.append(f"seed {seed}: {truth['leaks']} retrieved documents reached users "
                            "who may not see them: retrieval.permission_check")
        if problems:
            return problems
    return problems


#: What ``audit_answers(result, request_id)`` must return for each request it is asked about.
AUDIT_KEYS = ("primary_calls_after_kill", "answered_by", "why", "data_snapshot", "leaks")


def collect_audit_answers(audit_answers: Any, *, seeds: Sequence[int],
                          learner: str | None = None) -> list[dict[str, Any]]:
    """Task 7's second answer as plain data: ``audit_answers(result, request_id)`` called on
    requests before and after the kill switch in each seed's audit run.

    One record per request: ``{"seed", "request", "answer"}``, or ``{"seed", "request",
    "error"}`` when ``audit_answers`` raised or returned no dict; ``[{"error": ...}]`` when it
    is no function.  :func:`judge_audit_answers` judges the records.
    """
    seeds = check_seeds(seeds)
    if not callable(audit_answers):
        return [{"error": "audit_answers must be a function audit_answers(result, request_id), "
                          f"got {audit_answers!r}"}]
    records = []
    for seed in seeds:
        res = audit_run(seed, learner=learner)
        for rid in audit_requests(res):
            records.append({"seed": seed, "request": rid,
                            **call_learner(audit_answers, res, rid, name="audit_answers")})
    return records


def judge_audit_answers(answer: Any, *, seeds: Sequence[int],
                        learner: str | None = None) -> list[str]:
    """Task 7: on every seed, the answers agree with the audit trail for requests before and
    after the kill switch (``answer``: what :func:`collect_audit_answers` returns)."""
    seeds = check_seeds(seeds)
    if not isinstance(answer, Sequence) or isinstance(answer, str) or not all(
            isinstance(r, Mapping) for r in answer):
        return ["audit_answers: the answer must be the records lab2.collect_audit_answers("
                f"audit_answers, seeds=...) returns, got {type(answer).__name__}"]
    errors = [str(r["error"]) for r in answer if "error" in r]
    if errors:
        return [errors[0]]
    given = {(r.get("seed"), r.get("request")): r.get("answer") for r in answer}
    for seed in seeds:
        res = audit_run(seed, learner=learner)
        problems: list[str] = []
        for rid in audit_requests(res):
            got = given.get((seed, rid))
            if not isinstance(got, Mapping):
                return [f"seed {seed}: no answer for request {rid}; collect the answers with "
                        "lab2.collect_audit_answers(audit_answers, seeds=...) on the same seeds"]
            want = drill_truth(res, rid)
            for key in AUDIT_KEYS:
                if key not in got:
                    problems.append(f"audit_answers' dict has no {key!r} key")
                elif got[key] != want[key]:
                    problems.append(f"seed {seed}, request {rid}: {key} {got[key]!r} is not "
                                    "what the audit trail records; read it from the result "
                                    "(result.trace, result.attempts, result.summary)")
            if problems:
                return problems
    return []


# ------------------------------------------------------------------ Q7 and the evidence
def judge_q7(answer: Any, *, seeds: Sequence[int], learner: str | None = None) -> list[str]:
    """Q7: the attempts per second a storm sends, for the learner's load and attempts, to 1
    (seeds are not used)."""
    check_seeds(seeds)
    problems = form_problems(check_number, answer, minimum=0, unit="attempts/s", question="Q7")
    if problems:
        return problems
    v = variants.q7(learner=learner)
    if abs(float(answer) - v.rate_rps * v.attempts) > 1.0:
        return ["Q7: not the expected number; when every attempt times out, each request "
                "sends every attempt it is allowed"]
    return []


def design_data(design: Any) -> Any:
    """The evidence design as plain data: ``design.to_dict()`` for a
    :class:`~labkit.evidence.design.LoadFailureDesign`, anything else as it is (the
    grader's kernel receives this, never the object)."""
    if isinstance(design, LoadFailureDesign):
        return design.to_dict()
    return design


def design_problems(design: Any) -> list[str]:
    """What the design for load and failure still lacks: the object, or its ``to_dict()``."""
    if isinstance(design, Mapping):
        try:
            design = LoadFailureDesign.from_dict(design)
        except (DesignError, CheckpointError, TypeError, ValueError) as exc:
            return [f"design: {exc}"]
    if not isinstance(design, LoadFailureDesign):
        return [f"design must be a LoadFailureDesign, got {type(design).__name__}"]
    return design.check()


#: Every judge of the lab, by the answer it grades.
JUDGES: dict[str, Judge] = {
    "scaling": judge_scaling, "cache_batch_knobs": judge_cache_batch,
    "multiplier_knobs": judge_multiplier, "autoscale": judge_autoscale,
    "sessions": judge_sessions,
    "retry_policy": judge_retry_policy, "degrade_knobs": judge_degradation,
    "drill_knobs": judge_drill, "audit_answers": judge_audit_answers, "q7": judge_q7,
}
