"""A sweep plot: one metric against one knob, one line per value of another knob.

A sweep runs every combination of a few knob values, each with several
seeds.  One seed is one draw of the traffic; the spread across seeds says
how much of a difference is signal.  Each point is the mean over seeds and
its error bar the 95% confidence interval of that mean (Student's t with
n - 1 degrees of freedom; no bar when there is one seed).

``table`` is what the sweep engine returns (a :class:`labkit.sweep.SweepTable`,
whose ``rows`` are used), a list of row dicts, or a dict of equal-length columns, with
knob columns (``model.replicas``), a ``seed`` column and metric columns.  Rows that differ
in a knob that is neither ``x`` nor ``color`` are pooled together, so sweep only what you
plot.

>>> rows = [{"model.replicas": r, "seed": s, "p95_ms": 100.0 / r + s}
...         for r in (1, 2) for s in (1, 2, 3)]
>>> [round(p["mean"], 3) for p in sweep_points(rows, x="model.replicas", y="p95_ms")[None]]
[102.0, 52.0]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go

from labkit.tdist import mean_ci
from labkit.viz.colors import SEQUENCE
from labkit.viz.common import base_layout, headline

__all__ = ["sweep_figure", "sweep_points", "axis_title"]

_SUFFIX_UNITS = (("_ms", "ms"), ("_s", "s"), ("_rps", "req/s"), ("per_1k", "$"),
                 ("_ratio", "share"), ("_rate", "share"))


def _rows(table: Any) -> list[dict]:
    if hasattr(table, "rows") and not isinstance(table, Mapping):
        table = table.rows
    if isinstance(table, Mapping):
        lengths = {len(v) for v in table.values()}
        if len(lengths) > 1:
            raise ValueError(f"sweep table columns must have equal lengths, got {sorted(lengths)}")
        n = lengths.pop() if lengths else 0
        return [{k: table[k][i] for k in table} for i in range(n)]
    return [dict(row) for row in table]


def _value(row: Mapping[str, Any], column: str) -> Any:
    if column in row:
        return row[column]
    # a nested summary metric written with dots ("latency_ms.p95") in a row of dicts
    value: Any = row
    for part in column.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise KeyError(column)
        value = value[part]
    return value


def sweep_points(table: Any, *, x: str, y: str, color: str | None = None) -> dict[Any, list[dict]]:
    """Mean, CI half-width and seed count of ``y`` per ``x`` value, per ``color`` value."""
    rows = _rows(table)
    if not rows:
        raise ValueError("sweep table is empty")
    for column in (x, y) + ((color,) if color else ()):
        try:
            _value(rows[0], column)
        except KeyError:
            raise KeyError(f"sweep table has no column {column!r}; columns: "
                           f"{', '.join(rows[0])}") from None
    groups: dict[Any, dict[Any, list[float]]] = {}
    for row in rows:
        key = _value(row, color) if color else None
        groups.setdefault(key, {}).setdefault(_value(row, x), []).append(float(_value(row, y)))
    out: dict[Any, list[dict]] = {}
    for key, by_x in groups.items():
        points = []
        for xv in sorted(by_x, key=_sort_key):
            ys = [v for v in by_x[xv] if math.isfinite(v)]
            n = len(ys)
            mean, half = mean_ci(ys) if n else (math.nan, math.nan)
            half = 0.0 if n < 2 else half
            points.append({"x": xv, "mean": mean, "ci95": half, "n": n})
        out[key] = points
    return out


def _sort_key(value: Any) -> tuple:
    return (0, value, "") if isinstance(value, (int, float)) else (1, 0, str(value))


def axis_title(column: str) -> str:
    """A column name with its unit: the catalogue's unit for knobs, else from the name.

    >>> axis_title("model.replicas"), axis_title("latency_ms.p95"), axis_title("cost.total")
    ('model.replicas (replicas)', 'latency_ms.p95 (ms)', 'cost.total ($)')
    """
    from labkit.sim.scenario import CATALOGUE

    if column in CATALOGUE:
        unit = CATALOGUE[column].unit
        return f"{column} ({unit})" if unit else column
    parts = column.replace("/", ".").split(".")
    if parts[0] == "cost":
        return f"{column} ($)"
    for part in parts:
        for suffix, unit in _SUFFIX_UNITS:
            if part.endswith(suffix):
                return f"{column} ({unit})"
    return column


def sweep_figure(table: Any, *, x: str, y: str, color: str | None = None,
                 title: str | None = None) -> go.Figure:
    """``y`` against ``x``, one line per ``color`` value, 95% CI error bars across seeds."""
    groups = sweep_points(table, x=x, y=y, color=color)
    fig = go.Figure()
    for i, (key, points) in enumerate(sorted(groups.items(), key=lambda kv: _sort_key(kv[0]))):
        seeds = max(p["n"] for p in points)
        name = f"{color} = {key}" if color else y
        fig.add_trace(go.Scatter(
            name=name, mode="lines+markers", x=[p["x"] for p in points],
            y=[p["mean"] for p in points],
            error_y={"type": "data", "array": [p["ci95"] for p in points],
                     "visible": seeds > 1, "thickness": 1.2, "width": 4},
            line={"color": SEQUENCE[i % len(SEQUENCE)], "width": 2},
            hovertemplate=f"{x} = %{{x}}<br>{y} = %{{y:,.4g}} ± %{{error_y.array:,.3g}}"
                          "<extra>%{fullData.name}</extra>"))
    seeds = max(p["n"] for pts in groups.values() for p in pts)
    detail = f"mean of {seeds} seed{'s' if seeds != 1 else ''}" + (
        ", 95% CI" if seeds > 1 else "")
    text = title or (f"{y} against {x}" + (f", by {color}" if color else ""))
    fig.update_layout(base_layout("", axis_title(x), axis_title(y), subtitle=True,
                                  hovermode="closest"))
    fig.update_layout(title=headline(text, detail))
    xs = sorted({p["x"] for pts in groups.values() for p in pts}, key=_sort_key)
    if len(xs) <= 12 and all(isinstance(v, (int, float)) for v in xs):
        fig.update_xaxes(tickmode="array", tickvals=xs)
    return fig
