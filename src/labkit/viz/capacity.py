"""Queue length against busy and provisioned replicas.

Capacity is the number of replicas that can serve at once; load is how many
of them are busy.  When busy replicas touch the provisioned line, every new
request has to wait and the queue (left axis) starts to grow: that is the
moment latency leaves the flat part of the curve.  With autoscaling on, the
provisioned line steps up and down; the gap between *provisioned* and
*ready* is cold start, time you already pay for but cannot serve with.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from labkit.viz.colors import SERIES_COLORS, rgba
from labkit.viz.common import apply, base_layout, fmt_ms, fmt_pct, headline, nice_axis, series

__all__ = ["capacity_figure", "update_capacity"]


def capacity_figure(result: Any, *, bucket_s: float | None = None) -> go.Figure:
    """Queue (left axis) and replica counts (right axis): 4 traces.

    Replica counts are the simulator's samples at the end of each bucket.
    """
    fig = go.Figure()
    q = SERIES_COLORS["queue_len"]
    fig.add_trace(go.Scatter(name="queue length", mode="lines", fill="tozeroy",
                             line={"color": q, "width": 1.4}, fillcolor=rgba(q, 0.18),
                             hovertemplate="%{y:,.0f} req", yaxis="y"))
    fig.add_trace(go.Scatter(name="provisioned replicas", mode="lines", line_shape="hv",
                             line={"color": SERIES_COLORS["replicas"], "width": 2},
                             hovertemplate="%{y:,.0f}", yaxis="y2"))
    fig.add_trace(go.Scatter(name="ready replicas", mode="lines", line_shape="hv",
                             line={"color": SERIES_COLORS["ready"], "width": 1.4, "dash": "dot"},
                             hovertemplate="%{y:,.0f}", yaxis="y2"))
    busy = SERIES_COLORS["busy"]
    fig.add_trace(go.Scatter(name="busy replicas", mode="lines", line_shape="hv",
                             fill="tozeroy", fillcolor=rgba(busy, 0.25),
                             line={"color": rgba(busy, 0.9), "width": 1},
                             hovertemplate="%{y:,.0f}", yaxis="y2"))
    fig.update_layout(base_layout(
        "Capacity", "simulated time (s)", "queue length (requests)", subtitle=True,
        yaxis2={"title": {"text": "replicas"}, "overlaying": "y", "side": "right",
                "rangemode": "tozero", "showgrid": False},
        margin={"l": 64, "r": 64, "t": 70, "b": 92}))
    return update_capacity(fig, result, bucket_s=bucket_s)


def update_capacity(fig: go.Figure, result: Any, *, bucket_s: float | None = None) -> go.Figure:
    """Pour ``result`` into a figure made by :func:`capacity_figure`."""
    ts = series(result, bucket_s)
    t = ts["t_s"]
    traces = [{"x": t, "y": ts[name]} for name in ("queue_len", "replicas", "ready", "busy")]
    s = result.summary
    title = headline("Capacity", f"utilisation {fmt_pct(s['utilisation'], 0)} · "
                     f"{s['replicas_mean']:.1f} replicas on average · "
                     f"queue wait {fmt_ms(s['model_wait_ms_mean'])}")
    top = max(float(ts["replicas"].max()) if len(t) else 1.0, 1.0)
    queue_top = max(float(ts["queue_len"].max()) if len(t) else 0.0, 4.0)
    return apply(fig, traces, {"title": title, "yaxis": nice_axis(queue_top),
                               "yaxis2": nice_axis(top)})
