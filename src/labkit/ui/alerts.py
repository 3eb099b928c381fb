"""The alert-rule panel: turn a rule's knobs and watch it fire, and where it sits on the frontier.

An alert rule trades time to detect against false pages.  The panel makes
the trade visible on one service's error ratio, minute by minute for a week
(:class:`labkit.monitor.sli.SliSeries`, with real outages and benign burns
injected): three knobs (the rule's kind, its threshold in multiples of the
error budget, its window) and two charts.  The first shows the rule's signal,
its threshold and where it fires over the injected burns; the second places
every rule of a sweep by its mean minutes to detect the outages and its
false pages a week, draws the frontier of rules no other rule beats on both,
and marks the current rule with a star.

Like every panel it is a controller (:class:`AlertPanel`: the series, the
rule, its verdict and the sweep, computed by :mod:`labkit.monitor.sli`) over
a view (:class:`AlertPanelView`: the widgets).  Judging a rule takes a few
milliseconds, so each knob re-judges when it is released; the figures are
updated in place.  The sweep is computed once, when the panel is built.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go

from labkit.errors import LabkitError
from labkit.monitor.sli import RULE_KINDS, SliRule, SliSeries, judge_firing, sweep_rules
from labkit.ui.figurewidget import LabFigureWidget
from labkit.ui.resize import ChartResizer
from labkit.ui.style import stylesheet
from labkit.viz.monitor import frontier_figure, sli_figure, update_frontier, update_sli_figure

__all__ = ["AlertPanel", "AlertPanelView", "SWEEP_THRESHOLDS", "SWEEP_WINDOWS_MIN"]

#: The rules the frontier sweeps: every kind with these thresholds (x budget) and windows.
SWEEP_THRESHOLDS = (1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 10.0, 14.4, 20.0, 30.0)
SWEEP_WINDOWS_MIN = (5, 10, 15, 30, 60, 120, 240, 360)


class AlertPanelView:
    """The widgets: three knobs, a status line, the series chart and the frontier chart."""

    def __init__(self, *, kind: str, threshold: float, window_min: int,
                 windows: Sequence[int], title: str, on_change: Callable[[], None]):
        self.kind = widgets.Dropdown(options=RULE_KINDS, value=kind, description="kind",
                                     style={"description_width": "70px"})
        self.threshold = widgets.BoundedFloatText(
            value=threshold, min=0.1, max=1000.0, step=0.1, description="threshold",
            tooltip="in multiples of the error budget (burn rate)",
            style={"description_width": "70px"}, layout=widgets.Layout(width="200px"))
        options = sorted({*windows, int(window_min)})
        self.window = widgets.SelectionSlider(
            options=options, value=int(window_min), description="window (min)",
            continuous_update=False, style={"description_width": "90px"})
        for w in (self.kind, self.threshold, self.window):
            w.observe(lambda change: on_change(), names="value")
        self.status = widgets.HTML("")
        self.status.add_class("labkit-state")
        self.title = widgets.HTML(f"<span class='labkit-title'>{html.escape(title)}</span>")
        self.charts = widgets.HBox([], layout=widgets.Layout(width="100%"))
        self.root = widgets.VBox([stylesheet(), ChartResizer(), self.title,
                                  widgets.HBox([self.kind, self.threshold, self.window]),
                                  self.status, self.charts])
        self.root.add_class("labkit-panel")
        self.figures: dict[str, go.FigureWidget] = {}

    def values(self) -> tuple[str, float, int]:
        return str(self.kind.value), float(self.threshold.value), int(self.window.value)

    def show_figures(self, figures: dict[str, go.Figure]) -> None:
        cells = []
        for name, fig in figures.items():
            widget = LabFigureWidget(fig, classes=("labkit-view", f"labkit-view-{name}"),
                                     responsive=True)
            self.figures[name] = widget
            box = widgets.Box([widget], layout=widgets.Layout(min_width="0", width="50%"))
            box.add_class("labkit-view-cell")
            cells.append(box)
        self.charts.children = cells

    def show_status(self, text: str, *, error: bool = False) -> None:
        state = "error" if error else "ok"
        self.status.value = (f"<div class='labkit-state labkit-state-{state}'>"
                             f"{html.escape(text)}</div>")


class AlertPanel:
    """A live alert rule on ``series``: ``.rule``, ``.verdict`` (pages, false pages a week,
    minutes to detect each outage), ``.sweep`` (the frontier's rules) and ``.figures``."""

    def __init__(self, series: SliSeries, *, kind: str = "static threshold",
                 threshold: float = 2.0, window_min: int = 30,
                 thresholds: Sequence[float] = SWEEP_THRESHOLDS,
                 windows_min: Sequence[int] = SWEEP_WINDOWS_MIN,
                 title: str = "Alert rule: when it fires, and what it costs"):
        if not isinstance(series, SliSeries):
            raise LabkitError(f"AlertPanel needs an SliSeries (labkit.monitor.sli), got "
                              f"{type(series).__name__}")
        self.series = series
        self.rule = SliRule(kind=kind, threshold=threshold, window_min=window_min)
        self.sweep = sweep_rules(series, thresholds=thresholds, windows_min=windows_min)
        self.verdict = self._judge(self.rule)
        self.view = AlertPanelView(kind=kind, threshold=float(threshold),
                                   window_min=int(window_min), windows=windows_min, title=title,
                                   on_change=self._changed)
        self.view.show_figures({"sli": sli_figure(series, self.rule),
                                "frontier": frontier_figure(self.sweep, self.current)})
        self._show_verdict()

    @property
    def figures(self) -> dict[str, go.FigureWidget]:
        return self.view.figures

    @property
    def widget(self) -> widgets.Widget:
        return self.view.root

    @property
    def current(self) -> dict[str, Any]:
        """The current rule as a row of the sweep."""
        found = self.verdict["detect_min"]
        mean = None if not found or None in found else sum(found) / len(found)
        return {"kind": self.rule.kind, "threshold": self.rule.threshold,
                "window_min": self.rule.window_min, "detect_min": mean,
                "false_per_week": self.verdict["false_per_week"], "pages": self.verdict["pages"]}

    def set(self, *, kind: str | None = None, threshold: float | None = None,
            window_min: int | None = None) -> None:
        """Set knobs from code (as the widgets do); the charts follow."""
        v = self.view
        with v.root.hold_trait_notifications():
            if kind is not None:
                v.kind.value = kind
            if threshold is not None:
                v.threshold.value = float(threshold)
            if window_min is not None:
                if int(window_min) not in v.window.options:
                    v.window.options = sorted({*v.window.options, int(window_min)})
                v.window.value = int(window_min)
        self._changed()

    def _judge(self, rule: SliRule) -> dict[str, Any]:
        return judge_firing(rule.firing(self.series), self.series.burns,
                            lookback_min=rule.lookback_min)

    def _changed(self) -> None:
        kind, threshold, window = self.view.values()
        try:
            rule = SliRule(kind=kind, threshold=threshold, window_min=window)
        except LabkitError as exc:
            self.view.show_status(str(exc), error=True)
            return
        if rule == self.rule:
            return
        self.rule, self.verdict = rule, self._judge(rule)
        update_sli_figure(self.figures["sli"], self.series, rule)
        update_frontier(self.figures["frontier"], self.current)
        self._show_verdict()

    def _show_verdict(self) -> None:
        v = self.verdict
        found = ", ".join("missed" if d is None else f"{d} min" for d in v["detect_min"])
        self.view.show_status(f"{self.rule.kind}, above {self.rule.threshold:g} over "
                              f"{self.rule.window_min} min: outages detected after {found}; "
                              f"{v['pages']} pages, {v['false_pages']} false "
                              f"({v['false_per_week']:.1f} a week)")

    def __repr__(self) -> str:
        return (f"<AlertPanel {self.rule.kind} above {self.rule.threshold:g} over "
                f"{self.rule.window_min} min: {self.verdict['false_per_week']:.1f} false pages "
                f"a week, detect {self.verdict['detect_min']}>")

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = self.view.root._repr_mimebundle_(**kwargs)
        if isinstance(bundle, dict):
            bundle["text/plain"] = repr(self)
        return bundle
