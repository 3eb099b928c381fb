"""The budget panel: set latency, cost, reliability and quality budgets, see which hold.

Budgets are the learner's promises: p95 and p99 latency, cost per 1,000
requests, the share of requests answered and a quality floor.  They do not
change how the simulated service behaves, only how a run is judged, so
turning a budget knob re-judges the same run instantly instead of
simulating again.  The panel shows one control per ``budget.*`` knob in the
catalogue (a new budget knob appears without code changes) and a line of
verdicts, green where a budget holds and vermillion where it is broken.

Inside a :class:`~labkit.ui.panel.Panel` it is the "Budgets" section; on its
own, ``BudgetPanel(result)`` re-judges a finished run and shows the
scorecard chart.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go

from labkit.knobs import KnobError
from labkit.sim.scenario import CATALOGUE
from labkit.ui.controls import knob_widget, set_widget_value, widget_value
from labkit.ui.figurewidget import LabFigureWidget
from labkit.ui.resize import ChartResizer
from labkit.ui.style import stylesheet
from labkit.viz.colors import FAIL_COLOR, NEUTRAL_COLOR, PASS_COLOR
from labkit.viz.scorecard import scorecard_figure, scorecard_rows, update_scorecard

__all__ = ["BudgetPanel", "BUDGET_GROUP", "verdict_html", "rejudge"]

BUDGET_GROUP = "budget"


def rejudge(result: Any, budgets: dict[str, Any]) -> Any:
    """``result`` judged against other budget values (same records, no new simulation)."""
    for name in budgets:
        if not name.startswith(BUDGET_GROUP + "."):
            raise KnobError(f"rejudge takes only {BUDGET_GROUP}.* knobs, got {name!r}")
    scenario = result.scenario.with_knobs(budgets)
    if scenario == result.scenario:
        return result
    return dataclasses.replace(result, scenario=scenario)


def verdict_html(result: Any | None) -> str:
    """One chip per budget: ``✓ p95 latency 299 ms ≤ 1,000 ms``, coloured by verdict."""
    if result is None:
        return "<div class='labkit-verdicts'><span class='labkit-muted'>no run yet</span></div>"
    chips = []
    for row in scorecard_rows(result):
        color = (PASS_COLOR if row["pass"] else FAIL_COLOR) if row["judged"] else NEUTRAL_COLOR
        mark = ("✓" if row["pass"] else "✗") if row["judged"] else "–"
        rule = f" {html.escape(row['rule'])}" if row["judged"] else " (not judged)"
        chips.append(
            f"<span class='labkit-chip' style='border-color:{color};color:{color}' "
            f"data-budget='{row['name']}' data-pass='{str(row['pass']).lower()}'>"
            f"<b>{mark}</b> {html.escape(row['label'])} {html.escape(row['actual'])}{rule}</span>")
    return "<div class='labkit-verdicts'>" + "".join(chips) + "</div>"


class BudgetPanel:
    """Budget knobs with a verdict line (and, on its own, a scorecard chart)."""

    def __init__(self, result: Any | None = None, *, budgets: Sequence[str] | None = None,
                 values: dict[str, Any] | None = None,
                 on_change: Callable[[str], None] | None = None,
                 scorecard: bool | None = None):
        names = list(budgets) if budgets is not None else [
            k.name for k in CATALOGUE.groups().get(BUDGET_GROUP, [])]
        for name in names:
            knob = CATALOGUE.get_knob(name)
            if knob.group != BUDGET_GROUP:
                raise KnobError(f"BudgetPanel shows {BUDGET_GROUP}.* knobs only, got {name!r}")
        start = dict(result.scenario.to_knobs()) if result is not None else {}
        start.update(values or {})
        self.source = result
        self.result = result
        self._on_change = on_change
        self.controls: dict[str, widgets.ValueWidget] = {}
        for name in names:
            knob = CATALOGUE[name]
            w = knob_widget(knob, start.get(name, knob.default))
            w.observe(lambda change, n=name: self._changed(n), names="value")
            self.controls[name] = w
        self.verdicts = widgets.HTML(verdict_html(result))
        self.verdicts.add_class("labkit-verdict-line")
        show_chart = (on_change is None) if scorecard is None else scorecard
        self.scorecard: go.FigureWidget | None = None
        if show_chart and result is not None:
            self.scorecard = LabFigureWidget(scorecard_figure(self.result), responsive=True,
                                             classes=("labkit-view-scorecard", "labkit-view"))
        children: list[widgets.Widget] = [
            widgets.HTML("<div class='labkit-section-title'>Budgets</div>"),
            *self.controls.values(), self.verdicts]
        self.widget = widgets.VBox(children)
        self.widget.add_class("labkit-budgets")
        if self.scorecard is not None:   # on its own: a small panel of its own
            chart = widgets.Box([self.scorecard], layout=widgets.Layout(
                flex="1 1 auto", min_width="0", width="100%"))
            chart.add_class("labkit-view-cell")
            column = widgets.VBox([self.widget], layout=widgets.Layout(
                width="450px", min_width="450px"))
            self.widget = widgets.VBox([stylesheet(), ChartResizer(), widgets.HBox(
                [column, chart], layout=widgets.Layout(width="100%", align_items="flex-start"))])
            self.widget.add_class("labkit-panel")

    def values(self) -> dict[str, Any]:
        """The budget knob values the controls hold."""
        return {name: widget_value(CATALOGUE[name], w) for name, w in self.controls.items()}

    def set_values(self, values: dict[str, Any]) -> None:
        """Show these budget values (unknown names are refused)."""
        for name, value in values.items():
            if name not in self.controls:
                raise KnobError(f"this budget panel has no control for {name!r}; it shows "
                                f"{', '.join(self.controls)}")
            set_widget_value(CATALOGUE[name], self.controls[name], value)

    def show(self, result: Any | None) -> None:
        """Show the verdicts (and scorecard) of ``result``."""
        self.result = result
        self.verdicts.value = verdict_html(result)
        if self.scorecard is not None and result is not None:
            update_scorecard(self.scorecard, result)

    def _changed(self, name: str) -> None:
        if self._on_change is not None:
            self._on_change(name)
            return
        if self.source is not None:
            self.show(rejudge(self.source, self.values()))

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)
