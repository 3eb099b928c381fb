"""Collecting submissions: learners' notebooks into ``grading/submitted/<student>/<lab>/``.

nbgrader grades what sits in the submitted folder, one folder per student.
:func:`collect` files notebooks there from wherever they were handed in: a
notebook named ``<student>.ipynb`` (as downloaded from a learning platform),
or a folder named after the student holding ``<lab>.ipynb``.  Each copy gets
a ``timestamp.txt`` (nbgrader's format, UTC) for late-penalty rules.  A file
that is not a readable notebook is reported and skipped; the others go in.

What is handed in is untrusted: a ``<student>.ipynb`` or a student folder
that is a symbolic link, a notebook that is a link, a pipe, a device or a
hard link, or one larger than :data:`MAX_NOTEBOOK_BYTES`, is refused with a
message, never followed (it could name another learner's work or the source
notebook).  The copy is written next to its place and renamed into it, so a
refused or failed copy leaves the student's earlier submission intact.
"""

from __future__ import annotations

import datetime as _dt
import os
import shutil
import stat
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat

from labkit.course.layout import Course, CourseError, check_name
from labkit.course.untrusted import describe, read_regular_file

__all__ = ["Collected", "collect", "MAX_NOTEBOOK_BYTES"]

#: The largest notebook collect accepts (outputs included).
MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class Collected:
    """One handed-in file: the student it belongs to and whether it was filed."""

    source: Path
    student: str
    ok: bool
    message: str = ""


def _kind(path: Path) -> int | None:
    try:
        return os.lstat(path).st_mode
    except OSError:
        return None


def _notebook_for(path: Path, lab: str) -> tuple[str, Path]:
    mode = _kind(path)
    if mode is None:
        raise CourseError(f"{path}: no such file or folder")
    if stat.S_ISDIR(mode):
        for candidate in (path / f"{lab}.ipynb", path / lab / f"{lab}.ipynb"):
            if candidate.parent != path and not stat.S_ISDIR(_kind(candidate.parent) or 0):
                continue                 # path/<lab> must be a real folder, not a link
            if _kind(candidate) is not None:
                return path.name, candidate
        raise CourseError(f"{path}: no {lab}.ipynb inside this folder")
    if not stat.S_ISREG(mode):
        raise CourseError(f"{path}: {describe(mode)}; hand in the notebook file itself")
    if path.suffix != ".ipynb":
        raise CourseError(f"{path}: expected <student>.ipynb or a <student>/ folder")
    return path.stem, path


def collect(course: Course, lab: str, paths: Sequence[str | Path], *,
            timestamp: _dt.datetime | None = None) -> list[Collected]:
    """File each handed-in notebook of ``lab`` under its student's submitted folder."""
    course.check_lab(lab)
    if not paths:
        raise CourseError("collect needs at least one <student>.ipynb file or <student>/ folder")
    when = (timestamp or _dt.datetime.now(_dt.timezone.utc)).astimezone(_dt.timezone.utc)
    stamp = when.strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    results = []
    for raw in paths:
        path = Path(raw)
        try:
            student, notebook = _notebook_for(path, lab)
            check_name(f"student id (from {path.name})", student)
            data = read_regular_file(notebook, max_bytes=MAX_NOTEBOOK_BYTES)
            try:
                nbformat.reads(data.decode("utf-8"), as_version=4)
            except Exception as exc:  # noqa: BLE001 - any unreadable file is reported
                raise CourseError(f"{notebook}: not a readable notebook ({type(exc).__name__})") from None
            _file(course.submitted_dir, student, lab, data, stamp)
        except CourseError as exc:
            results.append(Collected(source=path, student="", ok=False, message=str(exc)))
            continue
        results.append(Collected(source=path, student=student, ok=True))
    return results


def _file(submitted: Path, student: str, lab: str, data: bytes, stamp: str) -> None:
    """Write ``submitted/<student>/<lab>/`` as a whole: built aside, then renamed into place."""
    home = submitted / student
    if _kind(home) is not None and not stat.S_ISDIR(_kind(home) or 0):
        raise CourseError(f"{home}: {describe(_kind(home) or 0)} in the submitted folder; remove it")
    home.mkdir(parents=True, exist_ok=True)
    staging = home / f".{lab}.incoming-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        for name, content in ((f"{lab}.ipynb", data), ("timestamp.txt", (stamp + "\n").encode())):
            fd = os.open(staging / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            with os.fdopen(fd, "wb") as fh:
                fh.write(content)
        dest = home / lab
        mode = _kind(dest)
        if mode is not None:
            if stat.S_ISDIR(mode):
                shutil.rmtree(dest)              # never follows links inside
            else:
                os.unlink(dest)                  # a link or file in the way: removed, not followed
        os.rename(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
