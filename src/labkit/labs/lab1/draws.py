"""Lab 1's numbers for each learner: what varies per task, and the scenarios built from it.

Every task with numbers draws them with :func:`labkit.variants.draw`, so two
learners usually work on different numbers and an answer worked out by one is
wrong for the other (at grading, the learner is the student the submission is
filed under).  Each list holds values whose right answers differ, each far
enough from its neighbours that the reference answer passes on any seed and a
neighbour's answer fails (``tests/labs/test_lab1.py`` runs every value):

* **task 1** (shapes): the arrival rate; the smallest fleet that holds the p95
  budget is 3, 4, 5 or 6 replicas, and the cost budget leaves no room for one
  more (a replica is a $40/h GPU server), so the fleet must be sized exactly;
* **task 2** (Erlang C): the arrival rate; the fewest replicas are 4 to 8;
* **task 3** (review queue): the share of requests that are writes; the fewest
  reviewers are 6, 7 or 8 (activity 3 explores 5%, whose answer is 5);
* **task 4** (audit trail): the deployment's guardrail threshold, model version
  and index schedule, which the trail records;
* **task 5** (the data path): the deployment, one of nine: which hop (embedding,
  retrieval, reranking) is short of servers and how much traffic arrives, so that the
  fewest servers that fix it are 2, 3 or 4 on that hop (with one fewer the hop is over
  capacity, utilisation above 1.09; with the right number it is at most 0.83);
* **Q4** (Little's law): the arrival rate and the slower response time.

``learner=None`` means this kernel's learner (:func:`labkit.variants.learner`).

>>> shape_draw(learner="ada").rate_rps in SHAPE_PARAMS["rate_rps"]
True
>>> sorted(VARIANTS)
['a1_shape_check', 'a2_replicas_check', 'a3_boundary_check', 'a4_explain_check', 'a5_hops_check', 'q4_check']
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from labkit import variants
from labkit.labs.common import frozen
from labkit.labs.lab1.scenarios import (
    BOUNDARY_SCENARIO,
    HOP_TASK_BASE,
    INCIDENT_SCENARIO,
    REPLICA_BASE,
    SHAPE_BUDGETS,
    SHAPE_WORKLOAD,
)

__all__ = ["SHAPE_PARAMS", "SHAPE_COST_BUDGETS", "REPLICA_PARAMS", "BOUNDARY_PARAMS",
           "INCIDENT_PARAMS", "LITTLE_PARAMS", "shape_draw", "replica_draw", "boundary_draw",
           "incident_draw", "little_draw", "shape_workload", "shape_budgets", "replica_task",
           "boundary_task", "incident_scenario", "expected_q4", "HOP_CASES", "HOP_PARAMS",
           "hop_draw", "hop_task", "hop_fix", "VARIANTS"]

LAB = "lab1"

SHAPE_PARAMS = {"rate_rps": (20, 30, 42, 54)}
#: Task 1's cost budget ($ per 1,000 requests) at each rate: the mean cost of the smallest
#: RAG fleet that holds p95 (index rebuilt every 25 s) plus 45% of one replica's cost per
#: 1,000 requests, so one replica more breaks it on every seed.
SHAPE_COST_BUDGETS: Mapping[int, float] = MappingProxyType({20: 5.05, 30: 4.64, 42: 4.35, 54: 4.19})
REPLICA_PARAMS = {"rate_rps": (26, 36, 46, 56, 66)}
BOUNDARY_PARAMS = {"write_fraction": (0.06, 0.075, 0.09)}
INCIDENT_PARAMS = {"threshold": (0.85, 0.9, 0.95), "model_version": ("v2", "v3"),
                   "index_refresh_s": (45.0, 60.0, 90.0)}
#: Q4: no two learners' answers (rate x slower time) are within 0.5 request of each other.
LITTLE_PARAMS = {"rate_rps": (32, 44, 56, 68), "slow_s": (0.45, 0.6, 0.75, 0.9)}
LITTLE_FAST_S = 0.1
#: Task 5's deployments: (the hop short of servers, arrival rate).  Each hop's offered load
#: (rate x its mean time: embed 40 ms, retrieval 48 ms, rerank 60 ms) is about 1.4, 2.3 or
#: 3.3 servers' worth, so the fewest servers that keep it under capacity are 2, 3 or 4.
HOP_CASES: tuple[tuple[str, int], ...] = (
    ("embed", 35), ("embed", 57), ("embed", 83),
    ("retrieval", 29), ("retrieval", 48), ("retrieval", 69),
    ("rerank", 23), ("rerank", 38), ("rerank", 55),
)
HOP_PARAMS = {"case": tuple(range(len(HOP_CASES)))}
_HOP_MS = {"embed": ("embed.latency_ms",),
           "retrieval": ("retrieval.latency_ms", "retrieval.permission_ms"),
           "rerank": ("rerank.latency_ms",)}


def shape_draw(*, learner: str | None = None) -> variants.Variant:
    """This learner's arrival rate for task 1."""
    return variants.draw(LAB, "task1", SHAPE_PARAMS, learner=learner)


