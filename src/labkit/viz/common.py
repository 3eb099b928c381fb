"""What every chart shares: the look, the time buckets, and in-place updates.

Each view module has two functions: ``<view>_figure(result)`` builds a new
figure, and ``update_<view>(fig, result)`` pours a new result into an
existing figure (a ``go.Figure`` or a widget's ``FigureWidget``) without
rebuilding it.  Both go through :func:`apply`, which writes each trace's new
data inside one ``batch_update`` so the browser redraws once.  A figure
therefore always has the same traces in the same order; a trace with nothing
to show gets empty data rather than disappearing.

Time series are bucketed so that a chart never holds more than about 150
points per line (:func:`bucket_for`), and the bucketed series of a result are
computed once and shared by every view (:func:`series`).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

__all__ = ["FIGURE_HEIGHT_PX", "base_layout", "headline", "apply", "series", "bucket_for",
           "nice_axis",
           "fmt_ms", "fmt_money", "fmt_pct", "fmt_count"]

FIGURE_HEIGHT_PX = 370
_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
_NICE_BUCKETS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400)
_MAX_POINTS = 150
_SERIES_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def base_layout(title: str, x_title: str | None = None, y_title: str | None = None, *,
                subtitle: bool = False, **extra: Any) -> dict[str, Any]:
    """The common layout: white theme, compact margins, legend on top.

    ``subtitle=True`` is the look of the panel views: a second title line for
    the run's numbers (see :func:`headline`) and the legend at the bottom, so
    neither can run into the other in a narrow chart.
    """
    layout: dict[str, Any] = {
        "template": "plotly_white",
        "height": FIGURE_HEIGHT_PX,
        "margin": {"l": 64, "r": 24, "t": 70 if subtitle else 64, "b": 92 if subtitle else 48},
        "font": {"family": _FONT, "size": 12, "color": "#262626"},
        "title": {"text": f"<b>{title}</b>" if title else "", "x": 0.01, "xanchor": "left",
                  "yref": "container", "y": 0.975, "yanchor": "top", "font": {"size": 14}},
        "legend": {"orientation": "h", "x": 0.0, "y": 1.02, "yanchor": "bottom",
                   "xanchor": "left", "font": {"size": 10}, "bgcolor": "rgba(0,0,0,0)",
                   "itemwidth": 30, "tracegroupgap": 0},
        "hovermode": "x unified",
        "uirevision": "labkit",   # keep the learner's zoom across updates
    }
    if x_title is not None:
        layout["xaxis"] = {"title": {"text": x_title}, "zeroline": False}
    if y_title is not None:
        layout["yaxis"] = {"title": {"text": y_title}, "rangemode": "tozero"}
    if subtitle:
        layout["title"]["subtitle"] = {"text": "", "font": {"size": 11.5, "color": "#595959"}}
        layout["legend"].update({"yref": "container", "y": 0.0, "yanchor": "bottom"})
    layout.update(extra)
    return layout


def headline(name: str, detail: str = "") -> dict[str, Any]:
    """A chart title: the view's name in bold, the run's numbers as the subtitle.

    >>> headline("Cost", "$4.98 for the run")
    {'text': '<b>Cost</b>', 'subtitle': {'text': '$4.98 for the run'}}
    """
    return {"text": f"<b>{name}</b>", "subtitle": {"text": detail}}


def apply(fig: go.Figure, traces: Sequence[Mapping[str, Any]],
          layout: Mapping[str, Any] | None = None) -> go.Figure:
    """Write new data into ``fig``'s traces (same count, same order) in one redraw."""
    if len(fig.data) != len(traces):
        raise ValueError(f"figure has {len(fig.data)} traces but the update has "
                         f"{len(traces)}; build it with the matching *_figure function")
    with fig.batch_update():
        for trace, props in zip(fig.data, traces):
            _assign(trace, props)
        if layout:
            _assign(fig.layout, layout)
    return fig


def _assign(obj: Any, props: Mapping[str, Any]) -> None:
    # Property by property, descending into nested dicts: plotly's own
    # ``update(dict)`` re-parses every key path and costs several times more,
    # which matters when a panel redraws eight charts per knob change.
    for key, value in props.items():
        if isinstance(value, Mapping):
            _assign(obj[key], value)
        else:
            obj[key] = value


def nice_axis(top: float, ticks: int = 5) -> dict[str, Any]:
    """A 0-based axis range and round tick step that fits ``top``.

    >>> nice_axis(4.2)
    {'range': [0, 5.25], 'dtick': 1, 'tick0': 0}
    >>> nice_axis(27.2)["dtick"]
    10
    """
    top = max(float(top), 1.0) if math.isfinite(top) else 1.0
    raw = top / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    step = max(1, step) if top >= 1 else step
    step = int(step) if float(step).is_integer() else step
    return {"range": [0, top * 1.25], "dtick": step, "tick0": 0}


def bucket_for(duration_s: float) -> float:
    """The smallest round bucket that keeps a run under ~150 points per line.

    >>> bucket_for(60), bucket_for(600), bucket_for(86400)
    (1, 5, 600)
    """
    for bucket in _NICE_BUCKETS_S:
        if duration_s / bucket <= _MAX_POINTS:
            return bucket
    return float(math.ceil(duration_s / _MAX_POINTS))


def series(result: Any, bucket_s: float | None = None) -> dict[str, np.ndarray]:
    """``result.timeseries(bucket_s)``, computed once per result and bucket."""
    if bucket_s is None:
        bucket_s = bucket_for(result.scenario.load.duration_s)
    try:
        per_result = _SERIES_CACHE.setdefault(result, {})
    except TypeError:  # not weak-referenceable: just compute
        return result.timeseries(bucket_s)
    if bucket_s not in per_result:
        per_result[bucket_s] = result.timeseries(bucket_s)
    return per_result[bucket_s]


def fmt_ms(value: float) -> str:
    """Milliseconds for a title: ``351 ms``, ``1.2 s`` above ten seconds."""
    if not math.isfinite(value):
        return "n/a"
    return f"{value / 1000:.1f} s" if value >= 10_000 else f"{value:,.0f} ms"


def fmt_money(value: float) -> str:
    """Dollars with sensible precision: ``$4.20``, ``$0.0031``."""
    if value == 0:
        return "$0"
    return f"${value:,.2f}" if abs(value) >= 0.1 else f"${value:.2g}"


def fmt_pct(value: float, digits: int = 1) -> str:
    """A share as a percentage: ``99.2%``."""
    return f"{100 * value:.{digits}f}%"


def fmt_count(value: float) -> str:
    """A count with thousands separators."""
    return f"{int(round(value)):,}"
