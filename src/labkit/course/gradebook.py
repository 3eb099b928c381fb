"""The gradebook: merging one isolated autograde back, and reading grades out.

Parallel autograding gives each submission its own copy of the gradebook
(SQLite tolerates one writer at a time).  Only the parent process writes the
real gradebook: :func:`merge_submission` copies, for one student and lab,
exactly the fields nbgrader's autograde writes (submission timestamp, late
penalty, automatic scores, the needs-manual-grade flags and automatic
comments; manual scores are carried unchanged, because the copy started from
the real gradebook) from the copy into the real gradebook.  The result is the
gradebook a serial ``nbgrader autograde`` would have produced.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from nbgrader.api import Gradebook, MissingEntry

__all__ = ["CellGrade", "merge_submission", "cell_grades", "submission_score"]


@dataclass(frozen=True, kw_only=True)
class CellGrade:
    """One graded cell of one submission, as stored in the gradebook."""

    student: str
    notebook: str
    cell: str
    auto_score: float | None
    manual_score: float | None
    max_score: float
    needs_manual_grade: bool


def merge_submission(main_db_url: str, copy_db_url: str, lab: str, student: str) -> None:
    """Copy ``student``'s autograded ``lab`` from the isolated gradebook into the main one."""
    with warnings.catch_warnings():
        # nbgrader's update_or_create_submission trips SQLAlchemy's autoflush warning
        warnings.simplefilter("ignore")
        _merge(main_db_url, copy_db_url, lab, student)


def _merge(main_db_url: str, copy_db_url: str, lab: str, student: str) -> None:
    with Gradebook(copy_db_url) as src, Gradebook(main_db_url) as dst:
        sub = src.find_submission(lab, student)
        person = sub.student
        dst.update_or_create_student(student, first_name=person.first_name,
                                     last_name=person.last_name, email=person.email)
        target = dst.update_or_create_submission(lab, student, timestamp=sub.timestamp)
        for nb in sub.notebooks:
            tnb = dst.find_submission_notebook(nb.name, lab, student)
            tnb.late_submission_penalty = nb.late_submission_penalty
            tnb.flagged = nb.flagged
            for grade in nb.grades:
                tg = dst.find_grade(grade.name, nb.name, lab, student)
                tg.auto_score = grade.auto_score
                tg.manual_score = grade.manual_score
                tg.extra_credit = grade.extra_credit
                tg.needs_manual_grade = grade.needs_manual_grade
            for comment in nb.comments:
                tc = dst.find_comment(comment.name, nb.name, lab, student)
                tc.auto_comment = comment.auto_comment
                tc.manual_comment = comment.manual_comment
        target.timestamp = sub.timestamp
        dst.db.commit()


def cell_grades(db_url: str, lab: str) -> list[CellGrade]:
    """Every graded cell of every submission of ``lab``, sorted by student, notebook, cell."""
    out: list[CellGrade] = []
    with Gradebook(db_url) as gb:
        try:
            assignment = gb.find_assignment(lab)
        except MissingEntry:
            return []
        for sub in assignment.submissions:
            for nb in sub.notebooks:
                for g in nb.grades:
                    out.append(CellGrade(student=sub.student.id, notebook=nb.name, cell=g.name,
                                         auto_score=g.auto_score, manual_score=g.manual_score,
                                         max_score=float(g.max_score),
                                         needs_manual_grade=bool(g.needs_manual_grade)))
    return sorted(out, key=lambda g: (g.student, g.notebook, g.cell))


def submission_score(db_url: str, lab: str, student: str) -> tuple[float, float]:
    """(score so far, maximum) for one submission: automatic and any manual points."""
    with Gradebook(db_url) as gb:
        sub = gb.find_submission(lab, student)
        return float(sub.score), float(sub.max_score)
