"""Releasing labs: ``source/<lab>`` → ``release/<lab>``, the student versions learners open.

:func:`release_labs` runs nbgrader's ``generate_assignment`` for every lab
(it also registers the lab and its grade cells in the gradebook), then
checks each released notebook with :func:`find_leaks`: no solution text, no
hidden test, no mark scheme and no delimiter may survive.  A leaking release
is deleted and reported, never left in place.  nbgrader writes notebooks
deterministically (sorted keys, stable cell ids and checksums), so a fresh
release of an unchanged ``source/`` is byte-identical to the committed one;
:func:`stale_release` is how the test suite checks that.
"""

from __future__ import annotations

import filecmp
import hashlib
import shutil
import sqlite3
import tempfile
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import nbformat

from labkit.course.cells import DELIMITERS, REGIONS, normalise, secret_lines
from labkit.course.layout import CONFIG_NAME, Course, CourseError
from labkit.course.worker import run_step

__all__ = ["ReleaseResult", "release_labs", "register_lab", "ensure_registered", "find_leaks",
           "stale_release"]


@dataclass(frozen=True, kw_only=True)
class ReleaseResult:
    """One lab released: where its student notebooks went."""

    lab: str
    notebooks: tuple[Path, ...]


def find_leaks(source_nb: Path, release_nb: Path) -> list[str]:
    """Every way ``release_nb`` shows what ``source_nb`` keeps from learners (empty = clean)."""
    src = nbformat.read(source_nb, as_version=4)
    rel = nbformat.read(release_nb, as_version=4)
    secrets = secret_lines((c.source for c in src.cells), kinds=tuple(REGIONS))
    problems = []
    for i, cell in enumerate(rel.cells):
        where = f"{release_nb.name} cell {i}"
        for marker in DELIMITERS:
            if marker in cell.source:
                problems.append(f"{where}: contains the delimiter {marker!r}")
        lines = {normalise(x) for x in cell.source.splitlines()}
        for secret in sorted(secrets & lines):
            problems.append(f"{where}: contains hidden text {secret!r}")
        if cell.get("outputs"):
            problems.append(f"{where}: has outputs (release notebooks must be cleared)")
        hidden = cell.get("metadata", {}).get("nbgrader", {})
        if "source" in hidden:
            problems.append(f"{where}: nbgrader metadata carries a source copy")
    return problems


_SCRATCH = {".ipynb_checkpoints", "__pycache__"}   # editor and interpreter droppings, git-ignored


def _config_root_copy(course: Course, scratch: Path) -> Path:
    root = scratch / "course"
    root.mkdir(parents=True)
    shutil.copy2(course.config_file, root / CONFIG_NAME)
    return root


def register_lab(course: Course, lab: str, *, log_dir: Path | None = None) -> None:
    """Put ``lab`` and its grade cells in the gradebook without touching ``release/``."""
    course.check_lab(lab)
    course.grading_dir.mkdir(exist_ok=True)
    log_dir = log_dir or course.logs_dir / lab
    with tempfile.TemporaryDirectory(prefix="labkit-register-") as scratch:
        result = run_step("generate_assignment", config_file=course.config_file, root=course.root,
                          lab=lab, release_dir=str(Path(scratch) / "release"),
                          log_path=log_dir / "register.log")
    if not result.success:
        raise CourseError(f"could not register {lab} in the gradebook: {_last_line(result.error)} "
                          f"(log: {result.log_path})")


def _fingerprint(course: Course, lab: str) -> str:
    digest = hashlib.sha256(course.config_file.read_bytes())
    for nb in sorted((course.source_dir / lab).glob("*.ipynb")):
        digest.update(nb.name.encode() + b"\0" + nb.read_bytes())
    return digest.hexdigest()


def _marker(course: Course, lab: str) -> Path:
    return course.grading_dir / ".registered" / f"{lab}.sha256"


def _in_gradebook(course: Course, lab: str) -> bool:
    if not course.db_path.is_file():
        return False
    with closing(sqlite3.connect(course.db_path)) as db:
        try:
            return db.execute("SELECT 1 FROM assignment WHERE name = ?", (lab,)).fetchone() is not None
        except sqlite3.DatabaseError:
            return False


def _remember(course: Course, lab: str) -> None:
    marker = _marker(course, lab)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(_fingerprint(course, lab) + "\n", encoding="utf-8")


def ensure_registered(course: Course, lab: str) -> None:
    """Register ``lab`` in the gradebook unless it already is, from this very source."""
    marker = _marker(course, lab)
    if (marker.is_file() and marker.read_text(encoding="utf-8").strip() == _fingerprint(course, lab)
            and _in_gradebook(course, lab)):
        return
    register_lab(course, lab)
    _remember(course, lab)


def _last_line(text: str) -> str:
    lines = [x for x in text.strip().splitlines() if x.strip()]
    return lines[-1] if lines else "unknown error"


def release_labs(course: Course, labs: Sequence[str] | None = None) -> list[ReleaseResult]:
    """Regenerate ``release/<lab>`` for every lab in ``source/`` (or the ones named)."""
    names = list(labs) if labs else course.labs()
    if not names:
        raise CourseError(f"no labs found in {course.source_dir}")
    course.grading_dir.mkdir(exist_ok=True)
    for lab in names:
        course.check_lab(lab)
    log = course.logs_dir / "release.log"
    step = run_step("generate_assignment", config_file=course.config_file, root=course.root,
                    lab=names, log_path=log)
    if not step.success:
        raise CourseError(f"nbgrader could not release {', '.join(names)}: "
                          f"{_last_line(step.error)} (log: {log})")
    results = []
    for lab in names:
        out_dir = course.release_dir / lab
        notebooks = tuple(sorted(out_dir.glob("*.ipynb")))
        leaks = [p for nb in notebooks for p in find_leaks(course.source_dir / lab / nb.name, nb)]
        if leaks:
            shutil.rmtree(out_dir, ignore_errors=True)
            raise CourseError(f"release of {lab} removed because it leaked: " + "; ".join(leaks))
        for path in out_dir.rglob("*"):
            if path.is_file():
                path.chmod(0o644)
        _remember(course, lab)
        results.append(ReleaseResult(lab=lab, notebooks=notebooks))
    return results


def stale_release(course: Course) -> list[str]:
    """Differences between the committed ``release/`` and a fresh release of ``source/``.

    Releases into a scratch copy of the course (the real gradebook and
    ``release/`` are untouched) and compares file by file.
    """
    with tempfile.TemporaryDirectory(prefix="labkit-release-check-") as scratch:
        root = _config_root_copy(course, Path(scratch))
        shutil.copytree(course.source_dir, root / course.source_dir.relative_to(course.root),
                        ignore=shutil.ignore_patterns(*_SCRATCH))
        fresh = Course.at(root)
        release_labs(fresh)
        return _compare_trees(fresh.release_dir, course.release_dir)


def _compare_trees(fresh: Path, committed: Path) -> list[str]:
    def files(root: Path) -> set[str]:
        if not root.is_dir():
            return set()
        return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()
                and not set(p.relative_to(root).parts) & _SCRATCH}

    new, old = files(fresh), files(committed)
    problems = [f"release/{p} is missing (run labkit course release)" for p in sorted(new - old)]
    problems += [f"release/{p} has no source (remove it, or run labkit course release)"
                 for p in sorted(old - new)]
    problems += [f"release/{p} is out of date with source/ (run labkit course release)"
                 for p in sorted(new & old) if not filecmp.cmp(fresh / p, committed / p, shallow=False)]
    return problems
