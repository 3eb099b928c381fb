"""Alert rules: validation, open/resolve semantics, judging, and false alarms on noise."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from labkit.monitor import AlertRule, evaluate_rule, run_monitor
from labkit.monitor.alerts import alert_summary, detection_hour
from labkit.monitor.events import Event

Z99 = NormalDist().inv_cdf(0.99)


def _rule(**kw: object) -> AlertRule:
    base = dict(name="r", metric="input.null_rate.device_risk", threshold=0.2,
                owner="data-platform")
    return AlertRule(**{**base, **kw})  # type: ignore[arg-type]


def test_alert_opens_once_per_firing_run_and_resolves() -> None:
    alerts = evaluate_rule(_rule(), [0.0, 0.5, 0.6, 0.1, 0.3, 0.3])
    assert alerts[["opened_h", "last_h", "resolved_h"]].tolist() == [(1, 2, 3), (4, 5, -1)]
    assert alerts["value"].tolist() == [0.5, 0.3]


def test_below_rules_nan_and_start_hour() -> None:
    rule = _rule(metric="label.recall", direction="below", threshold=0.3)
    values = [np.nan, 0.1, 0.2, 0.5, np.nan, 0.1]
    assert evaluate_rule(rule, values)["opened_h"].tolist() == [1, 5]
    # evaluation starts at hour 2: the run 1-2 is seen from hour 2 on
    assert evaluate_rule(rule, values, start_h=2)["opened_h"].tolist() == [2, 5]


def test_judged_true_only_when_its_data_overlaps_a_relevant_event() -> None:
    incident = Event(kind="null_feature", start_h=10, end_h=19, feature="device_risk")
    other = Event(kind="null_feature", start_h=30, end_h=39, feature="amount")
    blip = Event(kind="blip", start_h=50, end_h=51, feature="device_risk", benign=True)
    values = np.zeros(60)
    values[[5, 12, 31, 50]] = 1.0
    alerts = evaluate_rule(_rule(), values, events=[incident, other, blip])
    assert alerts["opened_h"].tolist() == [5, 12, 31, 50]
    assert alerts["true"].tolist() == [False, True, False, False]
    assert alerts["event"].tolist() == ["", "null_feature:device_risk", "", ""]


def test_lagged_metrics_are_judged_on_the_data_they_looked_at() -> None:
    drift = Event(kind="concept_drift", start_h=100, end_h=199)
    rule = _rule(metric="label.recall", direction="below", threshold=0.5, window_h=10)
    values = np.ones(300)
    values[[120, 250]] = 0.0
    # with a 72 h label delay, hour 120 looked at hours 39..48 (before the drift)
    alerts = evaluate_rule(rule, values, lag_h=72, events=[drift])
    assert alerts["true"].tolist() == [False, True]
    assert detection_hour(alerts[1], drift) == 250
    assert detection_hour(alerts[0], drift) is None


def test_an_alert_open_before_an_event_detects_it_when_its_data_reaches_it() -> None:
    incident = Event(kind="null_feature", start_h=10, end_h=19, feature="device_risk")
    values = np.zeros(30)
    values[8:20] = 1.0          # a blip at 8-9 runs straight into the incident
    alerts = evaluate_rule(_rule(), values, events=[incident])
    assert alerts.size == 1 and alerts["true"][0]
    summary = alert_summary(alerts, [incident], monitored_h=168, rules=[_rule()])
    assert summary["detection"]["null_feature:device_risk"]["time_to_detect_h"] == 1
    assert summary["detection"]["null_feature:device_risk"]["detected_h"] == 10


def test_summary_counts() -> None:
    incident = Event(kind="null_feature", start_h=10, end_h=19, feature="device_risk")
    missed = Event(kind="slowdown", start_h=40, end_h=45)
    values = np.zeros(336)
    values[[3, 12, 13, 100, 200]] = 1.0
    rule = _rule()
    alerts = evaluate_rule(rule, values, events=[incident, missed])
    s = alert_summary(alerts, [incident, missed], monitored_h=336, rules=[rule])
    assert (s["total"], s["false"], s["true"]) == (4, 3, 1)
    assert s["per_week"] == pytest.approx(2.0) and s["false_per_week"] == pytest.approx(1.5)
    assert s["false_share"] == pytest.approx(0.75)
    assert s["by_rule"]["r"] == {"metric": rule.metric, "owner": "data-platform", "alerts": 4,
                                 "false": 3, "per_week": 2.0}
    assert s["detection"]["null_feature:device_risk"]["time_to_detect_h"] == 3
    assert s["detection"]["slowdown"]["time_to_detect_h"] is None
    empty = alert_summary(alerts[:0], [], monitored_h=168)
    assert empty["false_share"] is None and empty["total"] == 0


def test_a_threshold_on_pure_noise_fires_at_its_false_positive_rate() -> None:
    """Hourly checks at the 99th percentile of N(0, 1) noise: 1% of hours fire.

    200 seeds x 4 weeks = 134,400 evaluations.  Firing hours are binomial with
    p = 0.01 (mean 1,344, sd 36.5); alerts open on a rising edge, so their
    count is ~ n p (1 - p) (mean 1,330.6).  Tolerance: 4 standard deviations.
    Per week that is 168 x 0.01 = 1.68 firing hours and ~1.66 pages.
    """
    rule = _rule(metric="health.latency_p95_ms", threshold=Z99)
    hours, firing, opened = 0, 0, 0
    for seed in range(200):
        noise = np.random.default_rng(seed).standard_normal(4 * 168)
        hours += noise.size
        firing += int(rule.firing(noise).sum())
        opened += evaluate_rule(rule, noise).size
    p = 0.01
    assert abs(firing - hours * p) < 4 * math.sqrt(hours * p * (1 - p))
    q = p * (1 - p)
    assert abs(opened - hours * q) < 4 * math.sqrt(hours * q)
    assert firing / (hours / 168) == pytest.approx(1.68, rel=0.12)


def test_the_simulators_latency_noise_pages_at_the_rules_false_positive_rate() -> None:
    """End to end: log(p95 latency) is N(log base, 0.1^2) each quiet hour.

    A rule at base x exp(0.1 x z_0.99) fires in 1% of monitored hours.  Eight
    26-week runs give 8 x (26 x 168 - 72) = 34,368 evaluations; firing hours
    are binomial (mean 343.7, sd 18.4); tolerance 4 sd.
    """
    threshold = 120.0 * math.exp(0.1 * Z99)
    rule = AlertRule(name="latency-1pct", metric="health.latency_p95_ms", threshold=threshold,
                     owner="sre")
    hours, firing = 0, 0
    for seed in range(8):
        res = run_monitor({"stream.weeks": 26, "stream.tx_per_hour": 20,
                           "model.offline_samples": 2000}, seed=seed, rules=[rule])
        values = res.series(rule.metric, 1)[res.config.reference_h:]
        hours += values.size
        firing += int(rule.firing(values).sum())
        assert res.summary["alerts"]["false"] == res.summary["alerts"]["total"]
    assert abs(firing - 0.01 * hours) < 4 * math.sqrt(hours * 0.01 * 0.99)


@pytest.mark.parametrize("kw, message", [
    ({"name": " "}, "alert rule name must be a non-empty string, got ' '"),
    ({"metric": "input.null_rate.device"}, "alert rule 'r': metric must be a known metric, got "
     "'input.null_rate.device'; did you mean 'input.null_rate.device_risk'?"),
    ({"metric": "zzz"}, "alert rule 'r': metric must be a known metric, got 'zzz'"),
    ({"threshold": float("nan")}, "alert rule 'r': threshold must be a finite number, got nan"),
    ({"threshold": "high"}, "alert rule 'r': threshold must be a finite number, got 'high'"),
    ({"window_h": 0}, "alert rule 'r': window_h must be a whole number >= 1, got 0"),
    ({"window_h": 1.5}, "alert rule 'r': window_h must be a whole number >= 1, got 1.5"),
    ({"owner": ""}, "alert rule 'r': owner must name a person or team, got ''"),
    ({"direction": "up"}, "alert rule 'r': direction must be one of above, below, got 'up'"),
    ({"action": "email"}, "alert rule 'r': action must be one of page, retrain, shutdown, "
     "got 'email'"),
])
def test_rule_errors(kw: dict, message: str) -> None:
    with pytest.raises(ValueError) as exc:
        _rule(**kw)
    assert str(exc.value) == message


def test_rule_as_dict() -> None:
    assert _rule().as_dict() == {"name": "r", "metric": "input.null_rate.device_risk",
                                 "threshold": 0.2, "owner": "data-platform", "window_h": 1,
                                 "direction": "above", "action": "page"}
