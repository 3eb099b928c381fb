"""Exporting grades: nbgrader's CSV export, one row per lab and student, in a stable order.

The columns are nbgrader's own (assignment, duedate, timestamp, student_id,
last_name, first_name, email, raw_score, late_submission_penalty, score,
max_score) and two of labkit's for assessments (:mod:`labkit.course.standard`):
``standard`` (``pass``, ``fail`` or ``pending`` while written answers await a
tutor; empty for a lab without a pass standard or a student without a
submission) and ``minutes_late`` (0 in time, empty when the lab has no time
limit or start time).  A student with no submission of a lab gets a row with
score 0.  Rows are sorted by lab and student so two exports of the same
gradebook are identical.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import CsvExportPlugin

from labkit.course.gradebook import cell_grades
from labkit.course.layout import Course, CourseError
from labkit.course.standard import minutes_late, standard_of, standing, timing_of

__all__ = ["export_grades"]


def export_grades(course: Course, output: str | Path, labs: Sequence[str] = ()) -> int:
    """Write the grades CSV to ``output``; returns the number of rows (students x labs)."""
    for lab in labs:
        course.check_lab(lab)
    if not course.db_path.is_file():
        raise CourseError(f"no gradebook at {course.db_path}; release and autograde a lab first")
    out = Path(output)
    if not out.parent.is_dir():
        raise CourseError(f"cannot write {out}: folder {out.parent} does not exist")
    plugin = CsvExportPlugin(to=str(out), assignment=list(labs))
    with Gradebook(course.db_url) as gb:
        plugin.export(gb)
    header, *rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    rows.sort(key=lambda r: (r[0], r[3], r))
    extra = _assessment_columns(course, {r[0] for r in rows})
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow([*header, "standard", "minutes_late"])
    for row in rows:
        writer.writerow([*row, *extra.get((row[0], row[3]), ("", ""))])
    out.write_text(text.getvalue(), encoding="utf-8")
    return len(rows)


def _assessment_columns(course: Course, labs: set[str]) -> dict[tuple[str, str], tuple[str, str]]:
    """(lab, student) -> (standard, minutes_late) for every lab that is an assessment."""
    out: dict[tuple[str, str], tuple[str, str]] = {}
    config = course.config()
    for lab in sorted(labs):
        source = course.source_dir / lab / f"{lab}.ipynb"
        if not source.is_file():
            continue
        standard = standard_of(json.loads(source.read_text(encoding="utf-8")))
        timing = timing_of(config, lab)
        if standard is None and timing.limit_min is None:
            continue
        by_student: dict[str, list] = {}
        for g in cell_grades(course.db_url, lab):
            by_student.setdefault(g.student, []).append(g)
        with Gradebook(course.db_url) as gb:
            for student, grades in by_student.items():
                try:
                    handed_in = gb.find_submission(lab, student).timestamp
                except MissingEntry:
                    handed_in = None
                late = minutes_late(timing, student, handed_in)
                out[(lab, student)] = (standing(standard, grades).status if standard else "",
                                       "" if late is None else str(late))
    return out
