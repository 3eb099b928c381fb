"""The harness itself: JupyterLab + Chromium render ipywidgets and plotly charts.

A two-cell notebook links an IntSlider to a FigureWidget line; typing a new
value into the slider's readout must reach the kernel and come back as new
trace data in the rendered chart (y = slope * x after a fixed first point, so the line changes shape).

A panel's charts draw while the kernel is still busy with later cells ("Run all"): they
need nothing from the kernel once they are open.

A chart whose module loaded after anywidget's 2 s limit (a busy page) still takes updates:
the page's limit is cut to 1 ms, so every model misses it, and the slider must still move a
labkit chart.
"""

from __future__ import annotations

import nbformat
import pytest

from labkit.ui.panel import PANEL_VIEWS
from labkit.ui.view import MODE_VIEWS

pytestmark = pytest.mark.browser

CELLS = [
    "import ipywidgets as widgets\nimport plotly.graph_objects as go\n"
    "slider = widgets.IntSlider(value=2, min=1, max=10, description='slope', "
    "continuous_update=False)\nslider.add_class('harness-slider')\n"
    "fig = go.FigureWidget(go.Scatter(x=[0, 1, 2, 3], y=[10, 2, 4, 6], mode='lines'))\n"
    "fig.add_class('harness-fig')\n"
    "def _on(change):\n    with fig.batch_update():\n"
    "        fig.data[0].y = [10] + [change['new'] * x for x in fig.data[0].x[1:]]\n"
    "slider.observe(_on, names='value')\nwidgets.VBox([slider, fig])",
]


def _notebook(tmp_path, name: str, cells: list[str]):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    source = tmp_path / name
    nbformat.write(nb, source)
    return source


def test_slider_drives_figurewidget(tmp_path, open_notebook):
    page = open_notebook(_notebook(tmp_path, "harness.ipynb", CELLS))
    fig = ".harness-fig"
    page.wait_figure(fig)
    assert page.figure_data(fig)[0]["y"] == [10, 2, 4, 6]
    before = page.svg_paths(".harness-fig")
    page.set_readout(".harness-slider", "7")
    page.wait_trace(fig, "data[0].y[3] === 21", timeout_s=15)
    assert page.figure_data(fig)[0]["y"] == [10, 7, 14, 21]
    assert page.svg_paths(".harness-fig") != before
    assert page.error_outputs() == []
    assert page.console_errors == []
    page.screenshot("harness")


def test_panel_charts_draw_while_the_kernel_runs_later_cells(tmp_path, open_notebook):
    source = _notebook(tmp_path, "busy.ipynb", [
        "from labkit.ui import Panel\nPanel()",
        "import time\ntime.sleep(120)",
    ])
    page = open_notebook(source, run_all=False)
    # not awaited: the command's promise settles only when every cell has run
    page.page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    page.page.wait_for_function(
        """() => { const els = document.querySelectorAll('.labkit-panel .labkit-view');
             const gd = (el) => el.classList.contains('js-plotly-plot') ? el
               : el.querySelector('.js-plotly-plot');
             return els.length > 0 && Array.from(els).every(el => gd(el) && gd(el).data
               && gd(el).data.length && gd(el).querySelector('.main-svg')); }""",
        timeout=60_000)
    drawn = page.page.evaluate("""() => Array.from(
        document.querySelectorAll('.labkit-panel .labkit-view')).map(el =>
          Array.from(el.classList).find(c => c.startsWith('labkit-view-')))""")
    assert page.state()["status"] == "busy"              # the sleeping cell is still running
    # every view of a plain run (token and agent views wait for a run of their mode)
    assert drawn == [f"labkit-view-{name}" for name in PANEL_VIEWS
                     if all(name not in views for _, views in MODE_VIEWS)]
    page.page.evaluate("() => { window.jupyterapp.commands.execute('notebook:interrupt-kernel'); }")
    assert page.console_errors == []


LATE_CELLS = [
    "import ipywidgets as widgets\nimport plotly.graph_objects as go\n"
    "from labkit.ui.figurewidget import LabFigureWidget\n"
    "slider = widgets.IntSlider(value=2, min=1, max=10, continuous_update=False)\n"
    "slider.add_class('late-slider')\n"
    "fig = LabFigureWidget(go.Scatter(x=[0, 1, 2, 3], y=[10, 2, 4, 6]), classes=['late-fig'])\n"
    "def _on(change):\n    with fig.batch_update():\n"
    "        fig.data[0].y = [10] + [change['new'] * x for x in fig.data[0].x[1:]]\n"
    "slider.observe(_on, names='value')\nwidgets.VBox([slider, fig])",
]


def test_a_chart_that_loaded_late_still_takes_updates(tmp_path, open_notebook):
    page = open_notebook(_notebook(tmp_path, "late.ipynb", LATE_CELLS), run_all=False)
    # anywidget's load limit is AbortSignal.timeout(2000); make every model miss it
    page.page.evaluate("""() => { const real = AbortSignal.timeout.bind(AbortSignal);
        window.limitsCut = 0;
        AbortSignal.timeout = (ms) => {
          if (ms !== 2000) return real(ms);
          window.limitsCut += 1;
          return real(1); }; }""")
    page.page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    page.wait_figure(".late-fig")
    assert page.page.evaluate("() => window.limitsCut") >= 1   # the chart's limit was cut
    page.set_readout(".late-slider", "7")
    page.wait_trace(".late-fig", "data[0].y[3] === 21", timeout_s=20)
    assert page.figure_data(".late-fig")[0]["y"] == [10, 7, 14, 21]
    assert page.console_errors == []
