"""The panel's view: every widget of a panel, what it shows, and whom it tells.

:class:`PanelView` owns the widgets and nothing else: it never simulates and
keeps no runs.  The controller (:class:`labkit.ui.Panel`) hands it a
:class:`ViewHandlers` to call when the learner acts (a knob released, a
preset chosen, Run, Reset, Pin, Cancel), and calls its ``show_*`` methods
with what to display.  Values the controller writes into the controls never
call a handler back, so showing a preset runs it once, not once per knob.

Header: title, preset, seed, Run, Reset, "Pin as baseline", "Copy as code".
Status line: one sentence in a coloured box that says what the charts show
(a finished run and how long it took, a run in progress with a progress bar
and Cancel, a knob change waiting for Run, or why the knobs cannot run).
Body: the knob column (budgets first, then one accordion section per
component, whose title counts the knobs changed from their defaults) beside
a responsive grid of charts, one ``FigureWidget`` per view, with the
compare view below the grid at full width.  Token mode's views
(:data:`labkit.viz.TOKEN_VIEWS`: TTFT/TPOT, batch and KV, token cost) are
shown only while the result is a token-mode run (``llm.enabled``), and agent
mode's (:data:`labkit.viz.AGENT_VIEWS`: task outcomes, cost per task, from
:mod:`labkit.viz.agent`) only while it is an agent-mode run (``agent.enabled``):
each chart is built from the first run of its mode and hidden, not dropped,
when a run without that mode comes back.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go

from labkit.knobs import KnobError
from labkit.sim import PRESETS
from labkit.sim.presets import PRESET_HELP
from labkit.sim.scenario import CATALOGUE
from labkit.ui.budget import BUDGET_GROUP, BudgetPanel
from labkit.ui.controls import control_row, knob_widget, set_widget_value, widget_value
from labkit.ui.figurewidget import LabFigureWidget
from labkit.ui.resize import ChartResizer
from labkit.ui.style import stylesheet
from labkit.viz import AGENT_VIEWS, TOKEN_VIEWS, VIEWS, View, compare_figure, update_compare
from labkit.viz.common import fmt_ms, fmt_pct

__all__ = ["PanelView", "ViewHandlers", "CUSTOM", "run_summary", "MODE_VIEWS"]

#: The views a mode brings, and the ``Result`` field a run of that mode fills (None otherwise).
MODE_VIEWS: tuple[tuple[str, dict[str, View]], ...] = (("tokens", TOKEN_VIEWS),
                                                       ("tasks", AGENT_VIEWS))

#: What the preset menu shows when the knobs match no preset.
CUSTOM = "(custom)"
_CONTROLS_WIDTH = "450px"
_ICONS = {"ok": "✓", "running": "⏳", "stale": "●", "error": "⚠"}


@dataclass(frozen=True, kw_only=True)
class ViewHandlers:
    """What a :class:`PanelView` calls when the learner acts; the controller supplies them."""

    knob: Callable[[str], None]      #: a knob or budget control was released (its name)
    seed: Callable[[], None]         #: the seed changed
    preset: Callable[[str], None]    #: a preset was chosen (its name)
    run: Callable[[], None]          #: Run was pressed
    reset: Callable[[], None]        #: Reset was pressed
    pin: Callable[[], None]          #: "Pin as baseline" was pressed
    cancel: Callable[[], None]       #: Cancel was pressed
    code: Callable[[], str]          #: the Python that reproduces the run, for "Copy as code"


def run_summary(result: Any, how: str = "") -> str:
    """One line about a finished run: requests, ``how`` it was simulated, seed, p95, share
    answered and the budget verdict."""
    s = result.summary
    budgets = [b for b in s["budgets"].values() if b.get("judged", True)]
    broken = sum(not b["pass"] for b in budgets)
    verdict = (f"{broken} of {len(budgets)} budgets broken" if broken else
               f"all {len(budgets)} budgets hold" if budgets else "no budgets judged")
    how = f" {how}" if how else ""
    return (f"{s['requests']:,} requests simulated{how} (seed {result.seed}) · p95 "
            f"{fmt_ms(s['latency_ms']['p95'])} · {fmt_pct(s['success_rate'])} answered · "
            f"{verdict}")


def _button(label: str, tooltip: str, icon: str, style: str = "") -> widgets.Button:
    b = widgets.Button(description=label, tooltip=tooltip, icon=icon, button_style=style,
                       layout=widgets.Layout(width="auto"))
    b.add_class("labkit-button-" + label.lower().replace(" ", "-"))
    return b


class PanelView:
    """The widgets of one panel: knob controls, header, status line and charts."""

    def __init__(self, *, shown: Sequence[str], values: Mapping[str, Any],
                 views: Sequence[str], preset: str | None, seed: int, title: str,
                 handlers: ViewHandlers):
        self._handlers = handlers
        self._quiet = False
        self._views = list(views)
        self._build_header(preset, seed, title)
        self._build_controls(shown, values)
        self._figures: dict[str, go.FigureWidget] = {}
        self._cells: dict[str, widgets.Box] = {}
        self.charts = widgets.GridBox([], layout=widgets.Layout(
            grid_template_columns="repeat(auto-fit, minmax(460px, 1fr))", flex="1 1 auto",
            width="100%"))
        self.charts.add_class("labkit-charts")
        self.wide = widgets.VBox([], layout=widgets.Layout(width="100%", margin="10px 0 0 0"))
        self.wide.add_class("labkit-wide-charts")
        body = widgets.HBox([self.controls_box, widgets.VBox(
            [self.charts, self.wide], layout=widgets.Layout(flex="1 1 auto", min_width="0"))],
            layout=widgets.Layout(align_items="flex-start", width="100%"))
        self.root = widgets.VBox([stylesheet(), ChartResizer(), self.header,
                                  widgets.HBox([self.status, self.progress_box]), self.code,
                                  body])
        self.root.add_class("labkit-panel")
        self._wire()
        self._group_titles()

    # ------------------------------------------------------------ building
    def _build_header(self, preset: str | None, seed: int, title: str) -> None:
        self.preset = widgets.Dropdown(
            options=[CUSTOM, *PRESETS], value=preset or CUSTOM, description="preset",
            tooltip="Named starting points: " + "; ".join(f"{k}: {v}"
                                                          for k, v in PRESET_HELP.items()),
            style={"description_width": "48px"}, layout=widgets.Layout(width="250px"))
        self.preset.add_class("labkit-preset")
        self.seed = widgets.BoundedIntText(
            value=seed, min=0, max=2**31 - 1, description="seed",
            tooltip="One seed = one draw of the traffic and service times; the same seed "
                    "makes runs comparable.",
            style={"description_width": "36px"}, layout=widgets.Layout(width="130px"))
        self.seed.add_class("labkit-seed")
        self.run = _button("Run", "Run the simulation with these knobs", "play", "primary")
        self.reset = _button("Reset", "Back to the knobs this panel started with", "undo")
        self.pin = _button("Pin as baseline", "Keep this run; the compare view shows it next "
                           "to the next change", "thumb-tack")
        self.code_toggle = widgets.ToggleButton(
            description="Copy as code", icon="code", layout=widgets.Layout(width="auto"),
            tooltip="Show the Python that reproduces this run")
        self.code_toggle.add_class("labkit-button-copy-as-code")
        self.header = widgets.HBox([
            widgets.HTML(f"<span class='labkit-title'>{html.escape(title)}</span>"),
            self.preset, self.seed, self.run, self.reset, self.pin, self.code_toggle])
        self.header.add_class("labkit-header")
        self.status = widgets.HTML("<div class='labkit-state'>starting…</div>",
                                   layout=widgets.Layout(flex="1 1 auto"))
        self.status.add_class("labkit-status")
        self.progress = widgets.FloatProgress(value=0.0, min=0.0, max=1.0,
                                              layout=widgets.Layout(width="200px"))
        self.cancel = _button("Cancel", "Stop the run in progress", "stop", "danger")
        self.progress_box = widgets.HBox([self.progress, self.cancel], layout=widgets.Layout(
            display="none", align_items="center"))
        self.code = widgets.HTML("", layout=widgets.Layout(display="none"))
        self.code.add_class("labkit-code")

    def _build_controls(self, shown: Sequence[str], values: Mapping[str, Any]) -> None:
        self._controls: dict[str, widgets.ValueWidget] = {}
        self._sections: dict[str, list[str]] = {}
        budget_names = [n for n in shown if CATALOGUE[n].group == BUDGET_GROUP]
        for name in shown:
            if name in budget_names:
                continue
            w = knob_widget(CATALOGUE[name], values[name])
            w.observe(lambda change, n=name: self._knob_changed(n), names="value")
            self._controls[name] = w
            self._sections.setdefault(CATALOGUE[name].group, []).append(name)
        self.budgets = (BudgetPanel(budgets=budget_names, values=dict(values),
                                    on_change=self._knob_changed) if budget_names else None)
        if self.budgets is not None:
            self._controls.update(self.budgets.controls)
        self.accordion = widgets.Accordion(children=[
            widgets.VBox([control_row(CATALOGUE[n], self._controls[n]) for n in names])
            for names in self._sections.values()])
        self.accordion.add_class("labkit-accordion")
        column = ([self.budgets.widget] if self.budgets is not None else []) + [self.accordion]
        self.controls_box = widgets.VBox(column, layout=widgets.Layout(
            width=_CONTROLS_WIDTH, min_width=_CONTROLS_WIDTH, max_height="1400px"))
        self.controls_box.add_class("labkit-controls")

    def _wire(self) -> None:
        h = self._handlers

        def on_preset(change: dict) -> None:
            if not self._quiet and change["new"] != CUSTOM:
                h.preset(change["new"])

        self.preset.observe(on_preset, names="value")
        def on_seed(change: dict[str, Any]) -> None:
            if not self._quiet:
                h.seed()

        self.seed.observe(on_seed, names="value")
        self.run.on_click(lambda _: h.run())
        self.reset.on_click(lambda _: h.reset())
        self.pin.on_click(lambda _: h.pin())
        self.cancel.on_click(lambda _: h.cancel())
        self.code_toggle.observe(lambda change: self._show_code(), names="value")

    def _knob_changed(self, name: str) -> None:
        if self._quiet:
            return
        if self.preset.value != CUSTOM:   # a knob turned by hand: no preset any more
            with self._quietly():
                self.preset.value = CUSTOM
        self._handlers.knob(name)

    @contextmanager
    def _quietly(self) -> Iterator[None]:
        """Write into widgets without calling any handler back."""
        quiet, self._quiet = self._quiet, True
        try:
            yield
        finally:
            self._quiet = quiet

    # ------------------------------------------------------------ reading
    @property
    def controls(self) -> Mapping[str, widgets.ValueWidget]:
        """The control of every shown knob, budgets included, by knob name (read-only)."""
        return MappingProxyType(self._controls)

    @property
    def figures(self) -> Mapping[str, go.FigureWidget]:
        """The chart of every view, once the first run has been shown (read-only)."""
        return MappingProxyType(self._figures)

    @property
    def seed_value(self) -> int:
        return int(self.seed.value)

    def knob_values(self) -> dict[str, Any]:
        """The value every control shows, by knob name."""
        return {name: widget_value(CATALOGUE[name], w) for name, w in self._controls.items()}

    # ------------------------------------------------------------ writing
    def show_values(self, values: Mapping[str, Any], *, preset: str | None) -> None:
        """Show ``values`` in every control and ``preset`` in the menu; calls no handler."""
        with self._quietly():
            for name, w in self._controls.items():
                set_widget_value(CATALOGUE[name], w, values[name])
            self.preset.value = preset if preset in PRESETS else CUSTOM

    def set_values(self, values: Mapping[str, Any]) -> None:
        """Show some knob values (each must have a control here); calls no handler."""
        for name, value in values.items():
            CATALOGUE.get_knob(name).check(value)   # every value first: all or nothing
            if name not in self._controls:
                raise KnobError(f"{name} has no control in this panel (fixed or not shown)")
        with self._quietly():
            for name, value in values.items():
                set_widget_value(CATALOGUE[name], self._controls[name], value)
            self.preset.value = CUSTOM

    def show_status(self, state: str, message: str) -> None:
        """One sentence in the status line; ``state`` is ok, running, stale or error."""
        self.status.value = (f"<div class='labkit-state {state}' data-state='{state}'>"
                             f"{_ICONS.get(state, '')} {html.escape(message)}</div>")
        self.run.button_style = "warning" if state == "stale" else "primary"

    def show_stale(self, *, estimate_s: float, auto: bool) -> None:
        """Knobs changed but no run followed (too slow to run on release, or auto is off)."""
        self._group_titles()
        reason = (f"this run would take about {estimate_s:.0f} s" if auto
                  else "automatic runs are off")
        self.show_status("stale", f"Knobs changed: {reason}; press Run. The charts still "
                         "show the previous run.")

    def show_progress(self, *, elapsed_s: float, estimate_s: float) -> None:
        """A run in a worker process: the progress bar and Cancel."""
        self.progress_box.layout.display = None
        estimate = max(estimate_s, 1e-3)
        self.progress.value = min(0.95, elapsed_s / estimate)
        self.show_status("running", f"Simulating in a worker process: {elapsed_s:.1f} s of "
                         f"about {estimate:.0f} s. The notebook stays usable; Cancel stops "
                         "the run.")

    def hide_progress(self) -> None:
        self.progress_box.layout.display = "none"

    def show_result(self, result: Any, *, baseline: Any, elapsed_s: float,
                    cached: bool) -> None:
        """Pour a finished run into every chart (built from the first run), the budget
        verdicts and the status line."""
        if not self._cells:
            self._build_figures(result, baseline)
        else:
            for name, fig in self._figures.items():
                if name in VIEWS:
                    VIEWS[name].update(fig, result)
            self._show_mode_views(result)
            self.show_baseline(baseline, result)
        if self.budgets is not None:
            self.budgets.show(result)
        self._group_titles()
        how = "from the cache" if cached else f"in {fmt_ms(1000 * elapsed_s)}"
        self.show_status("ok", run_summary(result, how))
        if self.code_toggle.value:
            self._show_code()

    def show_baseline(self, baseline: Any, result: Any) -> None:
        """The compare view: ``baseline`` (None: none pinned) against ``result``."""
        fig = self._figures.get("compare")
        if fig is not None and result is not None:
            update_compare(fig, baseline, result)

    # ------------------------------------------------------------ helpers
    def _build_figures(self, result: Any, baseline: Any) -> None:
        cells: list[widgets.Widget] = []
        wide: list[widgets.Widget] = []
        for name in self._views:
            box = widgets.Box([], layout=widgets.Layout(min_width="0", width="100%"))
            box.add_class("labkit-view-cell")
            self._cells[name] = box
            (wide if name == "compare" else cells).append(box)
            if any(name in views for _, views in MODE_VIEWS):
                continue   # built by _show_mode_views from the first run of its mode
            fig = (compare_figure(baseline, result) if name == "compare"
                   else VIEWS[name].build(result))
            box.children = [self._figure_widget(name, fig)]
        self.charts.children = cells
        self.wide.children = wide
        self._show_mode_views(result)

    def _figure_widget(self, name: str, fig: go.Figure) -> go.FigureWidget:
        widget = LabFigureWidget(fig, classes=("labkit-view", f"labkit-view-{name}"),
                                 responsive=True)
        self._figures[name] = widget
        return widget

    def _show_mode_views(self, result: Any) -> None:
        """Token and agent views: update (or build) them for a run of their mode, hide them
        otherwise."""
        for field, views in MODE_VIEWS:
            on = getattr(result, field, None) is not None
            for name, box in self._cells.items():
                if name not in views:
                    continue
                if on:
                    fig = self._figures.get(name)
                    if fig is None:
                        box.children = [self._figure_widget(name, views[name].build(result))]
                    else:
                        views[name].update(fig, result)
                box.layout.display = None if on else "none"

    def shown_views(self) -> list[str]:
        """The views whose chart is on screen now (token and agent views only after a run of
        their mode)."""
        return [name for name, box in self._cells.items()
                if box.layout.display != "none" and box.children]

    def _group_titles(self) -> None:
        """Accordion titles: the component, and how many of its knobs differ from defaults."""
        titles = []
        for group, names in self._sections.items():
            changed = sum(widget_value(CATALOGUE[n], self._controls[n]) != CATALOGUE[n].default
                          for n in names)
            titles.append(f"{group} · {changed} changed" if changed else group)
        self.accordion.titles = tuple(titles)

    def _show_code(self) -> None:
        if not self.code_toggle.value:
            self.code.layout.display = "none"
            return
        try:
            code = html.escape(self._handlers.code())
        except Exception as exc:  # a contradictory knob set: say why instead of code
            code = html.escape(f"# cannot write code for these knobs: {exc}")
        self.code.value = (f"<pre>{code}</pre><span class='labkit-muted'>Select the code (one "
                           "click selects it all) and copy it into a cell.</span>")
        self.code.layout.display = None
