"""Shared machinery: in-place updates, bucket sizes, axis steps, one-way imports."""

from __future__ import annotations

import subprocess
import sys

import plotly.graph_objects as go
import pytest

from labkit.viz.common import apply, bucket_for, nice_axis, series


def test_apply_refuses_a_figure_with_other_traces():
    fig = go.Figure([go.Scatter(), go.Scatter()])
    with pytest.raises(ValueError, match="figure has 2 traces but the update has 1; build it "
                                         "with the matching \\*_figure function"):
        apply(fig, [{"x": [1]}])


def test_apply_writes_nested_properties_in_place():
    fig = go.FigureWidget([go.Scatter(x=[0], y=[0])])
    trace = fig.data[0]
    apply(fig, [{"y": [5], "line": {"color": "#000000"}}], {"title": {"text": "t"}})
    assert fig.data[0] is trace and list(trace.y) == [5] and trace.line.color == "#000000"
    assert fig.layout.title.text == "t"


def test_buckets_keep_lines_short():
    assert bucket_for(60) == 1 and bucket_for(150) == 1 and bucket_for(151) == 2
    for duration in (10, 600, 3600, 86400, 10**6):
        assert duration / bucket_for(duration) <= 150


def test_nice_axis_covers_the_top_with_round_steps():
    for top in (0.0, 1.0, 4.0, 7.0, 27.2, 400.0):
        axis = nice_axis(top)
        assert axis["range"][1] >= top and axis["dtick"] in (1, 2, 2.5, 5, 10, 20, 25, 50, 100)


def test_series_are_computed_once_per_result(default_run):
    assert series(default_run) is series(default_run)
    assert series(default_run, 2.0) is not series(default_run)


def test_viz_does_not_import_widgets():
    code = ("import sys, labkit.viz; from labkit.sim import simulate; "
            "labkit.viz.latency_figure(simulate({'load.duration_s': 5}, seed=1)); "
            "print('ipywidgets' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False" and out.stderr == ""
