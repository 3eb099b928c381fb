"""The budget panel: re-judging a finished run against budgets the learner sets."""

from __future__ import annotations

import pytest

from labkit.knobs import KnobError
from labkit.sim import simulate
from labkit.sim.scenario import CATALOGUE
from labkit.ui.budget import BudgetPanel, rejudge, verdict_html


@pytest.fixture(scope="module")
def run():
    return simulate({"load.duration_s": 20.0}, seed=1)


def test_standalone_panel_rejudges_the_same_records(run):
    panel = BudgetPanel(run)
    assert set(panel.controls) == {k.name for k in CATALOGUE.groups()["budget"]}
    assert panel.scorecard is not None
    panel.controls["budget.p95_ms"].value = 10.0
    assert panel.result.records is run.records
    assert not panel.result.summary["budgets"]["p95_ms"]["pass"]
    cells = panel.scorecard.data[0].cells.values
    assert any("broken" in v for v in cells[3])
    assert panel.values()["budget.p95_ms"] == 10.0


def test_verdict_chips_say_pass_or_fail(run):
    html = verdict_html(rejudge(run, {"budget.cost_per_1k": 0.01}))
    assert "data-budget='cost_per_1k' data-pass='false'" in html
    assert "data-budget='p95_ms' data-pass='true'" in html
    assert "(not judged)" in html                            # quality defaults to 0
    assert "no run yet" in verdict_html(None)


def test_only_budget_knobs(run):
    with pytest.raises(KnobError, match="rejudge takes only budget.\\* knobs, got "
                                        "'model.replicas'"):
        rejudge(run, {"model.replicas": 3})
    with pytest.raises(KnobError, match="BudgetPanel shows budget.\\* knobs only, got "
                                        "'model.replicas'"):
        BudgetPanel(run, budgets=["model.replicas"])
    with pytest.raises(KnobError, match="this budget panel has no control for "
                                        "'budget.quality'"):
        BudgetPanel(run, budgets=["budget.p95_ms"]).set_values({"budget.quality": 0.5})
