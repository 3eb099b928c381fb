"""Agent mode in the panel, headless: the agent charts (``labkit.viz.agent``) appear with
``agent.enabled``, show exactly the numbers of the run (the same knobs and seed simulated
independently), are updated in place, and leave the screen when agent mode is turned off."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.knobs import KnobError
from labkit.sim import simulate
from labkit.ui import Panel
from labkit.ui.panel import PANEL_VIEWS
from labkit.viz import AGENT_VIEWS

SHORT = {"load.duration_s": 120.0, "load.rate_rps": 1.0}
AGENT_CHARTS = ["tasks", "task_cost"]


def assert_agent_charts_show(panel, result) -> None:
    """The outcome bars hold the task counts; the histogram holds every task's cost."""
    figs = panel.figures
    tasks = result.summary["tasks"]
    bars = figs["tasks"].data[0]
    assert list(bars.x) == list(tasks) and list(bars.y) == list(tasks.values())
    hist = figs["task_cost"].data
    assert int(np.asarray(hist[0].y).sum()) == len(result.tasks) == sum(tasks.values())
    assert hist[1].x[0] == pytest.approx(result.summary["cost_per_task"]["mean"])


def test_turning_agent_mode_on_brings_the_agent_charts_and_off_takes_them_away():
    panel = Panel(knobs=["agent.enabled", "agent.max_steps"], fixed=SHORT)
    assert not set(AGENT_CHARTS) & set(panel.figures)            # request mode: none built
    assert not set(AGENT_CHARTS) & set(panel.view.shown_views())
    panel.controls["agent.enabled"].value = True
    result = panel.result
    assert result.summary == simulate({**SHORT, "agent.enabled": True}, seed=1).summary
    assert set(AGENT_CHARTS) <= set(panel.view.shown_views())
    assert_agent_charts_show(panel, result)
    figs = {name: panel.figures[name] for name in AGENT_CHARTS}
    panel.controls["agent.max_steps"].value = 3                  # a tight cap: more give up
    capped = panel.result
    assert capped.summary == simulate({**SHORT, "agent.enabled": True, "agent.max_steps": 3},
                                      seed=1).summary
    assert capped.summary["tasks"]["gave_up"] > result.summary["tasks"]["gave_up"]
    assert all(panel.figures[name] is figs[name] for name in AGENT_CHARTS)   # not rebuilt
    assert_agent_charts_show(panel, capped)
    panel.controls["agent.enabled"].value = False
    assert panel.result.tasks is None
    assert not set(AGENT_CHARTS) & set(panel.view.shown_views())
    assert "latency" in panel.view.shown_views()


def test_an_agent_preset_shows_the_budget_per_task_on_the_cost_chart():
    panel = Panel(knobs=["agent.budget_usd"], preset="agent-support",
                  fixed={"load.duration_s": 120.0}, views=["task_cost", "tasks"])
    assert list(panel.figures) == ["task_cost", "tasks"]
    budget = panel.result.scenario.agent.budget_usd
    assert list(panel.figures["task_cost"].data[2].x) == [budget, budget]
    panel.controls["agent.budget_usd"].value = 0.01
    assert list(panel.figures["task_cost"].data[2].x) == [0.01, 0.01]
    assert_agent_charts_show(panel, panel.result)


def test_agent_and_token_views_together_in_token_mode_agents():
    panel = Panel(knobs=["model.replicas"], preset="agent-support",
                  fixed={"load.duration_s": 60.0, "llm.enabled": True},
                  views=["tokens", "tasks", "latency"])
    assert panel.result.tokens is not None and panel.result.tasks is not None
    assert set(panel.view.shown_views()) == {"tokens", "tasks", "latency"}


def test_agent_views_are_named_views_and_a_wrong_name_lists_them():
    assert set(AGENT_CHARTS) == set(AGENT_VIEWS) <= set(PANEL_VIEWS)
    assert PANEL_VIEWS[-1] == "compare"
    with pytest.raises(KnobError, match="unknown view 'agent'; views: .*tasks, task_cost"):
        Panel(fixed=SHORT, views=["agent"])
