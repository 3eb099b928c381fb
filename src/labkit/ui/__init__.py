"""Panels: knob controls and live charts for notebooks.

``Panel()`` is the full instrument (every knob, presets, seed, Run, Reset,
pin-as-baseline, copy-as-code, every chart); ``Panel(knobs=[...],
fixed={...}, views=[...])`` is what a lab shows; ``BudgetPanel(result)``
re-judges a finished run against budgets the learner sets.  Controls come
from the knob catalogue and charts from :mod:`labkit.viz`, so panels are
thin views over the same ``simulate()`` every other front end calls.
"""

from labkit.ui.budget import BudgetPanel, rejudge
from labkit.ui.codegen import scenario_code
from labkit.ui.panel import Panel
from labkit.ui.runner import Runner

__all__ = ["Panel", "BudgetPanel", "Runner", "rejudge", "scenario_code"]
