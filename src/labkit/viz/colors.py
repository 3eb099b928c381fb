"""One colour map for every chart, so a colour means the same thing everywhere.

A learner who has seen amber mean *degraded* in the outcome mix should find
amber on the fallback flows of the request-path diagram and on the fallback
slice of the cost breakdown.  Outcomes use the Okabe-Ito palette, which stays
distinguishable for the common forms of colour blindness; a budget line is
always dark and dashed; a baseline run is always grey and dashed.

>>> OUTCOME_COLORS["degraded"] == SERIES_COLORS["cost.fallback"]
True
>>> rgba(OUTCOME_COLORS["ok"], 0.5)
'rgba(0,158,115,0.5)'
"""

from __future__ import annotations

__all__ = [
    "OUTCOME_COLORS", "SERIES_COLORS", "BUDGET_COLOR", "BASELINE_COLOR", "CHANGE_COLOR",
    "PASS_COLOR", "FAIL_COLOR", "NEUTRAL_COLOR", "STAGE_COLOR", "SEQUENCE", "rgba",
]

#: Every request ends in exactly one of these outcomes.
OUTCOME_COLORS: dict[str, str] = {
    "ok": "#009E73",        # bluish green: answered by the primary path
    "degraded": "#E69F00",  # orange: answered by a fallback
    "failed": "#D55E00",    # vermillion: no answer
    "rejected": "#8C8C8C",  # grey: refused at the door
}

PASS_COLOR = OUTCOME_COLORS["ok"]
FAIL_COLOR = OUTCOME_COLORS["failed"]
NEUTRAL_COLOR = "#B8B8B8"          # a budget that is not judged
BUDGET_COLOR = "#262626"           # budget limits: dark, dashed
BASELINE_COLOR = "#8C8C8C"         # the pinned baseline run: grey, dashed
CHANGE_COLOR = "#0B5CAD"           # the run being compared with the baseline
STAGE_COLOR = "#5B6B7F"            # pipeline stages in the request-path diagram

#: Named series; the key is the metric name the series plots.
SERIES_COLORS: dict[str, str] = {
    "p50_ms": "#9ECAE1",
    "p95_ms": "#3182BD",
    "p99_ms": "#08306B",
    "queue_len": "#7B4173",
    "replicas": "#525252",
    "ready": "#969696",
    "busy": "#17BECF",
    "model_calls": "#4C78A8",
    "retries": "#8C6BB1",
    "amplification": "#262626",
    "cost.calls": "#4C78A8",       # the same blue as model calls
    "cost.replicas": "#9D755D",
    "cost.steps": "#B279A2",
    "cost.fallback": OUTCOME_COLORS["degraded"],
    "cost.jobs": "#BAB0AC",
}

#: Lines of a sweep plot, one per value of the colour knob, in order.
SEQUENCE: tuple[str, ...] = (
    "#0B5CAD", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#7B4173", "#525252",
)


def rgba(hex_color: str, alpha: float) -> str:
    """``#RRGGBB`` with an alpha channel, as plotly's ``rgba(r,g,b,a)`` string."""
    value = hex_color.lstrip("#")
    if len(value) != 6:
        raise ValueError(f"colour must look like #RRGGBB, got {hex_color!r}")
    r, g, b = (int(value[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha:g})"
