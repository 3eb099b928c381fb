"""Figures for lab 3: a deployed model watched for weeks (:mod:`labkit.monitor`).

* :func:`threshold_figure`: precision, recall and expected cost against the
  decision threshold, with the cheapest threshold and the calibrated-score
  rule of thumb ``cost_fp / (cost_fp + cost_fn)`` marked;
* :func:`metric_figure`: monitored metrics over the weeks, the injected
  events shaded (the ground truth), a rule's threshold and its alerts marked
  true (green) or false (red);
* :func:`runs_figure`: one metric for several runs on the same axes (data
  drift against concept drift, one retraining policy against another), with
  each run's releases marked;
* :func:`workload_figure`: the review queue a shutdown creates;
* :func:`sli_figure` / :func:`update_sli_figure`: a service's burn rate minute
  by minute, an alert rule's threshold and where it fires, the real outages
  (red) and benign burns (grey) shaded;
* :func:`frontier_figure` / :func:`update_frontier`: minutes to detect against
  false pages a week for a sweep of rules, its frontier, the current rule marked.

Time is in days since go-live; colours follow :mod:`labkit.viz.colors`.

>>> from labkit.monitor import run_monitor
>>> res = run_monitor({"stream.weeks": 1, "stream.tx_per_hour": 50}, seed=1)
>>> [t.name for t in metric_figure(res, ["output.flag_rate"], window_h=24).data][:1]
['output.flag_rate (24 h)']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from labkit.monitor.alerts import AlertRule
from labkit.monitor.metrics import confusion_matrix, expected_cost
from labkit.viz.colors import (
    BUDGET_COLOR,
    FAIL_COLOR,
    NEUTRAL_COLOR,
    OUTCOME_COLORS,
    PASS_COLOR,
    SEQUENCE,
    rgba,
)
from labkit.viz.common import base_layout

__all__ = ["threshold_figure", "metric_figure", "runs_figure", "workload_figure",
           "EVENT_COLORS", "sli_figure", "update_sli_figure", "frontier_figure", "update_frontier",
           "frontier_points", "KIND_COLORS"]

#: Shading of injected events (benign blips are grey).
EVENT_COLORS = {"null_feature": FAIL_COLOR, "data_drift": OUTCOME_COLORS["degraded"],
                "concept_drift": "#CC79A7", "slowdown": "#7B4173", "spike": "#56B4E9",
                "blip": NEUTRAL_COLOR}


def threshold_figure(y_true: Any, scores: Any, *, cost_fn: float, cost_fp: float,
                     chosen: float | None = None, points: int = 101,
                     mark_cheapest: bool = True) -> go.Figure:
    """Precision and recall (left axis) and expected cost per transaction (right axis);
    ``mark_cheapest=False`` leaves the cheapest threshold for the reader to find."""
    y = np.asarray(y_true, bool)
    s = np.asarray(scores, float)
    grid = np.linspace(0.0, 1.0, points)
    prec, rec, cost = [], [], []
    for t in grid:
        cm = confusion_matrix(y, s >= t)
        prec.append(cm.precision)
        rec.append(cm.recall)
        cost.append(expected_cost(y, s, t, cost_fn=cost_fn, cost_fp=cost_fp))
    best = float(grid[int(np.nanargmin(cost))])
    theory = cost_fp / (cost_fp + cost_fn) if cost_fp + cost_fn > 0 else 0.0
    fig = go.Figure(layout=base_layout("Precision, recall and cost against the threshold",
                                       "decision threshold (block when score >= it)",
                                       "precision / recall"))
    fig.add_scatter(x=grid, y=prec, name="precision", line={"color": "#0B5CAD"})
    fig.add_scatter(x=grid, y=rec, name="recall", line={"color": "#009E73"})
    fig.add_scatter(x=grid, y=cost, name="cost per transaction ($)", yaxis="y2",
                    line={"color": BUDGET_COLOR, "width": 3})
    if mark_cheapest:
        fig.add_vline(x=best, line={"color": BUDGET_COLOR, "dash": "dash"},
                      annotation_text=f"cheapest {best:.2f}", annotation_position="top")
    fig.add_vline(x=theory, line={"color": NEUTRAL_COLOR, "dash": "dot"},
                  annotation_text=f"c_fp/(c_fp+c_fn) = {theory:.2f}",
                  annotation_position="bottom right")
    if chosen is not None:
        fig.add_vline(x=float(chosen), line={"color": OUTCOME_COLORS["degraded"]},
                      annotation_text=f"yours {float(chosen):.2f}",
                      annotation_position="top left")
    fig.update_layout(yaxis={"range": [0, 1.02]},
                      yaxis2={"title": {"text": "expected cost ($ per transaction)"},
                              "overlaying": "y", "side": "right", "rangemode": "tozero",
                              "showgrid": False})
    return fig


def _shade_events(fig: go.Figure, events: Sequence[Any], *, blips: bool = True) -> None:
    for e in events:
        if e.benign and not blips:
            continue
        color = EVENT_COLORS.get(e.kind, NEUTRAL_COLOR)
        fig.add_vrect(x0=e.start_h / 24, x1=(e.end_h + 1) / 24, line_width=0,
                      fillcolor=rgba(color, 0.12 if e.benign else 0.18), layer="below")


def metric_figure(result: Any, metrics: Sequence[str], *, window_h: int = 24,
                  rule: AlertRule | None = None, title: str | None = None,
                  blips: bool = True) -> go.Figure:
    """Metrics over time with the injected events shaded; a rule's threshold and alerts."""
    days = np.arange(result.config.horizon_h) / 24
    fig = go.Figure(layout=base_layout(title or "What the monitors saw",
                                       "days since go-live", "value"))
    for i, metric in enumerate(metrics):
        values = result.series(metric, window_h)
        fig.add_scatter(x=days, y=values, name=f"{metric} ({window_h} h)", mode="lines",
                        line={"color": SEQUENCE[i % len(SEQUENCE)]})
    if rule is not None:
        fig.add_hline(y=rule.threshold, line={"color": BUDGET_COLOR, "dash": "dash"},
                      annotation_text=f"{rule.name}: {rule.direction} {rule.threshold:g}")
        alerts, _ = result.evaluate([rule])
        for ok, name, color in ((True, "true alert", PASS_COLOR),
                                (False, "false alert", FAIL_COLOR)):
            mine = alerts[alerts["true"] == ok]
            fig.add_scatter(x=mine["opened_h"] / 24, y=mine["value"], mode="markers",
                            name=f"{name} ({mine.size})",
                            marker={"color": color, "size": 10, "symbol": "triangle-up"})
    _shade_events(fig, result.events, blips=blips)
    return fig


