"""Item analysis of an autograded lab: which items work, read from the gradebook.

After ``labkit course autograde LAB`` the gradebook holds every learner's points on every
graded cell.  :func:`item_analysis` reads them, with the items of ``source/`` (their kind and
multiple-choice key, :mod:`labkit.course.items`), and computes per item the statistics of
:mod:`labkit.course.itemstats`: facility, corrected discrimination, the upper-lower 27% index,
and the flags.  A learner's points on an item are the tutor's mark when there is one, else the
autograder's; an item some learners have no points for yet (a written answer not marked yet)
is listed as *not marked* and left out of every learner's rest score.

For multiple-choice items it also gives the share of learners who chose each option, read
from the answers the trusted judge used (cell metadata ``labkit.answers`` of each graded
notebook).  When the checks ran in the learner's kernel (``SandboxedExecute.trusted = False``)
no answers are kept and the shares are ``None`` ("n/a"); an answer that is no option letter,
or was not recorded, counts as ``"other"``.

Where each paper draws its own item from a bank and orders its options (the timed
assessment), a letter means different options on different papers, so shares by letter say
nothing.  The lab module's ``option_roles`` (passed in as ``option_roles``) says, per learner
and sitting (``c.TimedAssessment.resits``), which bank item the paper drew and what each letter
stood for; the shares are then by role (``key``, ``distractor 1`` ...), and ``bank`` gives each
bank item's learners and facility.  Items of one slot are meant to be parallel forms: when two
of them, each answered by at least :data:`BANK_MIN_LEARNERS` learners, differ in facility by
more than :data:`BANK_MAX_GAP`, the row is flagged.

:meth:`ItemAnalysis.to_dict` is the JSON ``labkit course item-analysis LAB --json`` prints:
``lab``, ``learners`` (how many), ``rules`` (``min_discrimination``, ``max_facility``) and
``items``, each with ``grade_id``, ``kind``, ``points``, ``status`` (``"analysed"`` or
``"not marked"``), ``scored`` (learners with points), ``facility``, ``discrimination``,
``upper_lower`` (``null`` when undefined or not analysed), ``choices`` (option or role -> share,
with ``"other"``; ``null`` for other kinds or without recorded answers), ``bank`` (bank item ->
``learners`` and ``facility``; ``null`` unless the lab draws items from a bank) and ``flags``
(sentences).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from labkit.course.gradebook import cell_grades
from labkit.course.items import Item, lab_items
from labkit.course.itemstats import MAX_FACILITY, MIN_DISCRIMINATION, ItemStats, analyse
from labkit.course.layout import Course, CourseError

__all__ = ["ItemAnalysis", "ItemRow", "NotGradedError", "item_analysis", "analysis_table",
           "choice_shares", "role_shares", "OptionRoles", "BANK_MIN_LEARNERS", "BANK_MAX_GAP"]

ANALYSED, NOT_MARKED = "analysed", "not marked"
#: bank items of one slot are compared only when each has at least this many learners
BANK_MIN_LEARNERS = 5
#: and flagged when their facilities differ by more than this
BANK_MAX_GAP = 0.3

#: ``option_roles(grade_id, *, learner, attempt)`` -> (bank item id, letter -> role) or None
OptionRoles = Callable[..., "tuple[str, Mapping[str, str]] | None"]


class NotGradedError(CourseError):
    """The lab has no autograded submissions to analyse yet."""


@dataclass(frozen=True, kw_only=True)
class ItemRow:
    """One item of the analysis: the item, how many learners have points, and its statistics."""

    item: Item
    status: str
    scored: int
    stats: ItemStats | None = None
    choices: Mapping[str, float] | None = None
    bank: Mapping[str, Mapping[str, float]] | None = None
    notes: tuple[str, ...] = ()       # flags of the bank, beside the statistics' own

    @property
    def flags(self) -> tuple[str, ...]:
        return (self.stats.flags if self.stats else ()) + self.notes

    def to_dict(self) -> dict[str, Any]:
        s = self.stats
        return {"grade_id": self.item.grade_id, "kind": self.item.kind,
                "points": self.item.points, "status": self.status, "scored": self.scored,
                "facility": s.facility if s else None,
                "discrimination": s.discrimination if s else None,
                "upper_lower": s.upper_lower if s else None,
                "choices": dict(self.choices) if self.choices is not None else None,
                "bank": ({k: dict(v) for k, v in self.bank.items()}
                         if self.bank is not None else None),
                "flags": list(self.flags)}


@dataclass(frozen=True, kw_only=True)
class ItemAnalysis:
    """The item analysis of one lab over the learners in its gradebook."""

    lab: str
    learners: tuple[str, ...]
    rows: tuple[ItemRow, ...] = field(default_factory=tuple)

    def row(self, grade_id: str) -> ItemRow:
        for r in self.rows:
            if r.item.grade_id == grade_id:
                return r
        raise KeyError(grade_id)

    def to_dict(self) -> dict[str, Any]:
        return {"lab": self.lab, "learners": len(self.learners),
                "rules": {"min_discrimination": MIN_DISCRIMINATION, "max_facility": MAX_FACILITY},
                "items": [r.to_dict() for r in self.rows]}


def _answers_used(course: Course, lab: str, student: str) -> dict[str, dict[str, Any]] | None:
    """grade id -> the answers its check used, from one graded notebook (None: none kept)."""
    path = course.autograded_dir / student / lab / f"{lab}.ipynb"
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    kept: dict[str, dict[str, Any]] = {}
    for cell in nb.get("cells", []) if isinstance(nb, dict) else []:
        meta = cell.get("metadata", {}) if isinstance(cell, dict) else {}
        grade_id = (meta.get("nbgrader") or {}).get("grade_id")
        used = (meta.get("labkit") or {}).get("answers")
        if isinstance(grade_id, str) and isinstance(used, dict):
            kept[grade_id] = used
    return kept or None


def choice_shares(item: Item, chosen: Sequence[Any]) -> dict[str, float]:
    """Share of learners per option of a multiple-choice ``item`` (and ``"other"``).

    ``chosen`` holds each learner's answer (``None``: not recorded).  Answers are read as the
    visible check reads them: letters, case and surrounding spaces ignored.

    >>> it = Item(lab="l", grade_id="q1_check", kind="multiple choice", points=1,
    ...           options={"A": "", "B": ""})
    >>> choice_shares(it, ["B", " b", "A", None])
    {'A': 0.25, 'B': 0.5, 'other': 0.25}
    """
    counts = {letter: 0 for letter in item.options}
    other = 0
    for answer in chosen:
        letter = answer.strip().upper() if isinstance(answer, str) else None
        if letter in counts:
            counts[letter] += 1
        else:
            other += 1
    n = len(chosen) or 1
    return {**{k: v / n for k, v in counts.items()}, "other": other / n}


def role_shares(chosen: Sequence[Any], roles: Sequence[Mapping[str, str]]) -> dict[str, float]:
    """Share of learners per option role, each learner's letter read through their own paper's
    ``roles`` (letter -> role); no answer or no option letter counts as ``"other"``.

    >>> role_shares(["A", "a", None], [{"A": "key", "B": "distractor 1"},
    ...                                 {"A": "distractor 1", "B": "key"}, {"A": "key"}])
    {'key': 0.3333333333333333, 'distractor 1': 0.3333333333333333, 'other': 0.3333333333333333}
    """
    names = sorted({r for paper in roles for r in paper.values()}, key=lambda r: (r != "key", r))
    counts = dict.fromkeys(names, 0)
    other = 0
    for answer, paper in zip(chosen, roles):
        letter = answer.strip().upper() if isinstance(answer, str) else None
        role = paper.get(letter) if letter is not None else None
        if role is None:
            other += 1
        else:
            counts[role] += 1
    n = len(chosen) or 1
    return {**{k: v / n for k, v in counts.items()}, "other": other / n}


def _sittings(course: Course, lab: str) -> dict[str, int]:
    """student -> the sitting their submission answers (``c.TimedAssessment.resits``)."""
    resits = (course.config().get("TimedAssessment") or {}).get("resits") or {}
    mine = resits.get(lab) or {}
    return {str(k): int(v) for k, v in mine.items()} if isinstance(mine, dict) else {}


def _bank(item: Item, drawn: Mapping[str, str], points: Mapping[str, float | None]
          ) -> tuple[dict[str, dict[str, float]], tuple[str, ...]]:
    """Each bank item's learners and facility, and a flag when two of them differ too much."""
    scores: dict[str, list[float]] = {}
    for student, bank_item in drawn.items():
        score = points.get(student)
        if score is not None and item.points:
            scores.setdefault(bank_item, []).append(float(score) / item.points)
    bank = {k: {"learners": len(v), "facility": sum(v) / len(v)}
            for k, v in sorted(scores.items())}
    judged = {k: v["facility"] for k, v in bank.items() if v["learners"] >= BANK_MIN_LEARNERS}
    notes: tuple[str, ...] = ()
    if len(judged) >= 2 and max(judged.values()) - min(judged.values()) > BANK_MAX_GAP:
        easy, hard = max(judged, key=judged.__getitem__), min(judged, key=judged.__getitem__)
        notes = (f"its bank items are not parallel: {easy} facility {judged[easy]:.2f}, "
                 f"{hard} {judged[hard]:.2f} (more than {BANK_MAX_GAP:g} apart)",)
    return bank, notes


