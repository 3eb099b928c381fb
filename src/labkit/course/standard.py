"""Assessments with a pass standard and a time limit: who passed, and who handed in late.

A notebook is an **assessment** when its metadata holds ``labkit.assessment`` with a
``pass_standard`` (``{"overall": 0.7, "per_block": 0.5}``: at least 70% of all points and half of
each block's) and its graded cells name their block in cell metadata ``labkit.block``.  The
standard is applied to the gradebook, manual marks included:

* **pass** when it holds even if every written answer still to be marked scores nothing;
* **fail** when it cannot hold even if every such answer scores full marks;
* **pending** otherwise (a tutor's marks decide).

The **time limit** is the instructor's, in ``nbgrader_config.py``::

    c.TimedAssessment.time_limit_min = {"assessment-advanced": 45}
    c.TimedAssessment.opens = {"assessment-advanced": "2026-12-10T09:00:00+00:00"}
    c.TimedAssessment.starts = {"assessment-advanced": {"s042": "2026-12-11T14:00:00+00:00"}}
    c.TimedAssessment.extra_time_min = {"s017": 15}           # agreed adjustments
    c.TimedAssessment.resits = {"assessment-advanced": {"s042": 1}}   # graded on sitting 1's draw

A submission is late by the minutes between its hand-in time (``timestamp.txt``, written by
``labkit course collect``) and its start (the student's own, else the sitting's) plus the limit
and any extra time.  Without a start time nothing can be late, and the report says so.  Late
work is flagged, not rejected: the grade stands, and the flag shows in the export and the
student's feedback for the instructor to act on.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from traitlets import Dict, Int
from traitlets.config import Configurable

from labkit.course.gradebook import CellGrade
from labkit.course.layout import CourseError

__all__ = ["PassStandard", "Standing", "TimedAssessment", "standard_of", "standing",
           "minutes_late", "timing_of", "Timing"]


class TimedAssessment(Configurable):
    """The instructor's time rules for assessments (``c.TimedAssessment.*`` in nbgrader_config.py)."""

    time_limit_min = Dict(value_trait=Int(), default_value={},
                          help="Minutes allowed per assessment notebook, by lab name.").tag(config=True)
    opens = Dict(default_value={}, help="When each assessment's sitting starts (ISO 8601 with "
                 "a time zone), by lab name.").tag(config=True)
    starts = Dict(default_value={}, help="Per-student start times overriding `opens`: "
                  "{lab: {student: ISO 8601}}.").tag(config=True)
    extra_time_min = Dict(value_trait=Int(), default_value={},
                          help="Extra minutes agreed for a student (all assessments).").tag(config=True)
    resits = Dict(default_value={}, help="Re-sits: {lab: {student: sitting}}; sitting 1 is the "
                  "first re-sit. The student's notebook is graded against that sitting's draw "
                  "(fresh items and numbers).").tag(config=True)


