"""Outcome mix: the stacked areas conserve requests and use the outcome colours."""

from __future__ import annotations

import numpy as np

from labkit.viz.colors import OUTCOME_COLORS
from labkit.viz.outcomes import outcomes_figure, update_outcomes


def test_areas_add_up_to_the_outcome_counts(reference_run):
    fig = outcomes_figure(reference_run)
    width = float(fig.data[0].x[1] - fig.data[0].x[0])
    counts = {t.name: float(np.sum(t.y)) * width for t in fig.data}
    outcomes = reference_run.summary["outcomes"]
    for name, count in outcomes.items():
        assert counts[name] == np.float64(count) or abs(counts[name] - count) < 1e-6
    assert abs(sum(counts.values()) - reference_run.summary["requests"]) < 1e-6


def test_stacked_in_outcome_order_with_outcome_colours(default_run):
    fig = outcomes_figure(default_run)
    assert [t.name for t in fig.data] == ["ok", "degraded", "failed", "rejected"]
    assert all(t.stackgroup == "outcomes" for t in fig.data)
    assert [t.line.color for t in fig.data] == [OUTCOME_COLORS[t.name] for t in fig.data]
    assert fig.layout.yaxis.title.text == "finished requests (req/s)"


def test_title_carries_success_rate_and_counts(reference_run, default_run):
    fig = outcomes_figure(default_run)
    update_outcomes(fig, reference_run)
    s = reference_run.summary
    title = fig.layout.title.subtitle.text
    assert f"{100 * s['success_rate']:.1f}% answered" in title
    assert f"{s['outcomes']['degraded']:,} degraded" in title
    assert ("✓" in title) == s["budgets"]["success_rate"]["pass"]
