"""Injected events: the ground truth that alerts are judged against.

An *event* is something that really happened to the system in a known time
window: data drift, concept drift, a feature going null after a backend
change, a slowdown, a traffic spike.  A *blip* is benign noise: an upstream
drops a feature for an hour or two and recovers by itself; nobody needs to
act, so an alert caused only by a blip is a false alarm.

An alert is **true** when the data its metric looked at overlaps an event
that metric is sensitive to (a null-rate alert on ``device_risk`` during the
``device_risk`` incident, a recall alert whose labelled window covers concept
drift).  Everything else is a false alert, the raw material of alert fatigue.

>>> Event(kind="null_feature", start_h=240, end_h=311, feature="device_risk").affects(
...     "input.null_rate.device_risk")
True
>>> Event(kind="concept_drift", start_h=240, end_h=671).affects("input.psi.amount")
False
"""

from __future__ import annotations

from dataclasses import dataclass

from labkit.errors import MonitorError

__all__ = ["Event", "EVENT_KINDS", "SENSITIVE_METRICS"]

#: Which metrics (by name prefix) each kind of event moves.  ``{f}`` is the feature.
SENSITIVE_METRICS: dict[str, tuple[str, ...]] = {
    "null_feature": ("input.null_rate.{f}", "input.psi.{f}", "input.out_of_range.{f}",
                     "output.", "label."),
    "data_drift": ("input.psi.amount", "input.psi.merchant_category", "input.new_category_share",
                   "input.out_of_range.amount", "output.", "label."),
    "concept_drift": ("label.",),
    "slowdown": ("health.latency_p95_ms", "health.error_rate"),
    "spike": ("health.traffic_tx", "health.rate_limited_share", "health.latency_p95_ms"),
    "blip": (),
}
EVENT_KINDS = tuple(SENSITIVE_METRICS)


@dataclass(frozen=True, kw_only=True)
class Event:
    """One injected event, active in hours ``start_h`` .. ``end_h`` (inclusive)."""

    kind: str
    start_h: int
    end_h: int
    feature: str = ""
    benign: bool = False

    def __post_init__(self) -> None:
        if self.kind not in SENSITIVE_METRICS:
            raise MonitorError(f"event kind must be one of {', '.join(EVENT_KINDS)}, "
                             f"got {self.kind!r}")
        if self.end_h < self.start_h:
            raise MonitorError(f"event end_h must be >= start_h ({self.start_h}), "
                             f"got {self.end_h}")

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.feature}" if self.feature else self.kind

    def affects(self, metric: str) -> bool:
        """Whether ``metric`` is one this event moves (never for benign blips)."""
        if self.benign:
            return False
        prefixes = [p.format(f=self.feature) for p in SENSITIVE_METRICS[self.kind]]
        return any(metric == p or (p.endswith(".") and metric.startswith(p)) for p in prefixes)

    def overlaps(self, first_h: int, last_h: int) -> bool:
        """Whether hours ``first_h`` .. ``last_h`` overlap the event."""
        return first_h <= self.end_h and last_h >= self.start_h

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "name": self.name, "start_h": self.start_h,
                "end_h": self.end_h, "feature": self.feature, "benign": self.benign}
