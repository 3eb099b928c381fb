"""Lab 2's graded simulation tasks: their scenarios, allowed knobs and judges.

Import these through :mod:`labkit.labs.lab2`.  A judge runs labkit with the
learner's knobs on the (seed, fault timing) cases it is given and returns a
list of problems in words, each naming the case and where to look; an empty
list means the answer passes.  Tolerances are not needed on the knobs: each
task is judged on the budgets the lab states, with margins checked by the
lab's tests (the reference answer passes on every hidden case and plausible
wrong answers fail).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from labkit.checkpoints import SimTask
from labkit.knobs import CATALOGUE
from labkit.labs._tasks import check_task_knobs
from labkit.sim import Result, simulate

__all__ = [
    "check_task_knobs",
    "CACHE_BATCH_TASK", "CACHE_BATCH_TASK_KNOBS", "CACHE_BATCH_SIMTASK", "judge_cache_batch",
    "MULTIPLIER_SCENARIO", "MULTIPLIER_TASK_KNOBS", "MULTIPLIER_SIMTASK", "judge_multiplier",
    "STORM_SCENARIO", "STORM_TASK_KNOBS", "STORM_CASES_VISIBLE", "storm_scorecard",
    "judge_retry_policy",
    "DEGRADE_SCENARIO", "DEGRADE_TASK_KNOBS", "DEGRADE_CASES_VISIBLE", "judge_degradation",
    "DRILL_SCENARIO", "DRILL_TASK_KNOBS", "drill_truth", "judge_drill", "judge_audit_answers",
]


def _budget_problems(result: Result, case: str, hints: Mapping[str, str]) -> list[str]:
    out = []
    for name, b in result.summary["budgets"].items():
        if b["judged"] and not b["pass"]:
            op = ">=" if name in ("success_rate", "quality") else "<="
            out.append(f"{case}: {name} = {b['actual']:.3g}, budget {op} {b['limit']:g}; "
                       f"{hints.get(name, '')}".rstrip("; "))
    return out

# --------------------------------------------------------------------------
# Task 2: cache and batch settings that meet the budgets at the lowest cost
# --------------------------------------------------------------------------

#: 100 requests/s on only 2 self-hosted replicas; an answer's content changes about once a
#: minute, so a stale cached answer is a wrong one (quality 0.5 instead of 0.8).
CACHE_BATCH_TASK: dict[str, Any] = {
    "load.rate_rps": 100.0, "load.duration_s": 60.0, "model.replicas": 2,
    "model.service_ms": 80.0, "model.cost_per_call": 0.002, "model.cost_per_replica_hour": 30.0,
    "cache.content_change_s": 60.0, "budget.p95_ms": 500.0, "budget.p99_ms": 0.0,
    "budget.success_rate": 0.99, "budget.quality": 0.76, "budget.cost_per_1k": 1.20,
}
CACHE_BATCH_TASK_KNOBS: dict[str, Any] = {
    "cache.enabled": None, "cache.capacity_items": (1, 5000), "cache.ttl_s": (0.0, 3600.0),
    "batch.max_size": (1, 32), "batch.max_wait_ms": (0.0, 100.0),
}
#: Task 2 as a :class:`~labkit.checkpoints.SimTask`: shows the task and judges budgets per seed.
CACHE_BATCH_SIMTASK = SimTask(
    task_id="Task 2", base=CACHE_BATCH_TASK, allowed=tuple(CACHE_BATCH_TASK_KNOBS),
    prompt="Cache and batch settings that meet every budget on 2 replicas at 100 requests/s.")
_CACHE_HINTS = {
    "p95_ms": "two replicas cannot keep up one request at a time: batch (batch.max_size, "
              "batch.max_wait_ms) and send fewer requests to the model (cache)",
    "quality": "too many stale answers: a shorter cache.ttl_s retires them sooner",
    "cost_per_1k": "every miss is a paid call: a larger cache and a TTL no shorter than "
                   "quality needs raise the hit ratio",
    "success_rate": "requests are timing out in the queue",
}

def judge_cache_batch(answer: Any, seeds: Iterable[int]) -> list[str]:
    """Problems with the task-2 answer (cache and batch knobs) on every seed."""
    problems = check_task_knobs(answer, CACHE_BATCH_TASK_KNOBS, "cache_batch_knobs")
    for seed in seeds if not problems else ():
        res = simulate({**CACHE_BATCH_TASK, **answer}, seed=seed)
        problems += _budget_problems(res, f"seed {seed}", _CACHE_HINTS)
    return problems

# --------------------------------------------------------------------------
# Task 3: the hidden multiplier
# --------------------------------------------------------------------------

#: A RAG assistant that embeds, retrieves and reranks before every generation, with 5%
#: transient model errors retried up to 3 attempts.
MULTIPLIER_SCENARIO: dict[str, Any] = {
    "load.rate_rps": 30.0, "load.duration_s": 40.0, "serving.pattern": "rag",
    "rerank.enabled": True, "model.error_rate": 0.05, "retry.max_attempts": 3,
    "retry.timeout_ms": 2000.0, "budget.p95_ms": 800.0, "budget.p99_ms": 0.0,
    "budget.success_rate": 0.99, "budget.quality": 0.90, "budget.cost_per_1k": 3.30,
}
MULTIPLIER_TASK_KNOBS: dict[str, Any] = {
    "retrieval.run_fraction": (0.0, 1.0), "rerank.enabled": None,
    "rerank.run_fraction": (0.0, 1.0), "retry.max_attempts": (1, 5),
}
#: Task 3 as a :class:`~labkit.checkpoints.SimTask`.
MULTIPLIER_SIMTASK = SimTask(
    task_id="Task 3", base=MULTIPLIER_SCENARIO, allowed=tuple(MULTIPLIER_TASK_KNOBS),
    prompt="Remove or gate the step that costs most and helps least, within every budget.")
_STEP_HINTS = {
    "cost_per_1k": "which always-on step costs the most for the least quality? (cost_graph)",
    "quality": "you removed a step that carries most of the quality: look at quality_gain",
    "success_rate": "transient model errors need a retry: keep retry.max_attempts above 1",
    "p95_ms": "the request path is too long",
}

def judge_multiplier(answer: Any, seeds: Iterable[int]) -> list[str]:
    """Problems with the task-3 answer (which steps run, and how often) on every seed."""
    problems = check_task_knobs(answer, MULTIPLIER_TASK_KNOBS, "multiplier_knobs")
    for seed in seeds if not problems else ():
        res = simulate({**MULTIPLIER_SCENARIO, **answer}, seed=seed)
        problems += _budget_problems(res, f"seed {seed}", _STEP_HINTS)
    return problems

# --------------------------------------------------------------------------
# Task 5: retries under load
# --------------------------------------------------------------------------

#: 30 requests/s on 4 replicas (capacity 50/s), 3% transient errors, and a short hang
#: outage; the naive client retries four times at once after a 1 s timeout.
STORM_SCENARIO: dict[str, Any] = {
    "load.rate_rps": 30.0, "load.duration_s": 80.0, "model.replicas": 4,
    "model.service_ms": 80.0, "model.error_rate": 0.03, "fault.mode": "hang",
    "fault.outage_start_s": 30.0, "fault.outage_duration_s": 5.0,
    "retry.max_attempts": 4, "retry.timeout_ms": 1000.0, "retry.backoff": "none",
    "retry.jitter": "none", "budget.p95_ms": 0.0, "budget.p99_ms": 0.0,
    "budget.cost_per_1k": 0.0, "budget.success_rate": 0.0,
}
STORM_TASK_KNOBS: dict[str, Any] = {
    "retry.max_attempts": (1, 5), "retry.timeout_ms": (0.0, 5000.0), "retry.backoff": None,
    "retry.base_ms": (0.0, 5000.0), "retry.cap_ms": (0.0, 10000.0), "retry.jitter": None,
    "retry.budget_ratio": (0.0, 1.0), "retry.budget_window_s": (1.0, 60.0), "retry.on": None,
    "retry.adaptive_throttle": None, "retry.throttle_k": (1.0, 10.0),
    "breaker.enabled": None, "breaker.failure_rate": (0.05, 1.0), "breaker.min_calls": (1, 200),
    "breaker.window_s": (1.0, 60.0), "breaker.open_s": (0.5, 60.0),
    "breaker.half_open_calls": (1, 20), "gateway.deadline_ms": (0.0, 10000.0),
}
#: (seed, outage start s, outage duration s) a learner may check against.
STORM_CASES_VISIBLE: tuple[tuple[int, float, float], ...] = ((1, 30.0, 5.0), (2, 25.0, 8.0))
STORM_LIMITS = {"pre": 0.99, "post": 0.97, "amplification": 1.5, "recover_s": 15.0}

def storm_scorecard(result: Result) -> dict[str, float]:
    """Success before the outage, success after it (once recovery had 15 s), and load.

    ``pre`` counts requests that arrived more than 5 s before the outage; ``post``
    those that arrived 15 s or more after it ended.
    """
    f, rec = result.scenario.fault, result.records
    ok = rec["outcome"] <= 1
    end = f.outage_start_s + f.outage_duration_s
    pre = ok[rec["arrival_s"] < f.outage_start_s - 5.0]
    post = ok[rec["arrival_s"] >= end + STORM_LIMITS["recover_s"]]
    s = result.summary
    return {"pre": float(pre.mean()) if len(pre) else 1.0,
            "post": float(post.mean()) if len(post) else 1.0,
            "amplification": s["amplification"], "retries": float(s["retries"]),
            "wasted_work_s": s["wasted_work_s"], "breaker_opens": float(s["breaker_opens"])}

def _policy_problems(k: Mapping[str, Any]) -> list[str]:
    """What a retry policy must define, checked on the knobs alone."""
    get = lambda name: CATALOGUE[name].check(k[name]) if name in k else (  # noqa: E731
        STORM_SCENARIO.get(name, CATALOGUE[name].default))
    out = []
    n = get("retry.max_attempts")
    if n < 2:
        out.append("retry.max_attempts is 1: 3% of calls fail for transient reasons, and "
                   "a policy with no retry loses them all")
    if get("retry.timeout_ms") <= 0:
        out.append("retry.timeout_ms is 0: an attempt with no timeout waits for ever")
    if get("retry.backoff") != "exponential":
        out.append(f"retry.backoff is {get('retry.backoff')!r}: use exponential backoff")
    if get("retry.jitter") == "none":
        out.append("retry.jitter is 'none': clients that failed together retry together")
    if get("retry.budget_ratio") <= 0:
        out.append("retry.budget_ratio is 0 (unlimited): cap retries at a share of requests")
    deadline = get("gateway.deadline_ms")
    if deadline <= 0:
        out.append("gateway.deadline_ms is 0: give every request a deadline retries respect")
    elif get("retry.timeout_ms") >= deadline:
        out.append("retry.timeout_ms must be shorter than gateway.deadline_ms, or no retry "
                   "ever fits inside the deadline")
    if get("retry.cap_ms") >= deadline > 0:
        out.append("retry.cap_ms must be shorter than gateway.deadline_ms")
    if not get("breaker.enabled"):
        out.append("breaker.enabled is false: add a circuit breaker")
    return out

def judge_retry_policy(answer: Any, cases: Iterable[tuple[int, float, float]]) -> list[str]:
    """Problems with the task-5 answer on every (seed, outage start, outage duration) case."""
    problems = check_task_knobs(answer, STORM_TASK_KNOBS, "retry_policy")
    if problems:
        return problems
    problems = [f"retry_policy: {p}" for p in _policy_problems(answer)]
    if problems:
        return problems
    lim = STORM_LIMITS
    for seed, start, duration in cases:
        knobs = {**STORM_SCENARIO, **answer, "fault.outage_start_s": float(start),
                 "fault.outage_duration_s": float(duration)}
        card = storm_scorecard(simulate(knobs, seed=seed))
        case = f"seed {seed}, {duration:g} s outage at {start:g} s"
        if card["pre"] < lim["pre"]:
            problems.append(f"{case}: only {card['pre']:.1%} answered before the outage (need "
                            f"{lim['pre']:.0%}); transient errors need retries that are allowed "
                            "to happen (retry.on, retry.budget_ratio)")
        if card["post"] < lim["post"]:
            problems.append(f"{case}: only {card['post']:.1%} answered from "
                            f"{lim['recover_s']:g} s after the outage ended (need "
                            f"{lim['post']:.0%}): the service did not recover; look at what "
                            "keeps load high after the trigger (retries, the breaker's "
                            "open_s and half_open_calls)")
        if card["amplification"] > lim["amplification"]:
            problems.append(f"{case}: {card['amplification']:.2f} model calls per request "
                            f"(limit {lim['amplification']:g}); retries multiply load")
    return problems

# --------------------------------------------------------------------------
# Task 6: graceful degradation
# --------------------------------------------------------------------------

#: A RAG assistant at 40 requests/s whose provider allows only 25 calls/s, and which gets
#: three times slower for 20 s.  Naive client: immediate retries, no fallback.
DEGRADE_SCENARIO: dict[str, Any] = {
    "load.rate_rps": 40.0, "load.duration_s": 60.0, "serving.pattern": "rag",
    "model.upstream_limit_rps": 25.0, "fault.slowdown_start_s": 20.0,
    "fault.slowdown_duration_s": 20.0, "fault.slowdown_factor": 3.0,
    "retry.max_attempts": 3, "retry.backoff": "none", "retry.jitter": "none",
    "budget.p95_ms": 800.0, "budget.p99_ms": 0.0, "budget.success_rate": 0.99,
    "budget.quality": 0.75, "budget.cost_per_1k": 1.30,
}
DEGRADE_TASK_KNOBS: dict[str, Any] = {
    "fallback.chain": None, "steps.skip_when_degraded": None, "cache.enabled": None,
    "cache.capacity_items": (1, 5000), "cache.ttl_s": (0.0, 3600.0),
    **{k: v for k, v in STORM_TASK_KNOBS.items() if k.startswith(("retry.", "breaker."))},
    "gateway.deadline_ms": (0.0, 10000.0),
}
#: (seed, slowdown start s) a learner may check against.
DEGRADE_CASES_VISIBLE: tuple[tuple[int, float], ...] = ((1, 20.0), (2, 15.0))
_DEGRADE_HINTS = {
    "success_rate": "requests the primary cannot answer need somewhere to go: fallback.chain",
    "p95_ms": "slow or throttled attempts hold requests too long: a per-attempt timeout and "
              "a breaker move them to the fallback sooner",
    "quality": "too many answers come from a low-quality fallback: which fallback comes first?",
    "cost_per_1k": "degraded requests still pay for retrieval, and repeats still pay for a "
                   "call: steps.skip_when_degraded, the cache",
}

def judge_degradation(answer: Any, cases: Iterable[tuple[int, float]]) -> list[str]:
    """Problems with the task-6 answer on every (seed, slowdown start) case."""
    problems = check_task_knobs(answer, DEGRADE_TASK_KNOBS, "degrade_knobs")
    for seed, start in cases if not problems else ():
        res = simulate({**DEGRADE_SCENARIO, **answer, "fault.slowdown_start_s": float(start)},
                       seed=seed)
        problems += _budget_problems(res, f"seed {seed}, slowdown at {start:g} s",
                                     _DEGRADE_HINTS)
    return problems

# --------------------------------------------------------------------------
# Task 7: production-ready audit drill
# --------------------------------------------------------------------------

#: A RAG assistant with a cache and an audit log; you will throw the kill switch.
DRILL_SCENARIO: dict[str, Any] = {
    "load.rate_rps": 20.0, "load.duration_s": 60.0, "serving.pattern": "rag",
    "cache.enabled": True, "retrieval.index_refresh_s": 30.0, "model.version": "v3",
    "audit.enabled": False, "retrieval.permission_check": False,
    "retrieval.restricted_fraction": 0.05, "budget.p95_ms": 0.0, "budget.p99_ms": 0.0,
    "budget.cost_per_1k": 0.0, "budget.success_rate": 0.0,
}
DRILL_TASK_KNOBS: dict[str, Any] = {
    "kill.at_s": (20.0, 40.0), "fallback.chain": None, "audit.enabled": None,
    "retrieval.permission_check": None,
}

def drill_truth(result: Result, request_id: int) -> dict[str, Any]:
    """The five answers the audit trail gives for one request (the grader's reference)."""
    t = result.trace(request_id)
    kill = result.scenario.kill.at_s
    a = result.attempts
    after = int((a["model_call"] & (a["start_s"] >= kill)).sum()) if kill is not None else -1
    return {"primary_calls_after_kill": after, "answered_by": t["answered_by"],
            "why": t["fallback_why"], "data_snapshot": t["data_snapshot"],
            "leaks": int(result.summary["leaks"])}

def judge_drill(answer: Any, seeds: Iterable[int]) -> list[str]:
    """Problems with the task-7 knobs: off, fall back, explain, data and access on every seed."""
    problems = check_task_knobs(answer, DRILL_TASK_KNOBS, "drill_knobs")
    if problems:
        return problems
    if "kill.at_s" not in answer:
        return ["drill_knobs: set kill.at_s (a time from 20 to 40 s) to throw the kill switch"]
    for seed in seeds:
        res = simulate({**DRILL_SCENARIO, **answer}, seed=seed)
        kill, rec = res.scenario.kill.at_s, res.records
        late = rec[rec["arrival_s"] >= kill]
        truth = drill_truth(res, int(late["id"][0]) if len(late) else 0)
        if truth["primary_calls_after_kill"]:
            problems.append(f"seed {seed}: {truth['primary_calls_after_kill']} primary calls "
                            "started after the kill switch")
        failed = int((late["outcome"] >= 2).sum())
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

def judge_audit_answers(answers: Callable[[Result, int], Mapping[str, Any]] | Any,
                        cases: Iterable[tuple[Mapping[str, Any], int]]) -> list[str]:
    """Problems with ``audit_answers(result, request_id)``: it must agree with the audit
    trail for requests before and after the kill switch on every (knobs, seed) case."""
    if not callable(answers):
        return [f"audit_answers must be a function audit_answers(result, request_id), got "
                f"{answers!r}"]
    problems: list[str] = []
    for knobs, seed in cases:
        res = simulate({**DRILL_SCENARIO, **knobs}, seed=seed)
        rec, kill = res.records, res.scenario.kill.at_s
        model = np.flatnonzero((rec["arrival_s"] < kill) & (rec["model_calls"] > 0))
        fell = np.flatnonzero((rec["arrival_s"] >= kill) & (rec["outcome"] == 1))
        for rid in [int(i) for i in (*model[:1], *model[-1:], *fell[:1])]:
            want = drill_truth(res, rid)
            try:
                got = answers(res, rid)
            except Exception as exc:  # noqa: BLE001 - report the learner's error, do not crash
                return [f"audit_answers(result, {rid}) raised {type(exc).__name__}: {exc}"]
            if not isinstance(got, Mapping):
                return [f"audit_answers must return a dict, got {type(got).__name__}"]
            for key, value in want.items():
                if key not in got:
                    problems.append(f"audit_answers' dict has no {key!r} key")
                elif got[key] != value:
                    problems.append(f"seed {seed}, request {rid}: {key} is {value!r} in the "
                                    f"audit trail, you gave {got[key]!r}; read it from the "
                                    "result (result.trace, result.attempts, result.summary)")
            if problems:
                return problems
    return problems
