"""How a panel is laid out and how its status line speaks.

Header: title, preset, seed, Run, Reset, "Pin as baseline", "Copy as code".
Status line: one sentence in a coloured box that says what the charts show
(a finished run and how long it took, a run in progress with a progress bar
and Cancel, a knob change waiting for Run, or why the knobs cannot run).
Body: the knob column (budgets first, then one accordion section per
component, whose title counts the knobs changed from their defaults) beside
a responsive grid of charts, one ``FigureWidget`` per view, with the
compare view below the grid at full width.
"""

from __future__ import annotations

import html
from types import SimpleNamespace
from typing import Any

import ipywidgets as widgets

from labkit.knobs import CATALOGUE
from labkit.sim import PRESETS
from labkit.sim.presets import PRESET_HELP
from labkit.ui.controls import control_row
from labkit.ui.figurewidget import LabFigureWidget
from labkit.ui.resize import ChartResizer, make_responsive
from labkit.ui.style import stylesheet
from labkit.viz import VIEWS, compare_figure
from labkit.viz.common import fmt_ms, fmt_pct

__all__ = ["build", "ensure_figures", "show_status", "show_stale", "show_progress",
           "hide_progress", "show_result", "group_titles"]

CUSTOM = "(custom)"
_CONTROLS_WIDTH = "450px"


def _button(label: str, tooltip: str, icon: str, style: str = "") -> widgets.Button:
    b = widgets.Button(description=label, tooltip=tooltip, icon=icon, button_style=style,
                       layout=widgets.Layout(width="auto"))
    b.add_class("labkit-button-" + label.lower().replace(" ", "-"))
    return b


def build(panel: Any, title: str) -> SimpleNamespace:
    """Every widget of a panel, wired to its actions."""
    ui = SimpleNamespace()
    ui.preset = widgets.Dropdown(
        options=[CUSTOM] + list(PRESETS), value=panel.preset or CUSTOM, description="preset",
        tooltip="Named starting points: " + "; ".join(f"{k}: {v}" for k, v in PRESET_HELP.items()),
        style={"description_width": "48px"}, layout=widgets.Layout(width="250px"))
    ui.preset.add_class("labkit-preset")
    ui.seed = widgets.BoundedIntText(value=1, min=0, max=2**31 - 1, description="seed",
                                     tooltip="One seed = one draw of the traffic and service "
                                     "times; the same seed makes runs comparable.",
                                     style={"description_width": "36px"},
                                     layout=widgets.Layout(width="130px"))
    ui.seed.add_class("labkit-seed")
    ui.run = _button("Run", "Run the simulation with these knobs", "play", "primary")
    ui.reset = _button("Reset", "Back to the knobs this panel started with", "undo")
    ui.pin = _button("Pin as baseline", "Keep this run; the compare view shows it next to "
                     "the next change", "thumb-tack")
    ui.code_toggle = widgets.ToggleButton(description="Copy as code", icon="code",
                                          tooltip="Show the Python that reproduces this run",
                                          layout=widgets.Layout(width="auto"))
    ui.code_toggle.add_class("labkit-button-copy-as-code")
    header = widgets.HBox([widgets.HTML(f"<span class='labkit-title'>{html.escape(title)}"
                                        "</span>"),
                           ui.preset, ui.seed, ui.run, ui.reset, ui.pin, ui.code_toggle])
    header.add_class("labkit-header")
    ui.status = widgets.HTML("<div class='labkit-state'>starting…</div>",
                             layout=widgets.Layout(flex="1 1 auto"))
    ui.status.add_class("labkit-status")
    ui.progress = widgets.FloatProgress(value=0.0, min=0.0, max=1.0,
                                        layout=widgets.Layout(width="200px"))
    ui.cancel = _button("Cancel", "Stop the run in progress", "stop", "danger")
    ui.progress_box = widgets.HBox([ui.progress, ui.cancel],
                                   layout=widgets.Layout(display="none", align_items="center"))
    ui.code = widgets.HTML("", layout=widgets.Layout(display="none"))
    ui.code.add_class("labkit-code")

    ui.sections: dict[str, list[str]] = {}
    for name in panel.controls:
        group = CATALOGUE[name].group
        if panel.budgets is None or name not in panel.budgets.controls:
            ui.sections.setdefault(group, []).append(name)
    ui.accordion = widgets.Accordion(children=[
        widgets.VBox([control_row(CATALOGUE[n], panel.controls[n]) for n in names])
        for names in ui.sections.values()])
    ui.accordion.add_class("labkit-accordion")
    column = ([panel.budgets.widget] if panel.budgets is not None else []) + [ui.accordion]
    ui.controls = widgets.VBox(column, layout=widgets.Layout(
        width=_CONTROLS_WIDTH, min_width=_CONTROLS_WIDTH, max_height="1400px"))
    ui.controls.add_class("labkit-controls")
    ui.charts = widgets.GridBox([], layout=widgets.Layout(
        grid_template_columns="repeat(auto-fit, minmax(460px, 1fr))", flex="1 1 auto",
        width="100%"))
    ui.charts.add_class("labkit-charts")
    ui.wide = widgets.VBox([], layout=widgets.Layout(width="100%", margin="10px 0 0 0"))
    ui.wide.add_class("labkit-wide-charts")
    body = widgets.HBox([ui.controls, widgets.VBox([ui.charts, ui.wide], layout=widgets.Layout(
        flex="1 1 auto", min_width="0"))], layout=widgets.Layout(align_items="flex-start",
                                                                width="100%"))
    ui.root = widgets.VBox([stylesheet(), ChartResizer(), header, widgets.HBox([ui.status, ui.progress_box]),
                            ui.code, body])
    ui.root.add_class("labkit-panel")
    panel.ui = ui
    _wire(panel, ui)
    group_titles(panel)
    return ui


