"""The CPD time breakdown as a chart: where the guided minutes of each lab go.

One stacked horizontal bar per lab (reading, activities, checkpoints,
reflection), one for all labs together, and one for the claimed level hours,
so the gap between what the workbook times and what the level claims is seen
at a glance.  The numbers come from :func:`labkit.cpd.breakdown`; this module
only draws them.
"""

from __future__ import annotations

import plotly.graph_objects as go

from labkit.cpd import PARTS, READING_COLOUR, Breakdown, format_minutes

__all__ = ["cpd_figure", "PART_COLOURS"]

# One colour per kind of counted time (the timing model's own), wherever the breakdown is drawn.
PART_COLOURS: dict[str, str] = {"reading": READING_COLOUR,
                                **{part.key: part.colour for part in PARTS},
                                "claimed": "#BAB0AC"}

_PARTS = (("reading", "Reading", "reading_min"),
          *((part.key, part.label, part.min_key) for part in PARTS))


def cpd_figure(b: Breakdown, *, height_px: int | None = None) -> go.Figure:
    """A stacked bar chart of guided minutes per lab, for all labs, and the claim.

    The y axis reads top to bottom in lab order; hovering a segment shows its minutes.
    """
    rows = b.rows()
    names = [r["lab"] for r in rows[:-1]] + ["All labs"]
    fig = go.Figure()
    for key, label, field in _PARTS:
        values = [r[field] for r in rows]
        fig.add_trace(go.Bar(
            name=label, y=names, x=values, orientation="h",
            marker_color=PART_COLOURS[key],
            hovertemplate=f"{label}: %{{x}} min<extra>%{{y}}</extra>"))
    claim = f"Claimed ({format_minutes(b.claimed_min)})"
    fig.add_trace(go.Bar(name="Claimed level hours", y=[claim], x=[b.claimed_min],
                         orientation="h", marker_color=PART_COLOURS["claimed"],
                         hovertemplate="Claimed: %{x} min<extra></extra>"))
    for name, total in zip(names, [r["total_min"] for r in rows]):
        fig.add_annotation(x=total, y=name, text=format_minutes(total), showarrow=False,
                           xanchor="left", xshift=4)
    fig.update_layout(
        barmode="stack", height=height_px or 120 + 48 * (len(names) + 1),
        title=f"Guided time: {format_minutes(b.total_min)} of the claimed "
              f"{format_minutes(b.claimed_min)} (gap {format_minutes(b.gap_min)})",
        xaxis_title="guided time (min)", yaxis={"autorange": "reversed", "title": None},
        legend={"orientation": "h", "y": -0.25}, margin={"l": 10, "r": 60, "t": 50, "b": 10},
    )
    return fig
