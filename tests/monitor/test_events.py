"""Injected events: which metrics they move, and their errors."""

from __future__ import annotations

import pytest

from labkit.monitor.events import EVENT_KINDS, Event
from labkit.monitor.monitors import METRICS


def test_each_event_moves_the_metrics_it_should() -> None:
    null = Event(kind="null_feature", start_h=1, end_h=2, feature="device_risk")
    assert null.affects("input.null_rate.device_risk") and null.affects("output.score_psi")
    assert not null.affects("input.null_rate.amount")
    data = Event(kind="data_drift", start_h=1, end_h=2)
    assert data.affects("input.psi.amount") and not data.affects("input.psi.device_risk")
    concept = Event(kind="concept_drift", start_h=1, end_h=2)
    assert [m for m in METRICS if concept.affects(m)] == [m for m in METRICS
                                                          if m.startswith("label.")]
    assert Event(kind="spike", start_h=1, end_h=2).affects("health.rate_limited_share")
    blip = Event(kind="blip", start_h=1, end_h=2, feature="amount", benign=True)
    assert not any(blip.affects(m) for m in METRICS)
    assert set(EVENT_KINDS) == {"null_feature", "data_drift", "concept_drift", "slowdown",
                                "spike", "blip"}


def test_overlap_and_names() -> None:
    e = Event(kind="slowdown", start_h=10, end_h=12)
    assert e.overlaps(12, 20) and e.overlaps(0, 10) and not e.overlaps(13, 20)
    assert e.name == "slowdown"
    assert e.as_dict()["end_h"] == 12


def test_event_errors() -> None:
    with pytest.raises(ValueError, match="^event kind must be one of null_feature, data_drift, "
                                         "concept_drift, slowdown, spike, blip, got 'fire'$"):
        Event(kind="fire", start_h=0, end_h=1)
    with pytest.raises(ValueError, match=r"^event end_h must be >= start_h \(5\), got 4$"):
        Event(kind="spike", start_h=5, end_h=4)
