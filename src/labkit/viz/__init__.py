"""Figures: simulation results in, plotly figures out.

Pure functions with no widgets: every view has ``<view>_figure(result)``,
which builds a ``go.Figure``, and ``update_<view>(fig, result)``, which
pours a new result into an existing figure (or ``FigureWidget``) in place,
so a panel never rebuilds a chart.  :data:`VIEWS` lists the single-run views
by name for the panels; the compare view takes two runs and the sweep plot a
table of runs.  Colours come from :mod:`labkit.viz.colors`, so an outcome or
a series has the same colour in every chart.

>>> from labkit.sim import simulate
>>> result = simulate({"load.duration_s": 10}, seed=1)
>>> fig = latency_figure(result)
>>> [t.name for t in fig.data]
['p50', 'p95', 'p99', 'p95 budget', 'p99 budget']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

from labkit.viz.agent import (
    cost_per_task_figure,
    task_outcomes_figure,
    update_cost_per_task,
    update_task_outcomes,
)
from labkit.viz.amplification import amplification_figure, update_amplification
from labkit.viz.capacity import capacity_figure, update_capacity
from labkit.viz.colors import OUTCOME_COLORS, SERIES_COLORS
from labkit.viz.compare import compare_figure, compare_rows, update_compare
from labkit.viz.cost import cost_figure, update_cost
from labkit.viz.latency import latency_figure, update_latency
from labkit.viz.outcomes import outcomes_figure, update_outcomes
from labkit.viz.path import path_figure, path_flows, update_path
from labkit.viz.scorecard import scorecard_figure, scorecard_rows, update_scorecard
from labkit.viz.sweep import sweep_figure, sweep_points
from labkit.viz.tokens import (
    kv_figure,
    token_cost_figure,
    ttft_tpot_figure,
    update_kv,
    update_token_cost,
    update_ttft_tpot,
)

__all__ = [
    "View", "VIEWS", "ALL_VIEWS",
    "latency_figure", "update_latency", "outcomes_figure", "update_outcomes",
    "capacity_figure", "update_capacity", "cost_figure", "update_cost",
    "path_figure", "update_path", "path_flows", "amplification_figure",
    "update_amplification", "scorecard_figure", "update_scorecard", "scorecard_rows",
    "compare_figure", "update_compare", "compare_rows", "sweep_figure", "sweep_points",
    "OUTCOME_COLORS", "SERIES_COLORS",
    "TOKEN_VIEWS", "ttft_tpot_figure", "update_ttft_tpot", "kv_figure", "update_kv",
    "token_cost_figure", "update_token_cost", "AGENT_VIEWS",
]


@dataclass(frozen=True, kw_only=True)
class View:
    """One chart a panel can show: how to build it and how to update it in place."""

    name: str
    title: str
    build: Callable[[Any], go.Figure]
    update: Callable[[go.Figure, Any], go.Figure]


#: Single-run views by name, in the order a full panel shows them.
VIEWS: dict[str, View] = {v.name: v for v in (
    View(name="latency", title="Latency percentiles over time",
         build=latency_figure, update=update_latency),
    View(name="outcomes", title="Outcome mix over time",
         build=outcomes_figure, update=update_outcomes),
    View(name="capacity", title="Queue and replicas", build=capacity_figure,
         update=update_capacity),
    View(name="cost", title="Cost breakdown and cost per 1k", build=cost_figure,
         update=update_cost),
    View(name="path", title="Request path", build=path_figure, update=update_path),
    View(name="amplification", title="Retry amplification", build=amplification_figure,
         update=update_amplification),
    View(name="scorecard", title="Budget scorecard", build=scorecard_figure,
         update=update_scorecard),
)}

#: Token mode's single-run views (they need a run with ``llm.enabled``); a panel shows them
#: while its run is a token-mode one.
TOKEN_VIEWS: dict[str, View] = {v.name: v for v in (
    View(name="tokens", title="TTFT and TPOT against their budgets", build=ttft_tpot_figure,
         update=update_ttft_tpot),
    View(name="kv", title="Running sequences and KV-cache use", build=kv_figure,
         update=update_kv),
    View(name="token_cost", title="Token cost breakdown", build=token_cost_figure,
         update=update_token_cost),
)}

#: Agent mode's single-run views (they need a run with ``agent.enabled``); a panel shows them
#: while its run is an agent-mode one.
AGENT_VIEWS: dict[str, View] = {v.name: v for v in (
    View(name="tasks", title="Task outcomes", build=task_outcomes_figure,
         update=update_task_outcomes),
    View(name="task_cost", title="Cost per task against its budget",
         build=cost_per_task_figure, update=update_cost_per_task),
)}

#: Every view a panel accepts: the single-run views plus ``compare``.
ALL_VIEWS: tuple[str, ...] = tuple(VIEWS) + ("compare",)
