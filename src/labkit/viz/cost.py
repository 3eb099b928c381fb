"""Where the money goes, and cost per 1,000 requests against its budget.

The bill of an AI service has parts that scale differently: model calls
grow with traffic and retries, warm replicas cost money whether or not
anyone calls them, always-on pipeline steps (embedding, retrieval,
reranking) add a little to every request, and fallbacks are cheap but not
free.  The bars split the run's total into those parts; the bullet below
puts the cost per 1,000 requests next to the learner's budget (the dark
tick), green when it holds and vermillion when it does not.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labkit.viz.colors import BUDGET_COLOR, CHANGE_COLOR, FAIL_COLOR, PASS_COLOR, SERIES_COLORS
from labkit.viz.common import apply, base_layout, fmt_money, headline

__all__ = ["cost_figure", "update_cost", "COST_PARTS"]

#: Summary cost key -> label on the chart.
COST_PARTS: dict[str, str] = {
    "calls": "model calls",
    "replicas": "warm replicas",
    "steps": "pipeline steps",
    "fallback": "fallbacks",
    "jobs": "batch jobs",
}


def cost_figure(result: Any) -> go.Figure:
    """A breakdown bar (row 1) and a cost-per-1k bullet (row 2): 2 traces."""
    fig = make_subplots(rows=2, cols=1, row_heights=[0.64, 0.36], vertical_spacing=0.24,
                        specs=[[{"type": "xy"}], [{"type": "domain"}]])
    labels = list(COST_PARTS.values())
    fig.add_trace(go.Bar(
        name="cost", orientation="h", y=labels,
        marker={"color": [SERIES_COLORS[f"cost.{k}"] for k in COST_PARTS]},
        texttemplate="%{x:$,.3~f}", textposition="auto", cliponaxis=False,
        hovertemplate="%{y}: %{x:$,.4f}<extra></extra>", showlegend=False), row=1, col=1)
    fig.add_trace(go.Indicator(
        mode="number+gauge", title={"text": "cost per<br>1k requests", "font": {"size": 12}},
        number={"prefix": "$", "valueformat": ",.3~f", "font": {"size": 20}},
        gauge={"shape": "bullet", "bar": {"color": CHANGE_COLOR, "thickness": 0.55},
               "threshold": {"line": {"color": BUDGET_COLOR, "width": 3}, "thickness": 0.9,
                             "value": 0}},
        domain={"x": [0.3, 0.86]}), row=2, col=1)
    fig.update_layout(base_layout("Cost", subtitle=True,
                                  margin={"l": 64, "r": 24, "t": 70, "b": 36}))
    fig.update_xaxes(title_text="cost of the run ($)", rangemode="tozero", tickprefix="$",
                     row=1, col=1)
    fig.update_yaxes(autorange="reversed", row=1, col=1)
    fig.update_layout(hovermode="closest")
    return update_cost(fig, result)


def update_cost(fig: go.Figure, result: Any) -> go.Figure:
    """Pour ``result`` into a figure made by :func:`cost_figure`."""
    cost = result.summary["cost"]
    values = [float(cost.get(key, 0.0)) for key in COST_PARTS]
    budget = result.summary["budgets"].get("cost_per_1k", {"judged": False, "pass": True,
                                                           "limit": 0.0})
    per_1k = float(cost["per_1k"])
    limit = float(budget.get("limit", 0.0))
    judged = bool(budget.get("judged"))
    top = max(per_1k, limit if judged else 0.0) * 1.25 or 1.0
    color = (PASS_COLOR if budget["pass"] else FAIL_COLOR) if judged else CHANGE_COLOR
    gauge = {"axis": {"range": [0, top], "tickprefix": "$"}, "bar": {"color": color},
             "threshold": {"value": limit if judged else -1.0}}
    detail = f"{fmt_money(cost['total'])} for the run · {fmt_money(per_1k)} per 1k requests"
    if judged:
        detail += f" {'≤' if budget['pass'] else '>'} budget {fmt_money(limit)} " \
                  f"{'✓' if budget['pass'] else '✗'}"
    return apply(fig, [{"x": values}, {"value": per_1k, "gauge": gauge}],
                 {"title": headline("Cost", detail)})
