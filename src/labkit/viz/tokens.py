"""Token mode's charts: how fast tokens come, how full the replicas are, what tokens cost.

A chat user feels two numbers: how long until the first word appears (time
to first token, TTFT) and how fast the rest streams (time per output token,
TPOT).  :func:`ttft_tpot_figure` draws the p95 of both in each time bucket
against their budgets, TTFT on the left axis and TPOT on the right: TTFT
grows when prompts queue for a slot or for KV memory, TPOT when more
sequences share each decode iteration.

:func:`kv_figure` shows why: the sequences running on the replicas (left)
and the share of KV-cache memory they hold (right).  When memory reaches
100% new sequences wait (``reserve``) or running ones are preempted
(``paged``).

:func:`token_cost_figure` splits the bill into prompt tokens, output
tokens, per-call fees and warm replicas: a hosted API is all tokens, a
self-hosted model mostly replicas.  With a router (``router.policy``) the
parts add up both models (the small model's replicas join "warm replicas")
and the subtitle says who answered, how many were escalated and how many
answers were good; with the semantic cache, how many hits it served and how
many of them were wrong.

These charts need a token-mode run (``llm.enabled``); :data:`TOKEN_VIEWS`
lists them for the panels.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from labkit.viz.colors import BUDGET_COLOR, SERIES_COLORS, rgba
from labkit.viz.common import apply, base_layout, fmt_money, fmt_ms, fmt_pct, headline, series

__all__ = ["ttft_tpot_figure", "update_ttft_tpot", "kv_figure", "update_kv",
           "token_cost_figure", "update_token_cost", "token_cost_parts", "TOKEN_COST_PARTS",
           "token_route_note"]

_TTFT, _TPOT = "#3182BD", "#E69F00"
_RUNNING, _KV = "#17BECF", "#7B4173"

#: Part of the bill -> label on the token cost chart.
TOKEN_COST_PARTS: dict[str, str] = {
    "input_tokens": "prompt tokens",
    "output_tokens": "output tokens",
    "fees": "per-call fees",
    "replicas": "warm replicas",
}


def _need_tokens(result: Any) -> None:
    if getattr(result, "tokens", None) is None:
        raise ValueError("this chart needs a token-mode run (llm.enabled = true)")


def ttft_tpot_figure(result: Any, *, bucket_s: float | None = None) -> go.Figure:
    """p95 TTFT (left axis) and p95 TPOT (right axis) per bucket, with budgets: 4 traces."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(name="TTFT p95", mode="lines", line={"color": _TTFT, "width": 2.2},
                             hovertemplate="%{y:,.0f} ms", yaxis="y"))
    fig.add_trace(go.Scatter(name="TTFT budget", mode="lines",
                             line={"color": BUDGET_COLOR, "dash": "dash", "width": 1.4},
                             hovertemplate="%{y:,.0f} ms", yaxis="y"))
    fig.add_trace(go.Scatter(name="TPOT p95", mode="lines", line={"color": _TPOT, "width": 2.2},
                             hovertemplate="%{y:,.1f} ms", yaxis="y2"))
    fig.add_trace(go.Scatter(name="TPOT budget", mode="lines",
                             line={"color": BUDGET_COLOR, "dash": "dot", "width": 1.4},
                             hovertemplate="%{y:,.1f} ms", yaxis="y2"))
    fig.update_layout(base_layout(
        "Tokens", "simulated time (s)", "time to first token (ms)", subtitle=True,
        yaxis2={"title": {"text": "time per output token (ms)"}, "overlaying": "y",
                "side": "right", "rangemode": "tozero", "showgrid": False},
        margin={"l": 64, "r": 64, "t": 70, "b": 92}))
    return update_ttft_tpot(fig, result, bucket_s=bucket_s)


def update_ttft_tpot(fig: go.Figure, result: Any, *, bucket_s: float | None = None) -> go.Figure:
    """Pour ``result`` into a figure made by :func:`ttft_tpot_figure`."""
    _need_tokens(result)
    ts = series(result, bucket_s)
    t = ts["t_s"]
    span = [float(t[0]), float(t[-1])] if len(t) else []
    budget, s = result.scenario.budget, result.summary
    traces: list[dict[str, Any]] = []
    parts = []
    for key, limit_name, label in (("ttft_p95_ms", "ttft_p95_ms", "TTFT"),
                                   ("tpot_p95_ms", "tpot_p95_ms", "TPOT")):
        limit = getattr(budget, limit_name)
        traces.append({"x": t, "y": ts[key]})
        traces.append({"x": span, "y": [limit, limit] if limit is not None and span else [],
                       "visible": True if limit is not None else "legendonly"})
        actual = s[key.replace("_p95", "")]["p95"]
        text = f"{label} p95 {fmt_ms(actual) if label == 'TTFT' else f'{actual:.1f} ms'}"
        verdict = s["budgets"].get(limit_name, {"judged": False})
        if verdict.get("judged"):
            text += f" {'≤' if verdict['pass'] else '>'} {verdict['limit']:,.4g} ms " \
                    f"{'✓' if verdict['pass'] else '✗'}"
        parts.append(text)
    return apply(fig, traces, {"title": headline("Tokens", " · ".join(parts))})


