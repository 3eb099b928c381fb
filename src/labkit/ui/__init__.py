"""Panels: knob controls and live charts for notebooks.

``Panel()`` is the full instrument (every knob, presets, seed, Run, Reset,
pin-as-baseline, copy-as-code, every chart); ``Panel([...], base={...},
views=[...])`` is what a lab shows, started (and reset) at the lab's scenario;
``BudgetPanel(result)`` re-judges a finished run against budgets the learner
sets.  A panel is a controller (:class:`Panel`: scenario, runs, cache) and a
view (:class:`~labkit.ui.view.PanelView`: the widgets).  Controls come from the
knob catalogue and charts from :mod:`labkit.viz`, so panels are thin views
over the same ``simulate()`` every other front end calls.
"""

from labkit.ui.budget import BudgetPanel, rejudge
from labkit.ui.codegen import scenario_code
from labkit.ui.panel import Panel
from labkit.ui.runner import Runner
from labkit.ui.view import PanelView, ViewHandlers

__all__ = ["Panel", "PanelView", "ViewHandlers", "BudgetPanel", "Runner", "rejudge",
           "scenario_code"]
