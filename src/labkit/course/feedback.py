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

**Revealing answers** (``reveal``, ``labkit course feedback LAB --reveal``; off by default).
Each graded check cell's feedback then also shows the right answer, in a box under the cell
(``<div class="labkit-reveal">``): the key of a multiple-choice question (with its option
text, read from ``source/``, :mod:`labkit.course.items`), and for a task with per-learner
numbers the explanation the lab module gives *for that student's variant*
(``REVEAL[grade_id](student_id)``, see :mod:`labkit.labs.common`), which takes precedence.
The graded notebooks are not touched: they are copied (as untrusted files) into a scratch
course, the boxes added there, and nbgrader renders the copies against the real gradebook.
Hidden test code is still scrubbed and the pages still checked for it.

**Assessments** (a pass standard or a time limit, :mod:`labkit.course.standard`): each page
starts with the student's standing (pass, not passed, or pending a tutor's marks, with each
block's points) and whether the paper was handed in within the time limit, rendered the same
way from a copy.
"""

from __future__ import annotations

import fnmatch
import html
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from labkit.course.cells import normalise, secret_lines
from labkit.course.gradebook import cell_grades
from labkit.course.items import Item, lab_items
from labkit.course.layout import Course, CourseError, check_name
from labkit.course.standard import minutes_late, standard_of, standing, timing_of
from labkit.course.untrusted import TreeLimits, copy_tree
from labkit.course.worker import run_step

__all__ = ["FeedbackFile", "generate_feedback", "lab_secrets", "leaks_in_html", "prune",
           "reveal_text", "add_reveals", "REVEAL_CLASS"]

REVEAL_CLASS = "labkit-reveal"
Reveal = Mapping[str, Callable[[str], str]]
#: what is copied of one graded folder for revealed feedback (as autograde takes submissions)
_GRADED_LIMITS = TreeLimits(max_files=50, max_bytes=64 * 1024 * 1024, max_depth=4)

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


def reveal_text(item: Item, student: str, reveal: Reveal) -> str | None:
    """The answer shown to ``student`` under ``item``'s check, or None when there is none."""
    if item.kind == "manual":
        return None
    if item.grade_id in reveal:
        try:
            text = reveal[item.grade_id](student)
        except Exception as exc:  # noqa: BLE001 - the lab's function is named in the message
            raise CourseError(f"{item.lab}: REVEAL[{item.grade_id!r}]({student!r}) failed: "
                              f"{type(exc).__name__}: {exc}") from None
        if not isinstance(text, str) or not text.strip():
            raise CourseError(f"{item.lab}: REVEAL[{item.grade_id!r}] must return a non-empty "
                              f"sentence, got {text!r}")
        return text.strip()
    if item.kind == "multiple choice" and item.key:
        option = item.options.get(item.key, "")
        return f"the right option is {item.key}" + (f": {option}" if option else ".")
    return None


def add_reveals(nb: nbformat.NotebookNode, items: Sequence[Item], student: str,
                reveal: Reveal) -> int:
    """Add an answer box under every graded check cell of ``nb`` that has one; how many."""
    by_id = {i.grade_id: i for i in items}
    added = 0
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        item = by_id.get(meta.get("grade_id", ""))
        if cell.cell_type != "code" or not meta.get("grade") or item is None:
            continue
        text = reveal_text(item, student, reveal)
        if text is None:
            continue
        shown = text[0].upper() + text[1:]
        cell.outputs.append(nbformat.v4.new_output(
            "display_data", data={
                "text/html": f'<div class="{REVEAL_CLASS}"><strong>Answer:</strong> '
                             f"{html.escape(shown)}</div>",
                "text/plain": f"Answer: {shown}"}))
        added += 1
    return added


