"""The panel: budget knobs on the left, live charts on the right.

``Panel()`` builds a control for every knob in the catalogue, grouped by
component, and one chart per view; ``Panel(["model.replicas", "cache"],
fixed={...})`` shows only what a lab teaches and pins the rest (a single
name, ``Panel("model.replicas")``, is one knob).  Starting values are the
catalogue defaults, then ``preset``, then ``base``, then ``fixed``; Reset
returns to them.  A knob both listed and given in ``fixed`` or ``base`` is
shown and starts at that value (the learner may change it).  The panel
simulates once as it is built; afterwards, releasing a knob runs the
simulation (when the run is quick; otherwise the Run button asks for it and
the run goes to a worker process with a progress bar), and every chart is
updated in place.  ``panel.scenario``, ``panel.result`` and
``panel.baseline`` are there for the next cell.  With ``llm.enabled`` on (token
mode), the panel also shows token mode's charts (TTFT and TPOT against their
budgets, running sequences and KV use, the token cost breakdown), and with
``agent.enabled`` on, agent mode's (task outcomes, cost per task against its
budget); they leave the screen again when a run without that mode comes back.  A knob combination the
simulator refuses is shown as a message in the panel, never as a traceback.

A panel is a controller and a view.  :class:`Panel`, the controller, owns the
scenario, the runs and their cache (a :class:`~labkit.ui.runner.Runner`);
:class:`~labkit.ui.view.PanelView` owns the widgets.  The view tells the
controller what the learner did through :class:`~labkit.ui.view.ViewHandlers`,
and the controller tells the view what to show through its ``show_*``
methods; neither touches the other's private attributes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go

from labkit.knobs import KnobError
from labkit.sim import PRESETS, Scenario
from labkit.sim.scenario import CATALOGUE
from labkit.ui.budget import BudgetPanel
from labkit.ui.codegen import scenario_code
from labkit.ui.runner import Job, Runner
from labkit.ui.view import PanelView, ViewHandlers, run_summary
from labkit.viz import AGENT_VIEWS, TOKEN_VIEWS, VIEWS, compare_figure

__all__ = ["Panel", "resolve_knobs", "PANEL_VIEWS"]

#: Every view a panel accepts, in the order a full panel shows them: the single-run views,
#: token mode's views (on screen only while the run is a token-mode one), agent mode's (only
#: while it is an agent-mode one), then ``compare``.
PANEL_VIEWS: tuple[str, ...] = (*VIEWS, *TOKEN_VIEWS, *AGENT_VIEWS, "compare")


def resolve_knobs(entries: str | Iterable[str] | None, fixed: Mapping[str, Any]) -> list[str]:
    """Knob names to show: full names, ``group.*`` or a group name; one name alone is one entry.

    Groups (and ``None``, meaning every knob) leave out the fixed knobs; a
    knob named explicitly is shown even when it also has a fixed value.

    >>> resolve_knobs("model.replicas", {})
    ['model.replicas']
    >>> resolve_knobs(["gateway"], {"gateway.deadline_ms": 500.0})[:2]
    ['gateway.rate_limit_rps', 'gateway.burst']
    """
    if entries is None:
        return [name for name in CATALOGUE if name not in fixed]
    if isinstance(entries, str):
        entries = [entries]
    elif not isinstance(entries, Iterable):
        raise KnobError(f"knobs must be a knob name, a group or a list of them, got {entries!r}")
    groups = CATALOGUE.groups()
    names: list[str] = []
    for entry in entries:
        if not isinstance(entry, str):
            raise KnobError(f"knobs must be knob names or groups (strings), got {entry!r}")
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
    """Knob controls, a budget section and live charts for one scenario.

    ``knobs`` (the only positional argument) names what to show: knob names, groups
    (``"cache"`` or ``"cache.*"``), one name alone, or ``None`` for every knob.
    Everything else is keyword-only: ``fixed`` (pinned, never shown by a group), ``base``
    (the starting point, a knob mapping or a :class:`~labkit.sim.Scenario`), ``preset``,
    ``seed``, ``views`` (charts, default all), ``auto`` (run when a knob is released),
    ``title`` and ``runner``.
    """

    def __init__(self, knobs: str | Sequence[str] | None = None, *,
                 fixed: Mapping[str, Any] | None = None,
                 base: Mapping[str, Any] | Scenario | None = None, preset: str | None = None,
                 seed: int = 1, views: Sequence[str] | None = None, auto: bool = True,
                 title: str = "labkit", runner: Runner | None = None):
        if preset is not None and preset not in PRESETS:
            raise KnobError(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise KnobError(f"seed must be a whole number >= 0, got {seed!r}")
        if isinstance(views, str):
            views = [views]
        self.views: list[str] = list(PANEL_VIEWS if views is None else views)
        for view in self.views:
            if view not in PANEL_VIEWS:
                raise KnobError(f"unknown view {view!r}; views: {', '.join(PANEL_VIEWS)}")
        self.fixed = CATALOGUE.validate(dict(fixed or {}))
        if isinstance(base, Scenario):
            base = base.diff()
        self.base = CATALOGUE.validate(dict(base or {}))
        self.preset = preset                  # the preset the knobs started from
        self._initial_preset = preset
        self._starts: dict[str | None, dict[str, Any]] = {}
        self._initial = self._start_values(preset)
        Scenario.from_knobs(self._initial)    # a bad fixed/base/preset combination fails here
        self.auto = auto
        self.runner = runner or Runner()
        self.result: Any = None
        self.baseline: Any = None
        self.error: str | None = None
        self.job: Job | None = None
        self.last_run_s: float | None = None
        self._lock = threading.RLock()
        self.view = PanelView(
            shown=resolve_knobs(knobs, self.fixed), values=self._initial, views=self.views,
            preset=preset, seed=seed, title=title,
            handlers=ViewHandlers(knob=self._on_knob, seed=lambda: self.run(reason="knob"),
                                  preset=self.apply_preset, run=self.run, reset=self.reset,
                                  pin=self.pin_baseline, cancel=self.cancel,
                                  code=lambda: self.code))
        self.run(reason="start")

    # ------------------------------------------------------------ state
    def _start_values(self, preset: str | None) -> dict[str, Any]:
        """Every knob before the controls: defaults, then the preset, ``base`` and ``fixed``."""
        if preset not in self._starts:
            values = CATALOGUE.defaults()
            if preset is not None:
                values.update(CATALOGUE.validate(dict(PRESETS[preset])))
            values.update(self.base)
            values.update(self.fixed)
            self._starts[preset] = values
        return dict(self._starts[preset])

    def knob_values(self) -> dict[str, Any]:
        """Every knob: the starting values overridden by what the controls show."""
        values = self._start_values(self.preset)
        values.update(self.view.knob_values())
        return values

    @property
    def controls(self) -> Mapping[str, widgets.ValueWidget]:
        """The control of every shown knob, by name (setting ``.value`` turns the knob)."""
        return self.view.controls

    @property
    def figures(self) -> Mapping[str, go.FigureWidget]:
        """The chart of every view, by name, updated in place after every run."""
        return self.view.figures

    @property
    def budgets(self) -> BudgetPanel | None:
        """The budget section, when the panel shows ``budget.*`` knobs."""
        return self.view.budgets

    @property
    def widget(self) -> widgets.Widget:
        """The panel's root widget, to place it inside another layout."""
        return self.view.root

    @property
    def seed(self) -> int:
        return self.view.seed_value

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
        """Set several shown knobs at once, then run once (as if released together)."""
        self.view.set_values(values)
        self.run(reason="knob")

    def apply_preset(self, name: str) -> None:
        """Show a named preset (``base`` and ``fixed`` values stay) and run it."""
        if name not in PRESETS:
            raise KnobError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
        self.preset = name
        self.view.show_values(self._start_values(name), preset=name)
        self.run(reason="preset")

    def reset(self) -> None:
        """Back to the knobs the panel started with."""
        self.preset = self._initial_preset
        self.view.show_values(self._initial, preset=self.preset)
        self.run(reason="preset")

    def pin_baseline(self) -> None:
        """Keep the current result as the baseline the compare view shows."""
        if self.result is not None:
            self.baseline = self.result
            self.view.show_baseline(self.baseline, self.result)
            self.view.show_status("ok", "Pinned this run as the baseline; change a knob to "
                                  "compare.")

    def clear_baseline(self) -> None:
        self.baseline = None
        self.view.show_baseline(None, self.result)

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until a background run has finished; True when nothing is running."""
        job = self.job
        return True if job is None else job.wait(timeout_s)

    # -------------------------------------------------------------- runs
    def _on_knob(self, name: str) -> None:
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
            self.view.show_stale(estimate_s=self.runner.estimate_s(scenario), auto=self.auto)
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
                                              on_progress=self._progress)
        self._progress(self.job)

    def _progress(self, job: Job) -> None:
        self.view.show_progress(elapsed_s=job.elapsed_s, estimate_s=job.estimate_s)

    def _cancel_job(self) -> None:
        job, self.job = self.job, None
        if job is not None and not job.finished.is_set():
            job.cancel()
        self.view.hide_progress()

    def cancel(self) -> None:
        """Stop a background run; the charts keep the last finished run."""
        self._cancel_job()
        self.view.show_status("stale", "Run cancelled; the charts show the last finished run. "
                              "Press Run to try again.")

    def _job_done(self, job: Job) -> None:
        if job is not self.job:
            return
        self.job = None
        self.view.hide_progress()
        if job.error is not None:
            self._fail(f"The simulation failed: {job.error}")
        else:
            self._show(job.result, job.elapsed_s)

    def _fail(self, message: str) -> None:
        self.error = message
        self.view.show_status("error", message)

    def _show(self, result: Any, elapsed_s: float, cached: bool = False) -> None:
        with self._lock:
            self.error = None
            self.result = result
            if not cached:
                self.last_run_s = elapsed_s
            self.view.show_result(result, baseline=self.baseline, elapsed_s=elapsed_s,
                                  cached=cached)

    def compare_figure(self) -> go.Figure:
        """A static copy of the compare view (baseline vs current)."""
        return compare_figure(self.baseline, self.result)

    # ---------------------------------------------------------- notebook
    def __repr__(self) -> str:
        shown = list(self.controls)
        names = ", ".join(shown[:6]) + (f", … ({len(shown)} in all)" if len(shown) > 6 else "")
        start = f"preset {self.preset}, " if self.preset else ""
        try:
            changed = self.scenario.diff()
        except KnobError as exc:
            changed = {"(cannot run)": str(exc)}
        lines = [f"Panel: {len(shown)} knobs shown ({names or 'none'}); views "
                 f"{', '.join(self.views) or 'none'}; {start}seed {self.seed}",
                 "  knobs changed from the catalogue: " + (", ".join(
                     f"{k}={v!r}" for k, v in sorted(changed.items())) or "none")]
        if self.error:
            lines.append(f"  error: {self.error}")
        if self.job is not None:
            lines.append("  running in a worker process")
        if self.result is not None:
            lines.append(f"  last run: {run_summary(self.result)}")
        if self.baseline is not None:
            lines.append(f"  baseline: {run_summary(self.baseline)}")
        return "\n".join(lines)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = self.view.root._repr_mimebundle_(**kwargs)
        if isinstance(bundle, dict):
            bundle["text/plain"] = repr(self)
        return bundle
