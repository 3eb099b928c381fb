"""Cost figure: the parts add up to the total; the bullet judges cost per 1k."""

from __future__ import annotations

import pytest

from labkit.sim import simulate
from labkit.viz.colors import FAIL_COLOR, OUTCOME_COLORS, PASS_COLOR, SERIES_COLORS
from labkit.viz.cost import COST_PARTS, cost_figure


def test_breakdown_adds_up_to_the_total(reference_run):
    fig = cost_figure(reference_run)
    bars = fig.data[0]
    assert list(bars.y) == list(COST_PARTS.values())
    assert sum(bars.x) == pytest.approx(reference_run.summary["cost"]["total"], rel=1e-12)
    assert fig.layout.xaxis.title.text == "cost of the run ($)"


def test_bullet_shows_cost_per_1k_against_the_budget(default_run):
    fig = cost_figure(default_run)
    gauge = fig.data[1]
    cost = default_run.summary["cost"]
    assert gauge.value == pytest.approx(cost["per_1k"])
    assert gauge.gauge.threshold.value == 5.0            # budget.cost_per_1k default
    assert default_run.summary["budgets"]["cost_per_1k"]["pass"]
    assert gauge.gauge.bar.color == PASS_COLOR
    broke = simulate({"budget.cost_per_1k": 0.5, "load.duration_s": 10.0}, seed=1)
    fig = cost_figure(broke)
    assert not broke.summary["budgets"]["cost_per_1k"]["pass"]
    assert fig.data[1].gauge.bar.color == FAIL_COLOR
    assert "budget $0.50 ✗" in fig.layout.title.subtitle.text


def test_fallback_slice_is_the_degraded_colour(default_run):
    colors = cost_figure(default_run).data[0].marker.color
    assert colors[list(COST_PARTS).index("fallback")] == OUTCOME_COLORS["degraded"]
    assert colors[0] == SERIES_COLORS["cost.calls"]
