"""Feedback for learners: nbgrader's HTML reports, with every secret taken out and checked for.

nbgrader's ``generate_feedback`` renders each autograded notebook as HTML.
Out of the box that HTML shows the hidden tests (they are restored into the
notebook for grading, and quoted again in tracebacks) and the mark schemes of
task cells.  The course configuration runs :class:`~labkit.course.cells.ScrubFeedback`
before rendering; :func:`generate_feedback` then reads every HTML file it
produced as plain text and looks for any line of a hidden test or mark scheme
of that lab (from the gradebook).  A file that still quotes one is deleted
and the command fails, so a leak can never reach a learner silently.

A learner's feedback folder holds the HTML pages only: nbgrader also copies
every other file of the autograded folder, so anything else (a file the
grading kernel wrote, a link, a pipe) is removed without being followed,
unless it matches a pattern the instructor allows (``allow``).
"""

from __future__ import annotations

import fnmatch
import html
import os
import re
import shutil
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from labkit.course.cells import normalise, secret_lines
from labkit.course.layout import Course, CourseError, check_name
from labkit.course.worker import run_step

__all__ = ["FeedbackFile", "generate_feedback", "lab_secrets", "leaks_in_html", "prune"]

_TAG = re.compile(r"<[^>]+>")
_HIDDEN_BLOCKS = re.compile(r"<(script|style)\b.*?</\1>", re.S | re.I)


@dataclass(frozen=True, kw_only=True)
class FeedbackFile:
    """One student's feedback page for one notebook of a lab."""

    student: str
    path: Path


def lab_secrets(course: Course, lab: str) -> set[str]:
    """Lines of the lab's hidden tests and mark schemes, as stored in the gradebook."""
    with Gradebook(course.db_url) as gb:
        try:
            assignment = gb.find_assignment(lab)
        except MissingEntry:
            raise CourseError(f"{lab} is not in the gradebook {course.db_path}; autograde it "
                              "first") from None
        sources = [c.source or "" for nb in assignment.notebooks for c in nb.source_cells]
    return secret_lines(sources)


def leaks_in_html(text: str, secrets: set[str]) -> list[str]:
    """The secret lines that an HTML page shows as text (empty = clean)."""
    visible = normalise(html.unescape(_TAG.sub(" ", _HIDDEN_BLOCKS.sub(" ", text))))
    squeezed = visible.replace(" ", "")
    return sorted(s for s in secrets if s in visible or s.replace(" ", "") in squeezed)


def prune(folder: Path, allow: Sequence[str] = ()) -> list[str]:
    """Remove everything under ``folder`` but regular ``*.html`` files and allowed ones.

    ``allow`` holds glob patterns of paths relative to ``folder``.  Nothing is
    followed: links and special files are removed as names.  Returns the
    removed paths, relative to ``folder``.
    """
    removed: list[str] = []

    def walk(current: Path, rel: str) -> None:
        for entry in sorted(os.scandir(current), key=lambda e: e.name):
            path = f"{rel}{entry.name}"
            mode = entry.stat(follow_symlinks=False).st_mode
            if stat.S_ISDIR(mode):
                walk(Path(entry.path), path + "/")
                if not any(os.scandir(entry.path)):
                    os.rmdir(entry.path)
                continue
            keep = stat.S_ISREG(mode) and (entry.name.endswith(".html") or
                                           any(fnmatch.fnmatch(path, p) for p in allow))
            if not keep:
                if stat.S_ISDIR(mode):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
                removed.append(path)

    if folder.is_dir() and not folder.is_symlink():
        walk(folder, "")
    return removed


def generate_feedback(course: Course, lab: str, students: Sequence[str] | None = None, *,
                      allow: Sequence[str] = ()) -> list[FeedbackFile]:
    """Write ``grading/feedback/<student>/<lab>/*.html`` for every autograded submission.

    ``allow``: glob patterns of other files (relative to the student's lab
    folder) the instructor wants learners to receive.
    """
    course.check_lab(lab)
    graded = sorted(p.parent.name for p in course.autograded_dir.glob(f"*/{lab}") if p.is_dir()) \
        if course.autograded_dir.is_dir() else []
    wanted = [check_name("student", s) for s in students] if students else graded
    missing = sorted(set(wanted) - set(graded))
    if missing or not wanted:
        who = ", ".join(missing) if missing else "anyone"
        raise CourseError(f"no autograded {lab} for {who} in {course.autograded_dir}; run "
                          f"labkit course autograde {lab} first")
    secrets = lab_secrets(course, lab)
    for student in (wanted if students else [None]):
        name = student or "all"
        step = run_step("generate_feedback", config_file=course.config_file, root=course.root,
                        lab=lab, student=student, log_path=course.logs_dir / lab / f"feedback-{name}.log")
        if not step.success:
            raise CourseError(f"nbgrader could not write feedback for {lab} ({name}): "
                              f"{step.error.strip().splitlines()[-1] if step.error.strip() else 'failed'} "
                              f"(log: {step.log_path})")
    files, leaked = [], []
    for student in wanted:
        prune(course.feedback_dir / student / lab, allow)
        for page in sorted((course.feedback_dir / student / lab).glob("*.html")):
            leaks = leaks_in_html(page.read_text(encoding="utf-8"), secrets)
            if leaks:
                page.unlink()               # this learner gets no page; the others still do
                leaked.append(f"{page} quoted hidden material ({leaks[0]!r}); it was deleted")
                continue
            files.append(FeedbackFile(student=student, path=page))
    if leaked:
        raise CourseError("; ".join(leaked))
    return files
