"""The monitoring simulator's knob catalogue.

Lab 3 watches a deployed fraud-scoring model for weeks.  Every setting a
learner can turn (how much traffic, when the data drifts, when a backend
change blanks out a feature, how fast labels arrive, the default alert
rules, the retraining policy, the shutdown plan and what mistakes cost) is a
:class:`labkit.knobs.Knob` in :data:`MONITOR_CATALOGUE`, so names, defaults,
units and ranges are written down once and errors read the same as the
serving simulator's::

    >>> MONITOR_CATALOGUE["stream.weeks"].check(0)
    Traceback (most recent call last):
    ...
    labkit.knobs.KnobError: stream.weeks must be >= 1, got 0

Times are in hours (``_h``) or days (``_day`` for a moment, ``_days`` for a
duration) since the model went live; ``-1`` means an event never happens.
"""

from __future__ import annotations

from typing import Any

from labkit.knobs import Catalogue, Knob

__all__ = ["MONITOR_CATALOGUE", "FEATURES", "NUMERIC_FEATURES", "CATEGORIES", "REGIONS",
           "TRIGGER_METRICS"]

#: Numeric inputs of a card transaction, then the categorical one.
NUMERIC_FEATURES = ("amount", "velocity", "device_risk")
FEATURES = NUMERIC_FEATURES + ("merchant_category",)
#: Merchant categories seen in the reference window; ``crypto`` only appears with data drift.
CATEGORIES = ("grocery", "fuel", "retail", "travel", "electronics", "gaming", "crypto")
#: Customer regions: the groups whose flag rates the output monitors compare.
REGIONS = ("north", "south", "east", "west")
#: Default-rule families that can trigger a retraining when ``retrain.policy`` is ``trigger``.
TRIGGER_METRICS = ("input_psi", "score_psi", "recall", "precision")


def _k(name: str, kind: str, default: Any, help: str, **kw: Any) -> Knob:
    return Knob(name=name, kind=kind, default=default, help=help, **kw)


_NEVER = "-1 = never"

