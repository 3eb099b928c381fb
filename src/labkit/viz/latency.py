"""Latency percentiles over time, against the latency budget.

A budget on the 95th or 99th percentile says how slow the slowest answers
may be, because the tail is what users remember.  The chart draws the
p50, p95 and p99 of answered requests in each time bucket, and the p95/p99
budget limits as dark dashed lines: where a percentile line crosses its
budget line, that share of users waited longer than promised.  The title
carries the whole run's p95 and p99 against the budgets (the same numbers
as ``result.summary``).
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from labkit.viz.colors import BUDGET_COLOR, SERIES_COLORS
from labkit.viz.common import apply, base_layout, fmt_ms, headline, series

__all__ = ["latency_figure", "update_latency"]

_PCTS = ("p50_ms", "p95_ms", "p99_ms")
_BUDGETS = (("p95_ms", "dash"), ("p99_ms", "dot"))


def latency_figure(result: Any, *, bucket_s: float | None = None) -> go.Figure:
    """Percentile lines per bucket plus p95/p99 budget lines (5 traces)."""
    fig = go.Figure()
    for name in _PCTS:
        fig.add_trace(go.Scatter(
            name=name.split("_")[0], mode="lines", line={"color": SERIES_COLORS[name],
                                                         "width": 2.4 if name == "p95_ms" else 1.6},
            connectgaps=False, hovertemplate="%{y:,.0f} ms"))
    for name, dash in _BUDGETS:
        fig.add_trace(go.Scatter(
            name=f"{name.split('_')[0]} budget", mode="lines",
            line={"color": BUDGET_COLOR, "dash": dash, "width": 1.4},
            hovertemplate="%{y:,.0f} ms"))
    fig.update_layout(base_layout("Latency", "simulated time (s)", "latency (ms)", subtitle=True))
    return update_latency(fig, result, bucket_s=bucket_s)


def update_latency(fig: go.Figure, result: Any, *, bucket_s: float | None = None) -> go.Figure:
    """Pour ``result`` into a figure made by :func:`latency_figure`."""
    return apply(fig, *_content(result, bucket_s))


def _content(result: Any, bucket_s: float | None) -> tuple[list[dict], dict]:
    ts = series(result, bucket_s)
    t = ts["t_s"]
    traces: list[dict[str, Any]] = [{"x": t, "y": ts[name]} for name in _PCTS]
    budget = result.scenario.budget
    span = [float(t[0]), float(t[-1])] if len(t) else []
    for name, _ in _BUDGETS:
        limit = getattr(budget, name)  # None: not judged
        traces.append({"x": span, "y": [limit, limit] if limit is not None and span else [],
                       "visible": True if limit is not None else "legendonly"})
    lat = result.summary["latency_ms"]
    verdicts = result.summary["budgets"]
    parts = []
    for name in ("p95_ms", "p99_ms"):
        key = name.split("_")[0]
        b = verdicts.get(name, {"judged": False})
        text = f"{key} {fmt_ms(lat[key])}"
        if b.get("judged"):
            text += f" {'≤' if b['pass'] else '>'} {fmt_ms(b['limit'])} {'✓' if b['pass'] else '✗'}"
        parts.append(text)
    title = headline("Latency", " · ".join(parts))
    return traces, {"title": title}
