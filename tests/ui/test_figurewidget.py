"""The chart widget: plotly's FigureWidget in Python, plotly.js sent once per page."""

from __future__ import annotations

from pathlib import Path

import plotly
import plotly.graph_objects as go

from labkit.ui.figurewidget import BUNDLE_COMMAND, LabFigureWidget
from labkit.ui.resize import ChartResizer, make_responsive


def test_state_carries_a_small_loader_not_plotly_js():
    fig = LabFigureWidget(go.Scatter(y=[1, 2]))
    plain = go.FigureWidget(go.Scatter(y=[1, 2]))
    assert len(fig._esm) < 5_000 < 1_000_000 < len(plain._esm)
    assert BUNDLE_COMMAND in fig._esm and plotly.__version__ in fig._esm
    fig.data[0].y = [3, 4]                              # still a FigureWidget in Python
    assert list(fig.data[0].y) == [3, 4]


def test_the_loader_command_answers_with_plotlys_bundle():
    fig = LabFigureWidget()
    response, buffers = fig._labkit_plotly_bundle({}, [])
    bundle = Path(plotly.__file__).parent / "package_data" / "widgetbundle.js"
    assert response == {"plotly": plotly.__version__}
    assert buffers == [bundle.read_bytes()]


def test_charts_follow_their_container():
    fig = make_responsive(LabFigureWidget())
    assert fig._config["responsive"] is True
    assert "ResizeObserver" in ChartResizer._esm
