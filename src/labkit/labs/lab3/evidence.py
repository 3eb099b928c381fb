"""Lab 3's evidence checks: the risk register entry and the runbook, as objects or as data.

While the learner works, the check cells receive the artifacts themselves
(:class:`~labkit.evidence.RiskEntry`, :class:`~labkit.evidence.Runbook`).  At
grading, only plain data leaves the learner's kernel: the check cell's probe
line turns the artifact into its ``to_dict()`` form there (:func:`artifact_data`), and the checks run
on that dict in a kernel that never ran learner code.  Each function here takes
either form, rebuilds the artifact from the data (so its own ``check()`` rules,
not the learner's object, decide), and returns problems (``[]``: it passes).

>>> evidence_problems(None, "risk")
['risk_entry must be a RiskEntry (see the cell above), got None.']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labkit.evidence import RiskEntry, Runbook
from labkit.evidence.common import EvidenceError

__all__ = ["evidence_problems", "risk_entry_extent_problems", "runbook_extent_problems",
           "artifact_data"]

_KINDS: dict[str, tuple[Any, str]] = {"risk": (RiskEntry, "risk_entry"),
                                       "runbook": (Runbook, "runbook")}
RUNBOOK_SECTIONS = ("triage", "containment", "communications", "post_incident")


def _artifact(value: Any, kind: str) -> tuple[Any, list[str]]:
    cls, name = _KINDS[kind]
    if type(value) is cls:
        return value, []
    if isinstance(value, Mapping):
        try:
            return cls.from_dict(value), []
        except (EvidenceError, TypeError, ValueError, KeyError) as exc:
            return None, [f"{name} could not be read back from its data: {exc}"]
    return None, [f"{name} must be a {cls.__name__} (see the cell above), got {value!r:.80}."]


def artifact_data(value: Any) -> Any:
    """What crosses to the grader for an artifact answer: its ``to_dict()`` data (a dict
    already in that form as a plain copy; anything else as it is, to be refused there).

    >>> artifact_data({"kind": "incident-runbook"})
    {'kind': 'incident-runbook'}
    """
    if isinstance(value, Mapping):
        return dict(value)
    to_dict = getattr(type(value), "to_dict", None)
    return to_dict(value) if callable(to_dict) else value


def evidence_problems(value: Any, kind: str) -> list[str]:
    """What ``check()`` still finds in a risk entry (``kind="risk"``) or runbook (``"runbook"``)."""
    artifact, problems = _artifact(value, kind)
    return problems or list(artifact.check())


def risk_entry_extent_problems(value: Any) -> list[str]:
    """The graded extent of a risk entry: three mappings over two RMF functions, two controls."""
    entry, problems = _artifact(value, "risk")
    if problems:
        return problems
    if len({m.subcategory for m in entry.nist}) < 3:
        problems.append("risk entry: fewer than 3 mappings")
    if len({m.subcategory.split()[0] for m in entry.nist}) < 2:
        problems.append("risk entry: mappings all come from one RMF function")
    if len(entry.controls) < 2:
        problems.append("risk entry: fewer than 2 controls")
    return problems


def runbook_extent_problems(value: Any) -> list[str]:
    """The graded extent of a runbook: at least two steps in each section."""
    book, problems = _artifact(value, "runbook")
    if problems:
        return problems
    return [f"runbook: fewer than 2 steps in {section}" for section in RUNBOOK_SECTIONS
            if len([s for s in getattr(book, section) if s]) < 2]
