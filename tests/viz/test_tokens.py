"""Token-mode figures: their lines are the token records and samples, their titles the summary."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from labkit.sim import simulate
from labkit.viz import TOKEN_VIEWS, VIEWS
from labkit.viz.tokens import (
    kv_figure,
    token_cost_figure,
    token_cost_parts,
    ttft_tpot_figure,
    update_kv,
    update_ttft_tpot,
)


@pytest.fixture(scope="module")
def chat_run():
    return simulate({"load.duration_s": 60.0}, seed=1, preset="chat-assistant")


@pytest.fixture(scope="module")
def static_run():
    return simulate({"load.duration_s": 60.0}, seed=1, preset="static-batching")


def _p95_by_end_bucket(result, column: str) -> np.ndarray:
    """Independent recomputation: the column's p95 over answers, by the 1 s bucket they end in."""
    tok, r = result.tokens, result.records
    keep = ~np.isnan(tok[column])
    n = int(np.ceil(max(result.scenario.load.duration_s, r["end_s"].max())))
    idx = np.minimum(r["end_s"][keep].astype(int), n - 1)
    vals = tok[column][keep]
    return np.array([np.percentile(vals[idx == k], 95) if (idx == k).any() else np.nan
                     for k in range(n)])


def test_ttft_and_tpot_lines_are_the_records_percentiles(chat_run):
    fig = ttft_tpot_figure(chat_run, bucket_s=1.0)
    assert [t.name for t in fig.data] == ["TTFT p95", "TTFT budget", "TPOT p95", "TPOT budget"]
    np.testing.assert_allclose(np.asarray(fig.data[0].y, float),
                               _p95_by_end_bucket(chat_run, "ttft_ms"), rtol=1e-12,
                               equal_nan=True)
    np.testing.assert_allclose(np.asarray(fig.data[2].y, float),
                               _p95_by_end_bucket(chat_run, "tpot_ms"), rtol=1e-12,
                               equal_nan=True)
    assert list(fig.data[1].y) == [500.0, 500.0] and list(fig.data[3].y) == [50.0, 50.0]
    assert fig.data[2].yaxis == "y2"
    assert "✓" in fig.layout.title.subtitle.text


def test_static_batching_breaks_the_ttft_budget_and_the_title_says_so(static_run):
    fig = ttft_tpot_figure(static_run)
    ttft = static_run.summary["ttft_ms"]["p95"]
    assert ttft > 500.0
    assert "> 500 ms ✗" in fig.layout.title.subtitle.text


def test_kv_chart_shows_running_sequences_and_kv_share(chat_run):
    fig = kv_figure(chat_run, bucket_s=1.0)
    ts = chat_run.timeseries(1.0)
    np.testing.assert_array_equal(np.asarray(fig.data[0].y, float), ts["running_seqs"])
    kv = np.asarray(fig.data[1].y, float)
    assert ((kv >= 0) & (kv <= 100)).all()
    cap = chat_run.totals["kv_capacity"]
    np.testing.assert_allclose(kv, 100 * ts["kv_tokens"] / (cap * ts["replicas"]), rtol=1e-12)


def test_token_cost_parts_add_up_to_the_bill(chat_run):
    parts = token_cost_parts(chat_run)
    cost = chat_run.summary["cost"]
    assert sum(parts.values()) == pytest.approx(cost["calls"] + cost["replicas"], rel=1e-12)
    tok = chat_run.summary["tokens"]
    sc = chat_run.scenario.model
    assert parts["input_tokens"] == pytest.approx(tok["input"] * sc.cost_per_1m_input_tokens / 1e6)
    assert parts["fees"] == pytest.approx(0.0, abs=1e-12)     # the preset has no call fee
    fig = token_cost_figure(chat_run)
    assert list(fig.data[0].x) == pytest.approx(list(parts.values()))


def test_update_in_place_keeps_the_traces(chat_run, static_run):
    fig = go.FigureWidget(ttft_tpot_figure(chat_run))
    traces = list(fig.data)
    update_ttft_tpot(fig, static_run)
    assert all(a is b for a, b in zip(fig.data, traces))
    kv = go.FigureWidget(kv_figure(chat_run))
    update_kv(kv, static_run)
    assert len(kv.data) == 2


def test_token_views_need_a_token_run_and_stay_out_of_the_default_panels():
    run = simulate({"load.duration_s": 5.0}, seed=1)
    for view in TOKEN_VIEWS.values():
        with pytest.raises(ValueError, match="needs a token-mode run"):
            view.build(run)
    assert not set(TOKEN_VIEWS) & set(VIEWS)


def test_token_cost_with_a_router_adds_both_models_and_says_who_answered():
    run = simulate({"load.duration_s": 30.0}, seed=2, preset="router-cascade")
    parts, s = token_cost_parts(run), run.summary
    cost, rt = s["cost"], s["router"]
    assert sum(parts.values()) == pytest.approx(cost["calls"] + cost["replicas"], rel=1e-12)
    assert cost["small_model"] + cost["large_model"] == pytest.approx(cost["calls"], rel=1e-12)
    # the tokens at each model's own prices
    sc = run.scenario
    small_in = rt["small_calls"] and run.totals["router"]["small_tokens"]["input"]
    large_in = run.totals["router"]["large_tokens"]["input"]
    assert small_in + large_in == s["tokens"]["input"]
    assert parts["input_tokens"] == pytest.approx(
        (small_in * sc.router.small_cost_per_1m_input_tokens
         + large_in * sc.model.cost_per_1m_input_tokens) / 1e6, rel=1e-12)
    subtitle = token_cost_figure(run).layout.title.subtitle.text
    assert f"cascade: {rt['small']:,} small, {rt['large']:,} large answers" in subtitle
    assert f"semantic cache: {s['semantic_hits']:,} hits, {s['semantic_false_hits']:,} wrong" \
        in subtitle
