"""Lab 2, scaling, cost and reliability: the scenarios, scorecards and task judges.

The lab notebook and its hidden tests both import this package, so every
scenario is written down once.  Its modules: ``scenarios`` (each activity's
knobs, each task's allowed knobs, the case each seed stands for), ``analysis``
(tables that put a run next to theory, scorecards, what the audit trail says)
and ``judges`` (graded tasks); tables and panels come from
:mod:`labkit.labs.common`.

Each graded task has a judge with the labs' one signature,
``judge_*(answer, *, seeds) -> list[str]`` (see :mod:`labkit.labs.common`), and
``learner=None`` for whose numbers to judge against: it runs labkit with the
answer on each seed, in the case that seed picks, and returns a list of
problems, one sentence each saying what failed, on which seed and where to
look, never naming an answer that passes (an empty list means the answer
passes).  The seeds a learner is graded on live in the notebook's hidden tests.

Every task with numbers draws its own for each learner (``variants``, after
PrairieLearn's parametrised questions): the load and budget of task 1, how
often content changes and the cost budget of task 2, what reranking is worth
in task 3, the autoscaler of task 4, when faults start in tasks 5-7 (and the
error rate and quota of task 5's cases), and Q7's storm.  ``VARIANTS`` maps
each check cell (grade id) to its draw.  At
grading, the check cells run in a kernel that never ran learner code, on the
answers as plain data; function and object answers cross through
``collect_audit_answers`` and ``design_data``.

1. *Capacity and scaling*: ramp the load; vertical (a faster replica) against
   horizontal (more replicas) scaling; the cheapest fleet for a p95 budget.
2. *Caching and batching before more compute*: Che's curve, TTL against
   staleness, batching's throughput and first-request delay.
3. *The hidden multiplier*: the steps one request pays for.
4. *Peaks and autoscaling*: a warm pool for the peak against an autoscaler; then
   stateless against sticky sessions when a replica is lost.
5. *Retries under load*: the metastable retry storm and a policy that survives.
6. *Graceful degradation*: an upstream rate limit and a slowdown.
7. *Production-ready audit*: kill switch, fallback, trace, data, access.

>>> sorted(MACHINES)
['large', 'standard']
>>> judge_scaling({"machine": "large", "replicas": 40}, seeds=[1], learner="ada")
['scaling: the fleet holds the budget, but it is not the lowest price per hour that does']
"""

from __future__ import annotations

from labkit.labs.common import NO_BUDGETS, beside, knob_answer_problems, panel, table
from labkit.labs.lab2 import variants
from labkit.labs.lab2.analysis import (
                                       after_loss_p95_ms,
                                       audit_requests,
                                       audit_run,
                                       batching_table,
                                       budget_rows,
                                       cost_graph,
                                       cost_per_day,
                                       drill_truth,
                                       healthy_calls,
                                       hit_ratio_curve,
                                       machine_knobs,
                                       peak_table,
                                       ramp_table,
                                       retry_case_score,
                                       scaling_options,
                                       sticky_runs,
                                       sticky_table,
                                       storm_scorecard,
                                       ttl_table,
)
from labkit.labs.lab2.judges import (
                                       AUDIT_KEYS,
                                       JUDGES,
                                       LAG_CAUSES,
                                       SPIKE_S,
                                       autoscale_truth,
                                       collect_audit_answers,
                                       design_data,
                                       design_problems,
                                       first_relief_s,
                                       judge_audit_answers,
                                       judge_autoscale,
                                       judge_cache_batch,
                                       judge_degradation,
                                       judge_drill,
                                       judge_multiplier,
                                       judge_q7,
                                       judge_retry_policy,
                                       judge_scaling,
                                       judge_scaling_budget,
                                       judge_sessions,
                                       scaling_answer_problems,
                                       sticky_truth,
)
from labkit.labs.lab2.scenarios import (
                                       AUDIT_KILL_TIMES_S,
                                       AUDIT_SCENARIO,
                                       BURST,
                                       CACHE_BATCH_TASK,
                                       CACHE_BATCH_TASK_KNOBS,
                                       CACHE_CURVE_SCENARIO,
                                       CAPACITY_SCENARIO,
                                       DEGRADE_SCENARIO,
                                       DEGRADE_SEEDS_VISIBLE,
                                       DEGRADE_STARTS_S,
                                       DEGRADE_TASK_KNOBS,
                                       DRILL_SCENARIO,
                                       DRILL_TASK_KNOBS,
                                       MACHINES,
                                       MULTIPLIER_SCENARIO,
                                       MULTIPLIER_TASK_KNOBS,
                                       PEAK_OPTIONS,
                                       PEAK_SCENARIO,
                                       RETRY_CASES,
                                       STICKY_MODES,
                                       STICKY_SCENARIO,
                                       STORM_LIMITS,
                                       STORM_SCENARIO,
                                       STORM_SEEDS_VISIBLE,
                                       STORM_TASK_KNOBS,
                                       STORM_TIMINGS,
                                       audit_case,
                                       cache_batch_simtask,
                                       cache_batch_task,
                                       degrade_case,
                                       degrade_scenario,
                                       multiplier_scenario,
                                       multiplier_simtask,
                                       peak_scenario,
                                       retry_cases,
                                       scaling_task,
                                       sticky_scenario,
                                       storm_case,
                                       storm_scenario,
)

