"""The harness itself: JupyterLab + Chromium render ipywidgets and a plotly FigureWidget.

A two-cell notebook links an IntSlider to a FigureWidget line; typing a new
value into the slider's readout must reach the kernel and come back as new
trace data in the rendered chart (y = slope * x after a fixed first point, so the line changes shape).
"""

from __future__ import annotations

import nbformat
import pytest

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


def test_slider_drives_figurewidget(tmp_path, open_notebook):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    source = tmp_path / "harness.ipynb"
    nbformat.write(nb, source)
    page = open_notebook(source)
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
