"""Autograding a class in parallel, with the grades a serial run gives.

Each submission is graded by nbgrader's own ``autograde`` in an isolated copy
of the course: its own copy of the gradebook, of the lab's non-notebook
source files and of that one submission.  ``workers`` *lanes* (child
processes, each importing nbgrader once) take submissions from a shared queue,
so a slow submission never holds up the others; each student's code runs in a
sandboxed, time- and memory-limited kernel (:mod:`labkit.course.kernel`).  As
each submission finishes, the parent, and only the parent, copies its
autograded folder into ``grading/autograded/<student>/<lab>`` and merges that
student's grades into the real gradebook (:mod:`labkit.course.gradebook`).
Submissions share no state, so the order they finish in cannot change a
grade; one that could not be graded is reported and leaves the gradebook as
it was.
"""

from __future__ import annotations

import json
import queue
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from labkit.course.gradebook import merge_submission, submission_score
from labkit.course.layout import Course, CourseError, check_name, grading_environment
from labkit.course.release import ensure_registered
from labkit.course.sandbox import check_available
from labkit.course.worker import RESULT_PREFIX

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
    _copy_db(course.db_path, _db_in(course, root))
    src = course.source_dir / lab
    dst = root / course.source_dir.relative_to(course.root) / lab
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"))
    sub_rel = course.submitted_dir.relative_to(course.root)
    shutil.copytree(course.submitted_dir / student / lab, root / sub_rel / student / lab,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return root


def _db_in(course: Course, root: Path) -> Path:
    return root / course.db_path.relative_to(course.root)


class _Lane(threading.Thread):
    """One worker process grading submissions from ``todo`` until it is empty."""

    def __init__(self, course: Course, lab: str, todo: queue.Queue, done: queue.Queue,
                 roots: dict[str, Path], options: list[str], log_dir: Path, limit_s: float,
                 index: int):
        super().__init__(daemon=True)
        self.course, self.lab, self.todo, self.done, self.roots = course, lab, todo, done, roots
        self.options, self.log_dir, self.limit_s, self.index = options, log_dir, limit_s, index
        self.proc: subprocess.Popen | None = None

    def _start(self) -> subprocess.Popen:
        args = [sys.executable, "-m", "labkit.course.worker", "autograde-lane", "--config",
                str(self.course.config_file), "--lab", self.lab, *self.options]
        log = open(self.log_dir / f"lane-{self.index}.log", "a", encoding="utf-8")
        return subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                text=True, env=grading_environment(), bufsize=1)

    def run(self) -> None:
        while True:
            try:
                student = self.todo.get_nowait()
            except queue.Empty:
                break
            if self.proc is None or self.proc.poll() is not None:
                self.proc = self._start()
            self.done.put(self._grade(student))
        if self.proc is not None:
            self.proc.stdin.close()
            self.proc.wait()

    def _grade(self, student: str) -> tuple[str, float, bool, str, Path]:
        assert self.proc is not None and self.proc.stdin and self.proc.stdout
        root = self.roots[student]
        log = self.log_dir / f"autograde-{student}.log"
        log.write_text("", encoding="utf-8")
        request = {"student": student, "root": str(root), "log": str(log),
                   "db_url": f"sqlite:///{_db_in(self.course, root)}"}
        start = time.monotonic()
        watchdog = threading.Timer(self.limit_s, self.proc.kill)
        watchdog.start()
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            for line in self.proc.stdout:
                if line.startswith(RESULT_PREFIX):
                    result = json.loads(line[len(RESULT_PREFIX):])
                    if result.get("student") == student:
                        return (student, time.monotonic() - start, bool(result["success"]),
                                result.get("error", ""), log)
        except (BrokenPipeError, OSError):
            pass
        finally:
            watchdog.cancel()
        self.proc.kill()
        self.proc = None
        elapsed = time.monotonic() - start
        why = (f"grading did not finish within {self.limit_s:g} s" if elapsed >= self.limit_s
               else "the grading process ended unexpectedly")
        return student, elapsed, False, why, log


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
    if _sandboxed(course):
        check_available()              # refuse here, clearly, rather than per kernel
    log_dir = course.logs_dir / lab
    log_dir.mkdir(parents=True, exist_ok=True)
    ensure_registered(course, lab)
    options = []
    if cell_timeout_s is not None:
        options += ["--cell-timeout", str(cell_timeout_s)]
    if memory_mb is not None:
        options += ["--memory-mb", str(memory_mb)]
    outcomes: list[SubmissionOutcome] = []
    with tempfile.TemporaryDirectory(prefix="labkit-autograde-") as tmp:
        roots = {s: _prepare(course, lab, s, Path(tmp)) for s in wanted}
        todo: queue.Queue = queue.Queue()
        for student in wanted:
            todo.put(student)
        done: queue.Queue = queue.Queue()
        lanes = [_Lane(course, lab, todo, done, roots, options, log_dir, submission_timeout_s, i)
                 for i in range(min(workers, len(wanted)))]
        for lane in lanes:
            lane.start()
        while len(outcomes) < len(wanted):
            student, seconds, success, error, log = done.get()
            outcome = _finish(course, lab, student, roots[student], seconds, success, error, log)
            outcomes.append(outcome)
            if progress is not None:
                progress(outcome, len(outcomes), len(wanted))
        for lane in lanes:
            lane.join()
    return sorted(outcomes, key=lambda o: o.student)


def _sandboxed(course: Course) -> bool:
    value = course.config().get("SandboxedExecute", {}).get("sandbox", True)
    return bool(value)


def _finish(course: Course, lab: str, student: str, root: Path, seconds: float, success: bool,
            error: str, log: Path) -> SubmissionOutcome:
    if not success:
        lines = [x for x in (error or "autograde failed").strip().splitlines() if x.strip()]
        return SubmissionOutcome(student=student, graded=False, score=None, max_score=None,
                                 seconds=seconds, log_path=log, error=lines[-1])
    made = root / course.autograded_dir.relative_to(course.root) / student / lab
    target = course.autograded_dir / student / lab
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(made, target)
    merge_submission(course.db_url, f"sqlite:///{_db_in(course, root)}", lab, student)
    score, max_score = submission_score(course.db_url, lab, student)
    return SubmissionOutcome(student=student, graded=True, score=score, max_score=max_score,
                             seconds=seconds, log_path=log)
