"""Compare view: two runs on shared axes, and a table that says which way each number moved."""

from __future__ import annotations

import numpy as np

from labkit.viz.colors import BASELINE_COLOR, CHANGE_COLOR, FAIL_COLOR, PASS_COLOR
from labkit.viz.common import series
from labkit.viz.compare import compare_figure, compare_rows, update_compare


def test_without_baseline_only_the_change_is_drawn(default_run):
    fig = compare_figure(None, default_run)
    lines = fig.data[:6]
    assert [len(t.x) for t in lines[0::2]] == [0, 0, 0]          # baseline traces empty
    assert all(len(t.x) > 0 for t in lines[1::2])
    assert "pin a baseline" in fig.layout.title.subtitle.text
    assert list(fig.data[6].cells.values[1])[0] == "—"


def test_both_runs_share_axes_and_the_table_judges_the_change(default_run, more_replicas_run):
    fig = compare_figure(None, default_run)
    update_compare(fig, default_run, more_replicas_run)
    base_p95, new_p95 = fig.data[0], fig.data[1]
    assert base_p95.line.color == BASELINE_COLOR and new_p95.line.color == CHANGE_COLOR
    assert base_p95.xaxis == new_p95.xaxis                        # same axes
    np.testing.assert_allclose(np.asarray(base_p95.y, float), series(default_run)["p95_ms"],
                               equal_nan=True)
    np.testing.assert_allclose(np.asarray(new_p95.y, float), series(more_replicas_run)["p95_ms"],
                               equal_nan=True)
    cost = np.asarray(fig.data[5].y, float)
    assert cost[-1] == np.cumsum(series(more_replicas_run)["cost"])[-1]
    rows = {r["metric"]: r for r in compare_rows(default_run, more_replicas_run)}
    assert rows["p95 latency"]["verdict"] == "better"          # more replicas: shorter tail
    assert rows["p95 latency"]["delta"].startswith("−")
    assert rows["cost per 1k"]["verdict"] == "worse"           # eight warm replicas cost more
    table = fig.data[6].cells
    metric_columns = [str(v) for v in fig.data[6].header.values[1:]]
    k = metric_columns.index("<b>p95 latency</b>")
    assert table.font.color[k + 1][2] == PASS_COLOR
    k = metric_columns.index("<b>cost per 1k</b>")
    assert table.font.color[k + 1][2] == FAIL_COLOR
