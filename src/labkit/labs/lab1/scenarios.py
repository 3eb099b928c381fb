"""Lab 1's scenarios: the knob dicts, budgets, allowed task knobs and seeded cases, once.

Each scenario is a dict of knob overrides on top of the catalogue defaults
(see ``labkit knobs``), read-only.  The simulator's own budgets are switched
off (0 = not judged) where a task judges its own numbers, so a run's
``all_budgets_pass`` never disagrees with the task.  Times are simulated
seconds: two minutes of traffic stand for a working day, so every run takes a
fraction of a second.  Where a task is graded on several cases (when the world
changes, which deployment is traced), the seed picks the case
(:func:`shape_case`, :func:`incident_case`).

>>> shape_case(1), incident_case(1)
({'world.change_at_s': 70.0}, {})
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labkit.labs.common import NO_BUDGETS, case_for, frozen

__all__ = [
    "SHAPE_WORKLOAD", "SHAPES", "SHAPE_BUDGETS", "SHAPE_TASK_KNOBS", "SHAPE_CHANGE_TIMES_S",
    "shape_case",
    "LATENCY_SCENARIO", "REPLICA_BASE",
    "BOUNDARY_SCENARIO", "BOUNDARY_TASK_KNOBS", "REVIEW_P95_BUDGET_S",
    "INCIDENT_SCENARIO", "INCIDENT_CASES", "incident_case",
    "DATAPATH_SCENARIO", "HOPS", "HOP_TASK_KNOBS", "HOP_BUDGETS", "HOP_TASK_BASE",
]


# --- activity 1: three shapes, one workload -----------------------------------

#: The shared workload: 30 requests/s for two simulated minutes; at 70 s the
#: world changes (a price list, a policy), so answers built earlier go stale.  A replica
#: is a GPU server ($40 an hour) and every rebuild of the retrieval index costs $0.20, so
#: a fresher index and a bigger fleet both cost money.  Each learner's task 1 has its own
#: arrival rate (:func:`labkit.labs.lab1.draws.shape_workload`).
SHAPE_WORKLOAD: Mapping[str, Any] = frozen({
    **NO_BUDGETS,
    "load.rate_rps": 30.0, "load.duration_s": 120.0, "world.change_at_s": 70.0,
    "model.replicas": 4, "retrieval.error_rate": 0.02,
    "model.cost_per_replica_hour": 40.0, "retrieval.index_rebuild_cost": 0.2,
})

#: The three shapes, each as the knobs that make it.
SHAPES: Mapping[str, Mapping[str, Any]] = frozen({
    "batch": frozen({"serving.pattern": "batch", "serving.batch_interval_s": 3600.0}),
    "realtime": frozen({"serving.pattern": "realtime"}),
    "rag": frozen({"serving.pattern": "rag"}),
})

#: The budgets of task 1 at 30 requests/s (``max_lag_s``: the oldest data an answer may
#: use); the cost budget follows each learner's rate (``draws.SHAPE_COST_BUDGETS``).
SHAPE_BUDGETS: Mapping[str, Any] = frozen({
    "p95_ms": 400.0, "cost_per_1k": 4.64, "quality": 0.90, "max_lag_s": 30.0, "leaks": 0,
})

#: Knobs the learner may set in task 1, with (lowest, highest) allowed; None = any value.
#: The data pipeline cannot rebuild the index, or rerun the batch job, more often than
#: every 10 s: that is how long one run takes.
SHAPE_TASK_KNOBS: Mapping[str, Any] = frozen({
    "serving.pattern": None, "serving.batch_interval_s": (10.0, 86400.0),
    "retrieval.index_refresh_s": (10.0, 86400.0), "retrieval.permission_check": None,
    "model.replicas": (1, 40),
})

#: When the world changes in a graded run of task 1, picked by the seed (seed 1: at 70 s).
SHAPE_CHANGE_TIMES_S: tuple[float, ...] = (41.0, 70.0, 88.0, 103.0)


def shape_case(seed: int) -> dict[str, Any]:
    """The knobs of task 1's case for ``seed``: when the world changes."""
    return {"world.change_at_s": case_for(seed, SHAPE_CHANGE_TIMES_S)}


# --- activity 2: latency is a design constraint -------------------------------

#: The exploration scenario: 4 replicas of an 80 ms model; turn load.rate_rps up.
LATENCY_SCENARIO: Mapping[str, Any] = frozen({
    **NO_BUDGETS, "load.duration_s": 120.0, "model.replicas": 4, "model.service_ms": 80.0,
    "model.service_dist": "exponential", "gateway.deadline_ms": 1000.0,
})

#: Task 2: the fewest replicas whose p95 meets the budget; each learner's arrival rate
#: replaces this one (``draws.replica_task``).  Five simulated minutes keep the simulated
#: p95 close to theory.
REPLICA_BASE: Mapping[str, Any] = frozen({
    **NO_BUDGETS, "load.rate_rps": 46.0, "load.duration_s": 300.0, "model.service_ms": 100.0,
    "model.service_dist": "exponential", "budget.p95_ms": 450.0,
})


