"""Exporting grades: nbgrader's CSV export, one row per lab and student, in a stable order.

The columns are nbgrader's own (assignment, duedate, timestamp, student_id,
last_name, first_name, email, raw_score, late_submission_penalty, score,
max_score); a student with no submission of a lab gets a row with score 0.
Rows are sorted by lab and student so two exports of the same gradebook are
identical.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.plugins import CsvExportPlugin

from labkit.course.layout import Course, CourseError

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
    header, *rows = out.read_text(encoding="utf-8").splitlines()
    rows.sort(key=lambda r: (r.split(",")[0], r.split(",")[3], r))
    out.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return len(rows)
