"""Budget scorecard: one row per budget in the summary, verdicts and colours from it."""

from __future__ import annotations

from labkit.sim import simulate
from labkit.viz.colors import FAIL_COLOR, PASS_COLOR, rgba
from labkit.viz.scorecard import scorecard_figure, scorecard_rows


def test_rows_follow_the_summary_budgets(default_run):
    rows = scorecard_rows(default_run)
    budgets = default_run.summary["budgets"]
    assert [r["name"] for r in rows] == list(budgets)
    for row in rows:
        b = budgets[row["name"]]
        assert row["pass"] == b["pass"] and row["judged"] == b["judged"]
    quality = next(r for r in rows if r["name"] == "quality")
    assert quality["verdict"] == "not judged"           # budget.quality defaults to 0
    p95 = next(r for r in rows if r["name"] == "p95_ms")
    assert p95["rule"] == "≤ 1,000 ms" and p95["verdict"] == "✓ holds"
    success = next(r for r in rows if r["name"] == "success_rate")
    assert success["rule"] == "≥ 99.00%"


def test_broken_budget_is_red_and_named_in_the_title():
    run = simulate({"budget.p95_ms": 50.0, "load.duration_s": 10.0}, seed=1)
    fig = scorecard_figure(run)
    cells = fig.data[0].cells
    labels = list(cells.values[0])
    i = labels.index("p95 latency")
    assert "broken" in cells.values[3][i]
    assert cells.fill.color[3][i] == rgba(FAIL_COLOR, 0.22)
    j = labels.index("p99 latency")
    assert cells.fill.color[3][j] == rgba(PASS_COLOR, 0.22)
    assert "1 of 4 broken: p95 latency ✗" in fig.layout.title.subtitle.text
