"""Latency figure: its lines are the per-bucket percentiles of the records, its titles the summary."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from labkit.sim import simulate
from labkit.viz.latency import latency_figure, update_latency


def _bucket_percentile(result, q: float, bucket_s: float = 1.0) -> np.ndarray:
    """Independent recomputation from the records: answered requests by end-time bucket."""
    r = result.records
    answered = r[r["outcome"] <= 1]
    n = int(np.ceil(max(result.scenario.load.duration_s, r["end_s"].max()) / bucket_s))
    idx = np.minimum((answered["end_s"] // bucket_s).astype(int), n - 1)
    return np.array([np.percentile(answered["latency_ms"][idx == k], q) if (idx == k).any()
                     else np.nan for k in range(n)])


def test_percentile_lines_are_the_records_percentiles(default_run):
    fig = latency_figure(default_run)
    assert [t.name for t in fig.data] == ["p50", "p95", "p99", "p95 budget", "p99 budget"]
    for trace, q in zip(fig.data[:3], (50, 95, 99)):
        np.testing.assert_allclose(np.asarray(trace.y, float), _bucket_percentile(default_run, q),
                                   rtol=1e-12, equal_nan=True)
    assert fig.layout.xaxis.title.text == "simulated time (s)"
    assert fig.layout.yaxis.title.text == "latency (ms)"


def test_budget_lines_sit_at_the_limits_and_hide_when_not_judged(default_run):
    fig = latency_figure(default_run)
    assert list(fig.data[3].y) == [1000.0, 1000.0]     # budget.p95_ms default
    assert list(fig.data[4].y) == [2000.0, 2000.0]     # budget.p99_ms default
    p95 = default_run.summary["latency_ms"]["p95"]
    assert f"p95 {p95:,.0f} ms ≤ 1,000 ms ✓" in fig.layout.title.subtitle.text
    unjudged = simulate({"budget.p95_ms": 0.0, "load.duration_s": 10.0}, seed=1)
    fig = latency_figure(unjudged)
    assert list(fig.data[3].y) == [] and fig.data[3].visible == "legendonly"


def test_a_broken_budget_is_marked_in_the_title():
    run = simulate({"budget.p95_ms": 50.0, "load.duration_s": 10.0}, seed=1)
    assert run.summary["latency_ms"]["p95"] > 50.0
    assert "> 50 ms ✗" in latency_figure(run).layout.title.subtitle.text


def test_update_in_place_keeps_the_traces_and_shows_the_new_run(default_run, more_replicas_run):
    fig = go.FigureWidget(latency_figure(default_run))
    traces = list(fig.data)
    update_latency(fig, more_replicas_run)
    assert all(a is b for a, b in zip(fig.data, traces))   # same objects: updated, not rebuilt
    np.testing.assert_allclose(np.asarray(fig.data[1].y, float),
                               _bucket_percentile(more_replicas_run, 95), equal_nan=True)
    # Same arrivals (same seed), twice the replicas: the tail must come down.
    before = default_run.summary["latency_ms"]["p95"]
    after = more_replicas_run.summary["latency_ms"]["p95"]
    assert after < before
    assert f"p95 {after:,.0f} ms" in fig.layout.title.subtitle.text