__all__ = [
    "NO_BUDGETS", "MACHINES", "CAPACITY_SCENARIO", "scaling_task", "machine_knobs",
    "ramp_table", "scaling_options", "scaling_answer_problems", "judge_scaling_budget",
    "judge_scaling",
    "CACHE_CURVE_SCENARIO", "hit_ratio_curve", "ttl_table", "batching_table",
    "CACHE_BATCH_TASK", "CACHE_BATCH_TASK_KNOBS", "cache_batch_task", "cache_batch_simtask",
    "judge_cache_batch",
    "MULTIPLIER_SCENARIO", "MULTIPLIER_TASK_KNOBS", "multiplier_scenario", "multiplier_simtask",
    "cost_graph", "judge_multiplier",
    "PEAK_SCENARIO", "PEAK_OPTIONS", "peak_scenario", "cost_per_day", "peak_table",
    "STICKY_SCENARIO", "STICKY_MODES", "sticky_scenario", "sticky_runs", "sticky_table",
    "after_loss_p95_ms", "sticky_truth", "judge_sessions",
    "first_relief_s", "SPIKE_S", "LAG_CAUSES", "autoscale_truth", "judge_autoscale",
    "STORM_SCENARIO", "STORM_TASK_KNOBS", "STORM_TIMINGS", "STORM_SEEDS_VISIBLE", "STORM_LIMITS",
    "BURST", "storm_case", "storm_scenario", "storm_scorecard", "RETRY_CASES", "retry_cases",
    "healthy_calls", "retry_case_score",
    "judge_retry_policy",
    "DEGRADE_SCENARIO", "DEGRADE_TASK_KNOBS", "DEGRADE_STARTS_S", "DEGRADE_SEEDS_VISIBLE",
    "degrade_case", "degrade_scenario", "judge_degradation",
    "DRILL_SCENARIO", "DRILL_TASK_KNOBS", "drill_truth", "judge_drill",
    "AUDIT_SCENARIO", "AUDIT_KILL_TIMES_S", "AUDIT_KEYS", "audit_case", "audit_run",
    "audit_requests", "collect_audit_answers", "judge_audit_answers",
    "judge_q7", "design_data", "design_problems",
    "JUDGES", "VARIANTS", "variants", "knob_answer_problems", "budget_rows", "table", "panel",
    "beside",
]

#: check cell (grade_id) -> the draw of its numbers, for tools that list or test variants
VARIANTS = {
    "a1_scaling_check": variants.scaling, "a2_cache_batch_check": variants.cache_batch,
    "a3_multiplier_check": variants.multiplier, "a4_autoscale_check": variants.autoscale,
    "a4b_sessions_check": variants.sessions,
    "a5_retry_check": variants.storm, "a6_degrade_check": variants.degrade,
    "a7_drill_check": variants.drill, "cp_q7_check": variants.q7,
}
