"""The budget scorecard: does each budget hold, and by how much.

A budget turns a vague wish ("fast enough, cheap enough") into a number a
run either meets or breaks.  The scorecard lists every budget the run was
judged on with its rule (``≤ 1,000 ms``), the run's actual value and the
verdict, green when it holds and vermillion when it is broken; a budget set
to 0 is shown as *not judged*.  Rows come from ``result.summary["budgets"]``,
so a budget added to the simulator appears here without code changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go

from labkit.viz.colors import FAIL_COLOR, NEUTRAL_COLOR, PASS_COLOR, rgba
from labkit.viz.common import apply, base_layout, fmt_money, fmt_ms, fmt_pct, headline

__all__ = ["scorecard_figure", "update_scorecard", "scorecard_rows"]

# budget name -> (label, formatter); the direction comes from labkit.sim.result.BUDGETS.
_FORMATS: dict[str, tuple[str, Callable[[float], str]]] = {
    "p95_ms": ("p95 latency", fmt_ms),
    "p99_ms": ("p99 latency", fmt_ms),
    "cost_per_1k": ("cost per 1k requests", fmt_money),
    "success_rate": ("success rate", lambda v: fmt_pct(v, 2)),
    "quality": ("mean quality", lambda v: f"{v:.3f}"),
}


def scorecard_rows(result: Any) -> list[dict[str, Any]]:
    """One row per budget: name, label, rule, actual, verdict and pass flag."""
    from labkit.sim.result import BUDGETS

    rows = []
    for name, b in result.summary["budgets"].items():
        label, fmt = _FORMATS.get(name, (name.replace("_", " "), lambda v: f"{v:,.4g}"))
        direction = BUDGETS.get(name, ("", "max"))[1]
        judged = bool(b.get("judged", True))
        rule = f"{'≤' if direction == 'max' else '≥'} {fmt(b['limit'])}" if judged else "—"
        verdict = ("✓ holds" if b["pass"] else "✗ broken") if judged else "not judged"
        rows.append({"name": name, "label": label, "rule": rule, "actual": fmt(b["actual"]),
                     "verdict": verdict, "pass": bool(b["pass"]), "judged": judged})
    return rows


def scorecard_figure(result: Any) -> go.Figure:
    """A four-column table: budget, rule, actual, verdict."""
    fig = go.Figure(go.Table(
        columnwidth=[1.5, 1.1, 1.1, 1.0],
        header={"values": ["<b>budget</b>", "<b>rule</b>", "<b>this run</b>", "<b>verdict</b>"],
                "fill": {"color": "#F2F2F2"}, "align": "left", "height": 30,
                "font": {"size": 12, "color": "#262626"}, "line": {"color": "white"}},
        cells={"values": [[], [], [], []], "align": "left", "height": 30,
               "font": {"size": 13, "color": "#262626"}, "line": {"color": "white"}},
    ))
    fig.update_layout(base_layout("Budgets", subtitle=True))
    fig.update_layout(margin={"l": 16, "r": 16, "t": 70, "b": 8})
    return update_scorecard(fig, result)


def update_scorecard(fig: go.Figure, result: Any) -> go.Figure:
    """Pour ``result`` into a figure made by :func:`scorecard_figure`."""
    rows = scorecard_rows(result)
    tints, verdict_fill, verdict_font = [], [], []
    for row in rows:
        color = (PASS_COLOR if row["pass"] else FAIL_COLOR) if row["judged"] else NEUTRAL_COLOR
        tints.append(rgba(color, 0.08))
        verdict_fill.append(rgba(color, 0.22))
        verdict_font.append(color if row["judged"] else "#595959")
    cells = {
        "values": [[r["label"] for r in rows], [r["rule"] for r in rows],
                   [r["actual"] for r in rows], [f"<b>{r['verdict']}</b>" for r in rows]],
        "fill": {"color": [tints, tints, tints, verdict_fill]},
        "font": {"color": [["#262626"] * len(rows)] * 3 + [verdict_font]},
    }
    judged = [r for r in rows if r["judged"]]
    broken = [r for r in judged if not r["pass"]]
    if not judged:
        title = headline("Budgets", "none judged (set a budget above 0)")
    elif broken:
        title = headline("Budgets", f"{len(broken)} of {len(judged)} broken: "
                         + ", ".join(r["label"] for r in broken) + " ✗")
    else:
        title = headline("Budgets", f"all {len(judged)} hold ✓")
    return apply(fig, [{"cells": cells}], {"title": title})