def standing_banner(course: Course, lab: str, student: str) -> str | None:
    """For an assessment: the student's standing against the pass standard and the time limit,
    as the first thing their feedback shows (None for a lab without either)."""
    source = course.source_dir / lab / f"{lab}.ipynb"
    standard = standard_of(nbformat.read(source, as_version=4)) if source.is_file() else None
    timing = timing_of(course.config(), lab)
    if standard is None and timing.limit_min is None:
        return None
    lines = []
    if standard is not None:
        grades = [g for g in cell_grades(course.db_url, lab) if g.student == student]
        lines.append(f"**Pass standard** ({standard.overall:.0%} of all points and "
                     f"{standard.per_block:.0%} of each block): {standing(standard, grades).text()}.")
    if timing.limit_min is not None:
        with Gradebook(course.db_url) as gb:
            try:
                handed_in = gb.find_submission(lab, student).timestamp
            except MissingEntry:
                handed_in = None
        late = minutes_late(timing, student, handed_in)
        lines.append(f"**Time limit** {timing.limit_min} min: " + (
            "the hand-in time could not be compared (no start time set)." if late is None else
            "handed in within the limit." if late == 0 else
            f"handed in {late} min after the limit; this is flagged for your tutor."))
    return "\n\n".join(lines)


def add_banner(nb: nbformat.NotebookNode, text: str) -> None:
    """Put ``text`` first in ``nb`` as a plain markdown cell (not a graded cell)."""
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(text))


def _revealed_course(course: Course, lab: str, students: Sequence[str], reveal: Reveal | None,
                     scratch: Path) -> Path:
    """A scratch course root whose graded notebooks carry the answer boxes (with ``reveal``)
    and, for an assessment, the student's standing first."""
    items = lab_items(course, lab)
    graded_rel = course.autograded_dir.relative_to(course.root)
    for student in students:
        target = scratch / graded_rel / student / lab
        target.parent.mkdir(parents=True, exist_ok=True)
        copied = copy_tree(course.autograded_dir / student / lab, target, limits=_GRADED_LIMITS)
        for name in copied.files:
            if not name.endswith(".ipynb") or "/" in name:
                continue
            path = target / name
            nb = nbformat.read(path, as_version=4)
            if reveal is not None:
                add_reveals(nb, items, student, reveal)
            banner = standing_banner(course, lab, student)
            if banner:
                add_banner(nb, banner)
            nbformat.write(nb, path)
    return scratch


def generate_feedback(course: Course, lab: str, students: Sequence[str] | None = None, *,
                      allow: Sequence[str] = (), reveal: Reveal | None = None
                      ) -> list[FeedbackFile]:
    """Write ``grading/feedback/<student>/<lab>/*.html`` for every autograded submission.

    ``allow``: glob patterns of other files (relative to the student's lab
    folder) the instructor wants learners to receive.  ``reveal`` (None: off) shows each
    check's right answer: the lab module's ``REVEAL`` mapping, ``{}`` for the multiple-choice
    keys alone (see the module docstring).
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
    annotated = reveal is not None or standing_banner(course, lab, wanted[0]) is not None
    if annotated:
        _revealed_feedback(course, lab, wanted, reveal)
    runs: list[str | None] = [] if annotated else list(wanted) if students else [None]
    for student in runs:
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


def _revealed_feedback(course: Course, lab: str, students: Sequence[str],
                       reveal: Reveal | None) -> None:
    """nbgrader's feedback of copies of the graded notebooks with answer boxes, moved into place."""
    with tempfile.TemporaryDirectory(prefix="labkit-reveal-") as tmp:
        root = _revealed_course(course, lab, students, reveal, Path(tmp))
        step = run_step("generate_feedback", config_file=course.config_file, root=root,
                        db_url=course.db_url, lab=lab, student=None,
                        log_path=course.logs_dir / lab / "feedback-reveal.log")
        if not step.success:
            raise CourseError(f"nbgrader could not write feedback for {lab} (revealed): "
                              f"{step.error.strip().splitlines()[-1] if step.error.strip() else 'failed'} "
                              f"(log: {step.log_path})")
        made = root / course.feedback_dir.relative_to(course.root)
        for student in students:
            source = made / student / lab
            target = course.feedback_dir / student / lab
            if target.is_symlink() or target.is_file():
                target.unlink()
            elif target.exists():
                shutil.rmtree(target)
            if source.is_dir():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(source), str(target))