MONITOR_CATALOGUE = Catalogue([
    # --- the transaction stream --------------------------------------------------
    _k("stream.weeks", "int", 4, "How many weeks of production traffic to simulate.",
       unit="weeks", min=1, max=26),
    _k("stream.tx_per_hour", "float", 300.0, "Mean number of card transactions scored per hour.",
       unit="tx/h", min=20.0, max=5000.0, step=10.0),
    _k("stream.diurnal_amplitude", "float", 0.5, "Day/night swing of traffic as a share of the "
       "mean (quiet nights make rates noisier).", min=0.0, max=0.95, step=0.05),
    _k("stream.fraud_rate", "float", 0.03, "Share of transactions that are fraud in the "
       "reference period.", min=0.002, max=0.3, step=0.005),
    _k("stream.base_null_rate", "float", 0.01, "Share of each numeric input missing on a normal "
       "day.", min=0.0, max=0.5, step=0.005),
    _k("stream.null_blips_per_week", "float", 2.0, "Benign blips per week: a flaky upstream "
       "drops one feature for a few hours, then recovers by itself (no action needed); "
       "blips on one feature are at least a day apart.",
       unit="/week", min=0.0, max=50.0, step=0.5),
    _k("stream.blip_null_share", "float", 0.9, "Share of the feature missing during a blip.",
       min=0.0, max=1.0, step=0.05),
    _k("stream.blip_max_h", "int", 3, "Longest blip; each lasts 1 to this many hours.",
       unit="h", min=1, max=24),
    _k("stream.outlier_rate", "float", 0.002, "Share of amounts entered in cents instead of "
       "dollars (100x too large): out-of-range inputs.", min=0.0, max=0.2, step=0.001),
    # --- injected events (the ground truth alerts are judged against) -----------
    _k("drift.data_at_day", "float", -1.0, "Data drift starts: amounts grow and a new merchant "
       "category appears.", unit="day", min=-1.0, off=_NEVER),
    _k("drift.data_ramp_days", "float", 2.0, "How long data drift takes to reach full size.",
       unit="days", min=0.0, max=28.0),
    _k("drift.data_amount_shift", "float", 0.7, "Shift of log(amount) at full data drift "
       "(0.7 is about 2x larger amounts).", min=-3.0, max=3.0, step=0.1),
    _k("drift.data_new_category_share", "float", 0.1, "Share of transactions in the new "
       "'crypto' category at full data drift.", min=0.0, max=0.9, step=0.01),
    _k("drift.concept_at_day", "float", -1.0, "Concept drift starts: fraudsters switch from "
       "large purchases to many small ones; inputs look the same.", unit="day", min=-1.0,
       off=_NEVER),
    _k("drift.concept_ramp_days", "float", 2.0, "How long concept drift takes to reach full "
       "strength.", unit="days", min=0.0, max=28.0),
    _k("drift.concept_strength", "float", 1.0, "How far the input-to-fraud relation moves "
       "(0 = not at all, 1 = fully to the new pattern).", min=0.0, max=1.0, step=0.05),
    _k("incident.null_at_day", "float", -1.0, "A backend change makes one feature mostly null.",
       unit="day", min=-1.0, off=_NEVER),
    _k("incident.null_duration_h", "int", 72, "How long the null-feature incident lasts "
       "(until the backend change is reverted).", unit="h", min=1, max=24 * 7 * 26),
    _k("incident.null_feature", "choice", "device_risk", "Which feature goes null.",
       choices=NUMERIC_FEATURES),
    _k("incident.null_share", "float", 0.85, "Share of the feature missing during the "
       "incident.", min=0.0, max=1.0, step=0.05),
    _k("incident.slow_at_day", "float", -1.0, "The feature store slows down: latency and "
       "errors rise.", unit="day", min=-1.0, off=_NEVER),
    _k("incident.slow_duration_h", "int", 6, "How long the slowdown lasts.", unit="h", min=1,
       max=24 * 7 * 26),
    _k("incident.slow_factor", "float", 4.0, "How many times slower scoring is in the "
       "slowdown.", unit="x", min=1.0, max=50.0, step=0.5),
    _k("incident.spike_at_day", "float", -1.0, "A traffic spike (a promotion or a bot attack) "
       "pushes the service into rate limiting.", unit="day", min=-1.0, off=_NEVER),
    _k("incident.spike_duration_h", "int", 4, "How long the spike lasts.", unit="h", min=1,
       max=24 * 7 * 26),
    _k("incident.spike_multiplier", "float", 6.0, "Traffic during the spike as a multiple of "
       "normal.", unit="x", min=1.0, max=50.0, step=0.5),
    # --- labels and system health ---------------------------------------------------
    _k("labels.delay_h", "int", 72, "Hours until a transaction's true label (fraud or not) "
       "arrives, for example from a chargeback.", unit="h", min=0, max=24 * 7 * 8),
    _k("health.latency_p95_ms", "float", 120.0, "Normal 95th-percentile scoring latency.",
       unit="ms", min=1.0, max=60000.0),
    _k("health.error_rate", "float", 0.002, "Normal share of scoring calls that fail.",
       min=0.0, max=0.5, step=0.001),
    _k("health.capacity_tx_per_hour", "float", 900.0, "Scoring calls per hour the service "
       "admits; the rest are rate limited.", unit="tx/h", min=1.0),
    # --- the model and its decision ---------------------------------------------------
    _k("model.offline_samples", "int", 40000, "Clean labelled transactions the first model "
       "(v1) is trained on offline.", unit="tx", min=2000, max=1_000_000),
    _k("decision.threshold", "float", 0.2, "Score at or above which a transaction is blocked "
       "as fraud.", min=0.0, max=1.0, step=0.01),
    _k("decision.change_at_day", "float", -1.0, "When the threshold is changed by hand.",
       unit="day", min=-1.0, off=_NEVER),
    _k("decision.new_threshold", "float", 0.1, "The threshold from decision.change_at_day on.",
       min=0.0, max=1.0, step=0.01),
    _k("decision.owner", "choice", "risk-team", "Who owns threshold decisions.",
       choices=("risk-team", "ml-oncall", "product")),
    # --- monitors and the default alert rules -----------------------------------------
    _k("monitor.reference_days", "float", 3.0, "The first days after go-live form the "
       "reference window monitors compare against; alerts start after it.", unit="days",
       min=1.0, max=28.0),
    _k("monitor.psi_bins", "int", 10, "Bins (reference quantiles) used for PSI.", min=2,
       max=50),
    _k("alerts.null_rate_threshold", "float", 0.05, "Alert when a feature's null rate over the "
       "window is above this.", min=0.0, max=1.0, off="0 = rule off", step=0.01),
    _k("alerts.null_window_h", "int", 1, "Window of the null-rate rule.", unit="h", min=1,
       max=168),
    _k("alerts.range_threshold", "float", 0.0, "Alert when the share of out-of-range inputs "
       "over the window is above this.", min=0.0, max=1.0, off="0 = rule off", step=0.005),
    _k("alerts.range_window_h", "int", 6, "Window of the out-of-range rule.", unit="h", min=1,
       max=168),
    _k("alerts.new_category_threshold", "float", 0.02, "Alert when the share of unseen "
       "merchant categories over the window is above this.", min=0.0, max=1.0,
       off="0 = rule off", step=0.005),
    _k("alerts.new_category_window_h", "int", 24, "Window of the new-category rule.", unit="h",
       min=1, max=168),
    _k("alerts.psi_threshold", "float", 0.25, "Alert when an input's PSI against the reference "
       "over the window is above this.", min=0.0, max=10.0, off="0 = rule off", step=0.05),
    _k("alerts.psi_window_h", "int", 24, "Window of the input PSI rule.", unit="h", min=1,
       max=168),
    _k("alerts.score_psi_threshold", "float", 0.25, "Alert when the score distribution's PSI "
       "over the window is above this.", min=0.0, max=10.0, off="0 = rule off", step=0.05),
    _k("alerts.score_psi_window_h", "int", 24, "Window of the score PSI rule.", unit="h", min=1,
       max=168),
    _k("alerts.flag_gap_threshold", "float", 0.0, "Alert when flag rates of the best and worst "
       "treated regions differ by more than this.", min=0.0, max=1.0, off="0 = rule off",
       step=0.01),
    _k("alerts.flag_gap_window_h", "int", 24, "Window of the flag-rate gap rule.", unit="h",
       min=1, max=168),
    _k("alerts.recall_floor", "float", 0.0, "Alert when recall on labelled transactions over "
       "the window falls below this (seen only after labels.delay_h).", min=0.0, max=1.0,
       off="0 = rule off", step=0.05),
    _k("alerts.precision_floor", "float", 0.0, "Alert when precision on labelled transactions "
       "over the window falls below this.", min=0.0, max=1.0, off="0 = rule off", step=0.05),
    _k("alerts.label_window_h", "int", 48, "Window of the recall and precision rules.",
       unit="h", min=1, max=24 * 28),
    _k("alerts.latency_p95_ms", "float", 500.0, "Alert when p95 latency (mean over the window) "
       "is above this.", unit="ms", min=0.0, off="0 = rule off"),
    _k("alerts.error_rate_threshold", "float", 0.02, "Alert when the error rate over the "
       "window is above this.", min=0.0, max=1.0, off="0 = rule off", step=0.005),
    _k("alerts.rate_limited_threshold", "float", 0.05, "Alert when the rate-limited share "
       "over the window is above this.", min=0.0, max=1.0, off="0 = rule off", step=0.01),
    _k("alerts.health_window_h", "int", 1, "Window of the latency, error and rate-limit rules.",
       unit="h", min=1, max=168),
    # --- actions: retraining as a release, shutdown ------------------------------------
    _k("retrain.policy", "choice", "none", "When to retrain: never, on a schedule, or when a "
       "trigger rule fires.", choices=("none", "schedule", "trigger")),
    _k("retrain.every_days", "float", 7.0, "Schedule: days between retrainings.", unit="days",
       min=1.0, max=182.0),
    _k("retrain.trigger_on", "multi", ("input_psi", "recall"), "Trigger: which default rules "
       "start a retraining when they fire (rules whose threshold is 0 are off).",
       choices=TRIGGER_METRICS),
    _k("retrain.cooldown_days", "float", 3.0, "Fewest days between two triggered "
       "retrainings.", unit="days", min=0.0, max=28.0),
    _k("retrain.train_days", "float", 7.0, "Days of labelled data a retraining learns from.",
       unit="days", min=1.0, max=56.0),
    _k("retrain.holdout_days", "float", 2.0, "Most recent labelled days held out for the "
       "evaluation gate.", unit="days", min=0.5, max=28.0),
    _k("retrain.gate_tolerance", "float", 0.0, "The gate passes a candidate whose cost on the "
       "holdout is at most (1 + this) x the current model's.", min=0.0, max=1.0, step=0.01),
    _k("retrain.canary_h", "int", 24, "Hours a passed candidate scores only a canary share of "
       "traffic before full rollout.", unit="h", min=0, max=24 * 14, off="0 = no canary"),
    _k("retrain.canary_share", "float", 0.25, "Share of traffic the canary scores.", min=0.01,
       max=1.0, step=0.01),
    _k("retrain.rollback_flag_ratio", "float", 0.5, "Roll back when the canary's flag rate "
       "differs from the gate's expectation by more than this share of it.", min=0.05,
       max=10.0, step=0.05),
    _k("retrain.max_null_share", "float", 0.5, "A feature missing in more than this share of "
       "the training data is dropped from the candidate.", min=0.0, max=1.0, step=0.05),
    _k("retrain.retune_threshold", "bool", False, "Set the threshold to the cost-minimising one "
       "on the training data at each release."),
    _k("shutdown.at_day", "float", -1.0, "When the model is switched off and decisions go to "
       "the safe fallback.", unit="day", min=-1.0, off=_NEVER),
    _k("shutdown.duration_h", "int", 0, "How long the model stays off.", unit="h", min=0,
       off="0 = until the end"),
    _k("shutdown.fallback", "choice", "rules_review", "What replaces the model: simple rules "
       "send risky transactions to human review, everything is reviewed, or everything is "
       "approved.", choices=("rules_review", "review_all", "allow_all")),
    _k("shutdown.review_capacity_per_hour", "float", 60.0, "Transactions the review team can "
       "check per hour.", unit="tx/h", min=0.0),
    # --- what mistakes cost ------------------------------------------------------------
    _k("cost.missed_fraud", "float", 150.0, "Cost of approving a fraudulent transaction "
       "(chargeback, losses).", unit="$", min=0.0),
    _k("cost.false_block", "float", 10.0, "Cost of blocking a legitimate transaction "
       "(friction, churn).", unit="$", min=0.0),
    _k("cost.review", "float", 2.0, "Cost of one human review.", unit="$", min=0.0),
])
