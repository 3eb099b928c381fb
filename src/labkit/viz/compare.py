"""Two runs side by side on the same axes: a pinned baseline and the change.

Judging a design change means holding everything else still: same seed,
same traffic, one knob turned.  The compare view draws the baseline in grey
dashes and the change in solid blue on shared axes (p95 latency, answered
requests per second, cumulative cost), and a table of headline numbers with
the difference, green where the change is better and vermillion where it is
worse.  With no baseline pinned the grey traces are empty.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labkit.viz.colors import BASELINE_COLOR, CHANGE_COLOR, FAIL_COLOR, PASS_COLOR
from labkit.viz.common import apply, base_layout, bucket_for, fmt_money, fmt_ms, fmt_pct, headline, series

__all__ = ["compare_figure", "update_compare", "compare_rows", "COMPARE_HEIGHT_PX"]

COMPARE_HEIGHT_PX = 520
_PANELS = ((1, 1, "p95 latency (ms)"), (1, 2, "answered (req/s)"), (1, 3, "cumulative cost ($)"))

# label, getter, formatter, better ("lower" | "higher")
_METRICS: tuple[tuple[str, Callable[[dict], float], Callable[[float], str], str], ...] = (
    ("p50 latency", lambda s: s["latency_ms"]["p50"], fmt_ms, "lower"),
    ("p95 latency", lambda s: s["latency_ms"]["p95"], fmt_ms, "lower"),
    ("p99 latency", lambda s: s["latency_ms"]["p99"], fmt_ms, "lower"),
    ("success rate", lambda s: s["success_rate"], lambda v: fmt_pct(v, 2), "higher"),
    ("cost per 1k", lambda s: s["cost"]["per_1k"], fmt_money, "lower"),
    ("model calls", lambda s: s["model_calls"], lambda v: f"{v:,.0f}", "lower"),
    ("calls per request", lambda s: s["amplification"], lambda v: f"{v:.2f}×", "lower"),
    ("cache hit ratio", lambda s: s["cache_hit_ratio"], lambda v: fmt_pct(v), "higher"),
    ("mean quality", lambda s: s["quality_mean"], lambda v: f"{v:.3f}", "higher"),
    ("budgets held", lambda s: sum(b["pass"] for b in s["budgets"].values()
                                   if b.get("judged", True)), lambda v: f"{v:.0f}", "higher"),
)


def compare_rows(baseline: Any | None, change: Any) -> list[dict[str, Any]]:
    """Headline metrics of both runs, with the difference and whether it helps."""
    rows = []
    for label, get, fmt, better in _METRICS:
        new = float(get(change.summary))
        row = {"metric": label, "change": fmt(new), "change_value": new, "baseline": "—",
               "baseline_value": None, "delta": "", "verdict": "same"}
        if baseline is not None:
            old = float(get(baseline.summary))
            diff = new - old
            row.update(baseline=fmt(old), baseline_value=old)
            if abs(diff) > 1e-9 * max(1.0, abs(old)):
                sign = "+" if diff > 0 else "−"
                row["delta"] = sign + fmt(abs(diff)).lstrip("+")
                improved = diff < 0 if better == "lower" else diff > 0
                row["verdict"] = "better" if improved else "worse"
        rows.append(row)
    return rows


def compare_figure(baseline: Any | None, change: Any) -> go.Figure:
    """Three shared-axis panels (baseline and change lines) over a numbers table."""
    fig = make_subplots(
        rows=2, cols=3, vertical_spacing=0.2, horizontal_spacing=0.07, row_heights=[0.6, 0.4],
        specs=[[{"type": "xy"}] * 3, [{"type": "domain", "colspan": 3}, None, None]],
        subplot_titles=[p[2] for p in _PANELS])
    for i, (_, col, _) in enumerate(_PANELS):
        fig.add_trace(go.Scatter(name="baseline", legendgroup="baseline", showlegend=i == 0,
                                 mode="lines", line={"color": BASELINE_COLOR, "dash": "dash",
                                                     "width": 1.8}), row=1, col=col)
        fig.add_trace(go.Scatter(name="change", legendgroup="change", showlegend=i == 0,
                                 mode="lines", line={"color": CHANGE_COLOR, "width": 2.2}),
                      row=1, col=col)
    fig.add_trace(go.Table(
        columnwidth=[0.8] + [1.0] * len(_METRICS),
        header={"values": ["<b>run</b>"] + [f"<b>{m[0]}</b>" for m in _METRICS],
                "fill": {"color": "#F2F2F2"}, "align": "left", "height": 26,
                "font": {"size": 11, "color": "#262626"}, "line": {"color": "white"}},
        cells={"values": [[]] * (len(_METRICS) + 1), "align": "left", "height": 24,
               "font": {"size": 12}, "line": {"color": "white"}, "fill": {"color": "white"}}),
        row=2, col=1)
    fig.update_layout(base_layout("Compare", subtitle=True, height=COMPARE_HEIGHT_PX,
                                  margin={"l": 56, "r": 24, "t": 96, "b": 16}))
    fig.update_layout(legend={"yref": "container", "y": 0.985, "yanchor": "top", "x": 1.0,
                              "xanchor": "right"}, hovermode="x")
    fig.update_annotations(font_size=12)
    for _, col, _ in _PANELS:
        fig.update_xaxes(title_text="simulated time (s)", row=1, col=col)
        fig.update_yaxes(rangemode="tozero", row=1, col=col)
    return update_compare(fig, baseline, change)


def _panel_series(result: Any, bucket_s: float) -> list[tuple[np.ndarray, np.ndarray]]:
    ts = series(result, bucket_s)
    t = ts["t_s"]
    answered = (ts["ok"] + ts["degraded"]) / bucket_s
    return [(t, ts["p95_ms"]), (t, answered), (t, np.cumsum(ts["cost"]))]


def update_compare(fig: go.Figure, baseline: Any | None, change: Any) -> go.Figure:
    """Pour a baseline (or None) and a change into a figure made by :func:`compare_figure`."""
    horizon = max(change.scenario.load.duration_s,
                  baseline.scenario.load.duration_s if baseline is not None else 0.0)
    bucket = bucket_for(horizon)
    new = _panel_series(change, bucket)
    old = _panel_series(baseline, bucket) if baseline is not None else [((), ())] * 3
    traces: list[dict[str, Any]] = []
    for (ox, oy), (nx, ny) in zip(old, new):
        traces += [{"x": ox, "y": oy}, {"x": nx, "y": ny}]
    rows = compare_rows(baseline, change)
    delta_colors = [PASS_COLOR if r["verdict"] == "better" else
                    FAIL_COLOR if r["verdict"] == "worse" else "#595959" for r in rows]
    same = "=" if baseline is not None else "—"
    columns = [["baseline", "change", "Δ"]] + [[r["baseline"], r["change"], r["delta"] or same]
                                               for r in rows]
    run_colors = [BASELINE_COLOR, CHANGE_COLOR, "#262626"]
    fonts = [run_colors] + [[BASELINE_COLOR, CHANGE_COLOR, c] for c in delta_colors]
    traces.append({"cells": {"values": columns, "font": {"color": fonts}}})
    if baseline is None:
        title = headline("Compare", "pin a baseline, then change a knob to see both runs")
    else:
        b, c = baseline.summary, change.summary
        title = headline("Compare: baseline → change",
                         f"p95 {fmt_ms(b['latency_ms']['p95'])} → "
                         f"{fmt_ms(c['latency_ms']['p95'])} · cost per 1k "
                         f"{fmt_money(b['cost']['per_1k'])} → {fmt_money(c['cost']['per_1k'])}")
    return apply(fig, traces, {"title": title})
