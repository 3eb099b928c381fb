"""Lab 3's scenarios: the monitor knobs of each activity, the task budgets, written once.

Every scenario is a dict of :mod:`labkit.monitor` knobs, shared by the notebook,
the tables and the judges; the runs built from them are in ``analysis``.

>>> sorted(THRESHOLD_COSTS)
['cost_fn', 'cost_fp']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labkit.labs.common import frozen

__all__ = ["THRESHOLD_COSTS", "THRESHOLD_TOLERANCE", "OFFLINE_SCENARIO", "ALERT_SCENARIO",
           "ALERT_BUDGET", "DRIFT_SCENARIOS", "RETRAIN_SCENARIO", "RETRAIN_POLICIES",
           "RETRAIN_TASK_KNOBS", "DRILL_SCENARIO", "TRACE_KEYS",
           "CONTAIN_BUDGET", "SLO_HORIZON_MIN", "SLO_CASES", "FAST_BURN_MIN", "PANEL_DAYS",
           "HEALTH_SCENARIO"]

# --- 1. offline is not online -------------------------------------------------------
#: What mistakes cost in the threshold task: a missed fraud, a blocked good customer.
THRESHOLD_COSTS: Mapping[str, float] = frozen({"cost_fn": 120.0, "cost_fp": 15.0})
#: How much more than the cheapest threshold's cost an answer may cost (3%: the spread of
#: the cost curve's flat bottom from seed to seed).
THRESHOLD_TOLERANCE = 0.03
#: Two weeks of production with messy inputs: base nulls, outliers, one benign blip a week.
OFFLINE_SCENARIO: Mapping[str, Any] = frozen({
    "stream.weeks": 2, "stream.null_blips_per_week": 1.0, "cost.missed_fraud": 120.0,
    "cost.false_block": 15.0})

# --- 2. monitoring that people will still read ----------------------------------------
#: Three weeks; device_risk goes 85% null on day 10 for three days; three blips a week.
ALERT_SCENARIO: Mapping[str, Any] = frozen({"stream.weeks": 3, "incident.null_at_day": 10.0,
                                           "stream.null_blips_per_week": 3.0})
#: Detect the incident within this many hours, with at most this many false alerts a week.
ALERT_BUDGET: Mapping[str, float] = frozen({"detect_h": 6, "false_per_week": 1.0})

# --- 3. drift and retraining ---------------------------------------------------------
#: Four weeks each: no drift, data drift and concept drift from day 8.
DRIFT_SCENARIOS: Mapping[str, Mapping[str, Any]] = frozen({
    "no drift": frozen({"stream.weeks": 4, "stream.tx_per_hour": 200}),
    "data drift": frozen({"stream.weeks": 4, "stream.tx_per_hour": 200,
                          "drift.data_at_day": 8.0}),
    "concept drift": frozen({"stream.weeks": 4, "stream.tx_per_hour": 200,
                             "drift.concept_at_day": 8.0}),
})
#: Six weeks; fraudsters change tactics on day 10 (concept drift).  Each learner's world
#: (:data:`labkit.labs.lab3.variants.RETRAIN_WORLDS`) changes how it plays out.
RETRAIN_SCENARIO: Mapping[str, Any] = frozen({"stream.weeks": 6, "stream.tx_per_hour": 200,
                                             "drift.concept_at_day": 10.0})
#: The policies activity 3 runs in the learner's world: evidence to read, none of them within
#: any world's budget (retraining every 7 days, which suits one world, is not shown).
RETRAIN_POLICIES: Mapping[str, Mapping[str, Any]] = frozen({
    "never": frozen({}),
    "every 14 days": frozen({"retrain.policy": "schedule", "retrain.every_days": 14}),
    "on a recall trigger": frozen({"retrain.policy": "trigger",
                                   "retrain.trigger_on": ("recall",),
                                   "alerts.recall_floor": 0.25}),
})
#: The knobs task 3 lets the learner change (each within the monitor catalogue's range).
RETRAIN_TASK_KNOBS = ("retrain.policy", "retrain.every_days", "retrain.trigger_on",
                      "retrain.cooldown_days", "retrain.train_days", "retrain.retune_threshold",
                      "alerts.recall_floor", "alerts.precision_floor", "alerts.label_window_h",
                      "alerts.psi_threshold", "alerts.psi_window_h")

# --- 4. governance drill ---------------------------------------------------------------
#: Two weeks; the risk team lowers the threshold on day 5; device_risk goes 85% null on
#: day 8 for three days; blips as in activity 2.
DRILL_SCENARIO: Mapping[str, Any] = frozen({
    "stream.weeks": 2, "incident.null_at_day": 8.0, "stream.null_blips_per_week": 3.0,
    "decision.change_at_day": 5.0, "decision.new_threshold": 0.15})
#: What task 4's answer names about one decision: which payment, then what decided it.
TRACE_KEYS = ("tx_id", "model_version", "data_snapshot", "features", "threshold", "missing")
#: Containment must cut the incident's cost by this share, keep reviews this fast, and
#: never switch the model off outside the incident.
CONTAIN_BUDGET: Mapping[str, float] = frozen({"cost_cut": 0.10, "review_wait_h": 2.0,
                                             "detect_h": 8})

# --- 5. SLOs, burn-rate alerts and system health -------------------------------------
#: Two days of one service, minute by minute (the SLI world of :mod:`labkit.monitor.sli`).
SLO_HORIZON_MIN = 2 * 24 * 60
#: How long the real (fast) burn lasts before someone fixes it.
FAST_BURN_MIN = 90
#: (minute the fast burn starts, minute the slow benign burn starts), picked by the seed;
#: every fast burn starts after the longest window a sensible rule would use.
SLO_CASES: tuple[tuple[int, int], ...] = ((2000, 400), (900, 1500), (2400, 1000), (1200, 2000))
#: Days of the SLI world the alert panel sweeps (false pages are counted per week).
PANEL_DAYS = 7
#: Two weeks with a slowdown of the feature store (day 6) and a traffic spike that pushes
#: the scoring service into rate limiting (day 10): system health, not model quality.
HEALTH_SCENARIO: Mapping[str, Any] = frozen({
    "stream.weeks": 2, "stream.tx_per_hour": 300, "incident.slow_at_day": 6.0,
    "incident.slow_duration_h": 6, "incident.spike_at_day": 10.0,
    "incident.spike_duration_h": 4})
