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

from labkit.labs._lab1_judges import (
    check_task_knobs, compare_shapes, harmful_request_ids, incident_truth, judge_boundary,
    judge_incident_report, judge_replicas, judge_shape, review_wait_theory_s, shape_scorecard,
    utilisation_table,
)
from labkit.labs._lab1_scenarios import (
    BOUNDARY_SCENARIO, BOUNDARY_TASK_KNOBS, INCIDENT_SCENARIO, LATENCY_SCENARIO, REPLICA_TASK,
    REVIEW_P95_BUDGET_S, SHAPE_BUDGETS, SHAPE_TASK_KNOBS, SHAPE_WORKLOAD, SHAPES,
)
from labkit.labs._lab1_sketch import sketch_problems
from labkit.labs._lab1_views import format_table, panel, utilisation_figure

__all__ = [
    "SHAPE_WORKLOAD", "SHAPES", "SHAPE_BUDGETS", "SHAPE_TASK_KNOBS", "shape_scorecard",
    "compare_shapes", "judge_shape",
    "LATENCY_SCENARIO", "REPLICA_TASK", "utilisation_table", "judge_replicas",
    "BOUNDARY_SCENARIO", "BOUNDARY_TASK_KNOBS", "REVIEW_P95_BUDGET_S", "review_wait_theory_s",
    "judge_boundary",
    "INCIDENT_SCENARIO", "harmful_request_ids", "incident_truth", "judge_incident_report",
    "check_task_knobs", "format_table", "utilisation_figure", "panel",
    "sketch_problems",
]
