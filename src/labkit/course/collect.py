"""Collecting submissions: learners' notebooks into ``grading/submitted/<student>/<lab>/``.

nbgrader grades what sits in the submitted folder, one folder per student.
:func:`collect` files notebooks there from wherever they were handed in: a
notebook named ``<student>.ipynb`` (as downloaded from a learning platform),
or a folder named after the student holding ``<lab>.ipynb``.  Each copy gets
a ``timestamp.txt`` (nbgrader's format, UTC) for late-penalty rules.  A file
that is not a readable notebook is reported and skipped; the others go in.
"""

from __future__ import annotations

import datetime as _dt
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat

from labkit.course.layout import Course, CourseError, check_name

__all__ = ["Collected", "collect"]


@dataclass(frozen=True, kw_only=True)
class Collected:
    """One handed-in file: the student it belongs to and whether it was filed."""

    source: Path
    student: str
    ok: bool
    message: str = ""


def _notebook_for(path: Path, lab: str) -> tuple[str, Path]:
    if path.is_dir():
        for candidate in (path / f"{lab}.ipynb", path / lab / f"{lab}.ipynb"):
            if candidate.is_file():
                return path.name, candidate
        raise CourseError(f"{path}: no {lab}.ipynb inside this folder")
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
            if not path.exists():
                raise CourseError(f"{path}: no such file or folder")
            student, notebook = _notebook_for(path, lab)
            check_name(f"student id (from {path.name})", student)
            try:
                nbformat.read(notebook, as_version=4)
            except Exception as exc:  # noqa: BLE001 - any unreadable file is reported
                raise CourseError(f"{notebook}: not a readable notebook ({type(exc).__name__})") from None
        except CourseError as exc:
            results.append(Collected(source=path, student="", ok=False, message=str(exc)))
            continue
        dest = course.submitted_dir / student / lab
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        shutil.copyfile(notebook, dest / f"{lab}.ipynb")
        (dest / "timestamp.txt").write_text(stamp + "\n", encoding="utf-8")
        results.append(Collected(source=path, student=student, ok=True))
    return results
