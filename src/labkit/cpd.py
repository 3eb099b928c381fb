"""The CPD timing model: how long the workbook really takes, counted from the notebooks.

A CPD claim ("this level is 12 hours") should be earned by what a learner
actually does, not declared.  This module counts, in the notebooks that ship
(``release/<lab>/*.ipynb``), the cells that the labs tag for it:

========== ============================================ ===================
tag        what it marks                                minutes
========== ============================================ ===================
reading    a markdown cell of reading prose             ceil(words/200)x1.3
activity   the first cell of a guided activity          15 each
checkpoint the first cell of a checkpoint block         5 each
reflection a reflection prompt                          8 each
written    a written task answered in the learner's     10 each
           own words (marked by a tutor)
evidence:* an evidence artifact the learner fills in    20 each
           (sketch, design record, risk entry, runbook,
           agent boundary sheet; ``evidence:reflection``
           is a reflection)
design     a simulation design task graded on unseen    10 each
           seeds (on top of its activity)
========== ============================================ ===================

The last three are **assessed work**: time a learner spends producing work
that is marked, which the guided categories above do not count.  Each
category's minutes and the reason for them are in :data:`PARTS` and print
with the figures (:meth:`Assumptions.lines`).

A **timed assessment** (a notebook whose metadata holds ``labkit.assessment``)
is not guided time: its time limit (``labkit.assessment.time_limit_min``, 45
by default) is *pending* (``assessment_pending_min``) and counts once, when
the learner has passed it (``labkit evidence --grades``), never in the total
of what the workbook holds.

Reading minutes of a lab are ``ceil(words / 200) * 1.3`` rounded half-up to
the minute; every total is the *sum over labs* of the per-lab figures, so the
parts always add up to the whole (the course page this follows shows 26 + 45
+ 15 + 32 minutes as 2 h 58 m; the sum is 1 h 58 m).

Words are counted in markdown prose only: fenced code, display maths, HTML
tags and comments, URLs, images and markdown punctuation are removed first;
inline code spans count as words because they are read as part of a sentence.
A word is a whitespace-separated token holding at least one letter or digit.

>>> prose_words("## Budgets\\n\\nSet `budget.p95_ms` [here](https://x.org).\\n```\\ncode not counted\\n```")
4
>>> reading_minutes(3845)
26
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from labkit.errors import LabkitError

__all__ = [
    "Assumptions", "LabTiming", "Breakdown", "CpdError", "TAGS", "PARTS", "Part", "READING_COLOUR",
    "prose_words", "reading_minutes", "count_notebook", "count_lab",
    "find_lab_dirs", "find_root", "breakdown", "format_minutes", "objectives",
]



@dataclass(frozen=True)
class Part:
    """One category of counted time: the cell tag, the names of its count and minutes in
    tables and JSON, and the :class:`Assumptions` field holding its minutes per item."""

    key: str
    tag: str
    label: str
    count_key: str
    min_key: str
    each: str
    colour: str
    assessed: bool = False

    def counts(self, tags: set[str]) -> bool:
        """Does a cell with ``tags`` count one item of this part?"""
        if self.tag.endswith(":*"):
            stem = self.tag[:-1]
            return any(t.startswith(stem) and t != stem + "reflection" for t in tags)
        return self.tag in tags


#: every category counted per tagged cell, in table order (reading is counted in words)
PARTS = (
    Part("activities", "activity", "Activities", "activities", "activities_min", "activity_min",
         "#F58518"),
    Part("checkpoints", "checkpoint", "Checkpoints", "checkpoint_blocks", "checkpoints_min",
         "checkpoint_min", "#54A24B"),
    Part("reflection", "reflection", "Reflection", "reflections", "reflection_min",
         "reflection_min", "#B279A2"),
    Part("written", "written", "Written tasks", "written_tasks", "written_min",
         "written_task_min", "#72B7B2", assessed=True),
    Part("evidence", "evidence:*", "Evidence", "evidence_artifacts", "evidence_min",
         "evidence_artifact_min", "#E45756", assessed=True),
    Part("design", "design", "Design tasks", "design_tasks", "design_min", "design_task_min",
         "#EECA3B", assessed=True),
)
READING_COLOUR = "#4C78A8"
TAGS = ("reading", *(part.tag for part in PARTS))


class CpdError(LabkitError, ValueError):
    """A notebook or setting the timing model cannot use; the message names it."""


@dataclass(frozen=True, kw_only=True)
class Assumptions:
    """The disclosed assumptions of the timing model (the course page's own)."""

    words_per_min: int = 200
    reading_factor: float = 1.3
    activity_min: int = 15
    checkpoint_min: int = 5
    reflection_min: int = 8
    written_task_min: int = 10
    evidence_artifact_min: int = 20
    design_task_min: int = 10
    claimed_min: int = 720

    def __post_init__(self) -> None:
        for name in ("words_per_min", *(part.each for part in PARTS), "claimed_min"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise CpdError(f"assumptions.{name} must be a whole number >= 1, got {value!r}")
        factor = self.reading_factor
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not (
                math.isfinite(factor) and factor >= 1):
            raise CpdError(f"assumptions.reading_factor must be a number >= 1, got {factor!r}")

    def lines(self) -> list[str]:
        """Every assumption in one sentence each (shown by ``labkit cpd``)."""
        return [
            f"Reading: ceil(words / {self.words_per_min}) minutes x {_fmt(self.reading_factor)} "
            "(time to think, re-read and look at figures), rounded half-up per lab; words are "
            "counted in markdown cells tagged 'reading', prose only.",
            f"Activities: {self.activity_min} min each (cells tagged 'activity'): guided work "
            "with a live panel, then a graded task.",
            f"Checkpoints: {self.checkpoint_min} min per block (cells tagged 'checkpoint').",
            f"Reflection: {self.reflection_min} min per prompt (cells tagged 'reflection').",
            f"Written tasks: {self.written_task_min} min each (cells tagged 'written'): draft an "
            "answer in your own words from the evidence you just produced, check it against the "
            "run, revise; a tutor marks it.",
            f"Evidence artifacts: {self.evidence_artifact_min} min each (cells tagged "
            "'evidence:<name>', reflections aside): fill every section of a sketch, design "
            "record, risk entry, runbook or agent boundary sheet from your own runs and check "
            "it; it joins the evidence pack.",
            f"Design tasks: {self.design_task_min} min each on top of their activity (cells "
            "tagged 'design'): a design graded on seeds you have not seen means iterating runs "
            "until every budget holds with a margin, not once.",
            f"Claimed level hours: {self.claimed_min // 60} h ({self.claimed_min} min), which "
            "also covers re-attempts and deeper practice not timed here.",
        ]

    def to_dict(self) -> dict[str, Any]:
        return {"words_per_min": self.words_per_min, "reading_factor": self.reading_factor,
                **{part.each: getattr(self, part.each) for part in PARTS},
                "claimed_min": self.claimed_min}


_FENCE = re.compile(r"^[ \t]*(```|~~~).*?^[ \t]*\1[^\n]*$", re.S | re.M)
_OPEN_FENCE = re.compile(r"^[ \t]*(```|~~~).*\Z", re.S | re.M)
_DISPLAY_MATH = re.compile(r"\$\$.*?\$\$", re.S)
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_REF_DEF = re.compile(r"^[ \t]*\[[^\]]+\]:[ \t]*\S+.*$", re.M)
_AUTOLINK = re.compile(r"<(?:https?|mailto|ftp):[^>]*>")
_URL = re.compile(r"(?:https?|ftp)://\S+|www\.\S+")
_WORD = re.compile(r"[^\W_]", re.UNICODE)


def prose_words(markdown: str) -> int:
    """Number of prose words in a markdown text (see the module docstring for the rules).

    >>> prose_words("**Bold** and _italic_ <b>tag</b> - 12 items; see www.example.org")
    7
    """
    text = _FENCE.sub(" ", markdown)
    text = _OPEN_FENCE.sub(" ", text)          # an unterminated fence runs to the end
    text = _DISPLAY_MATH.sub(" ", text)
    text = _COMMENT.sub(" ", text)
    text = _AUTOLINK.sub(" ", text)
    text = _IMAGE.sub(" ", text)
    text = _LINK.sub(r" \1 ", text)
    text = _REF_DEF.sub(" ", text)
    text = _TAG.sub(" ", text)
    text = _URL.sub(" ", text)
    # Markdown punctuation (headings, emphasis, lists, tables, quotes) never holds a letter or
    # digit, so counting only tokens with one drops it; backticks of inline code are dropped too.
    return sum(1 for token in text.split() if _WORD.search(token))


def reading_minutes(words: int, assumptions: Assumptions | None = None) -> int:
    """``ceil(words / words_per_min) * reading_factor``, rounded half-up to the minute.

    Exact arithmetic (a fraction, not a float), so 5 pages x 1.3 = 6.5 rounds to 7.

    >>> [reading_minutes(w) for w in (0, 1, 200, 201, 1000)]
    [0, 1, 1, 3, 7]
    """
    a = assumptions or Assumptions()
    if isinstance(words, bool) or not isinstance(words, int) or words < 0:
        raise CpdError(f"words must be a whole number >= 0, got {words!r}")
    base = -(-words // a.words_per_min)
    exact = base * Fraction(str(a.reading_factor))
    return math.floor(exact + Fraction(1, 2))


@dataclass(frozen=True, kw_only=True)
class LabTiming:
    """The counted content of one lab (one folder of notebooks, or one notebook)."""

    name: str
    notebooks: tuple[str, ...]
    reading_words: int
    activities: int
    checkpoint_blocks: int
    reflections: int
    written_tasks: int = 0
    evidence_artifacts: int = 0
    design_tasks: int = 0
    assessment_pending_min: int = 0
    title: str = ""
    objectives: tuple[str, ...] = ()
    assumptions: Assumptions = field(default_factory=Assumptions)

    def minutes(self, part: Part) -> int:
        """Minutes of one category: its count times its minutes each."""
        return int(getattr(self, part.count_key)) * int(getattr(self.assumptions, part.each))

    @property
    def reading_min(self) -> int:
        return reading_minutes(self.reading_words, self.assumptions)

    activities_min = property(lambda self: self.minutes(PARTS[0]))
    checkpoints_min = property(lambda self: self.minutes(PARTS[1]))
    reflection_min = property(lambda self: self.minutes(PARTS[2]))
    written_min = property(lambda self: self.minutes(PARTS[3]))
    evidence_min = property(lambda self: self.minutes(PARTS[4]))
    design_min = property(lambda self: self.minutes(PARTS[5]))

    @property
    def assessed_min(self) -> int:
        """Minutes of assessed work (written tasks, evidence, design tasks)."""
        return sum(self.minutes(part) for part in PARTS if part.assessed)

    @property
    def total_min(self) -> int:
        return self.reading_min + sum(self.minutes(part) for part in PARTS)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "notebooks": list(self.notebooks),
                "objectives": list(self.objectives), **_parts(self)}


def _parts(t: Any) -> dict[str, int]:
    out = {"reading_words": t.reading_words, "reading_min": t.reading_min}
    for part in PARTS:
        out[part.count_key] = getattr(t, part.count_key)
        out[part.min_key] = getattr(t, part.min_key)
    return {**out, "assessed_min": t.assessed_min, "total_min": t.total_min,
            "assessment_pending_min": t.assessment_pending_min}


@dataclass(frozen=True, kw_only=True)
class Breakdown:
    """Per-lab timings, their sums, and the gap to the claimed hours."""

    labs: tuple[LabTiming, ...]
    assumptions: Assumptions = field(default_factory=Assumptions)
    warnings: tuple[str, ...] = ()

    def _sum(self, attr: str) -> int:
        return sum(getattr(lab, attr) for lab in self.labs)

    reading_words = property(lambda self: self._sum("reading_words"))
    reading_min = property(lambda self: self._sum("reading_min"))
    activities = property(lambda self: self._sum("activities"))
    activities_min = property(lambda self: self._sum("activities_min"))
    checkpoint_blocks = property(lambda self: self._sum("checkpoint_blocks"))
    checkpoints_min = property(lambda self: self._sum("checkpoints_min"))
    reflections = property(lambda self: self._sum("reflections"))
    reflection_min = property(lambda self: self._sum("reflection_min"))
    written_tasks = property(lambda self: self._sum("written_tasks"))
    written_min = property(lambda self: self._sum("written_min"))
    evidence_artifacts = property(lambda self: self._sum("evidence_artifacts"))
    evidence_min = property(lambda self: self._sum("evidence_min"))
    design_tasks = property(lambda self: self._sum("design_tasks"))
    design_min = property(lambda self: self._sum("design_min"))
    assessed_min = property(lambda self: self._sum("assessed_min"))
    assessment_pending_min = property(lambda self: self._sum("assessment_pending_min"))
    total_min = property(lambda self: self._sum("total_min"))

    @property
    def claimed_min(self) -> int:
        return self.assumptions.claimed_min

    @property
    def gap_min(self) -> int:
        """Claimed minus estimated minutes (positive: the claim is not yet earned)."""
        return self.claimed_min - self.total_min

    def to_close_gap(self) -> dict[str, int]:
        """How many more of each timed item would close the gap on its own (0 if none)."""
        gap, a = max(self.gap_min, 0), self.assumptions
        # Reading: words needed so that the summed per-lab reading minutes grow by `gap`;
        # a page of words_per_min words adds reading_factor minutes.
        pages = math.ceil(gap / a.reading_factor) if gap else 0
        return {"activities": math.ceil(gap / a.activity_min),
                "checkpoint_blocks": math.ceil(gap / a.checkpoint_min),
                "reflections": math.ceil(gap / a.reflection_min),
                "reading_words": pages * a.words_per_min}

    def gap_lines(self) -> list[str]:
        """The gap to the claim in words, with what would close it."""
        return self._gap_lines() + self.pending_lines()

    def pending_lines(self) -> list[str]:
        """What counts only once earned: the timed assessment, when passed."""
        if not self.assessment_pending_min:
            return []
        return [f"Pending: the timed assessment's {self.assessment_pending_min} min count once, "
                "when you have passed it (labkit evidence --grades GRADES.csv --student ID); "
                "they are not in the estimate above."]

    def _gap_lines(self) -> list[str]:
        gap = self.gap_min
        if gap <= 0:
            lines = [f"The guided estimate ({format_minutes(self.total_min)}) covers the claimed "
                     f"{format_minutes(self.claimed_min)}; nothing to close."]
            if gap < 0:
                lines.append(
                    f"It exceeds the claim by {format_minutes(-gap)} ({-gap} min): the level's "
                    f"CPD record stays at its fixed {format_minutes(self.claimed_min)}; the "
                    "estimate says how long the work takes, not what is recorded.")
            return lines
        close = self.to_close_gap()
        return [
            f"The claimed {format_minutes(self.claimed_min)} exceed the guided estimate of "
            f"{format_minutes(self.total_min)} by {format_minutes(gap)} ({gap} min).",
            "Any one of these would close it: "
            f"{close['activities']} more {self.assumptions.activity_min}-minute activities; or "
            f"{close['checkpoint_blocks']} more checkpoint blocks; or "
            f"{close['reflections']} more reflection prompts; or about "
            f"{close['reading_words']:,} more words of reading.",
            "A mix is the honest route: more graded activities and assessment-grade work "
            "rather than more reading.",
        ]

    def total_dict(self) -> dict[str, Any]:
        return {**_parts(self), "claimed_min": self.claimed_min, "gap_min": self.gap_min,
                "to_close_gap": self.to_close_gap()}

    def to_dict(self) -> dict[str, Any]:
        """The ``labkit cpd --json`` object."""
        return {"labs": [lab.to_dict() for lab in self.labs], "total": self.total_dict(),
                "assumptions": self.assumptions.to_dict(),
                "assumption_notes": self.assumptions.lines(), "gap_notes": self.gap_lines(),
                "warnings": list(self.warnings)}

    def rows(self) -> list[dict[str, Any]]:
        """One row per lab plus a total row, for tables in notebooks and reports."""
        rows = [{"lab": lab.title or lab.name, **_parts(lab)} for lab in self.labs]
        rows.append({"lab": "Total", **_parts(self)})
        return rows


def format_minutes(minutes: int) -> str:
    """``118`` -> ``'1h 58m'``; ``45`` -> ``'45m'``; negative keeps its sign."""
    sign, minutes = ("-" if minutes < 0 else ""), abs(int(minutes))
    hours, rest = divmod(minutes, 60)
    return f"{sign}{hours}h {rest:02d}m" if hours else f"{sign}{rest}m"


def _load(path: Path) -> dict[str, Any]:
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CpdError(f"{path}: no such notebook") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CpdError(f"{path}: not a readable notebook ({exc})") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise CpdError(f"{path}: not a notebook (no 'cells' list)")
    return nb


def _source(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _tags(cell: dict[str, Any]) -> set[str]:
    tags = (cell.get("metadata") or {}).get("tags") or []
    return {t for t in tags if isinstance(t, str)}


_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.M)
_ITEM = re.compile(r"^\s{0,3}(?:[-*+]|\d+[.)])\s+(.*\S)\s*$")
_OBJECTIVES = re.compile(r"^#{1,6}.*objective.*$|\*\*[^*\n]*(?:objective|by the end)[^*\n]*\*\*",
                         re.I | re.M)


def objectives(markdown: str) -> list[str]:
    r"""The list after a heading or bold lead-in about objectives ("By the end ..."), with
    wrapped items joined; empty when the text has none.

    >>> objectives("**By the end you will be able to**\n\n1. size a fleet\n   for a budget\n"
    ...            "2. read a trace\n\nMore prose.")
    ['size a fleet for a budget', 'read a trace']
    """
    match = _OBJECTIVES.search(markdown)
    if not match:
        return []
    items: list[list[str]] = []
    for line in markdown[match.end():].splitlines():
        item = _ITEM.match(line)
        if item:
            items.append([item.group(1)])
        elif items and line.strip() and line[:1] in (" ", "\t"):
            items[-1].append(line.strip())
        elif items and line.strip():
            break
    return [" ".join(parts) for parts in items]


def count_notebook(path: str | Path, assumptions: Assumptions | None = None) -> tuple[
        LabTiming, list[str]]:
    """Count one notebook's tagged cells; returns the timing and any warnings."""
    path = Path(path)
    nb, a, warnings = _load(path), assumptions or Assumptions(), []
    counts = dict.fromkeys((part.tag for part in PARTS), 0)
    words, title = 0, ""
    goals: list[str] = []
    for index, cell in enumerate(nb["cells"]):
        tags, kind, text = _tags(cell), cell.get("cell_type"), _source(cell)
        if kind == "markdown" and not title:
            match = _HEADING.search(text)
            title = match.group(1).strip() if match else ""
        if kind == "markdown" and not goals:
            goals = objectives(text)
        for part in PARTS:
            counts[part.tag] += part.counts(tags)
        if "reading" in tags:
            if kind == "markdown":
                words += prose_words(text)
            else:
                warnings.append(f"{path}: cell {index} is tagged 'reading' but is a {kind} "
                                "cell; only markdown prose is counted")
    exam = (nb.get("metadata") or {}).get("labkit", {}).get("assessment")
    if exam:                    # sat once, under a time limit: pending until passed
        limit = exam.get("time_limit_min", 45) if isinstance(exam, dict) else 45
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise CpdError(f"{path}: labkit.assessment.time_limit_min must be a whole number of "
                           f"minutes >= 1, got {limit!r}")
        return LabTiming(name=path.stem, notebooks=(str(path),), reading_words=0, activities=0,
                         checkpoint_blocks=0, reflections=0, assessment_pending_min=limit,
                         title=title, objectives=tuple(goals), assumptions=a), warnings
    timing = LabTiming(name=path.stem, notebooks=(str(path),), reading_words=words,
                       **{part.count_key: counts[part.tag] for part in PARTS}, title=title,
                       objectives=tuple(goals), assumptions=a)
    return timing, warnings


def count_lab(notebooks: Sequence[str | Path], name: str,
              assumptions: Assumptions | None = None) -> tuple[LabTiming, list[str]]:
    """Count the notebooks of one lab together (one folder under ``release/``)."""
    a, warnings, parts = assumptions or Assumptions(), [], []
    for nb in sorted(Path(p) for p in notebooks):
        timing, notes = count_notebook(nb, a)
        parts.append(timing)
        warnings.extend(notes)
    if not parts:
        raise CpdError(f"lab {name}: no notebooks")
    lab = LabTiming(
        name=name, notebooks=tuple(n for p in parts for n in p.notebooks),
        reading_words=sum(p.reading_words for p in parts),
        **{part.count_key: sum(getattr(p, part.count_key) for p in parts) for part in PARTS},
        assessment_pending_min=sum(p.assessment_pending_min for p in parts),
        title=next((p.title for p in parts if p.title), name),
        objectives=next((p.objectives for p in parts if p.objectives), ()), assumptions=a)
    return lab, warnings


def find_root(start: str | Path | None = None) -> Path:
    """The workbook root: the nearest folder at or above ``start`` holding ``release/``.

    Without ``start`` the search begins at the current folder and falls back to the checkout
    this package was installed from; an explicit ``start`` never falls back elsewhere.
    """
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "release").is_dir():
            return folder
    return Path(__file__).resolve().parents[2] if start is None else here


def find_lab_dirs(root: str | Path) -> list[Path]:
    """Lab folders under ``root/release`` that hold notebooks, in order (lab0, lab1, ...)."""
    release = Path(root) / "release"
    dirs = {nb.parent for nb in release.glob("*/*.ipynb")
            if ".ipynb_checkpoints" not in nb.parts}
    return sorted(dirs, key=lambda d: d.name)


def breakdown(paths: Iterable[str | Path] | None = None, *, root: str | Path | None = None,
              assumptions: Assumptions | None = None) -> Breakdown:
    """The timing breakdown of the shipped labs (``root/release/*/*.ipynb``), or of the
    given notebooks or lab folders (each notebook is then its own lab).

    Raises :class:`CpdError` naming the path when nothing is found or a file is unreadable.
    """
    a, labs, warnings = assumptions or Assumptions(), [], []
    if paths is None:
        base = find_root(root)
        lab_dirs = find_lab_dirs(base)
        if not lab_dirs:
            raise CpdError(f"no lab notebooks found: {base / 'release'}/*/*.ipynb matched nothing")
        items: list[tuple[str, list[Path]]] = [
            (d.name, sorted(d.glob("*.ipynb"))) for d in lab_dirs]
    else:
        items = []
        for p in map(Path, paths):
            if p.is_dir():
                items.append((p.name, sorted(p.glob("*.ipynb"))))
            else:
                items.append((p.stem, [p]))
        if not items:
            raise CpdError("no notebooks given")
    for name, notebooks in items:
        if not notebooks:
            raise CpdError(f"{name}: folder holds no .ipynb notebooks")
        lab, notes = count_lab(notebooks, name, a)
        labs.append(lab)
        warnings.extend(notes)
    return Breakdown(labs=tuple(labs), assumptions=a, warnings=tuple(warnings))


def _fmt(x: float) -> str:
    return f"{x:g}"
