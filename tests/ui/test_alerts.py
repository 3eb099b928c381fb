"""The alert-rule panel without a browser: knobs set by value, traces read back and compared with
what :mod:`labkit.monitor.sli` computes for the same rule on the same series."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.errors import LabkitError
from labkit.monitor.sli import Burn, SliRule, judge_firing, simulate_sli, sweep_rules
from labkit.ui.alerts import AlertPanel
from labkit.viz.monitor import frontier_points

WEEK = 7 * 24 * 60


@pytest.fixture(scope="module")
def series():
    burns = [Burn(start_min=2000, duration_min=90, error_ratio=0.02),
             Burn(start_min=6500, duration_min=90, error_ratio=0.02),
             Burn(start_min=4000, duration_min=240, error_ratio=0.004, benign=True)]
    return simulate_sli(minutes=WEEK, requests_per_min=100, base_error_ratio=0.0003, burns=burns,
                        objective=0.999, seed=5)


@pytest.fixture(scope="module")
def panel(series):
    return AlertPanel(series, kind="static threshold", threshold=3.0, window_min=30,
                      thresholds=(2.0, 6.0, 14.4), windows_min=(15, 30, 60))


def _same(a, b) -> bool:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return a.shape == b.shape and bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))


def _check_traces(panel, series) -> None:
    rule = panel.rule
    fig = panel.figures["sli"]
    signal = rule.signal(series)
    fire = np.flatnonzero(rule.firing(series))
    assert _same(fig.data[0].y, signal)
    assert _same(fig.data[1].x, fire / 60) and _same(fig.data[1].y, signal[fire])
    assert list(fig.data[2].y) == [rule.threshold] * 2
    j = judge_firing(rule.firing(series), series.burns, lookback_min=rule.lookback_min)
    assert panel.verdict == j
    star = panel.figures["frontier"].data[-1]
    assert star.y == (j["false_per_week"],)
    if None not in j["detect_min"]:
        assert star.x == (np.mean(j["detect_min"]),)
    text = panel.view.status.value
    assert f"{j['pages']} pages, {j['false_pages']} false" in text


def test_built_panel_shows_the_monitors_numbers(panel, series):
    _check_traces(panel, series)
    rows = sweep_rules(series, thresholds=(2.0, 6.0, 14.4), windows_min=(15, 30, 60))
    assert panel.sweep == rows
    fig = panel.figures["frontier"]
    for trace, kind in zip(fig.data[:3], ("static threshold", "rate of change", "burn rate")):
        mine = [r for r in rows if r["kind"] == kind and r["detect_min"] is not None]
        assert list(trace.x) == [r["detect_min"] for r in mine]
        assert list(trace.y) == [r["false_per_week"] for r in mine]
    front = frontier_points(rows)
    assert list(fig.data[3].x) == [r["detect_min"] for r in front]


@pytest.mark.parametrize("knobs", [dict(threshold=14.4), dict(kind="burn rate"),
                                   dict(window_min=60), dict(kind="rate of change", threshold=2.0),
                                   dict(kind="burn rate", threshold=6.0, window_min=15)])
def test_turning_a_knob_redraws_in_place(panel, series, knobs):
    before = {name: id(fig) for name, fig in panel.figures.items()}
    panel.set(**knobs)
    for name, value in knobs.items():
        assert getattr(panel.rule, name) == value
    _check_traces(panel, series)
    assert {name: id(fig) for name, fig in panel.figures.items()} == before


def test_widgets_drive_the_controller(panel, series):
    panel.view.kind.value = "static threshold"
    panel.view.threshold.value = 2.5
    panel.view.window.value = 30
    assert panel.rule == SliRule(kind="static threshold", threshold=2.5, window_min=30)
    _check_traces(panel, series)


def test_a_lower_threshold_pages_more_and_detects_sooner(series):
    rows = {r["threshold"]: r for r in sweep_rules(series, kinds=["static threshold"],
                                                    thresholds=(2.0, 6.0), windows_min=(30,))}
    assert rows[2.0]["false_per_week"] >= rows[6.0]["false_per_week"]
    assert rows[2.0]["detect_min"] < rows[6.0]["detect_min"]


def test_frontier_points_beat_every_other_rule(series):
    rows = sweep_rules(series, thresholds=(1.0, 2.0, 4.0, 8.0), windows_min=(5, 30, 120))
    front = frontier_points(rows)
    assert front
    for r in rows:
        if r["detect_min"] is None or r in front:
            continue
        assert any(f["detect_min"] <= r["detect_min"] and f["false_per_week"] <= r["false_per_week"]
                   for f in front)


def test_panel_refuses_a_run_that_is_not_a_series():
    with pytest.raises(LabkitError, match="AlertPanel needs an SliSeries"):
        AlertPanel({"minutes": 10})