def replica_draw(*, learner: str | None = None) -> variants.Variant:
    """This learner's arrival rate for task 2."""
    return variants.draw(LAB, "task2", REPLICA_PARAMS, learner=learner)


def boundary_draw(*, learner: str | None = None) -> variants.Variant:
    """This learner's share of writes for task 3."""
    return variants.draw(LAB, "task3", BOUNDARY_PARAMS, learner=learner)


def incident_draw(*, learner: str | None = None) -> variants.Variant:
    """This learner's deployment for task 4: threshold, model version, index schedule."""
    return variants.draw(LAB, "task4", INCIDENT_PARAMS, learner=learner)


def hop_draw(*, learner: str | None = None) -> variants.Variant:
    """This learner's deployment for task 5 (an index into :data:`HOP_CASES`)."""
    return variants.draw(LAB, "task5", HOP_PARAMS, learner=learner)


def _offered(hop: str, rate: float) -> float:
    """Servers' worth of work a hop of :data:`HOP_TASK_BASE` gets at ``rate`` (λ x S)."""
    return rate * sum(HOP_TASK_BASE[k] for k in _HOP_MS[hop]) / 1000.0


def hop_fix(*, learner: str | None = None) -> dict[str, int]:
    """The grader's reference for task 5: the short hop's knob and the fewest servers that
    keep its utilisation at or below 0.85 (never shown to a learner)."""
    hop, rate = HOP_CASES[hop_draw(learner=learner).case]
    return {f"{hop}.servers": math.ceil(_offered(hop, rate) / 0.85)}


def hop_task(*, learner: str | None = None) -> Mapping[str, Any]:
    """Task 5's deployment for this learner (read-only): the other hops have servers to spare
    (utilisation at most 0.6); the short one has two fewer than it needs (at least one)."""
    short, rate = HOP_CASES[hop_draw(learner=learner).case]
    (knob, need), = hop_fix(learner=learner).items()
    servers = {f"{hop}.servers": math.ceil(_offered(hop, rate) / 0.6) for hop in _HOP_MS}
    servers[knob] = max(1, need - 2)
    return frozen({**HOP_TASK_BASE, "load.rate_rps": float(rate), **servers})


def little_draw(*, learner: str | None = None) -> variants.Variant:
    """This learner's arrival rate and slower response time for Q4."""
    return variants.draw(LAB, "q4", LITTLE_PARAMS, learner=learner)


def shape_workload(*, learner: str | None = None) -> Mapping[str, Any]:
    """Task 1's shared workload at this learner's arrival rate (read-only)."""
    return frozen({**SHAPE_WORKLOAD, "load.rate_rps": float(shape_draw(learner=learner).rate_rps)})


def shape_budgets(*, learner: str | None = None) -> Mapping[str, Any]:
    """Task 1's five budgets for this learner (the cost budget follows the rate)."""
    rate = shape_draw(learner=learner).rate_rps
    return frozen({**SHAPE_BUDGETS, "cost_per_1k": SHAPE_COST_BUDGETS[rate]})


def replica_task(*, learner: str | None = None) -> Mapping[str, Any]:
    """Task 2's scenario at this learner's arrival rate (read-only)."""
    return frozen({**REPLICA_BASE, "load.rate_rps": float(replica_draw(learner=learner).rate_rps)})


def boundary_task(*, learner: str | None = None) -> Mapping[str, Any]:
    """Task 3's scenario: activity 3's assistant with this learner's share of writes."""
    share = float(boundary_draw(learner=learner).write_fraction)
    return frozen({**BOUNDARY_SCENARIO, "load.write_fraction": share})


def incident_scenario(*, learner: str | None = None) -> Mapping[str, Any]:
    """Task 4's deployment for this learner (read-only)."""
    v = incident_draw(learner=learner)
    return frozen({**INCIDENT_SCENARIO, "guardrail.threshold": float(v.threshold),
                   "model.version": v.model_version,
                   "retrieval.index_refresh_s": float(v.index_refresh_s)})


def expected_q4(*, learner: str | None = None) -> float:
    """Requests in the system at this learner's slower response time (the grader's reference)."""
    v = little_draw(learner=learner)
    return v.rate_rps * v.slow_s


#: check cell (grade_id) -> the draw of its numbers, for tools that list or test variants
VARIANTS: dict[str, Callable[..., variants.Variant]] = {
    "a1_shape_check": shape_draw, "a2_replicas_check": replica_draw,
    "a3_boundary_check": boundary_draw, "a4_explain_check": incident_draw,
    "a5_hops_check": hop_draw, "q4_check": little_draw,
}