def item_analysis(course: Course, lab: str, *,
                  option_roles: OptionRoles | None = None) -> ItemAnalysis:
    """Facility, discrimination and option shares of every item of ``lab``'s gradebook.

    ``option_roles`` is the lab module's function of that name, for labs whose papers draw
    their own items and option orders (see the module docstring)."""
    course.check_lab(lab)
    if not course.db_path.is_file():
        raise NotGradedError(f"{lab} has not been autograded yet: no gradebook at "
                             f"{course.db_path}; run labkit course autograde {lab} first")
    grades = cell_grades(course.db_url, lab)
    if not grades:
        raise NotGradedError(f"{lab} has no graded submissions in {course.db_path}; run "
                             f"labkit course autograde {lab} first")
    items = lab_items(course, lab)
    learners = tuple(sorted({g.student for g in grades}))
    points: dict[str, dict[str, float | None]] = {}
    for g in grades:
        score = g.manual_score if g.manual_score is not None else g.auto_score
        points.setdefault(g.cell, {})[g.student] = score
    complete = {i.grade_id for i in items
                if all(points.get(i.grade_id, {}).get(s) is not None for s in learners)}
    stats: dict[str, ItemStats] = {}
    if complete:
        ordered = [i for i in items if i.grade_id in complete]
        rows = analyse({i.grade_id: [float(points[i.grade_id][s] or 0.0) for s in learners]
                        for i in ordered},
                       {i.grade_id: i.points for i in ordered})
        stats = {r.item: r for r in rows}
    used = {s: _answers_used(course, lab, s) for s in learners}
    recorded = any(u is not None for u in used.values())
    sittings = _sittings(course, lab) if option_roles is not None else {}
    out = []
    for item in items:
        choices = bank = None
        notes: tuple[str, ...] = ()
        if item.kind == "multiple choice" and recorded and item.answers:
            name = item.answers[0]
            chosen = [(used[s] or {}).get(item.grade_id, {}).get(name) for s in learners]
            papers = ({s: option_roles(item.grade_id, learner=s, attempt=sittings.get(s, 0))
                       for s in learners} if option_roles is not None else {})
            drawn = {s: paper for s, paper in papers.items() if paper is not None}
            if len(drawn) == len(learners):
                choices = role_shares(chosen, [drawn[s][1] for s in learners])
                bank, notes = _bank(item, {s: drawn[s][0] for s in learners},
                                    points.get(item.grade_id, {}))
            else:
                choices = choice_shares(item, chosen)
        scored = sum(points.get(item.grade_id, {}).get(s) is not None for s in learners)
        out.append(ItemRow(item=item, status=ANALYSED if item.grade_id in complete else NOT_MARKED,
                           scored=scored, stats=stats.get(item.grade_id), choices=choices,
                           bank=bank, notes=notes))
    return ItemAnalysis(lab=lab, learners=learners, rows=tuple(out))


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def analysis_table(analysis: ItemAnalysis) -> str:
    """Aligned text: one line per item, its flags underneath."""
    head = ("grade id", "kind", "points", "scored", "facility", "discrim", "U-L 27%", "choices")
    rows = [head]
    notes: dict[int, tuple[str, ...]] = {}
    for r in analysis.rows:
        s = r.stats
        if r.item.kind != "multiple choice":
            choices = ""
        elif r.choices is None:
            choices = "n/a"
        else:
            choices = " ".join(f"{k} {v:.0%}" for k, v in r.choices.items()
                               if k != "other" or v > 0)
        rows.append((r.item.grade_id, r.item.kind, f"{r.item.points:g}",
                     f"{r.scored}/{len(analysis.learners)}",
                     _num(s.facility) if s else r.status, _num(s.discrimination) if s else "-",
                     _num(s.upper_lower) if s else "-", choices))
        lines_under = (("bank: " + "; ".join(
            f"{k} {v['learners']:.0f} learners, facility {v['facility']:.2f}"
            for k, v in r.bank.items()),) if r.bank else ()) + tuple(
            f"FLAG {flag}" for flag in r.flags)
        if lines_under:
            notes[len(rows) - 1] = lines_under
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = [f"{analysis.lab}: {len(analysis.learners)} learners; flagged when discrimination "
             f"< {MIN_DISCRIMINATION:g} or facility > {MAX_FACILITY:g}"]
    for index, row in enumerate(rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        lines += [f"    {line}" for line in notes.get(index, ())]
    return "\n".join(lines)
