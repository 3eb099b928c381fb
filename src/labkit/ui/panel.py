"""The panel: budget knobs on the left, live charts on the right.

``Panel()`` builds a control for every knob in the catalogue, grouped by
component, and one chart per view; ``Panel(knobs=[...], fixed={...})``
shows only what a lab teaches and pins the rest.  Starting values are the
catalogue defaults, then ``preset``, then ``base``, then ``fixed``; a knob
that is both listed in ``knobs`` and given in ``fixed`` is shown and starts
at that value (the learner may change it).  Releasing a knob runs the
simulation (when the run is quick; otherwise the Run button asks for it and
the run goes to a worker process with a progress bar), and every chart is
updated in place.  The header holds presets, the seed, Run, Reset,
"Pin as baseline" (the compare view then shows both runs) and "Copy as
code".  ``panel.scenario``, ``panel.result`` and ``panel.baseline`` are there
for the next cell.  A knob combination the simulator refuses is shown as a
message in the panel, never as a traceback.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go

from labkit.knobs import CATALOGUE, KnobError
from labkit.sim import PRESETS, Scenario
from labkit.ui import layout as ui_layout
from labkit.ui.budget import BUDGET_GROUP, BudgetPanel
from labkit.ui.codegen import scenario_code
from labkit.ui.controls import control_row, knob_widget, set_widget_value, widget_value
from labkit.ui.runner import Job, Runner
from labkit.viz import ALL_VIEWS, VIEWS, compare_figure, update_compare

__all__ = ["Panel", "resolve_knobs"]

CUSTOM = "(custom)"


def resolve_knobs(entries: Iterable[str] | None, fixed: Mapping[str, Any]) -> list[str]:
    """Knob names to show: full names, ``group.*`` or a group name.

    Groups (and ``None``, meaning every knob) leave out the fixed knobs; a
    knob named explicitly is shown even when it also has a fixed value.
    """
    if entries is None:
        return [name for name in CATALOGUE if name not in fixed]
    groups = CATALOGUE.groups()
    names: list[str] = []
    for entry in entries:
        group = entry[:-2] if entry.endswith(".*") else entry if "." not in entry else None
        if group is not None:
            if group not in groups:
                raise KnobError(f"unknown knob group {group!r}; groups: {', '.join(groups)}")
            expanded = [k.name for k in groups[group] if k.name not in fixed]
        else:
            expanded = [CATALOGUE.get_knob(entry).name]
        names += [n for n in expanded if n not in names]
    order = {name: i for i, name in enumerate(CATALOGUE)}
    return sorted(names, key=order.__getitem__)


class Panel:
    """Knob controls, a budget section and live charts for one scenario."""

    def __init__(self, knobs: Sequence[str] | None = None, fixed: Mapping[str, Any] | None = None,
                 preset: str | None = None, seed: int = 1, views: Sequence[str] | None = None,
                 auto: bool = True, *, base: Mapping[str, Any] | Scenario | None = None,
                 title: str = "labkit", runner: Runner | None = None):
        if preset is not None and preset not in PRESETS:
            raise KnobError(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}")
        self.fixed = CATALOGUE.validate(dict(fixed or {}))
        if isinstance(base, Scenario):
            base = base.diff()
        self.base = CATALOGUE.validate(dict(base or {}))
        self.preset = self._initial_preset = preset
        self._initial = self._base_values(preset)
        Scenario.from_knobs(self._initial)  # a bad fixed/preset combination fails here, loudly
        self.views = list(ALL_VIEWS if views is None else views)
        for view in self.views:
            if view not in ALL_VIEWS:
                raise KnobError(f"unknown view {view!r}; views: {', '.join(ALL_VIEWS)}")
        self.auto = auto
        self.runner = runner or Runner()
        self.result: Any = None
        self.baseline: Any = None
        self.error: str | None = None
        self.job: Job | None = None
        self.last_run_s: float | None = None
        self._bulk = False
        self._lock = threading.RLock()
        shown = resolve_knobs(knobs, self.fixed)
        self.controls: dict[str, widgets.ValueWidget] = {}
        for name in shown:
            if CATALOGUE[name].group == BUDGET_GROUP:
                continue
            w = knob_widget(CATALOGUE[name], self._initial[name])
            w.observe(lambda change, n=name: self._on_knob(n), names="value")
            self.controls[name] = w
        budget_names = [n for n in shown if CATALOGUE[n].group == BUDGET_GROUP]
        self.budgets = BudgetPanel(budgets=budget_names, values=self._initial,
                                   on_change=self._on_knob) if budget_names else None
        if self.budgets is not None:
            self.controls.update(self.budgets.controls)
        self.figures: dict[str, go.FigureWidget] = {}
        self.ui = ui_layout.build(self, title)
        self.run(reason="start")

    # ------------------------------------------------------------ state
    def _base_values(self, preset: str | None) -> dict[str, Any]:
        values = CATALOGUE.defaults()
        if preset is not None:
            values.update(CATALOGUE.validate(dict(PRESETS[preset])))
        values.update(self.base)
        values.update(self.fixed)
        return values

    def knob_values(self) -> dict[str, Any]:
        """Every knob: fixed and preset values overridden by what the controls show."""
        values = self._base_values(self.preset)
        for name, w in self.controls.items():
            values[name] = widget_value(CATALOGUE[name], w)
        return values

    @property
    def widget(self) -> widgets.Widget:
        """The panel's root widget, to place it inside another layout."""
        return self.ui.root

    @property
    def seed(self) -> int:
        return int(self.ui.seed.value)

    @property
    def scenario(self) -> Scenario:
        """The scenario the controls describe (a KnobError if they contradict each other)."""
        return Scenario.from_knobs(self.knob_values())

    @property
    def code(self) -> str:
        """Python that reproduces the current scenario and seed."""
        return scenario_code(self.scenario, seed=self.seed)

    # ---------------------------------------------------------- actions
    def set(self, values: Mapping[str, Any]) -> None:
        """Set several knobs at once, then run once (as if released together)."""
        with self._batch():
            for name, value in values.items():
                knob = CATALOGUE.get_knob(name)
                if name not in self.controls:
                    raise KnobError(f"{name} has no control in this panel (fixed or not shown)")
                set_widget_value(knob, self.controls[name], value)
        self._on_knob(None)

    def apply_preset(self, name: str) -> None:
        """Show a named preset (``base`` and ``fixed`` values stay) and run it."""
        if name not in PRESETS:
            raise KnobError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
        self.preset = name
        self._show_values(self._base_values(name))

    def reset(self) -> None:
        """Back to the knobs the panel started with."""
        self.preset = self._initial_preset
        self._show_values(self._initial)

    def _show_values(self, values: Mapping[str, Any]) -> None:
        with self._batch():
            for name, w in self.controls.items():
                set_widget_value(CATALOGUE[name], w, values[name])
            self.ui.preset.value = self.preset if self.preset in PRESETS else CUSTOM
        self.run(reason="preset")

    def pin_baseline(self) -> None:
        """Keep the current result as the baseline the compare view shows."""
        if self.result is not None:
            self.baseline = self.result
            self._refresh_compare()
            ui_layout.show_status(self, "ok", "Pinned this run as the baseline; change a knob "
                                  "to compare.")

    def clear_baseline(self) -> None:
        self.baseline = None
        self._refresh_compare()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until a background run has finished; True when nothing is running."""
        job = self.job
        return True if job is None else job.wait(timeout_s)

    # -------------------------------------------------------------- runs
    class _Batch:
        def __init__(self, panel: Panel):
            self.panel = panel

        def __enter__(self) -> None:
            self.panel._bulk = True

        def __exit__(self, *exc: Any) -> None:
            self.panel._bulk = False

    def _batch(self) -> Panel._Batch:
        return Panel._Batch(self)

    def _on_knob(self, name: str | None) -> None:
        if self._bulk:
            return
        if name is not None and self.ui.preset.value != CUSTOM:
            self.preset = None
            with self._batch():
                self.ui.preset.value = CUSTOM
        self.run(reason="knob")

    def run(self, reason: str = "button") -> None:
        """Run the current scenario (from the cache, inline, or in a worker process)."""
        try:
            scenario = self.scenario
        except KnobError as exc:
            self._fail(f"This combination of knobs cannot run: {exc}")
            return
        seed = self.seed
        self._cancel_job()
        cached = self.runner.lookup(scenario, seed)
        if cached is not None:
            self._show(cached, 0.0, cached=True)
            return
        quick = self.runner.is_quick(scenario)
        if reason == "knob" and not (self.auto and quick):
            estimate = self.runner.estimate_s(scenario)
            ui_layout.show_stale(self, estimate)
            return
        if quick:
            started = time.perf_counter()
            try:
                result = self.runner.run_inline(scenario, seed)
            except KnobError as exc:
                self._fail(f"This combination of knobs cannot run: {exc}")
                return
            except Exception as exc:  # shown in the panel, never as a traceback
                self._fail(f"The simulation failed: {type(exc).__name__}: {exc}")
                return
            self._show(result, time.perf_counter() - started)
            return
        self.job = self.runner.run_background(scenario, seed, on_done=self._job_done,
                                              on_progress=lambda job: ui_layout.show_progress(
                                                  self, job))
        ui_layout.show_progress(self, self.job)

    def _cancel_job(self) -> None:
        job, self.job = self.job, None
        if job is not None and not job.finished.is_set():
            job.cancel()
        ui_layout.hide_progress(self)

    def cancel(self) -> None:
        """Stop a background run; the charts keep the last finished run."""
        self._cancel_job()
        ui_layout.show_status(self, "stale", "Run cancelled; the charts show the last "
                              "finished run. Press Run to try again.")

    def _job_done(self, job: Job) -> None:
        if job is not self.job:
            return
        self.job = None
        ui_layout.hide_progress(self)
        if job.error is not None:
            self._fail(f"The simulation failed: {job.error}")
        else:
            self._show(job.result, job.elapsed_s)

    def _fail(self, message: str) -> None:
        self.error = message
        ui_layout.show_status(self, "error", message)

    def _show(self, result: Any, elapsed_s: float, cached: bool = False) -> None:
        with self._lock:
            self.error = None
            self.result = result
            self.last_run_s = elapsed_s if not cached else self.last_run_s
            if not ui_layout.ensure_figures(self, result):  # new figures already show it
                for name, fig in self.figures.items():
                    if name in VIEWS:
                        VIEWS[name].update(fig, result)
                self._refresh_compare()
            if self.budgets is not None:
                self.budgets.show(result)
            ui_layout.show_result(self, result, elapsed_s, cached)

    def _refresh_compare(self) -> None:
        fig = self.figures.get("compare")
        if fig is not None and self.result is not None:
            update_compare(fig, self.baseline, self.result)

    def compare_figure(self) -> go.Figure:
        """A static copy of the compare view (baseline vs current)."""
        return compare_figure(self.baseline, self.result)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.ui.root._repr_mimebundle_(**kwargs)
