"""Retry amplification over time: how many model calls each request costs.

Retries look free from one client's point of view, but every retry is one
more call to a service that may be failing because it is overloaded.  The
line is model calls divided by first attempts in each time bucket (1.0
means no retries; 3.0 means the model is doing three times the work users
asked for); the bars are retries per second.  After an outage the line
should drop back to 1.0; if it stays high the service is stuck in a retry
storm.  The title carries the run's overall amplification, the same number
as ``result.summary["amplification"]``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from labkit.viz.colors import BUDGET_COLOR, SERIES_COLORS, rgba
from labkit.viz.common import apply, base_layout, headline, nice_axis, series

__all__ = ["amplification_figure", "update_amplification"]


def amplification_figure(result: Any, *, bucket_s: float | None = None) -> go.Figure:
    """Retries per second (bars, right axis), amplification (line), and the 1.0 line."""
    fig = go.Figure()
    fig.add_trace(go.Bar(name="retries", marker={"color": rgba(SERIES_COLORS["retries"], 0.55)},
                         hovertemplate="%{y:,.1f} retries/s", yaxis="y2"))
    fig.add_trace(go.Scatter(name="model calls per first attempt", mode="lines",
                             line={"color": SERIES_COLORS["amplification"], "width": 2},
                             connectgaps=False, hovertemplate="%{y:.2f}×"))
    fig.add_trace(go.Scatter(name="no retries (1×)", mode="lines", hoverinfo="skip",
                             line={"color": BUDGET_COLOR, "dash": "dot", "width": 1}))
    fig.update_layout(base_layout(
        "Retry amplification", "simulated time (s)", "model calls per first attempt (×)",
        subtitle=True,
        yaxis2={"title": {"text": "retries (per s)"}, "overlaying": "y", "side": "right",
                "rangemode": "tozero", "showgrid": False},
        bargap=0.05, margin={"l": 64, "r": 64, "t": 70, "b": 92}))
    return update_amplification(fig, result, bucket_s=bucket_s)


def update_amplification(fig: go.Figure, result: Any, *,
                         bucket_s: float | None = None) -> go.Figure:
    """Pour ``result`` into a figure made by :func:`amplification_figure`."""
    ts = series(result, bucket_s)
    t = ts["t_s"]
    width = float(t[1] - t[0]) if len(t) > 1 else (bucket_s or 1.0)
    calls, retries = ts["model_calls"], ts["retries"]
    first = calls - retries
    with np.errstate(divide="ignore", invalid="ignore"):
        amp = np.where(first > 0, calls / np.where(first > 0, first, 1), np.nan)
    top = float(np.nanmax(amp)) if np.isfinite(amp).any() else 1.0
    span = [float(t[0]), float(t[-1])] if len(t) else []
    s = result.summary
    title = headline("Retry amplification", f"{s['amplification']:.2f}× overall · "
                     f"{s['retries']:,} retries · {s['wasted_work_s']:,.1f} s of wasted model work")
    traces: list[dict[str, Any]] = [{"x": t, "y": retries / width}, {"x": t, "y": amp},
              {"x": span, "y": [1.0, 1.0] if span else []}]
    peak = float((retries / width).max()) if len(t) else 0.0
    layout = {"title": title, "yaxis": {"range": [0, max(2.0, top * 1.1)]},
              "yaxis2": nice_axis(peak)}
    return apply(fig, traces, layout)
