"""Agent-mode figures: their bars are the task records, their titles the summary."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.sim import simulate
from labkit.viz.agent import (
    TASK_OUTCOME_COLORS,
    cost_histogram,
    cost_per_task_figure,
    task_outcomes_figure,
    update_cost_per_task,
    update_task_outcomes,
)


@pytest.fixture(scope="module")
def agent_run():
    return simulate({"load.duration_s": 300.0}, seed=1, preset="agent-support")


def test_outcome_bars_count_the_tasks(agent_run):
    fig = task_outcomes_figure(agent_run)
    t = agent_run.tasks
    assert list(fig.data[0].x) == list(TASK_OUTCOME_COLORS)
    assert list(fig.data[0].y) == np.bincount(t["outcome"], minlength=5).tolist()
    assert sum(fig.data[0].y) == len(t)
    assert f"{len(t):,} tasks" in fig.layout.title.subtitle.text


def test_cost_histogram_holds_every_task_and_marks_mean_and_budget(agent_run):
    fig = cost_per_task_figure(agent_run)
    costs = agent_run.tasks["cost"]
    assert [d.name for d in fig.data] == ["tasks", "mean", "budget per task"]
    assert sum(fig.data[0].y) == len(costs)
    assert fig.data[1].x[0] == pytest.approx(costs.mean())
    assert list(fig.data[2].x) == [0.025, 0.025]
    # the budget cuts the tail: a task overshoots it by at most one step (two model attempts,
    # a small-model fallback and a write: 0.004 + 0.0004 + 0.001)
    assert costs.max() < 0.025 + 0.0054
    assert "budget $0.025" in fig.layout.title.subtitle.text


def test_figures_update_in_place_and_refuse_request_mode_runs(agent_run):
    other = simulate({"load.duration_s": 120.0, "agent.budget_usd": 0.0}, seed=2,
                     preset="agent-support")
    fig = task_outcomes_figure(agent_run)
    assert update_task_outcomes(fig, other) is fig
    assert sum(fig.data[0].y) == len(other.tasks)
    cost = cost_per_task_figure(agent_run)
    update_cost_per_task(cost, other)
    assert list(cost.data[2].x) == [] and "no budget" in cost.layout.title.subtitle.text
    plain = simulate({"load.duration_s": 2.0}, seed=1)
    for make in (task_outcomes_figure, cost_per_task_figure):
        with pytest.raises(ValueError, match=r"needs an agent-mode run \(agent\.enabled"):
            make(plain)


def test_cost_histogram_bins_from_zero():
    centres, counts = cost_histogram(np.array([0.01, 0.02, 0.02, 0.04]), bins=4)
    assert centres.tolist() == pytest.approx([0.005, 0.015, 0.025, 0.035])
    assert counts.tolist() == [0, 1, 2, 1]
    centres, counts = cost_histogram(np.zeros(0), bins=2)
    assert counts.tolist() == [0, 0]
