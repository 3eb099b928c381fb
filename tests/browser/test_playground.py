"""The playground in a real JupyterLab: run it, turn knobs in the page, watch the charts.

The charts must show exactly what the simulator says: after typing 8 replicas into the
panel, the p95 line in the browser equals the per-second p95 of ``simulate`` with the same
knobs and seed, computed here in the test process.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from labkit.sim import simulate
from labkit.viz.common import series

pytestmark = pytest.mark.browser

PLAYGROUND = Path(__file__).resolve().parents[2] / "labs" / "playground.ipynb"
LATENCY = ".labkit-panel .labkit-view-latency"


def _same_series(browser_values: list, expected) -> bool:
    return len(browser_values) == len(expected) and all(
        (b is None and math.isnan(e)) or (b is not None and math.isclose(b, e, rel_tol=1e-9))
        for b, e in zip(browser_values, expected.tolist()))


def test_playground_runs_and_knobs_drive_the_charts(open_notebook):
    page = open_notebook(PLAYGROUND, viewport=(1600, 2700), sidebar=False)
    assert page.error_outputs() == []
    page.wait_figure(LATENCY)
    before = page.figure_data(LATENCY)
    assert _same_series(before[1]["y"], series(simulate(seed=1))["p95_ms"])
    paths_before = page.svg_paths(LATENCY)

    # A number box: model.replicas, in the "model" section of the knobs.
    page.open_section("model")
    page.set_number(".labkit-knob-model-replicas", "8")
    expected = series(simulate({"model.replicas": 8}, seed=1))["p95_ms"]
    first = before[1]["y"][0]
    page.wait_trace(LATENCY, f"data[1].y.length > 0 && data[1].y[0] !== {first!r}",
                    timeout_s=30)
    after = page.figure_data(LATENCY)
    assert _same_series(after[1]["y"], expected)
    assert page.svg_paths(LATENCY) != paths_before            # the reader sees it move
    status = page.page.locator(".labkit-panel .labkit-status").first.inner_text()
    assert "requests simulated" in status and "seed 1" in status

    # A slider: the quality floor, always visible in the Budgets section.  Answers of the
    # primary model score 0.8 (model.quality), so a floor of 0.9 must break.
    page.set_readout(".labkit-knob-budget-quality", "0.9")
    page.wait_trace(".labkit-panel .labkit-view-scorecard",
                    "data[0].cells.values[3].some(v => String(v).includes('broken'))")
    # the verdict line is a widget of its own, updated just after the scorecard
    chip = ".labkit-panel .labkit-chip[data-budget='quality']"
    page.page.wait_for_function(
        "(sel) => document.querySelector(sel).getAttribute('data-pass') === 'false'",
        arg=chip, timeout=30_000)

    assert page.error_outputs() == []
    assert page.console_errors == []
    page.screenshot("playground-panel", ".labkit-panel")
    page.screenshot("playground")


def test_charts_fit_their_cells(open_notebook):
    page = open_notebook(PLAYGROUND)
    page.wait_figure(".labkit-panel .labkit-view-compare")
    page.page.wait_for_timeout(1500)      # the resizer's debounce
    sizes = page.page.evaluate("""() => Array.from(
        document.querySelectorAll('.labkit-panel .labkit-view')).map(el => ({
          name: Array.from(el.classList).find(c => c.startsWith('labkit-view-')),
          element: el.getBoundingClientRect().width,
          cell: el.parentElement.getBoundingClientRect().width,
          drawn: el._fullLayout ? el._fullLayout.width : -1}))""")
    # the full panel's eight views, then the scorecard of the BudgetPanel at the end
    assert [s["name"] for s in sizes] == [
        "labkit-view-latency", "labkit-view-outcomes", "labkit-view-capacity",
        "labkit-view-cost", "labkit-view-path", "labkit-view-amplification",
        "labkit-view-scorecard", "labkit-view-compare", "labkit-view-scorecard"]
    for s in sizes:
        assert s["element"] <= s["cell"] + 1, s              # no chart spills over its cell
        assert abs(s["drawn"] - s["element"]) <= 2, s        # and plotly drew it at that width
    assert page.console_errors == []