@dataclass(frozen=True, kw_only=True)
class PassStandard:
    """The share of points needed overall and in every block, and which cell is in which block."""

    overall: float
    per_block: float
    blocks: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("overall", "per_block"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
                raise CourseError(f"pass_standard.{name} must be a share in (0, 1], got {value!r}")


def standard_of(nb: Any) -> PassStandard | None:
    """The pass standard a notebook declares (``None``: not an assessment)."""
    meta = (nb.get("metadata") or {}).get("labkit", {}).get("assessment")
    if not meta:
        return None
    rule: dict[str, Any] = meta.get("pass_standard") or {}
    blocks = {}
    for cell in nb.get("cells", []):
        grade_id = (cell.get("metadata") or {}).get("nbgrader", {}).get("grade_id")
        block = (cell.get("metadata") or {}).get("labkit", {}).get("block")
        if grade_id and block:
            blocks[grade_id] = block
    return PassStandard(overall=rule.get("overall", 0.0), per_block=rule.get("per_block", 0.0),
                        blocks=blocks)


@dataclass(frozen=True, kw_only=True)
class Standing:
    """One student's standing against a pass standard."""

    status: str                          # "pass", "fail" or "pending"
    score: float                         # points so far (unmarked answers count 0)
    max_score: float
    by_block: Mapping[str, tuple[float, float]]
    unmarked: float                      # points still to be marked by a tutor
    reasons: tuple[str, ...] = ()

    def text(self) -> str:
        blocks = ", ".join(f"{b} {s:g}/{m:g}" for b, (s, m) in self.by_block.items())
        head = {"pass": "PASS", "fail": "NOT PASSED", "pending": "PENDING"}[self.status]
        tail = f"; {self.unmarked:g} points still to be marked" if self.unmarked else ""
        why = f" ({'; '.join(self.reasons)})" if self.reasons else ""
        return f"{head}: {self.score:g}/{self.max_score:g} points; {blocks}{tail}{why}"


def _holds(standard: PassStandard, scores: Mapping[str, tuple[float, float]]) -> list[str]:
    """Reasons the standard does not hold for cell scores {grade_id: (score, max)} ([]: holds)."""
    total = sum(s for s, _ in scores.values())
    top = sum(m for _, m in scores.values())
    reasons = []
    if top and total < standard.overall * top - 1e-9:
        reasons.append(f"{total:g} of {top:g} points is under {standard.overall:.0%}")
    for block, (got, most) in _by_block(standard, scores).items():
        if most and got < standard.per_block * most - 1e-9:
            reasons.append(f"{block}: {got:g} of {most:g} is under {standard.per_block:.0%}")
    return reasons


def _by_block(standard: PassStandard, scores: Mapping[str, tuple[float, float]]
              ) -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    for cell, (got, most) in scores.items():
        block = standard.blocks.get(cell, "other")
        s, m = out.get(block, (0.0, 0.0))
        out[block] = (s + got, m + most)
    return dict(sorted(out.items()))


def standing(standard: PassStandard, grades: Iterable[CellGrade]) -> Standing:
    """Apply ``standard`` to one student's cell grades (manual marks win over automatic ones)."""
    worst: dict[str, tuple[float, float]] = {}
    best: dict[str, tuple[float, float]] = {}
    unmarked = 0.0
    for g in grades:
        score = g.manual_score if g.manual_score is not None else g.auto_score
        if score is None:              # a written answer a tutor has not marked yet
            unmarked += g.max_score
            worst[g.cell], best[g.cell] = (0.0, g.max_score), (g.max_score, g.max_score)
        else:
            worst[g.cell] = best[g.cell] = (float(score), g.max_score)
    low, high = _holds(standard, worst), _holds(standard, best)
    status = "pass" if not low else ("fail" if high else "pending")
    return Standing(status=status, score=sum(s for s, _ in worst.values()),
                    max_score=sum(m for _, m in worst.values()),
                    by_block=_by_block(standard, worst), unmarked=unmarked,
                    reasons=tuple(high if status == "fail" else ()))


def _when(value: Any, where: str) -> _dt.datetime:
    if isinstance(value, _dt.datetime):
        moment = value
    else:
        try:
            moment = _dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise CourseError(f"{where} must be a date and time in ISO 8601 with a time zone "
                              f"(e.g. 2026-12-10T09:00:00+00:00), got {value!r}") from None
    if moment.tzinfo is None:
        raise CourseError(f"{where} must name its time zone (e.g. +00:00), got {value!r}")
    return moment


@dataclass(frozen=True, kw_only=True)
class Timing:
    """One assessment's time rules as the instructor set them."""

    lab: str
    limit_min: int | None
    opens: _dt.datetime | None
    starts: Mapping[str, _dt.datetime]
    extra_min: Mapping[str, int]


def timing_of(config: Any, lab: str) -> Timing:
    """The time rules for ``lab`` from a loaded nbgrader configuration (errors name the option)."""
    section = config.get("TimedAssessment", {}) if config is not None else {}
    limits = dict(section.get("time_limit_min", {}) or {})
    limit = limits.get(lab)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise CourseError(f"c.TimedAssessment.time_limit_min[{lab!r}] must be a whole number of "
                          f"minutes >= 1, got {limit!r}")
    opens_raw = dict(section.get("opens", {}) or {}).get(lab)
    opens = _when(opens_raw, f"c.TimedAssessment.opens[{lab!r}]") if opens_raw else None
    starts = {student: _when(v, f"c.TimedAssessment.starts[{lab!r}][{student!r}]")
              for student, v in dict(dict(section.get("starts", {}) or {}).get(lab, {})).items()}
    extra = dict(section.get("extra_time_min", {}) or {})
    for student, minutes in extra.items():
        if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 0:
            raise CourseError(f"c.TimedAssessment.extra_time_min[{student!r}] must be a whole "
                              f"number of minutes >= 0, got {minutes!r}")
    return Timing(lab=lab, limit_min=limit, opens=opens, starts=starts, extra_min=extra)


def minutes_late(timing: Timing, student: str, handed_in: _dt.datetime | None) -> int | None:
    """Whole minutes past the limit (0: in time); ``None`` when it cannot be known (no limit,
    no start time or no hand-in time)."""
    start = timing.starts.get(student, timing.opens)
    if timing.limit_min is None or start is None or handed_in is None:
        return None
    if handed_in.tzinfo is None:                 # nbgrader stores UTC without a zone
        handed_in = handed_in.replace(tzinfo=_dt.timezone.utc)
    due = start + _dt.timedelta(minutes=timing.limit_min + timing.extra_min.get(student, 0))
    over = (handed_in - due).total_seconds() / 60.0
    return max(0, math.ceil(over)) if over > 0 else 0