# --- activity 3: boundaries ---------------------------------------------------

#: An assistant that reads (explains a policy) and writes (approves a refund):
#: 10 requests/s, 5% of them writes; a careful review takes 6 s on average.  Activity 3
#: explores this one; task 3 is graded on the learner's own share of writes
#: (``draws.boundary_task``).
BOUNDARY_SCENARIO: Mapping[str, Any] = frozen({
    **NO_BUDGETS, "load.rate_rps": 10.0, "load.duration_s": 600.0, "model.replicas": 2,
    "load.write_fraction": 0.05, "boundary.wrong_write_rate": 0.08, "boundary.review_s": 6.0,
    "audit.enabled": True,
})

#: What a learner may change in task 3, and the review-wait budget (95th percentile).
BOUNDARY_TASK_KNOBS: Mapping[str, Any] = frozen({
    "boundary.policy": None, "boundary.reviewers": (1, 50),
})
REVIEW_P95_BUDGET_S = 8.0


# --- activity 4: orchestration and traceability -------------------------------

#: A RAG assistant with a guardrail whose threshold is set too high; each learner's
#: deployment has its own threshold, model version and index schedule
#: (``draws.incident_scenario``).
INCIDENT_SCENARIO: Mapping[str, Any] = frozen({
    **NO_BUDGETS, "load.rate_rps": 20.0, "load.duration_s": 120.0, "serving.pattern": "rag",
    "retrieval.index_refresh_s": 60.0, "model.version": "v3", "guardrail.enabled": True,
    "guardrail.threshold": 0.9, "guardrail.harmful_rate": 0.01, "audit.enabled": True,
})

#: The deployments task 4 is graded on, picked by the seed, on top of the learner's own:
#: as it is (seed 1), real time with model v1, another threshold and index with model v2,
#: and the audit log off.
INCIDENT_CASES: tuple[Mapping[str, Any], ...] = (
    frozen({"audit.enabled": False}),
    frozen({}),
    frozen({"serving.pattern": "realtime", "model.version": "v1"}),
    frozen({"guardrail.threshold": 0.8, "retrieval.index_refresh_s": 15.0,
             "model.version": "v2"}),
)


def incident_case(seed: int) -> dict[str, Any]:
    """The knobs task 4's case for ``seed`` changes on :data:`INCIDENT_SCENARIO`."""
    return dict(case_for(seed, INCIDENT_CASES))


# --- activity 5: the data path has a capacity too -----------------------------

#: A RAG assistant whose retrieval hop has one server: a lookup and its permission check
#: take 48 ms, so the hop tops out near 21 requests/s while 30 arrive.  Embedding and
#: reranking have two servers each and the model four replicas, all with room to spare.
DATAPATH_SCENARIO: Mapping[str, Any] = frozen({
    **NO_BUDGETS, "load.rate_rps": 30.0, "load.duration_s": 120.0, "serving.pattern": "rag",
    "rerank.enabled": True, "steps.service_dist": "exponential", "embed.servers": 2,
    "retrieval.servers": 1, "rerank.servers": 2, "model.replicas": 4,
    "gateway.deadline_ms": 2000.0, "budget.p95_ms": 800.0, "budget.success_rate": 0.99,
})

#: The three hops of the data path, in request order.
HOPS: tuple[str, ...] = ("embed", "retrieval", "rerank")

#: Task 5: the learner sets the servers of one hop (1 to 20); the others are other teams'.
HOP_TASK_KNOBS: Mapping[str, Any] = frozen({f"{hop}.servers": (1, 20) for hop in HOPS})

#: Task 5's budgets: p95 of answered requests and the share answered within the deadline.
HOP_BUDGETS: Mapping[str, float] = frozen({"p95_ms": 800.0, "success_rate": 0.99})

#: Task 5's deployment before the learner's numbers (``draws.hop_task``): a bigger embedding
#: model (40 ms), retrieval with its permission check (40 + 8 ms) and a cross-encoder
#: reranker (60 ms), each call's time exponential; sixteen model replicas, so the model is
#: never the bottleneck.
HOP_TASK_BASE: Mapping[str, Any] = frozen({
    **NO_BUDGETS, "load.duration_s": 120.0, "serving.pattern": "rag", "rerank.enabled": True,
    "steps.service_dist": "exponential", "embed.latency_ms": 40.0,
    "retrieval.latency_ms": 40.0, "retrieval.permission_ms": 8.0, "rerank.latency_ms": 60.0,
    "model.replicas": 16, "gateway.deadline_ms": 2000.0,
    "budget.p95_ms": HOP_BUDGETS["p95_ms"], "budget.success_rate": HOP_BUDGETS["success_rate"],
})
