"""Token mode in the panel, headless: the token charts appear with ``llm.enabled`` and show
exactly the numbers of the run (the same knobs and seed simulated independently)."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.knobs import KnobError
from labkit.sim import simulate
from labkit.ui import Panel
from labkit.ui.panel import PANEL_VIEWS
from labkit.viz.common import fmt_ms, series
from labkit.viz.tokens import token_cost_parts

SHORT = {"load.duration_s": 20.0}
TOKEN_CHARTS = ["tokens", "kv", "token_cost"]


def y(fig, i: int) -> np.ndarray:
    return np.asarray(fig.data[i].y, float)


def assert_token_charts_show(panel, result) -> None:
    """Every token chart's traces hold ``result``'s numbers."""
    ts = series(result)
    figs = panel.figures
    np.testing.assert_allclose(y(figs["tokens"], 0), ts["ttft_p95_ms"], equal_nan=True)
    np.testing.assert_allclose(y(figs["tokens"], 2), ts["tpot_p95_ms"], equal_nan=True)
    np.testing.assert_allclose(y(figs["kv"], 0), ts["running_seqs"])
    capacity = result.totals["kv_capacity"] * ts["replicas"]
    np.testing.assert_allclose(y(figs["kv"], 1), 100.0 * ts["kv_tokens"] / capacity)
    parts = token_cost_parts(result)
    np.testing.assert_allclose(np.asarray(figs["token_cost"].data[0].x, float),
                               list(parts.values()))
    ttft_p95 = result.summary["ttft_ms"]["p95"]
    assert f"TTFT p95 {fmt_ms(ttft_p95)}" in figs["tokens"].layout.title.subtitle.text


def test_turning_token_mode_on_brings_the_token_charts_and_off_takes_them_away():
    panel = Panel(knobs=["llm.enabled", "model.replicas"], fixed=SHORT)
    assert not set(TOKEN_CHARTS) & set(panel.figures)          # request mode: none built
    assert "tokens" not in panel.view.shown_views()
    panel.controls["llm.enabled"].value = True
    result = panel.result
    assert result.summary == simulate({**SHORT, "llm.enabled": True}, seed=1).summary
    assert set(TOKEN_CHARTS) <= set(panel.view.shown_views())
    assert_token_charts_show(panel, result)
    panel.controls["llm.enabled"].value = False
    assert result.tokens is not None and panel.result.tokens is None
    assert not set(TOKEN_CHARTS) & set(panel.view.shown_views())
    assert "latency" in panel.view.shown_views()


def test_a_token_preset_panel_updates_its_token_charts_in_place():
    panel = Panel(knobs=["model.replicas", "llm.max_batch_seqs"], preset="chat-assistant",
                  fixed={"load.duration_s": 30.0})
    figs = {name: panel.figures[name] for name in TOKEN_CHARTS}
    assert_token_charts_show(panel, panel.result)
    panel.controls["llm.max_batch_seqs"].value = 8
    independent = simulate({"load.duration_s": 30.0, "llm.max_batch_seqs": 8},
                           preset="chat-assistant", seed=1)
    assert panel.result.summary == independent.summary
    assert all(panel.figures[name] is figs[name] for name in TOKEN_CHARTS)   # not rebuilt
    assert_token_charts_show(panel, panel.result)
    assert max(y(panel.figures["kv"], 0)) <= 8 * 2      # 8 sequences on each of 2 replicas


def test_the_router_and_semantic_cache_reach_the_token_cost_chart():
    panel = Panel(knobs=["router.policy", "llm.semantic_threshold"], preset="router-cascade",
                  fixed={"load.duration_s": 30.0}, views=["token_cost", "tokens"])
    assert list(panel.figures) == ["token_cost", "tokens"]
    assert_cost = panel.result.summary["cost"]
    shown = np.asarray(panel.figures["token_cost"].data[0].x, float)
    assert shown.sum() == pytest.approx(assert_cost["calls"] + assert_cost["replicas"],
                                        rel=1e-9)
    before = panel.result.summary["router"]["escalated"]
    panel.controls["router.policy"].value = "large"
    assert panel.result.summary["router"]["escalated"] == 0 < before
    shown = np.asarray(panel.figures["token_cost"].data[0].x, float)
    np.testing.assert_allclose(shown, list(token_cost_parts(panel.result).values()))


def test_token_views_are_named_views_and_a_wrong_name_lists_them():
    assert PANEL_VIEWS[-1] == "compare" and set(TOKEN_CHARTS) <= set(PANEL_VIEWS)
    with pytest.raises(KnobError, match="unknown view 'ttft'; views: .*tokens, kv, token_cost"):
        Panel(fixed=SHORT, views=["ttft"])
