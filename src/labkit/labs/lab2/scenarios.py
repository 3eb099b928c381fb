"""Lab 2's scenarios: every activity's knobs, each task's allowed knobs and seeded cases, once.

Each scenario is a read-only dict of knob overrides on top of the catalogue
defaults (see ``labkit knobs``).  A task's ``*_TASK_KNOBS`` maps each knob the
learner may change to its (lowest, highest) value for the task, or ``None``
for the catalogue's own range.  Where a task is graded on several cases (when
an outage starts, how long it lasts), the seed picks the case from a short
list (:func:`storm_case`, :func:`degrade_case`, :func:`audit_case`), so the
learner can look up the case of any seed.

Tasks with numbers of their own per learner (:mod:`labkit.labs.lab2.variants`) get their
scenario from a function of the learner (``learner=None``: this kernel's learner):
:func:`scaling_task`, :func:`cache_batch_task`, :func:`multiplier_scenario`,
:func:`peak_scenario`, and the cases :func:`storm_case`, :func:`degrade_case`,
:func:`audit_case`.  The module's constants are the shared base those functions start from.

>>> storm_case(1, learner="ada")["fault.outage_duration_s"]
5.0
>>> sorted(MACHINES)
['large', 'standard']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labkit.checkpoints import SimTask
from labkit.labs.common import NO_BUDGETS, case_for, frozen
from labkit.labs.lab2 import variants

__all__ = [
    "MACHINES", "CAPACITY_SCENARIO", "scaling_task",
    "CACHE_CURVE_SCENARIO", "CACHE_BATCH_TASK", "CACHE_BATCH_TASK_KNOBS", "cache_batch_task",
    "cache_batch_simtask",
    "MULTIPLIER_SCENARIO", "MULTIPLIER_TASK_KNOBS", "multiplier_scenario", "multiplier_simtask",
    "PEAK_SCENARIO", "PEAK_OPTIONS", "peak_scenario",
    "STICKY_SCENARIO", "STICKY_MODES", "sticky_scenario",
    "STORM_SCENARIO", "STORM_TASK_KNOBS", "STORM_TIMINGS", "STORM_SEEDS_VISIBLE", "STORM_LIMITS",
    "RETRY_CASES", "BURST", "storm_scenario", "storm_case", "retry_cases",
    "DEGRADE_SCENARIO", "DEGRADE_TASK_KNOBS", "DEGRADE_STARTS_S", "DEGRADE_SEEDS_VISIBLE",
    "degrade_scenario", "degrade_case",
    "DRILL_SCENARIO", "DRILL_TASK_KNOBS", "AUDIT_SCENARIO", "AUDIT_KILL_TIMES_S", "audit_case",
]

# --- activity 1: capacity and scaling ---------------------------------------------------

#: Two machine types you can rent: a large replica is twice as fast and twice the price.
#: The model is self-hosted, so you pay for replica-hours, not per call.
MACHINES: Mapping[str, Mapping[str, float]] = frozen({
    "standard": frozen({"model.service_ms": 80.0, "model.cost_per_replica_hour": 2.5}),
    "large": frozen({"model.service_ms": 40.0, "model.cost_per_replica_hour": 5.0}),
})

#: Four standard replicas behind a 2 s deadline; turn load.rate_rps up until it bends.
CAPACITY_SCENARIO: Mapping[str, Any] = frozen({
    **NO_BUDGETS, "load.rate_rps": 40.0, "load.duration_s": 40.0, "model.replicas": 4,
    **MACHINES["standard"], "model.cost_per_call": 0.0, "gateway.deadline_ms": 2000.0,
})


def scaling_task(*, learner: str | None = None) -> Mapping[str, Any]:
    """Task 1 for ``learner``: the cheapest fleet that holds their p95 budget at their load."""
    v = variants.scaling(learner=learner)
    return frozen({**CAPACITY_SCENARIO, "load.rate_rps": v.rate_rps, "budget.p95_ms": v.p95_ms})


# --- activity 2: caching and batching ---------------------------------------------------

#: A cache in front of a fast model, for comparing hit ratios with Che's approximation.
CACHE_CURVE_SCENARIO: Mapping[str, Any] = frozen({
    **NO_BUDGETS, "load.rate_rps": 100.0, "load.duration_s": 120.0, "model.replicas": 12,
    "model.service_ms": 10.0, "cache.enabled": True, "load.catalog_size": 10000,
    "load.zipf_alpha": 1.0,
})

#: Task 2's base: 100 requests/s on only 2 self-hosted replicas; an answer's content changes
#: (a stale cached answer is a wrong one: quality 0.5 instead of 0.8).  How often it changes
#: and the cost budget are the learner's (:func:`cache_batch_task`).
CACHE_BATCH_TASK: Mapping[str, Any] = frozen({
    "load.rate_rps": 100.0, "load.duration_s": 60.0, "model.replicas": 2,
    "model.service_ms": 80.0, "model.cost_per_call": 0.002, "model.cost_per_replica_hour": 30.0,
    "cache.content_change_s": 60.0, "budget.p95_ms": 500.0, "budget.p99_ms": 0.0,
    "budget.success_rate": 0.99, "budget.quality": 0.76, "budget.cost_per_1k": 1.20,
})
CACHE_BATCH_TASK_KNOBS: Mapping[str, Any] = frozen({
    "cache.enabled": None, "cache.capacity_items": (1, 5000), "cache.ttl_s": (0.0, 3600.0),
    "batch.max_size": (1, 32), "batch.max_wait_ms": (0.0, 100.0),
})


def cache_batch_task(*, learner: str | None = None) -> Mapping[str, Any]:
    """Task 2 for ``learner``: their content-change interval and cost budget."""
    v = variants.cache_batch(learner=learner)
    return frozen({**CACHE_BATCH_TASK, "cache.content_change_s": v.content_change_s,
                   "budget.cost_per_1k": v.cost_per_1k})


def cache_batch_simtask(*, learner: str | None = None) -> SimTask:
    """Task 2 as a :class:`~labkit.checkpoints.SimTask`: shows it and judges budgets per seed."""
    task = cache_batch_task(learner=learner)
    return SimTask(
        task_id="Task 2", base=task, allowed=tuple(CACHE_BATCH_TASK_KNOBS),
        prompt=f"Cache and batch settings that meet every budget on 2 replicas at 100 "
               f"requests/s, when an answer's content changes about every "
               f"{task['cache.content_change_s']:g} s and the cost budget is "
               f"${task['budget.cost_per_1k']:.2f} per 1,000 requests.")

# --- activity 3: the hidden multiplier --------------------------------------------------

#: A RAG assistant that embeds, retrieves and reranks before every generation, with 5%
#: transient model errors retried up to 3 attempts.
MULTIPLIER_SCENARIO: Mapping[str, Any] = frozen({
    "load.rate_rps": 30.0, "load.duration_s": 40.0, "serving.pattern": "rag",
    "rerank.enabled": True, "model.error_rate": 0.05, "retry.max_attempts": 3,
    "retry.timeout_ms": 2000.0, "budget.p95_ms": 800.0, "budget.p99_ms": 0.0,
    "budget.success_rate": 0.99, "budget.quality": 0.90, "budget.cost_per_1k": 3.30,
})
MULTIPLIER_TASK_KNOBS: Mapping[str, Any] = frozen({
    "retrieval.run_fraction": (0.0, 1.0), "rerank.enabled": None,
    "rerank.run_fraction": (0.0, 1.0), "retry.max_attempts": (1, 5),
})


def multiplier_scenario(*, learner: str | None = None) -> Mapping[str, Any]:
    """Activity 3 and task 3 for ``learner``: what reranking adds, the quality floor and the
    cost budget are theirs."""
    v = variants.multiplier(learner=learner)
    return frozen({**MULTIPLIER_SCENARIO, "rerank.quality_gain": v.rerank_gain,
                   "budget.quality": v.quality, "budget.cost_per_1k": v.cost_per_1k})


def multiplier_simtask(*, learner: str | None = None) -> SimTask:
    """Task 3 as a :class:`~labkit.checkpoints.SimTask`."""
    return SimTask(
        task_id="Task 3", base=multiplier_scenario(learner=learner),
        allowed=tuple(MULTIPLIER_TASK_KNOBS),
        prompt="Remove or gate the step that costs most and helps least, within every budget.")

# --- activity 4: peaks, autoscaling and overprovisioning ---------------------------------

#: 20 requests/s with a fourfold spike from 45 s to 75 s; self-hosted replicas at $4/h.
PEAK_SCENARIO: Mapping[str, Any] = frozen({
    **NO_BUDGETS, "load.rate_rps": 20.0, "load.duration_s": 120.0, "load.pattern": "spike",
    "load.spike_multiplier": 4.0, "load.spike_start_s": 45.0, "load.spike_duration_s": 30.0,
    "model.service_ms": 80.0, "model.cost_per_call": 0.0, "model.cost_per_replica_hour": 4.0,
    "autoscale.cold_start_s": 10.0, "autoscale.interval_s": 15.0,
    "autoscale.max_replicas": 16, "gateway.deadline_ms": 3000.0,
})



def peak_scenario(*, learner: str | None = None) -> Mapping[str, Any]:
    """Activity 4 for ``learner``: their cold start and decision interval."""
    v = variants.autoscale(learner=learner)
    return frozen({**PEAK_SCENARIO, "autoscale.cold_start_s": v.cold_start_s,
                   "autoscale.interval_s": v.interval_s})


#: The two strategies compared in activity 4.
PEAK_OPTIONS: Mapping[str, Mapping[str, Any]] = frozen({
    "warm pool for the peak": frozen({"model.replicas": 8}),
    "autoscaler from 2": frozen({"autoscale.enabled": True, "model.replicas": 2,
                                 "autoscale.min_replicas": 2,
                                 "autoscale.target_utilization": 0.6}),
})

# --- activity 4b: stateless against sticky scaling ------------------------------------

#: 30 requests/s on 4 replicas (capacity 50/s); sessions of 8 requests on average, whose
#: state takes 400 ms of work to rebuild on another replica; one replica is lost.
STICKY_SCENARIO: Mapping[str, Any] = frozen({
    **NO_BUDGETS, "load.rate_rps": 30.0, "load.duration_s": 60.0, "model.replicas": 4,
    "model.service_ms": 80.0, "model.cost_per_call": 0.0, "gateway.deadline_ms": 3000.0,
    "model.session_requests_mean": 8.0, "model.session_warmup_ms": 400.0,
})
#: The three ways activity 4b runs the same service.
STICKY_MODES: Mapping[str, Mapping[str, Any]] = frozen({
    "stateless": frozen({"model.session_affinity": False}),
    "sticky, state rebuilt": frozen({"model.session_affinity": True,
                                     "model.session_moves": "rebuild"}),
    "sticky, state lost": frozen({"model.session_affinity": True,
                                  "model.session_moves": "lose"}),
})


def sticky_scenario(*, learner: str | None = None) -> Mapping[str, Any]:
    """Activity 4b for ``learner``: their number of users and when their replica is lost."""
    v = variants.sessions(learner=learner)
    return frozen({**STICKY_SCENARIO, "model.session_users": v.users,
                   "fault.replica_lost_at_s": v.lost_at_s})


# --- activity 5: retries under load -----------------------------------------------------

#: 30 requests/s on 4 replicas (capacity 50/s), 3% transient errors, and a short hang
#: outage; the naive client retries four times at once after a 1 s timeout.
STORM_SCENARIO: Mapping[str, Any] = frozen({
    **NO_BUDGETS, "load.rate_rps": 30.0, "load.duration_s": 80.0, "model.replicas": 4,
    "model.service_ms": 80.0, "model.error_rate": 0.03, "fault.mode": "hang",
    "fault.outage_start_s": 30.0, "fault.outage_duration_s": 5.0,
    "retry.max_attempts": 4, "retry.timeout_ms": 1000.0, "retry.backoff": "none",
    "retry.jitter": "none",
})
STORM_TASK_KNOBS: Mapping[str, Any] = frozen({
    "retry.max_attempts": (1, 5), "retry.timeout_ms": (0.0, 5000.0), "retry.backoff": None,
    "retry.base_ms": (0.0, 5000.0), "retry.cap_ms": (0.0, 10000.0), "retry.jitter": None,
    "retry.budget_ratio": (0.0, 1.0), "retry.budget_window_s": (1.0, 60.0), "retry.on": None,
    "retry.adaptive_throttle": None, "retry.throttle_k": (1.0, 10.0),
    "breaker.enabled": None, "breaker.failure_rate": (0.05, 1.0), "breaker.min_calls": (1, 200),
    "breaker.window_s": (1.0, 60.0), "breaker.open_s": (0.5, 60.0),
    "breaker.half_open_calls": (1, 20), "gateway.deadline_ms": (0.0, 10000.0),
})
#: (outage start s, outage duration s) of task 5's storm case; the seed picks one.
STORM_TIMINGS: tuple[tuple[float, float], ...] = (
    (20.0, 6.0), (30.0, 5.0), (25.0, 8.0), (22.0, 6.0), (28.0, 7.0))
#: The seeds a learner checks task 5 on (storm cases: a 5 s hang at 30 s, 8 s at 25 s, each
#: moved by the learner's shift).
STORM_SEEDS_VISIBLE: tuple[int, ...] = (1, 2)
#: Task 5's cases, each run on every seed: what happens to the service in it.
RETRY_CASES: Mapping[str, str] = frozen({
    "transient": "a share of calls fail at random (your error rate), with no outage",
    "storm": "the model hangs for a few seconds under steady load",
    "dead": "the model fails every call at once for 20 s",
    "quota": "the provider's quota is below the traffic for the whole run",
    "burst": "120 requests arrive within 0.1 s, while the model refuses every call for 0.25 s",
})
#: Task 5's burst: when it starts (s, before the learner's shift), how long it lasts (s), how
#: many requests it brings on top of the steady traffic, and how long the model fails every
#: call from its start (``blip_s``: a dropped connection pool), so they all fail together.
BURST: Mapping[str, float] = frozen({"start_s": 30.0, "duration_s": 0.1, "requests": 120.0,
                                     "blip_s": 0.25})
#: What "survives" means in each case: ``transient``: share answered; ``storm``: share
#: answered from 5 to 15 s after the hang ended (``window``, averaged over the seeds judged:
#: one seed's recovery is noisy) and from 15 s after it on every seed (``post``);
#: ``dead``: model calls started during the outage per request arriving in it; ``quota``:
#: calls sent again after the provider refused one, per request; ``burst``: the largest share
#: of the retries sent in the 10 s from the burst that start in one tenth of a second
#: (``wave``, averaged over the seeds judged), and the share answered from 10 s after the
#: burst on every seed (``burst_post``).
STORM_LIMITS: Mapping[str, float] = frozen({
    "transient": 0.99, "window": 0.94, "post": 0.97, "dead_calls": 0.5, "quota_repeats": 0.02,
    "recover_s": 15.0, "wave": 0.6, "burst_post": 0.97, "burst_after_s": 10.0})


def storm_scenario(*, learner: str | None = None) -> Mapping[str, Any]:
    """Activity 5 for ``learner``: the naive client in their world (their traffic, error
    rate and spread of service times on the 4 replicas)."""
    v = variants.storm(learner=learner)
    return frozen({**STORM_SCENARIO, "load.rate_rps": v.rate_rps,
                   "model.service_dist": "lognormal", "model.service_cv": v.service_cv})


def storm_case(seed: int, *, learner: str | None = None) -> dict[str, float]:
    """The hang of task 5's storm case for ``seed``, moved by the learner's shift."""
    start, duration = case_for(seed, STORM_TIMINGS)
    shift = variants.storm(learner=learner).shift_s
    return {"fault.outage_start_s": start + shift, "fault.outage_duration_s": duration}


def retry_cases(seed: int, *, learner: str | None = None) -> dict[str, dict[str, Any]]:
    """The knobs of each of task 5's cases (:data:`RETRY_CASES`) for ``seed`` and the
    learner, on top of :func:`storm_scenario`: their fault times, quota and burst."""
    v = variants.storm(learner=learner)
    storm = storm_case(seed, learner=learner)
    quiet = {"fault.outage_duration_s": 0.0}
    return {
        "transient": {**quiet, "model.error_rate": v.error_rate},
        "storm": storm,
        "dead": {"fault.mode": "error", "fault.outage_start_s": storm["fault.outage_start_s"],
                 "fault.outage_duration_s": 20.0},
        "quota": {**quiet, "model.upstream_limit_rps": v.quota_rps},
        "burst": {"fault.mode": "error", "fault.outage_start_s": BURST["start_s"] + v.shift_s,
                  "fault.outage_duration_s": BURST["blip_s"], "load.pattern": "spike",
                  "load.spike_start_s": BURST["start_s"] + v.shift_s,
                  "load.spike_duration_s": BURST["duration_s"],
                  "load.spike_multiplier": 1.0 + BURST["requests"]
                  / (v.rate_rps * BURST["duration_s"])},
    }


# --- activity 6: graceful degradation ---------------------------------------------------

#: A RAG assistant at 40 requests/s whose provider allows only 25 calls/s, and which gets
#: three times slower for 20 s.  Naive client: immediate retries, no fallback.  Task 6 runs
#: in the learner's world (:func:`degrade_scenario`), which changes the model, the slowdown
#: and two budgets.
DEGRADE_SCENARIO: Mapping[str, Any] = frozen({
    "load.rate_rps": 40.0, "load.duration_s": 60.0, "serving.pattern": "rag",
    "model.upstream_limit_rps": 25.0, "fault.slowdown_start_s": 20.0,
    "fault.slowdown_duration_s": 20.0, "fault.slowdown_factor": 3.0,
    "retry.max_attempts": 3, "retry.backoff": "none", "retry.jitter": "none",
    "budget.p95_ms": 800.0, "budget.p99_ms": 0.0, "budget.success_rate": 0.99,
    "budget.quality": 0.75, "budget.cost_per_1k": 1.30,
})
DEGRADE_TASK_KNOBS: Mapping[str, Any] = frozen({
    "fallback.chain": None, "steps.skip_when_degraded": None, "cache.enabled": None,
    "cache.capacity_items": (1, 5000), "cache.ttl_s": (0.0, 3600.0),
    **{k: v for k, v in STORM_TASK_KNOBS.items() if k.startswith(("retry.", "breaker."))},
    "gateway.deadline_ms": (0.0, 10000.0),
})
#: When the slowdown starts in task 6's cases (seconds); the seed picks one.
DEGRADE_STARTS_S: tuple[float, ...] = (30.0, 20.0, 15.0, 25.0, 20.0)
#: The seeds a learner checks task 6 on (slowdowns at 20 s and 15 s, moved by the learner's
#: shift).
DEGRADE_SEEDS_VISIBLE: tuple[int, ...] = (1, 2)


def degrade_scenario(*, learner: str | None = None) -> Mapping[str, Any]:
    """Activity 6 for ``learner``: the naive client in their world (the primary model's mean
    service time, lognormal with a coefficient of variation of 0.3, a slowdown that makes
    every call four times slower, and their p95 budget and quality floor)."""
    v = variants.degrade(learner=learner)
    return frozen({**DEGRADE_SCENARIO, "model.service_ms": v.service_ms,
                   "model.service_dist": "lognormal", "model.service_cv": 0.3,
                   "fault.slowdown_factor": 4.0, "budget.p95_ms": v.p95_ms,
                   "budget.quality": v.quality})


def degrade_case(seed: int, *, learner: str | None = None) -> dict[str, float]:
    """When the slowdown of task 6's case for ``seed`` starts (moved by the learner's shift)."""
    shift = variants.degrade(learner=learner).shift_s
    return {"fault.slowdown_start_s": case_for(seed, DEGRADE_STARTS_S) + shift}


# --- activity 7: production-ready audit drill -------------------------------------------

#: A RAG assistant with a cache and an audit log; you will throw the kill switch.
DRILL_SCENARIO: Mapping[str, Any] = frozen({
    **NO_BUDGETS, "load.rate_rps": 20.0, "load.duration_s": 60.0, "serving.pattern": "rag",
    "cache.enabled": True, "retrieval.index_refresh_s": 30.0, "model.version": "v3",
    "audit.enabled": False, "retrieval.permission_check": False,
    "retrieval.restricted_fraction": 0.05,
})
DRILL_TASK_KNOBS: Mapping[str, Any] = frozen({
    "kill.at_s": (20.0, 40.0), "fallback.chain": None, "audit.enabled": None,
    "retrieval.permission_check": None,
})
#: The drill as it should run (a fallback chain, the audit log, permission checks): the runs
#: ``audit_answers`` is checked on, with the kill switch thrown when the seed says.
AUDIT_SCENARIO: Mapping[str, Any] = frozen({
    **DRILL_SCENARIO, "fallback.chain": ("small_model", "safe_message"), "audit.enabled": True,
    "retrieval.permission_check": True,
})
#: When the kill switch is thrown in the audit runs (seconds, before the learner's shift);
#: the seed picks one.
AUDIT_KILL_TIMES_S: tuple[float, ...] = (22.0, 30.0, 37.0)


def audit_case(seed: int, *, learner: str | None = None) -> dict[str, float]:
    """When the kill switch is thrown in the audit run for ``seed`` (and the learner)."""
    shift = variants.drill(learner=learner).shift_s
    return {"kill.at_s": case_for(seed, AUDIT_KILL_TIMES_S) + shift}
