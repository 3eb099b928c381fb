"""One colour map: an outcome has the same colour in every figure."""

from __future__ import annotations

import pytest

from labkit.viz.colors import OUTCOME_COLORS, SERIES_COLORS, rgba
from labkit.viz.cost import COST_PARTS, cost_figure
from labkit.viz.outcomes import outcomes_figure
from labkit.viz.path import NODES, path_figure


def test_outcome_colours_are_distinct():
    assert len(set(OUTCOME_COLORS.values())) == 4


def test_same_outcome_same_colour_across_figures(reference_run):
    by_trace = {t.name: t.line.color for t in outcomes_figure(reference_run).data}
    sankey = path_figure(reference_run).data[0].node
    by_node = dict(zip(NODES, sankey.color))
    for outcome, color in OUTCOME_COLORS.items():
        assert by_trace[outcome] == color == by_node[outcome]
    bars = cost_figure(reference_run).data[0].marker.color
    assert bars[list(COST_PARTS).index("fallback")] == OUTCOME_COLORS["degraded"]
    assert SERIES_COLORS["cost.calls"] == SERIES_COLORS["model_calls"]


def test_rgba_converts_and_refuses_bad_colours():
    assert rgba("#0B5CAD", 0.25) == "rgba(11,92,173,0.25)"
    with pytest.raises(ValueError, match=r"colour must look like #RRGGBB, got 'blue'"):
        rgba("blue", 0.5)
