"""The chart widget: plotly's FigureWidget in Python, plotly.js sent once per kernel, and a
chart that opens with everything it needs to draw."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import plotly
import plotly.graph_objects as go
import pytest
from ipywidgets.widgets import widget as widget_module

from labkit.ui import figurewidget
from labkit.ui.figurewidget import BUNDLE_COMMAND, BUNDLE_TRAIT, LabFigureWidget

BUNDLE = (Path(plotly.__file__).parent / "package_data" / "widgetbundle.js").read_bytes()


class RecordingComm:
    """A comm that keeps what the widget opened with and every message sent after."""

    kernel = True

    def __init__(self, **opened: Any):
        self.opened = opened
        self.sent: list[dict] = []
        self.comm_id = f"comm-{id(self)}"

    def on_msg(self, callback: Any) -> None:
        pass

    def send(self, **message: Any) -> None:
        self.sent.append(message)

    def close(self, **kwargs: Any) -> None:
        pass


@pytest.fixture
def comms(monkeypatch):
    monkeypatch.setattr(widget_module.comm, "create_comm", RecordingComm)
    monkeypatch.setattr(figurewidget, "_CARRIER", figurewidget._Carrier())


def _opened_state(fig: LabFigureWidget) -> tuple[dict, dict[str, bytes]]:
    data = fig.comm.opened["data"]
    buffers = {".".join(map(str, path)): bytes(buf)
               for path, buf in zip(data["buffer_paths"], fig.comm.opened["buffers"])}
    return data["state"], buffers


def test_state_carries_a_small_loader_not_plotly_js(comms):
    fig = LabFigureWidget(go.Scatter(y=[1, 2]))
    plain = go.FigureWidget(go.Scatter(y=[1, 2]))
    assert len(fig._esm) < 10_000 < 1_000_000 < len(plain._esm)
    assert BUNDLE_COMMAND in fig._esm and plotly.__version__ in fig._esm
    fig.data[0].y = [3, 4]                              # still a FigureWidget in Python
    assert list(fig.data[0].y) == [3, 4]


def test_a_chart_opens_with_its_data_layout_classes_and_config(comms):
    # plotly's own FigureWidget opens with an empty figure and sends the traces after.
    fig = LabFigureWidget(go.Scatter(y=[1, 2]), layout={"title": "t"},
                          classes=("labkit-view", "labkit-view-x"), responsive=True)
    state, _ = _opened_state(fig)
    assert [t["y"] for t in state["_widget_data"]] == [[1, 2]]
    assert state["_widget_layout"]["title"]["text"] == "t"
    assert list(state["_dom_classes"]) == ["labkit-view", "labkit-view-x"]
    assert state["_config"] == {"responsive": True, "displaylogo": False}
    assert fig.comm.sent == []                          # nothing needed after the open
    fig.data[0].y = [5, 6]                              # later changes are messages, as before
    assert fig.comm.sent


def test_the_first_chart_of_a_kernel_carries_the_bundle_and_no_other_does(comms):
    first, second = LabFigureWidget(), LabFigureWidget(go.Bar(y=[1]))
    assert _opened_state(first)[1] == {BUNDLE_TRAIT: BUNDLE}
    assert _opened_state(second)[1] == {BUNDLE_TRAIT: b""}
    first.close()                                       # the carrier is gone: the next carries
    third, fourth = LabFigureWidget(), LabFigureWidget()
    assert _opened_state(third)[1] == {BUNDLE_TRAIT: BUNDLE}
    assert _opened_state(fourth)[1] == {BUNDLE_TRAIT: b""}


def test_the_loader_command_answers_with_plotlys_bundle(comms):
    fig = LabFigureWidget()
    response, buffers = fig._labkit_plotly_bundle({}, [])
    assert response == {"plotly": plotly.__version__}
    assert buffers == [BUNDLE]

