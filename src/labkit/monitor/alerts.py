"""Alert rules, the alerts they raise, and how good those alerts were.

A rule watches one metric over a window (``window_h`` hours), compares it
with a threshold every hour, and pages its **owner** when the metric crosses
it.  An alert opens when the rule starts firing and resolves when it stops,
so a problem that lasts ten hours pages once, not ten times.  A rule can
also act: ``action="retrain"`` starts a retraining (when ``retrain.policy`` is
``trigger``), ``action="shutdown"`` switches the model off.

Judged against the injected ground truth (:mod:`labkit.monitor.events`) each
alert is true or false, which gives the three numbers a team should watch:
**time to detect** each real event, **alerts per week**, and the **share of
false alerts**.  A rule on pure noise fires at its false-positive rate per
evaluation; checked hourly at 1% that is about 1.7 pages a week, each one
teaching people to ignore the pager.

>>> rule = AlertRule(name="nulls", metric="input.null_rate.device_risk", threshold=0.2,
...                  window_h=3, owner="data-platform")
>>> evaluate_rule(rule, [0.0, 0.5, 0.6, 0.1, 0.3])[["opened_h", "resolved_h"]].tolist()
[(1, 3), (4, -1)]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from labkit.errors import MonitorError
from labkit.monitor.events import Event
from labkit.monitor.monitors import check_metric

__all__ = ["AlertRule", "ALERT_DTYPE", "evaluate_rule", "alert_summary", "detection_hour",
           "DIRECTIONS", "ACTIONS"]

DIRECTIONS = ("above", "below")
ACTIONS = ("page", "retrain", "shutdown")

ALERT_DTYPE = np.dtype([
    ("rule", "U48"), ("metric", "U48"), ("owner", "U32"), ("action", "U8"),
    ("opened_h", "i4"), ("last_h", "i4"), ("resolved_h", "i4"), ("value", "f8"),
    ("threshold", "f8"), ("window_h", "i4"), ("lag_h", "i4"), ("true", "?"), ("event", "U48"),
])


@dataclass(frozen=True, kw_only=True)
class AlertRule:
    """Page ``owner`` when ``metric`` over ``window_h`` hours is above (or below) ``threshold``."""

    name: str
    metric: str
    threshold: float
    owner: str
    window_h: int = 1
    direction: str = "above"
    action: str = "page"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise MonitorError(f"alert rule name must be a non-empty string, got {self.name!r}")
        who = f"alert rule {self.name!r}"
        check_metric(self.metric, f"{who}: metric")
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, float)) \
                or not math.isfinite(self.threshold):
            raise MonitorError(f"{who}: threshold must be a finite number, got {self.threshold!r}")
        object.__setattr__(self, "threshold", float(self.threshold))
        if isinstance(self.window_h, bool) or not isinstance(self.window_h, (int, np.integer)) \
                or self.window_h < 1:
            raise MonitorError(f"{who}: window_h must be a whole number >= 1, got "
                             f"{self.window_h!r}")
        object.__setattr__(self, "window_h", int(self.window_h))
        if not isinstance(self.owner, str) or not self.owner.strip():
            raise MonitorError(f"{who}: owner must name a person or team, got {self.owner!r}")
        if self.direction not in DIRECTIONS:
            raise MonitorError(f"{who}: direction must be one of {', '.join(DIRECTIONS)}, got "
                             f"{self.direction!r}")
        if self.action not in ACTIONS:
            raise MonitorError(f"{who}: action must be one of {', '.join(ACTIONS)}, got "
                             f"{self.action!r}")

    def firing(self, values: Sequence[float] | np.ndarray) -> np.ndarray:
        """Where the rule fires (NaN, an incomplete window, never fires)."""
        v = np.asarray(values, dtype=float)
        with np.errstate(invalid="ignore"):
            return (v > self.threshold) if self.direction == "above" else (v < self.threshold)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "metric": self.metric, "threshold": self.threshold,
                "owner": self.owner, "window_h": self.window_h, "direction": self.direction,
                "action": self.action}


def evaluate_rule(rule: AlertRule, values: Sequence[float] | np.ndarray, *, start_h: int = 0,
                  lag_h: int = 0, events: Sequence[Event] = ()) -> np.ndarray:
    """The alerts ``rule`` raises on an hourly metric series, judged against ``events``.

    Evaluation starts at hour ``start_h``.  An alert opens at the first
    firing hour, stays open while the rule keeps firing (``last_h``) and
    resolves at the first hour it does not (``resolved_h``, -1 if still open
    at the end).  ``lag_h`` is how far behind the metric's data is (the label
    delay for label metrics): at hour ``h`` it looked at hours
    ``h-lag_h-window_h+1 .. h-lag_h``.  An alert is true when the data it
    looked at while open overlaps an event that moves the rule's metric.
    """
    v = np.asarray(values, dtype=float)
    fire = rule.firing(v)
    fire[:max(0, start_h)] = False
    prev = np.concatenate(([False], fire[:-1]))
    opened = np.flatnonzero(fire & ~prev)
    stops = np.flatnonzero(~fire)
    out = np.zeros(opened.size, dtype=ALERT_DTYPE)
    for i, h in enumerate(opened):
        later = stops[stops > h]
        last = int(later[0]) - 1 if later.size else v.size - 1
        first_h, last_data_h = int(h) - lag_h - rule.window_h + 1, last - lag_h
        hit = next((e for e in events
                    if e.affects(rule.metric) and e.overlaps(first_h, last_data_h)), None)
        out[i] = (rule.name, rule.metric, rule.owner, rule.action, h, last,
                  later[0] if later.size else -1, v[h], rule.threshold, rule.window_h, lag_h,
                  hit is not None, hit.name if hit else "")
    return out


def detection_hour(alert: np.void, event: Event) -> int | None:
    """The first hour at which an open ``alert`` was looking at ``event``, if ever."""
    if not event.affects(str(alert["metric"])):
        return None
    lag, window = int(alert["lag_h"]), int(alert["window_h"])
    h = max(int(alert["opened_h"]), event.start_h + lag)
    if h > int(alert["last_h"]) or h - lag - window + 1 > event.end_h:
        return None
    return h


def alert_summary(alerts: np.ndarray, events: Sequence[Event], *, monitored_h: int,
                  rules: Sequence[AlertRule] = ()) -> dict[str, Any]:
    """Alerts per week, false share, per-rule counts and time to detect each real event.

    Time to detect runs from the event's first hour to the end of the first
    hour at which an open alert was looking at the event's data (so the
    fastest possible detection is 1 hour); ``None`` when it was never detected.
    """
    weeks = monitored_h / 168 if monitored_h > 0 else float("nan")
    total, false = int(alerts.size), int(np.sum(~alerts["true"]))
    by_rule: dict[str, dict[str, Any]] = {}
    for rule in rules:
        mine = alerts[alerts["rule"] == rule.name]
        by_rule[rule.name] = {"metric": rule.metric, "owner": rule.owner,
                              "alerts": int(mine.size), "false": int(np.sum(~mine["true"])),
                              "per_week": mine.size / weeks}
    detection: dict[str, dict[str, Any]] = {}
    for event in events:
        if event.benign:
            continue
        found = [(h, str(a["rule"])) for a in alerts
                 if (h := detection_hour(a, event)) is not None]
        h, by = min(found) if found else (None, None)
        detection[event.name] = {"start_h": event.start_h, "end_h": event.end_h,
                                 "detected_h": h, "detected_by": by,
                                 "time_to_detect_h": None if h is None else h + 1 - event.start_h}
    return {"total": total, "per_week": total / weeks, "false": false,
            "false_per_week": false / weeks, "false_share": false / total if total else None,
            "true": total - false, "monitored_weeks": weeks, "by_rule": by_rule,
            "detection": detection}