def runs_figure(results: Mapping[str, Any], metric: str, *, window_h: int = 24,
                title: str | None = None, cumulative_cost: bool = False) -> go.Figure:
    """One metric for several runs; ``cumulative_cost`` plots cost per transaction so far."""
    label = "cost per transaction so far ($)" if cumulative_cost else metric
    fig = go.Figure(layout=base_layout(title or label, "days since go-live", label))
    for i, (name, res) in enumerate(results.items()):
        color = SEQUENCE[i % len(SEQUENCE)]
        days = np.arange(res.config.horizon_h) / 24
        if cumulative_cost:
            with np.errstate(invalid="ignore", divide="ignore"):
                values = np.cumsum(res.stats.cost) / np.cumsum(res.stats.n)
        else:
            values = res.series(metric, window_h)
        fig.add_scatter(x=days, y=values, name=name, mode="lines", line={"color": color})
        outs = [a.at_h / 24 for a in res.audit if a.action == "rolled_out"]
        if outs:
            idx = np.clip((np.array(outs) * 24).astype(int), 0, len(values) - 1)
            fig.add_scatter(x=outs, y=values[idx], mode="markers", name=f"{name}: release",
                            marker={"color": color, "size": 9, "symbol": "diamond"},
                            showlegend=False)
    first = next(iter(results.values()), None)
    if first is not None:
        _shade_events(fig, first.events, blips=False)
    return fig


def workload_figure(result: Any, title: str | None = None) -> go.Figure:
    """Reviews per hour, the team's capacity and the backlog while the model is off."""
    h = result.hourly
    days = h["hour"] / 24
    cap = result.config.shutdown.review_capacity_per_hour
    fig = go.Figure(layout=base_layout(title or "Review workload of the fallback",
                                       "days since go-live", "transactions"))
    fig.add_bar(x=days, y=h["reviews"], name="sent to review per hour",
                marker={"color": OUTCOME_COLORS["degraded"]})
    fig.add_scatter(x=days, y=h["review_backlog"], name="waiting at the end of the hour",
                    line={"color": FAIL_COLOR})
    fig.add_hline(y=cap, line={"color": BUDGET_COLOR, "dash": "dash"},
                  annotation_text=f"capacity {cap:g} per hour")
    off = np.flatnonzero(h["shut_down"])
    if off.size:
        fig.add_vrect(x0=off[0] / 24, x1=(off[-1] + 1) / 24, line_width=0,
                      fillcolor=rgba(NEUTRAL_COLOR, 0.25), layer="below",
                      annotation_text="model off", annotation_position="top left")
    _shade_events(fig, result.events, blips=False)
    return fig


def _sli_parts(series: Any, rule: Any) -> dict[str, Any]:
    hours = np.arange(series.minutes) / 60
    signal = rule.signal(series)
    fire = np.flatnonzero(rule.firing(series))
    label = "rise of the burn rate" if rule.kind == "rate of change" else "burn rate"
    return {"hours": hours, "signal": signal, "fire_x": hours[fire], "fire_y": signal[fire],
            "name": f"{label} over {rule.window_min} min",
            "threshold": f"{rule.kind}: above {rule.threshold:g}"}


