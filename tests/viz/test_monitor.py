"""Lab 3 figures: the data they plot is the data the monitor computed."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.monitor import AlertRule, expected_cost, run_monitor
from labkit.viz.monitor import metric_figure, runs_figure, threshold_figure, workload_figure


@pytest.fixture(scope="module")
def res():
    return run_monitor({"stream.weeks": 2, "incident.null_at_day": 5, "shutdown.at_day": 6,
                        "shutdown.duration_h": 24, "shutdown.fallback": "review_all",
                        "stream.null_blips_per_week": 3}, seed=2)


def test_threshold_figure_marks_the_cheapest_threshold() -> None:
    rng = np.random.default_rng(0)
    s = rng.beta(0.6, 8, size=20_000)
    y = rng.random(s.size) < s
    fig = threshold_figure(y, s, cost_fn=150, cost_fp=10, chosen=0.3)
    names = [t.name for t in fig.data]
    assert names == ["precision", "recall", "cost per transaction ($)"]
    cost = np.array(fig.data[2].y, float)
    grid = np.array(fig.data[2].x, float)
    assert cost[10] == pytest.approx(expected_cost(y, s, grid[10], cost_fn=150, cost_fp=10))
    lines = [s.x0 for s in fig.layout.shapes]
    assert grid[int(np.argmin(cost))] in lines and 0.3 in lines
    assert any(abs(x - 10 / 160) < 1e-12 for x in lines)


def test_metric_figure_plots_the_series_and_judges_the_alerts(res) -> None:
    rule = AlertRule(name="nulls", metric="input.null_rate.device_risk", threshold=0.3,
                     window_h=1, owner="data-platform")
    fig = metric_figure(res, ["input.null_rate.device_risk"], window_h=1, rule=rule)
    assert np.allclose(np.array(fig.data[0].y, float), res.series(rule.metric, 1),
                       equal_nan=True)
    alerts, summary = res.evaluate([rule])
    true_n = len(fig.data[1].x)
    false_n = len(fig.data[2].x)
    assert (true_n, false_n) == (summary["true"], summary["false"])
    assert len(fig.layout.shapes) >= len(res.events)      # every event shaded, plus the line


def test_runs_figure_and_cumulative_cost(res) -> None:
    other = run_monitor({"stream.weeks": 2}, seed=2)
    fig = runs_figure({"incident": res, "quiet": other}, "output.flag_rate", window_h=24)
    assert [t.name for t in fig.data] == ["incident", "quiet"]
    cum = runs_figure({"quiet": other}, "", cumulative_cost=True)
    y = np.array(cum.data[0].y, float)
    assert y[-1] == pytest.approx(other.summary["cost"]["per_tx"])


def test_workload_figure(res) -> None:
    fig = workload_figure(res)
    assert list(fig.data[0].y) == res.hourly["reviews"].tolist()
    assert max(fig.data[1].y) == pytest.approx(res.summary["shutdown"]["review_backlog_peak"])
