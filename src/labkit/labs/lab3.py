"""Lab 3, evaluation, monitoring and governance: scenarios, tables and task judges.

This module gathers the lab's public names from ``_lab3_scenarios`` (the knobs
of each activity and the runs they share), ``_lab3_views`` (tables) and
``_lab3_judges`` (graded tasks).

The lab notebook and its hidden tests both import this module, so every
scenario is written down once (as knobs of :mod:`labkit.monitor`).  Each
graded task has a judge: ``judge_*(answer, seeds=...)`` runs the monitor with
the answer on the seeds it is given and returns a list of problems, one
sentence each saying what failed and where to look (empty: the answer
passes).  Answers with the wrong form raise
:class:`labkit.checkpoints.CheckpointError`.  The seeds a learner is graded
on live in the notebook's hidden tests.

1. *Offline is not online*: the cost-weighted threshold (:func:`judge_threshold`).
2. *Monitoring people will still read*: null-rate rules that catch the
   incident without paging for blips (:func:`judge_null_rules`).
3. *Drift and retraining*: a retraining policy within a cost and change
   budget (:func:`judge_retraining`).
4. *Governance drill*: the audit trail of one decision (:func:`judge_trace`)
   and containment by shutdown (:func:`judge_containment`).

>>> sorted(THRESHOLD_COSTS)
['cost_fn', 'cost_fp']
"""

from __future__ import annotations

from labkit.labs._lab3_judges import (judge_containment, judge_null_rules, judge_retraining,
                                      judge_threshold, judge_trace)
from labkit.labs._lab3_scenarios import (ALERT_BUDGET, ALERT_SCENARIO, CONTAIN_BUDGET,
                                         DRIFT_SCENARIOS, DRILL_SCENARIO, OFFLINE_SCENARIO,
                                         RETRAIN_BUDGET, RETRAIN_POLICIES, RETRAIN_SCENARIO,
                                         RETRAIN_TASK_KNOBS, THRESHOLD_COSTS, TRACE_KEYS,
                                         _evaluation, alert_run, containment, drift_runs,
                                         drill_transaction, evaluation_set, null_rules,
                                         rule_report)
from labkit.labs._lab3_views import (SUGGESTED_SUBCATEGORIES, alerts_table, labels_known,
                                     noise_table, quality_table, retrain_table,
                                     subcategory_table, table)

__all__ = ["THRESHOLD_COSTS", "OFFLINE_SCENARIO", "evaluation_set", "quality_table",
           "labels_known", "noise_table", "alerts_table", "SUGGESTED_SUBCATEGORIES",
           "subcategory_table", "judge_threshold", "ALERT_SCENARIO", "ALERT_BUDGET",
           "null_rules", "rule_report", "judge_null_rules", "alert_run", "DRIFT_SCENARIOS",
           "drift_runs", "RETRAIN_SCENARIO", "RETRAIN_POLICIES", "RETRAIN_TASK_KNOBS",
           "RETRAIN_BUDGET", "retrain_table", "judge_retraining", "DRILL_SCENARIO",
           "drill_transaction", "TRACE_KEYS", "judge_trace", "CONTAIN_BUDGET", "containment",
           "judge_containment", "table"]

_ = _evaluation  # the cached evaluation behind evaluation_set, used by the tests
