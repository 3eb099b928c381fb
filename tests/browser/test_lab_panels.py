"""Every lab's live panels in a real JupyterLab: each renders its charts, with no errors.

Each lab's source notebook (solutions in, so every cell runs) is opened in Chromium and run
top to bottom.  Every panel the notebook builds must draw every one of its charts with data,
and no cell may show an error, a stderr line or a widget that failed to render, nor the
console an error.  The notebooks' own tests check the numbers in a kernel; this checks what a
learner sees.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SOURCE = Path(__file__).resolve().parents[2] / "source"
LABS = ["lab0-orientation", "lab1-system-shapes", "lab2-scaling-cost-reliability",
        "lab3-evaluation-governance", "lab4-llm-serving-agents"]

_VIEWS_JS = """() => Array.from(document.querySelectorAll('.labkit-panel .labkit-view')).map(
    el => { const gd = el.classList.contains('js-plotly-plot') ? el
                       : el.querySelector('.js-plotly-plot');
            return {view: Array.from(el.classList).find(c => c.startsWith('labkit-view-')),
                    traces: gd && gd.data ? gd.data.length : 0}; })"""


def _panel_cells(notebook: Path) -> int:
    """How many code cells build a panel (``Panel(`` or a lab's ``.panel(`` helper)."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return sum(1 for c in cells if c["cell_type"] == "code"
               and any(key in "".join(c["source"]) for key in ("Panel(", ".panel(")))


@pytest.mark.parametrize("lab", LABS)
def test_every_panel_draws_its_charts_without_errors(open_notebook, lab):
    notebook = SOURCE / lab / f"{lab}.ipynb"
    expected_panels = _panel_cells(notebook)
    assert expected_panels >= 1, f"{lab} builds no panel"
    page = open_notebook(notebook, run_all=False, viewport=(1600, 1200))
    page.run_all(timeout_s=300)
    assert page.error_outputs() == []
    page.page.wait_for_function(
        f"() => document.querySelectorAll('.labkit-panel').length >= {expected_panels}",
        timeout=60_000)
    page.page.wait_for_function(
        f"() => ({_VIEWS_JS})().every(v => v.traces > 0)", timeout=90_000)
    views = page.page.evaluate(_VIEWS_JS)
    assert views and all(v["traces"] > 0 for v in views), views
    assert page.console_errors == []
    page.screenshot(f"{lab}-first-panel", ".labkit-panel")