def _wire(panel: Any, ui: SimpleNamespace) -> None:
    def on_preset(change: dict) -> None:
        if not panel._bulk and change["new"] != CUSTOM:
            panel.apply_preset(change["new"])

    ui.preset.observe(on_preset, names="value")
    ui.seed.observe(lambda change: panel._bulk or panel.run(reason="knob"), names="value")
    ui.run.on_click(lambda _: panel.run(reason="button"))
    ui.reset.on_click(lambda _: panel.reset())
    ui.pin.on_click(lambda _: panel.pin_baseline())
    ui.cancel.on_click(lambda _: panel.cancel())
    ui.code_toggle.observe(lambda change: _show_code(panel), names="value")


def _show_code(panel: Any) -> None:
    ui = panel.ui
    if not ui.code_toggle.value:
        ui.code.layout.display = "none"
        return
    try:
        code = html.escape(panel.code)
    except Exception as exc:  # a contradictory knob set: say why instead of code
        code = html.escape(f"# cannot write code for these knobs: {exc}")
    ui.code.value = (f"<pre>{code}</pre><span class='labkit-muted'>Select the code (one click "
                     "selects it all) and copy it into a cell.</span>")
    ui.code.layout.display = None


def group_titles(panel: Any) -> None:
    """Accordion titles: the component, and how many of its knobs differ from defaults."""
    values = panel.knob_values()
    titles = []
    for group, names in panel.ui.sections.items():
        changed = sum(values[n] != CATALOGUE[n].default for n in names)
        titles.append(f"{group} · {changed} changed" if changed else group)
    panel.ui.accordion.titles = tuple(titles)


def ensure_figures(panel: Any, result: Any) -> bool:
    """Build the chart widgets from the first result; True if they were built just now."""
    if panel.figures:
        return False
    for name in panel.views:
        fig = (compare_figure(panel.baseline, result) if name == "compare"
               else VIEWS[name].build(result))
        widget = make_responsive(LabFigureWidget(fig))
        widget.add_class("labkit-view")
        widget.add_class(f"labkit-view-{name}")
        panel.figures[name] = widget
    cells, wide = [], []
    for name, widget in panel.figures.items():
        box = widgets.Box([widget], layout=widgets.Layout(min_width="0", width="100%"))
        box.add_class("labkit-view-cell")
        (wide if name == "compare" else cells).append(box)
    panel.ui.charts.children = cells
    panel.ui.wide.children = wide
    return True


def show_status(panel: Any, state: str, message: str) -> None:
    """One sentence in the status line; ``state`` is ok, running, stale or error."""
    icon = {"ok": "✓", "running": "⏳", "stale": "●", "error": "⚠"}.get(state, "")
    panel.ui.status.value = (f"<div class='labkit-state {state}' data-state='{state}'>{icon} "
                             f"{html.escape(message)}</div>")
    panel.ui.run.button_style = "warning" if state == "stale" else "primary"


def show_stale(panel: Any, estimate_s: float) -> None:
    group_titles(panel)
    reason = (f"this run would take about {estimate_s:.0f} s" if panel.auto
              else "automatic runs are off")
    show_status(panel, "stale", f"Knobs changed: {reason}; press Run. The charts still "
                "show the previous run.")


def show_progress(panel: Any, job: Any) -> None:
    ui = panel.ui
    ui.progress_box.layout.display = None
    estimate = max(job.estimate_s, 1e-3)
    ui.progress.value = min(0.95, job.elapsed_s / estimate)
    show_status(panel, "running", f"Simulating in a worker process: {job.elapsed_s:.1f} s of "
                f"about {estimate:.0f} s. The notebook stays usable; Cancel stops the run.")


def hide_progress(panel: Any) -> None:
    panel.ui.progress_box.layout.display = "none"


def show_result(panel: Any, result: Any, elapsed_s: float, cached: bool) -> None:
    group_titles(panel)
    s = result.summary
    how = "from the cache" if cached else f"in {fmt_ms(1000 * elapsed_s)}"
    budgets = [b for b in s["budgets"].values() if b.get("judged", True)]
    broken = sum(not b["pass"] for b in budgets)
    verdict = (f"{broken} of {len(budgets)} budgets broken" if broken else
               f"all {len(budgets)} budgets hold" if budgets else "no budgets judged")
    show_status(panel, "ok", f"{s['requests']:,} requests simulated {how} (seed "
                f"{result.seed}) · p95 {fmt_ms(s['latency_ms']['p95'])} · "
                f"{fmt_pct(s['success_rate'])} answered · {verdict}")
    if panel.ui.code_toggle.value:
        _show_code(panel)
