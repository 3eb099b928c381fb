"""Agent mode's charts: how tasks ended, and what each one cost.

Every task ends in exactly one outcome.  :func:`task_outcomes_figure` counts
them: green tasks reached their goal; orange ones gave up at the step cap or
a budget (a clean stop with a message); vermillion ones failed because the
serving path could not answer a step or the kill switch stopped them; blue
ones were blocked by a permission, a refusal or the permission policy (the
boundary held); the dark ones are unsafe actions that went through.  A good
design moves tasks from dark to blue, and from orange to green, without
paying too much for it.

:func:`cost_per_task_figure` shows the price: a histogram of what each task
spent on model and tool calls, with the mean and the per-task budget
(``agent.budget_usd``).  A step cap or a budget cuts the long right tail
that runaway loops make.

Both charts need an agent-mode run (``agent.enabled``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from labkit.viz.colors import BUDGET_COLOR, OUTCOME_COLORS, rgba
from labkit.viz.common import apply, base_layout, fmt_money, fmt_pct, headline

__all__ = ["task_outcomes_figure", "update_task_outcomes", "cost_per_task_figure",
           "update_cost_per_task", "TASK_OUTCOME_COLORS", "cost_histogram"]

#: One colour per task outcome, in the order of :data:`labkit.sim.codes.TASK_OUTCOMES`.
TASK_OUTCOME_COLORS: dict[str, str] = {
    "completed": OUTCOME_COLORS["ok"],
    "gave_up": OUTCOME_COLORS["degraded"],
    "failed": OUTCOME_COLORS["failed"],
    "blocked": "#0072B2",      # blue: the boundary held
    "unsafe": "#4A0E2E",       # dark wine: an action outside policy went through
}
_COST = "#3182BD"
_BINS = 30


def _need_tasks(result: Any) -> None:
    if getattr(result, "tasks", None) is None:
        raise ValueError("this chart needs an agent-mode run (agent.enabled = true)")


def task_outcomes_figure(result: Any) -> go.Figure:
    """One bar per task outcome, coloured by outcome (1 trace)."""
    _need_tasks(result)
    fig = go.Figure()
    fig.add_trace(go.Bar(name="tasks", showlegend=False,
                         marker={"color": list(TASK_OUTCOME_COLORS.values())},
                         hovertemplate="%{x}: %{y:,} tasks<extra></extra>"))
    fig.update_layout(base_layout("Task outcomes", None, "tasks", subtitle=True))
    return update_task_outcomes(fig, result)


def update_task_outcomes(fig: go.Figure, result: Any) -> go.Figure:
    """Pour ``result`` into a figure made by :func:`task_outcomes_figure`."""
    _need_tasks(result)
    s = result.summary
    tasks = s["tasks"]
    n = sum(tasks.values())
    detail = (f"{n:,} tasks · {fmt_pct(s['agent']['completion_rate'])} completed · "
              f"unsafe {fmt_pct(s['unsafe_rate'], 2)} · {tasks['blocked']:,} blocked")
    return apply(fig, [{"x": list(tasks), "y": list(tasks.values())}],
                 {"title": headline("Task outcomes", detail)})


def cost_histogram(costs: np.ndarray, bins: int = _BINS) -> tuple[np.ndarray, np.ndarray]:
    """(bin centres, tasks per bin) of per-task costs, ``bins`` equal bins from 0.

    >>> cost_histogram(np.array([0.0, 1.0, 1.0, 2.0]), bins=2)
    (array([0.5, 1.5]), array([1, 3]))
    """
    top = float(costs.max()) if len(costs) else 0.0
    edges = np.linspace(0.0, top if top > 0 else 1.0, bins + 1)
    counts, _ = np.histogram(costs, bins=edges)
    return (edges[:-1] + edges[1:]) / 2.0, counts


def cost_per_task_figure(result: Any) -> go.Figure:
    """Histogram of per-task cost, with its mean and the per-task budget (3 traces)."""
    _need_tasks(result)
    fig = go.Figure()
    fig.add_trace(go.Bar(name="tasks", marker={"color": rgba(_COST, 0.75)},
                         hovertemplate="$%{x:.4f}: %{y:,} tasks<extra></extra>"))
    fig.add_trace(go.Scatter(name="mean", mode="lines",
                             line={"color": _COST, "width": 2.0, "dash": "dot"},
                             hovertemplate="mean $%{x:.4f}<extra></extra>"))
    fig.add_trace(go.Scatter(name="budget per task", mode="lines",
                             line={"color": BUDGET_COLOR, "dash": "dash", "width": 1.4},
                             hovertemplate="budget $%{x:.4f}<extra></extra>"))
    fig.update_layout(base_layout("Cost per task", "cost of one task ($)", "tasks",
                                  subtitle=True, bargap=0.05, hovermode="closest"))
    return update_cost_per_task(fig, result)


def update_cost_per_task(fig: go.Figure, result: Any) -> go.Figure:
    """Pour ``result`` into a figure made by :func:`cost_per_task_figure`."""
    _need_tasks(result)
    costs = result.tasks["cost"]
    centres, counts = cost_histogram(costs)
    top = float(counts.max()) if len(counts) else 0.0
    s = result.summary
    mean, p95 = s["cost_per_task"]["mean"], s["cost_per_task"]["p95"]
    budget = result.scenario.agent.budget_usd
    detail = f"mean {fmt_money(mean)} · p95 {fmt_money(p95)}"
    if budget is None:
        budget_line: dict[str, Any] = {"x": [], "y": []}
        detail += " · no budget per task"
    else:
        budget_line = {"x": [budget, budget], "y": [0.0, top]}
        detail += (f" · budget {fmt_money(budget)}, "
                   f"{s['agent']['stopped_by']['budget_usd']:,} tasks stopped by it")
    traces: list[dict[str, Any]] = [{"x": centres, "y": counts},
                                    {"x": [mean, mean], "y": [0.0, top]}, budget_line]
    return apply(fig, traces, {"title": headline("Cost per task", detail)})
