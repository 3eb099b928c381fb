"""The outcome mix over time: ok, degraded, failed and rejected, stacked.

Every request ends in exactly one outcome, so the stacked areas add up to
the rate at which requests finished in each time bucket.  Green is the
primary path answering, amber a fallback answering at lower quality,
vermillion no answer at all and grey a refusal at the API layer.  During an
outage the green band thins; whether it turns amber (graceful degradation)
or vermillion (failure) is the design decision the chart makes visible.
The title gives the run's success rate against the reliability budget.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from labkit.viz.colors import OUTCOME_COLORS, rgba
from labkit.viz.common import apply, base_layout, fmt_pct, headline, series

__all__ = ["outcomes_figure", "update_outcomes"]

OUTCOMES = ("ok", "degraded", "failed", "rejected")


def outcomes_figure(result: Any, *, bucket_s: float | None = None) -> go.Figure:
    """One stacked area per outcome, in requests per second (4 traces)."""
    fig = go.Figure()
    for name in OUTCOMES:
        color = OUTCOME_COLORS[name]
        fig.add_trace(go.Scatter(
            name=name, mode="lines", stackgroup="outcomes", line={"color": color, "width": 0.8},
            fillcolor=rgba(color, 0.75), hovertemplate="%{y:,.1f} req/s"))
    fig.update_layout(base_layout("Outcomes", "simulated time (s)",
                                  "finished requests (req/s)", subtitle=True))
    fig.update_layout(legend={"traceorder": "normal"})
    return update_outcomes(fig, result, bucket_s=bucket_s)


def update_outcomes(fig: go.Figure, result: Any, *, bucket_s: float | None = None) -> go.Figure:
    """Pour ``result`` into a figure made by :func:`outcomes_figure`."""
    ts = series(result, bucket_s)
    t = ts["t_s"]
    width = float(t[1] - t[0]) if len(t) > 1 else (bucket_s or 1.0)
    traces = [{"x": t, "y": ts[name] / width} for name in OUTCOMES]
    s = result.summary
    o = s["outcomes"]
    detail = f"{fmt_pct(s['success_rate'])} answered"
    b = s["budgets"].get("success_rate", {"judged": False})
    if b.get("judged"):
        detail += f" {'≥' if b['pass'] else '<'} {fmt_pct(b['limit'])} {'✓' if b['pass'] else '✗'}"
    detail += f" · {o['degraded']:,} degraded · {o['failed']:,} failed · {o['rejected']:,} rejected"
    return apply(fig, traces, {"title": headline("Outcomes", detail)})
