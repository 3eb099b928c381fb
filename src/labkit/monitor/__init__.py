"""``labkit.monitor``: lab 3's simulator of a deployed model in production.

A fraud-scoring model runs for weeks on a stream of card transactions.
Labels arrive late; the world drifts; a backend change blanks out a
feature; latency spikes.  Monitors watch inputs, outputs and system health;
alert rules page owners and are judged against the injected ground truth;
retraining is treated as a release (gate, canary, rollback); the model can be
shut down to a safe fallback; every decision lands in the audit trail.
Beside it, :mod:`labkit.monitor.slo` and :mod:`labkit.monitor.sli` hold a
service's SLO, its error budget and multi-window burn-rate alerts on a
minute-by-minute error ratio.

numpy only: no SimPy, no plotly.  One entry point::

    >>> from labkit.monitor import run_monitor
    >>> res = run_monitor({"stream.weeks": 1, "stream.tx_per_hour": 50,
    ...                    "incident.null_at_day": 4}, seed=1)
    >>> res.summary["alerts"]["detection"]["null_feature:device_risk"]["time_to_detect_h"]
    1
"""

from labkit.monitor.alerts import AlertRule, alert_summary, evaluate_rule
from labkit.monitor.audit import AuditLog, AuditRecord
from labkit.monitor.config import MONITOR_CATALOGUE, MonitorConfig
from labkit.monitor.events import Event
from labkit.monitor.metrics import (
                                    Confusion,
                                    best_threshold_for_cost,
                                    confusion_matrix,
                                    expected_cost,
                                    precision_recall,
                                    psi,
                                    psi_from_counts,
)
from labkit.monitor.monitors import METRICS
from labkit.monitor.result import MonitorResult
from labkit.monitor.rules import default_rules
from labkit.monitor.run import run_monitor
from labkit.monitor.sli import Burn, SliRule, SliSeries, judge_firing, simulate_sli, sweep_rules
from labkit.monitor.slo import (
                                BurnRateRule,
                                budget_exhaustion_h,
                                budget_spent,
                                burn_rate,
                                step_detection_min,
)
from labkit.monitor.world import CATEGORIES, FEATURES, NUMERIC_FEATURES, REGIONS

__all__ = ["run_monitor", "MonitorConfig", "MonitorResult", "MONITOR_CATALOGUE", "AlertRule",
           "evaluate_rule", "alert_summary", "default_rules", "METRICS", "Event",
           "AuditRecord", "AuditLog", "Confusion", "confusion_matrix", "precision_recall",
           "expected_cost", "best_threshold_for_cost", "psi", "psi_from_counts",
           "FEATURES", "NUMERIC_FEATURES", "CATEGORIES", "REGIONS", "BurnRateRule", "burn_rate",
           "budget_exhaustion_h", "budget_spent", "step_detection_min", "Burn", "SliRule",
           "SliSeries", "simulate_sli", "judge_firing", "sweep_rules"]
