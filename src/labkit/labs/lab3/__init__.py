"""Lab 3, evaluation, monitoring and governance: scenarios, tables and task judges.

The lab notebook and its hidden tests both import this package, so every
scenario is written down once (as knobs of :mod:`labkit.monitor`).  Its
modules: ``scenarios`` (the knobs and budgets of each activity), ``variants``
(each learner's own numbers: prices, worlds, drift world, threshold change),
``analysis`` (the runs the activities share), ``forms`` (what each answer looks
like), ``evidence`` (the checks of the two evidence artifacts, on the artifact
or its plain data), ``views`` (tables) and ``judges`` (graded tasks).

Each graded task has a judge with the labs' one signature,
``judge_*(answer, *, seeds) -> list[str]`` (see :mod:`labkit.labs.common`): it
runs the monitor with the answer on the seeds it is given and returns a list of
problems, one sentence each saying what failed and where to look (empty: the
answer passes).  An answer of the wrong form is a problem too.  The seeds a
learner is graded on live in the notebook's hidden tests.

1. *Offline is not online*: the cost-weighted threshold (:func:`judge_threshold`).
2. *Monitoring people will still read*: null-rate rules that catch the
   incident without paging for blips (:func:`judge_null_rules`).
3. *Drift and retraining*: a retraining policy within the cost and change
   budget of the learner's drift world (:func:`judge_retraining`).
4. *Governance drill*: the audit trail of one decision (:func:`judge_trace`)
   and containment by shutdown (:func:`judge_containment`).
5. *SLOs and system health*: multi-window burn-rate paging rules that page for
   an outage in time and never for a benign slow burn (:func:`judge_burn_alerts`).

>>> sorted(threshold_costs(learner="ada"))
['cost_fn', 'cost_fp']
>>> judge_threshold(None, seeds=[1])
['T1: not answered yet; set your answer to a number.']
"""

from __future__ import annotations

from labkit.labs.common import knob_answer_problems, plain, table
from labkit.labs.lab3.analysis import (
                                       alert_load,
                                       alert_run,
                                       burn_rules,
                                       containment,
                                       drift_runs,
                                       drift_seen,
                                       drill_run,
                                       drill_transaction,
                                       evaluation_set,
                                       health_seen,
                                       incident_effect,
                                       null_rules,
                                       panel_world,
                                       quality_shift,
                                       rule_report,
                                       slo_report,
                                       slo_run,
                                       slo_seen,
)
from labkit.labs.lab3.evidence import (
                                       artifact_data,
                                       evidence_problems,
                                       risk_entry_extent_problems,
                                       runbook_extent_problems,
)
from labkit.labs.lab3.forms import (
                                       burn_rules_answer_problems,
                                       containment_answer_problems,
                                       plain_answer_problems,
                                       rule_answer_problems,
                                       threshold_answer_problems,
                                       trace_answer_problems,
)
from labkit.labs.lab3.judges import (
                                       JUDGES,
                                       judge_burn_alerts,
                                       judge_containment,
                                       judge_null_rules,
                                       judge_retraining,
                                       judge_threshold,
                                       judge_trace,
)
from labkit.labs.lab3.scenarios import (
                                       ALERT_BUDGET,
                                       ALERT_SCENARIO,
                                       CONTAIN_BUDGET,
                                       DRIFT_SCENARIOS,
                                       DRILL_SCENARIO,
                                       HEALTH_SCENARIO,
                                       OFFLINE_SCENARIO,
                                       RETRAIN_POLICIES,
                                       RETRAIN_SCENARIO,
                                       RETRAIN_TASK_KNOBS,
                                       THRESHOLD_COSTS,
                                       THRESHOLD_TOLERANCE,
                                       TRACE_KEYS,
)
from labkit.labs.lab3.variants import (
                                       SLO_WORLDS,
                                       VARIANTS,
                                       alert_scenario,
                                       drill_scenario,
                                       retrain_budget,
                                       retrain_scenario,
                                       slo_world,
                                       threshold_costs,
                                       world,
                                       world_knobs,
)
from labkit.labs.lab3.views import (
                                       HEALTH_RULES,
                                       SUGGESTED_SUBCATEGORIES,
                                       alerts_table,
                                       beside,
                                       health_table,
                                       labels_known,
                                       noise_table,
                                       quality_table,
                                       retrain_table,
                                       subcategory_table,
)

__all__ = ["THRESHOLD_COSTS", "THRESHOLD_TOLERANCE", "OFFLINE_SCENARIO", "evaluation_set",
           "quality_table", "labels_known", "noise_table", "alerts_table",
           "SUGGESTED_SUBCATEGORIES", "subcategory_table", "threshold_answer_problems",
           "judge_threshold", "ALERT_SCENARIO", "ALERT_BUDGET", "null_rules", "rule_report",
           "rule_answer_problems", "judge_null_rules", "alert_run", "DRIFT_SCENARIOS",
           "drift_runs", "RETRAIN_SCENARIO", "RETRAIN_POLICIES", "RETRAIN_TASK_KNOBS",
           "retrain_budget", "retrain_table", "judge_retraining", "DRILL_SCENARIO", "drill_run",
           "drill_transaction", "TRACE_KEYS", "trace_answer_problems", "judge_trace",
           "CONTAIN_BUDGET", "containment", "containment_answer_problems", "judge_containment",
           "JUDGES", "knob_answer_problems", "table", "plain", "plain_answer_problems",
           "VARIANTS", "threshold_costs", "alert_scenario", "retrain_scenario", "drill_scenario",
           "world", "world_knobs", "evidence_problems", "risk_entry_extent_problems",
           "runbook_extent_problems", "artifact_data", "SLO_WORLDS", "slo_world", "slo_run",
           "slo_report", "burn_rules", "burn_rules_answer_problems", "judge_burn_alerts",
           "panel_world", "HEALTH_SCENARIO", "beside", "health_table", "HEALTH_RULES",
           "quality_shift", "alert_load", "drift_seen", "incident_effect", "health_seen",
           "slo_seen"]