def kv_figure(result: Any, *, bucket_s: float | None = None) -> go.Figure:
    """Running sequences (left axis) and KV-cache use in % (right axis): 2 traces."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(name="running sequences", mode="lines", line_shape="hv",
                             fill="tozeroy", fillcolor=rgba(_RUNNING, 0.2),
                             line={"color": _RUNNING, "width": 1.6},
                             hovertemplate="%{y:,.0f}", yaxis="y"))
    fig.add_trace(go.Scatter(name="KV cache in use", mode="lines", line_shape="hv",
                             line={"color": _KV, "width": 2},
                             hovertemplate="%{y:.0f}%", yaxis="y2"))
    fig.update_layout(base_layout(
        "Batch and KV cache", "simulated time (s)", "running sequences", subtitle=True,
        yaxis2={"title": {"text": "KV cache in use (%)"}, "overlaying": "y", "side": "right",
                "range": [0, 105], "showgrid": False},
        margin={"l": 64, "r": 64, "t": 70, "b": 92}))
    return update_kv(fig, result, bucket_s=bucket_s)


def update_kv(fig: go.Figure, result: Any, *, bucket_s: float | None = None) -> go.Figure:
    """Pour ``result`` into a figure made by :func:`kv_figure`."""
    _need_tokens(result)
    ts = series(result, bucket_s)
    capacity = ts["kv_capacity_tokens"]   # of the provisioned replicas, every model's
    kv_pct = 100.0 * ts["kv_tokens"] / (capacity + (capacity == 0))
    s = result.summary
    detail = (f"{s['batch_seqs_mean']:.1f} sequences per decode iteration · KV use "
              f"{fmt_pct(s['kv_utilization_mean'], 0)} on average · {s['preemptions']:,} "
              f"preemptions")
    return apply(fig, [{"x": ts["t_s"], "y": ts["running_seqs"]}, {"x": ts["t_s"], "y": kv_pct}],
                 {"title": headline("Batch and KV cache", detail)})


def token_cost_figure(result: Any) -> go.Figure:
    """The run's bill split into prompt tokens, output tokens, call fees, replicas: 1 trace."""
    fig = go.Figure(go.Bar(
        name="cost", orientation="h", y=list(TOKEN_COST_PARTS.values()),
        marker={"color": [_TTFT, _TPOT, SERIES_COLORS["cost.calls"],
                          SERIES_COLORS["cost.replicas"]]},
        texttemplate="%{x:$,.3~f}", textposition="auto", cliponaxis=False,
        hovertemplate="%{y}: %{x:$,.4f}<extra></extra>", showlegend=False))
    fig.update_layout(base_layout("Token cost", "cost of the run ($)", subtitle=True,
                                  margin={"l": 110, "r": 24, "t": 70, "b": 48}))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(rangemode="tozero", tickprefix="$")
    fig.update_layout(hovermode="closest")
    return update_token_cost(fig, result)


def token_cost_parts(result: Any) -> dict[str, float]:
    """The bill by part (keys of :data:`TOKEN_COST_PARTS`), from ``result.summary``."""
    _need_tokens(result)
    cost = result.summary["cost"]
    return {"input_tokens": cost["input_tokens"], "output_tokens": cost["output_tokens"],
            "fees": cost["calls"] - cost["input_tokens"] - cost["output_tokens"],
            "replicas": cost["replicas"]}


def token_route_note(summary: dict[str, Any]) -> str:
    """What the router and the semantic cache did, for a chart's subtitle ("" when off).

    >>> token_route_note({"router": {"policy": "cascade", "small": 90, "large": 30,
    ...                              "escalated": 30, "good_ratio": 0.8}})
    ' · cascade: 90 small, 30 large answers, 30 escalated, 80% good'
    """
    note = ""
    rt = summary.get("router")
    if rt is not None:
        note += (f" · {rt['policy']}: {rt['small']:,} small, {rt['large']:,} large answers, "
                 f"{rt['escalated']:,} escalated, {fmt_pct(rt['good_ratio'], 0)} good")
    if "semantic_hits" in summary:
        note += (f" · semantic cache: {summary['semantic_hits']:,} hits, "
                 f"{summary['semantic_false_hits']:,} wrong")
    return note


def update_token_cost(fig: go.Figure, result: Any) -> go.Figure:
    """Pour ``result`` into a figure made by :func:`token_cost_figure`."""
    parts = token_cost_parts(result)
    tok = result.summary["tokens"]
    detail = (f"{tok['input']:,} prompt and {tok['output']:,} output tokens · "
              f"{fmt_money(result.summary['cost']['per_1k'])} per 1k requests")
    detail += token_route_note(result.summary)
    return apply(fig, [{"x": [parts[k] for k in TOKEN_COST_PARTS]}],
                 {"title": headline("Token cost", detail)})
