"""Autograding a class in parallel, with the grades a serial run gives.

Each submission is graded by nbgrader's own ``autograde`` in an isolated copy
of the course: its own copy of the gradebook, of the lab's non-notebook
source files and of that one submission.  Copies run side by side (``workers``
child processes), each student's code in a sandboxed, time- and
memory-limited kernel (:mod:`labkit.course.kernel`).  As each finishes, the
parent, and only the parent, copies the autograded folder into
``grading/autograded/<student>/<lab>`` and merges that student's grades into
the real gradebook (:mod:`labkit.course.gradebook`).  Submissions do not
share state, so the order they finish in cannot change a grade; a submission
that could not be graded is reported and leaves the gradebook untouched.
"""

from __future__ import annotations

import concurrent.futures
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from labkit.course.gradebook import merge_submission, submission_score
from labkit.course.layout import Course, CourseError, check_name
from labkit.course.release import register_lab
from labkit.course.worker import StepResult, run_step

__all__ = ["SubmissionOutcome", "autograde"]


@dataclass(frozen=True, kw_only=True)
class SubmissionOutcome:
    """How grading one student's submission went."""

    student: str
    graded: bool
    score: float | None
    max_score: float | None
    seconds: float
    log_path: Path
    error: str = ""


def _copy_db(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    a, b = sqlite3.connect(src), sqlite3.connect(dst)
    try:
        a.backup(b)
    finally:
        b.close()
        a.close()


def _prepare(course: Course, lab: str, student: str, scratch: Path) -> Path:
    """An isolated course for one submission; returns its root."""
    root = scratch / student
    grading = course.grading_dir.relative_to(course.root)
    _copy_db(course.db_path, root / grading / course.db_path.name)
    src = course.source_dir / lab
    dst = root / course.source_dir.relative_to(course.root) / lab
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"))
    sub_rel = course.submitted_dir.relative_to(course.root)
    shutil.copytree(course.submitted_dir / student / lab, root / sub_rel / student / lab,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return root


def _collect(course: Course, lab: str, student: str, root: Path) -> None:
    made = root / course.autograded_dir.relative_to(course.root) / student / lab
    target = course.autograded_dir / student / lab
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(made, target)


def autograde(course: Course, lab: str, *, workers: int = 2, students: Sequence[str] | None = None,
              cell_timeout_s: float | None = None, memory_mb: int | None = None,
              submission_timeout_s: float = 3600.0,
              progress: Callable[[SubmissionOutcome, int, int], None] | None = None,
              ) -> list[SubmissionOutcome]:
    """Autograde every submission of ``lab`` (or the ``students`` named), ``workers`` at a time."""
    course.check_lab(lab)
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise CourseError(f"workers must be a whole number >= 1, got {workers!r}")
    if cell_timeout_s is not None and not cell_timeout_s > 0:
        raise CourseError(f"cell_timeout_s must be > 0 seconds, got {cell_timeout_s!r}")
    found = course.submissions(lab)
    wanted = [check_name("student", s) for s in students] if students else found
    missing = sorted(set(wanted) - set(found))
    if missing:
        raise CourseError(f"no submission of {lab} for {', '.join(missing)} in "
                          f"{course.submitted_dir}/<student>/{lab}/")
    if not wanted:
        raise CourseError(f"no submissions of {lab} in {course.submitted_dir}/<student>/{lab}/; "
                          f"collect them first (labkit course collect {lab} FILES...)")
    log_dir = course.logs_dir / lab
    register_lab(course, lab, log_dir=log_dir)
    outcomes: list[SubmissionOutcome] = []
    with tempfile.TemporaryDirectory(prefix="labkit-autograde-") as tmp:
        scratch = Path(tmp)
        roots = {s: _prepare(course, lab, s, scratch) for s in wanted}

        def grade(student: str) -> tuple[str, float, StepResult]:
            start = time.monotonic()
            root = roots[student]
            db = root / course.grading_dir.relative_to(course.root) / course.db_path.name
            step = run_step("autograde", config_file=course.config_file, root=root, lab=lab,
                            student=student, db_url=f"sqlite:///{db}", cell_timeout_s=cell_timeout_s,
                            memory_mb=memory_mb, timeout_s=submission_timeout_s,
                            log_path=log_dir / f"autograde-{student}.log")
            return student, time.monotonic() - start, step

        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(grade, s) for s in wanted]
            for future in concurrent.futures.as_completed(futures):
                student, seconds, step = future.result()
                outcome = _finish(course, lab, student, roots[student], seconds, step)
                outcomes.append(outcome)
                if progress is not None:
                    progress(outcome, len(outcomes), len(wanted))
    return sorted(outcomes, key=lambda o: o.student)


def _finish(course: Course, lab: str, student: str, root: Path, seconds: float,
            step: StepResult) -> SubmissionOutcome:
    log_path = step.log_path
    if not step.success:
        error = (step.error or "autograde failed").strip().splitlines()[-1]
        return SubmissionOutcome(student=student, graded=False, score=None, max_score=None,
                                 seconds=seconds, log_path=log_path, error=error)
    db = root / course.grading_dir.relative_to(course.root) / course.db_path.name
    _collect(course, lab, student, root)
    merge_submission(course.db_url, f"sqlite:///{db}", lab, student)
    score, max_score = submission_score(course.db_url, lab, student)
    return SubmissionOutcome(student=student, graded=True, score=score, max_score=max_score,
                             seconds=seconds, log_path=log_path)
