"""The request path as a Sankey diagram: gateway → cache → model → retries → fallback → outcome.

Every request enters at the gateway and leaves through exactly one outcome;
in between it may be answered from the cache, pass the retrieval steps,
call the model (perhaps several times), fall back to a smaller model, an
expired cached answer or a safe message, or wait for a human review of a
write.  The width of each band is a number of requests, and each band takes
the colour of the outcome its requests finally got, so a learner can see
for instance that most of the amber (degraded) traffic came through retries.

The flows are read from the per-request records (the ``path`` bits and the
outcome), so the diagram always agrees with ``result.summary``: the bands
into the ``ok`` node add up to ``summary["outcomes"]["ok"]``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from labkit.viz.colors import OUTCOME_COLORS, STAGE_COLOR, rgba
from labkit.viz.common import apply, base_layout, fmt_count, headline

__all__ = ["path_figure", "update_path", "path_flows", "NODES"]

# Stage node -> the path bit(s) that mean a request visited it, in path order.
_STAGES: tuple[tuple[str, int], ...] = (
    ("gateway", 1),
    ("cache", 2),
    ("batch store", 4),
    ("retrieval steps", 8 | 16 | 32),
    ("model", 64),
    ("retries", 128),
    ("small model", 256),
    ("stale cache", 512),
    ("safe message", 1024),
    ("review", 2048),
)
_OUTCOMES = ("ok", "degraded", "failed", "rejected")
#: Node labels in a fixed order: stages, then outcomes.
NODES: tuple[str, ...] = tuple(name for name, _ in _STAGES) + _OUTCOMES


def path_flows(result: Any) -> dict[tuple[str, str, str], int]:
    """Requests per (from node, to node, final outcome), read from the records.

    Every request contributes one unit to each hop of its own path, so the
    flows into an outcome node add up to that outcome's count.
    """
    records = result.records
    flows: dict[tuple[str, str, str], int] = {}
    if len(records) == 0:
        return flows
    keys = (records["path"].astype(np.int64) << 2) | records["outcome"].astype(np.int64)
    combos, counts = np.unique(keys, return_counts=True)
    for key, count in zip(combos.tolist(), counts.tolist()):
        bits, outcome = key >> 2, _OUTCOMES[key & 3]
        nodes = ["gateway"] + [name for name, mask in _STAGES[1:] if bits & mask]
        nodes.append(outcome)
        for src, dst in zip(nodes, nodes[1:]):
            flows[(src, dst, outcome)] = flows.get((src, dst, outcome), 0) + count
    return flows


def path_figure(result: Any) -> go.Figure:
    """One Sankey trace with fixed nodes; links change with the result."""
    colors = [STAGE_COLOR] * len(_STAGES) + [OUTCOME_COLORS[o] for o in _OUTCOMES]
    fig = go.Figure(go.Sankey(
        arrangement="snap", valueformat=",d", valuesuffix=" requests",
        node={"label": list(NODES), "color": colors, "pad": 18, "thickness": 14,
              "line": {"color": "white", "width": 0.5}},
        link={"source": [], "target": [], "value": [], "color": []},
    ))
    fig.update_layout(base_layout("Request path", subtitle=True))
    fig.update_layout(hovermode="closest", margin={"l": 16, "r": 16, "t": 70, "b": 16})
    return update_path(fig, result)


def update_path(fig: go.Figure, result: Any) -> go.Figure:
    """Pour ``result`` into a figure made by :func:`path_figure`."""
    index = {name: i for i, name in enumerate(NODES)}
    flows = sorted(path_flows(result).items(),
                   key=lambda kv: (index[kv[0][0]], _OUTCOMES.index(kv[0][2]), index[kv[0][1]]))
    link = {
        "source": [index[src] for (src, _, _), _ in flows],
        "target": [index[dst] for (_, dst, _), _ in flows],
        "value": [count for _, count in flows],
        "color": [rgba(OUTCOME_COLORS[outcome], 0.45) for (_, _, outcome), _ in flows],
        "customdata": [[src, dst, outcome] for (src, dst, outcome), _ in flows],
        "hovertemplate": "%{customdata[0]} → %{customdata[1]}: %{value}"
                         "<br>ending %{customdata[2]}<extra></extra>",
    }
    totals = {o: 0 for o in _OUTCOMES}
    through = {name: 0 for name in NODES}
    for (src, dst, _), count in flows:
        if dst in totals:
            totals[dst] += count
        through[dst] += count
        if src == "gateway":
            through[src] += count
    # Label outcomes always and stages that carry at least 5% of the traffic;
    # thinner stages keep their label on hover, so labels never pile up.
    floor = 0.05 * max(len(result.records), 1)
    labels = [f"{name} {fmt_count(totals[name])}" if name in totals else
              name if through[name] >= floor else "" for name in NODES]
    s = result.summary
    title = headline("Request path", f"{fmt_count(s['requests'])} requests · "
                     f"cache hits {s['cache_hit_ratio']:.0%} · {s['retries']:,} retries · "
                     f"{s['fallback_calls']:,} fallback calls")
    return apply(fig, [{"link": link, "node": {"label": labels}}], {"title": title})