def sli_figure(series: Any, rule: Any, *, title: str | None = None) -> go.Figure:
    """The rule's signal (burn rate over its window) at every minute, where it fires, its
    threshold, and the injected burns shaded (real red, benign grey)."""
    p = _sli_parts(series, rule)
    fig = go.Figure(layout=base_layout(title or "The monitored series and the rule",
                                       "hours", "burn rate (x budget)"))
    fig.add_scatter(x=p["hours"], y=p["signal"], name=p["name"], mode="lines",
                    line={"color": SEQUENCE[0], "width": 1})
    fig.add_scatter(x=p["fire_x"], y=p["fire_y"], name="rule fires", mode="markers",
                    marker={"color": FAIL_COLOR, "size": 4})
    fig.add_scatter(x=[0, p["hours"][-1]], y=[rule.threshold] * 2, name=p["threshold"],
                    mode="lines", line={"color": BUDGET_COLOR, "dash": "dash"})
    for b in series.burns:
        fig.add_vrect(x0=b.start_min / 60, x1=(b.end_min + 1) / 60, line_width=0, layer="below",
                      fillcolor=rgba(NEUTRAL_COLOR if b.benign else FAIL_COLOR, 0.15))
    return fig


def update_sli_figure(fig: go.Figure, series: Any, rule: Any) -> None:
    """Show another rule on a figure from :func:`sli_figure`, in place."""
    p = _sli_parts(series, rule)
    with fig.batch_update():
        fig.data[0].update(y=p["signal"], name=p["name"])
        fig.data[1].update(x=p["fire_x"], y=p["fire_y"])
        fig.data[2].update(y=[rule.threshold] * 2, name=p["threshold"])


#: One colour per rule kind on the frontier chart.
KIND_COLORS = {"static threshold": SEQUENCE[0], "rate of change": SEQUENCE[1],
               "burn rate": SEQUENCE[2]}


def frontier_points(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The rules no other rule beats on both time to detect and false pages (rules that miss
    an outage are left out), by time to detect."""
    found = [r for r in rows if r["detect_min"] is not None]
    best = [r for r in found if not any(
        o["detect_min"] <= r["detect_min"] and o["false_per_week"] <= r["false_per_week"]
        and (o["detect_min"] < r["detect_min"] or o["false_per_week"] < r["false_per_week"])
        for o in found)]
    return sorted(best, key=lambda r: (r["detect_min"], r["false_per_week"]))


def _label(r: Mapping[str, Any]) -> str:
    return f"{r['kind']}, {r['threshold']:g} over {r['window_min']} min"


def frontier_figure(rows: Sequence[Mapping[str, Any]], current: Mapping[str, Any], *,
                    title: str | None = None) -> go.Figure:
    """Minutes to detect the real outages (mean) against false pages a week, one point per
    swept rule (by kind), the frontier, and the current rule as a star."""
    fig = go.Figure(layout=base_layout(title or "Time to detect against false pages",
                                       "minutes to detect (mean over the outages)",
                                       "false pages a week"))
    for kind, color in KIND_COLORS.items():
        mine = [r for r in rows if r["kind"] == kind and r["detect_min"] is not None]
        missed = sum(r["kind"] == kind and r["detect_min"] is None for r in rows)
        fig.add_scatter(x=[r["detect_min"] for r in mine], y=[r["false_per_week"] for r in mine],
                        mode="markers", name=f"{kind} ({missed} miss an outage)",
                        text=[_label(r) for r in mine], hoverinfo="text+x+y",
                        marker={"color": color, "size": 7, "opacity": 0.7})
    front = frontier_points(rows)
    fig.add_scatter(x=[r["detect_min"] for r in front], y=[r["false_per_week"] for r in front],
                    mode="lines", name="frontier", line={"color": NEUTRAL_COLOR, "dash": "dot"},
                    text=[_label(r) for r in front], hoverinfo="text+x+y")
    fig.add_scatter(x=[], y=[], mode="markers", name="your rule",
                    marker={"color": FAIL_COLOR, "size": 16, "symbol": "star"})
    update_frontier(fig, current)
    return fig


def update_frontier(fig: go.Figure, current: Mapping[str, Any]) -> None:
    """Move the star of a figure from :func:`frontier_figure` to ``current`` (a rule that
    misses an outage is drawn at the right edge, its name says so)."""
    star = fig.data[-1]
    if current["detect_min"] is None:
        xs = [x for t in fig.data[:-1] for x in (t.x or ())]
        x, name = (max(xs) if xs else 0.0), "your rule (misses an outage)"
    else:
        x, name = current["detect_min"], "your rule"
    with fig.batch_update():
        star.update(x=[x], y=[current["false_per_week"]], name=name, text=[_label(current)])
