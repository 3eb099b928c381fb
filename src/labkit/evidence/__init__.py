"""CPD evidence artifacts: declare, check, render, save.

Three artifacts a learner builds in the labs and keeps for their CPD record:

* :class:`SystemSketch` (lab 1): components, data paths, boundaries,
  fallbacks and what is logged;
* :class:`RiskEntry` (lab 3): a risk register entry mapped to NIST AI RMF 1.0
  subcategories (:data:`SUBCATEGORIES`), with owners and evidence;
* :class:`Runbook` (lab 3): a one-page incident runbook.

Each one checks itself (``check()`` lists what is missing), renders to
Markdown and self-contained HTML, serialises with ``to_dict()`` /
``from_dict()``, and shows in a notebook in the form the evidence pack
(:mod:`labkit.evidence.pack`, ``labkit evidence``) collects.

This package imports neither plotly nor IPython.
"""

from labkit.evidence.common import EvidenceError
from labkit.evidence.nist_rmf import SUBCATEGORIES
from labkit.evidence.risk import Control, RiskEntry, RmfMapping
from labkit.evidence.runbook import Runbook
from labkit.evidence.sketch import Boundary, Component, DataPath, SystemSketch

__all__ = ["EvidenceError", "SUBCATEGORIES", "RiskEntry", "Control", "RmfMapping", "Runbook",
           "SystemSketch", "Component", "DataPath", "Boundary", "from_dict"]

_KINDS: dict[str, type[RiskEntry] | type[Runbook] | type[SystemSketch]] = {
    "risk-register": RiskEntry, "incident-runbook": Runbook, "system-sketch": SystemSketch}


def from_dict(data: dict) -> RiskEntry | Runbook | SystemSketch:
    """Rebuild any artifact from its ``to_dict()`` form, dispatching on ``"kind"``."""
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind not in _KINDS:
        raise EvidenceError(f"kind must be one of {', '.join(_KINDS)}, got {kind!r}")
    return _KINDS[kind].from_dict(data)
