"""Sweep plot: means and Student-t intervals across seeds, from any table shape."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from labkit.viz.sweep import axis_title, sweep_figure, sweep_points

ROWS = [{"model.replicas": r, "cache.enabled": c, "seed": s, "latency_ms.p95": y}
        for (r, c), ys in {(2, False): (10.0, 20.0, 30.0), (4, False): (5.0, 5.0, 5.0),
                           (2, True): (1.0, 2.0, 3.0), (4, True): (1.0, 1.0, 4.0)}.items()
        for s, y in zip((1, 2, 3), ys)]


def test_points_are_means_with_t_intervals():
    groups = sweep_points(ROWS, x="model.replicas", y="latency_ms.p95", color="cache.enabled")
    first = groups[False][0]
    # mean 20, sd 10, n 3: half-width t(0.975, 2) * 10 / sqrt(3) = 4.303 * 5.7735 = 24.84
    assert first["mean"] == 20.0 and first["n"] == 3
    assert first["ci95"] == pytest.approx(4.3027 * 10 / math.sqrt(3), rel=1e-4)
    assert groups[False][1]["ci95"] == 0.0                   # identical seeds: no spread


def test_one_line_per_colour_value_with_error_bars():
    fig = sweep_figure(ROWS, x="model.replicas", y="latency_ms.p95", color="cache.enabled")
    assert [t.name for t in fig.data] == ["cache.enabled = False", "cache.enabled = True"]
    assert list(fig.data[0].x) == [2, 4] and list(fig.data[0].y) == [20.0, 5.0]
    assert fig.data[0].error_y.visible is True
    assert fig.layout.xaxis.title.text == "model.replicas (replicas)"
    assert fig.layout.yaxis.title.text == "latency_ms.p95 (ms)"
    assert "mean of 3 seeds, 95% CI" in fig.layout.title.subtitle.text


def test_columns_rows_and_sweep_tables_give_the_same_points():
    columns = {k: [r[k] for r in ROWS] for k in ROWS[0]}
    table = SimpleNamespace(rows=tuple(ROWS))
    args = {"x": "model.replicas", "y": "latency_ms.p95", "color": "cache.enabled"}
    assert sweep_points(columns, **args) == sweep_points(ROWS, **args) == sweep_points(table, **args)


def test_one_seed_has_no_error_bars():
    rows = [r for r in ROWS if r["seed"] == 1 and not r["cache.enabled"]]
    fig = sweep_figure(rows, x="model.replicas", y="latency_ms.p95")
    assert fig.data[0].error_y.visible is False
    assert fig.layout.title.subtitle.text == "mean of 1 seed"


def test_bad_tables_are_refused_with_the_reason():
    with pytest.raises(KeyError, match="sweep table has no column 'p99'; columns: model.replicas"):
        sweep_points(ROWS, x="model.replicas", y="p99")
    with pytest.raises(ValueError, match=r"equal lengths, got \[1, 2\]"):
        sweep_points({"a": [1], "b": [1, 2]}, x="a", y="b")
    with pytest.raises(ValueError, match="sweep table is empty"):
        sweep_points([], x="a", y="b")


def test_axis_titles_carry_units():
    assert axis_title("load.rate_rps") == "load.rate_rps (req/s)"
    assert axis_title("cost.per_1k") == "cost.per_1k ($)"
    assert axis_title("cache_hit_ratio") == "cache_hit_ratio (share)"
    assert axis_title("retries") == "retries"
