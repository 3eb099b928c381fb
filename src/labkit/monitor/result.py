"""The result of a monitoring run: records, metrics, alerts and the audit trail.

* ``transactions``: one row per transaction (inputs, true label, score,
  model version, threshold, decision, and the audit record behind it);
* ``hourly``: one row per hour (traffic, fraud, flags, reviews and backlog,
  deployed version, threshold, shutdown, health, and which injected events
  were active: the ground truth);
* ``alerts``: one row per alert, judged true or false;
* ``audit``: every decision about the model, in order;
* ``summary``: the headline numbers as a JSON-ready dict.

All arrays are read-only numpy structured arrays.  Metric series for any
window come from :meth:`MonitorResult.series`; new page-only rules can be
judged on the same run with :meth:`MonitorResult.evaluate` (no re-run needed,
since paging changes nothing in the world).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from labkit.errors import MonitorError
from labkit.monitor.alerts import ALERT_DTYPE, AlertRule, alert_summary, evaluate_rule
from labkit.monitor.audit import AuditRecord
from labkit.monitor.config import MonitorConfig
from labkit.monitor.decisions import DECISION_NAMES, Reference
from labkit.monitor.events import Event
from labkit.monitor.model import ModelVersion
from labkit.monitor.monitors import HourlyStats, series
from labkit.monitor.world import CATEGORIES, REGIONS

__all__ = ["MonitorResult", "TX_DTYPE", "HOURLY_DTYPE", "json_ready"]

TX_DTYPE = np.dtype([
    ("tx_id", "i4"), ("hour", "i4"), ("region", "i1"), ("category", "i1"), ("amount", "f8"),
    ("velocity", "f8"), ("device_risk", "f8"), ("label", "?"), ("score", "f8"),
    ("model_version", "i2"), ("threshold", "f8"), ("decision", "i1"), ("audit_seq", "i4"),
])
HOURLY_DTYPE = np.dtype([
    ("hour", "i4"), ("n", "i4"), ("fraud", "i4"), ("flags", "i4"), ("reviews", "i4"),
    ("review_backlog", "f8"), ("review_wait_h", "f8"), ("model_version", "i2"),
    ("threshold", "f8"), ("shut_down", "?"), ("latency_p95_ms", "f8"), ("errors", "i4"),
    ("rate_limited", "f8"), ("data_drift", "?"), ("concept_drift", "?"),
    ("null_feature", "?"), ("slowdown", "?"), ("spike", "?"), ("blip", "?"),
])


def json_ready(value: Any) -> Any:
    """Numbers, lists and dicts with NaN and infinities turned into None."""
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value) if np.isfinite(value) else None
    return value


@dataclass(frozen=True, eq=False)
class MonitorResult:
    """Everything one run produced; see the module docstring."""

    config: MonitorConfig
    seed: int
    rules: tuple[AlertRule, ...]
    transactions: np.ndarray
    hourly: np.ndarray
    alerts: np.ndarray
    audit: tuple[AuditRecord, ...]
    models: Mapping[int, ModelVersion]
    events: tuple[Event, ...]
    stats: HourlyStats
    reference: Reference
    summary: dict[str, Any]

    region_names = REGIONS
    category_names = CATEGORIES
    decision_names = DECISION_NAMES

    def __repr__(self) -> str:
        s = self.summary
        return (f"<MonitorResult seed={self.seed} weeks={s['weeks']} "
                f"transactions={s['transactions']} alerts={s['alerts']['total']} "
                f"(false {s['alerts']['false']}) cost_per_tx={s['cost']['per_tx']:.2f}>")

    @property
    def monitored_h(self) -> int:
        """Hours in which alert rules were evaluated (after the reference window)."""
        return self.config.horizon_h - self.config.reference_h

    def series(self, metric: str, window_h: int = 1) -> np.ndarray:
        """The value of ``metric`` at every hour over ``window_h``-hour windows."""
        return series(self.stats, metric, window_h, reference_hist=self.reference.hist,
                      reference_cat=self.reference.cat_hist)

    def lag_h(self, metric: str) -> int:
        """How far behind a metric's data is: the label delay for label metrics."""
        return self.config.labels.delay_h if metric.startswith("label.") else 0

    def evaluate(self, rules: Sequence[AlertRule]) -> tuple[np.ndarray, dict[str, Any]]:
        """Judge page-only ``rules`` on this run: their alerts and summary."""
        rules = tuple(rules)
        for rule in rules:
            if not isinstance(rule, AlertRule):
                raise MonitorError(f"rules must hold AlertRule objects, got {rule!r}")
            if rule.action != "page":
                raise MonitorError(f"alert rule {rule.name!r} has action {rule.action!r}: rules "
                                 "that act change the run; pass them to run_monitor instead")
        parts = [evaluate_rule(r, self.series(r.metric, r.window_h),
                               start_h=self.config.reference_h, lag_h=self.lag_h(r.metric),
                               events=self.events) for r in rules]
        alerts = np.concatenate(parts) if parts else np.zeros(0, ALERT_DTYPE)
        alerts = alerts[np.argsort(alerts["opened_h"], kind="stable")]
        alerts.setflags(write=False)
        return alerts, alert_summary(alerts, self.events, monitored_h=self.monitored_h,
                                     rules=rules)

    def trace(self, tx_id: int) -> dict[str, Any]:
        """Which data, features, model version and threshold produced one decision."""
        n = self.transactions.size
        if isinstance(tx_id, bool) or not isinstance(tx_id, (int, np.integer)) \
                or not 0 <= tx_id < n:
            raise MonitorError(f"tx_id must be a whole number from 0 to {n - 1}, got {tx_id!r}")
        row = self.transactions[int(tx_id)]
        version = int(row["model_version"])
        record = self.audit[int(row["audit_seq"])]
        model = self.models.get(version)

        def value(x: float) -> float | None:
            return None if np.isnan(x) else float(x)

        return {
            "tx_id": int(tx_id), "hour": int(row["hour"]), "day": round(int(row["hour"]) / 24, 3),
            "inputs": {"amount": value(row["amount"]), "velocity": value(row["velocity"]),
                       "device_risk": value(row["device_risk"]),
                       "merchant_category": CATEGORIES[row["category"]],
                       "region": REGIONS[row["region"]]},
            "missing": [f for f in ("amount", "velocity", "device_risk") if np.isnan(row[f])],
            "score": value(row["score"]), "threshold": value(row["threshold"]),
            "decision": DECISION_NAMES[row["decision"]],
            "decided_by": model.name if model else f"fallback:{self.config.shutdown.fallback}",
            "model_version": model.name if model else None,
            "data_snapshot": model.data_snapshot if model else None,
            "features": list(model.features) if model else [],
            "audit_seq": record.seq, "audit_action": record.action, "owner": record.owner,
            "label_arrives_h": int(row["hour"]) + self.config.labels.delay_h,
            "label": bool(row["label"]),
        }

    def to_dict(self, *, alerts: bool = True, audit: bool = True) -> dict[str, Any]:
        """A JSON-ready dict: knobs, rules, summary, and optionally alerts and audit."""
        out: dict[str, Any] = {"seed": self.seed, "knobs": self.config.diff(),
                               "rules": [r.as_dict() for r in self.rules],
                               "summary": self.summary,
                               "events": [e.as_dict() for e in self.events if not e.benign]}
        if alerts:
            names = ALERT_DTYPE.names or ()
            out["alerts"] = [dict(zip(names, row.tolist())) for row in self.alerts]
        if audit:
            out["audit"] = [r.as_dict() for r in self.audit]
        return json_ready(out)
