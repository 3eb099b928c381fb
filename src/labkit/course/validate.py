"""Validating a learner's notebook, with an answer nobody can misread.

``nbgrader validate`` prints its findings but exits 0 whether the notebook
passed or not.  :func:`validate_notebook` runs nbgrader's ``Validator`` (the
notebook from a fresh kernel, visible checks only) in a child process and
returns a :class:`ValidationReport` whose ``passed`` is true only when every
check cell passed, no check cell was edited and the notebook has check cells
at all; ``labkit course validate`` prints PASSED or FAILED and exits 0 or 1.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from labkit.course.cells import normalise
from labkit.course.layout import CourseError, grading_environment

__all__ = ["ValidationReport", "validate_notebook", "main"]


@dataclass(frozen=True, kw_only=True)
class ValidationReport:
    """The verdict on one notebook: passed, and each problem as (check cell, message)."""

    notebook: Path
    passed: bool
    checks: int
    problems: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def summary(self) -> str:
        if self.passed:
            return f"{self.notebook.name}: PASSED: all {self.checks} check cells pass"
        lines = [f"{self.notebook.name}: FAILED: {len(self.problems)} problem(s)"]
        lines += [f"  {where}: {message}" for where, message in self.problems]
        return "\n".join(lines)


def validate_notebook(path: str | Path, *, cell_timeout_s: int = 120) -> ValidationReport:
    """Run ``path`` from scratch and judge its check cells (visible checks only)."""
    notebook = Path(path).resolve()
    if not notebook.is_file() or notebook.suffix != ".ipynb":
        raise CourseError(f"{path}: not a notebook file (.ipynb)")
    proc = subprocess.run([sys.executable, "-m", "labkit.course.validate", str(notebook),
                           "--timeout", str(cell_timeout_s)], capture_output=True, text=True,
                          env=grading_environment(), check=False)
    lines = [x for x in proc.stdout.splitlines() if x.startswith("{")]
    if not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise CourseError(f"{notebook.name}: could not be validated: {tail}")
    data = json.loads(lines[-1])
    return ValidationReport(notebook=notebook, passed=data["passed"], checks=data["checks"],
                            problems=tuple(tuple(p) for p in data["problems"]))


def _grade_ids(nb: object) -> dict[str, str]:
    out = {}
    for cell in nb.cells:  # type: ignore[attr-defined]
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and cell.cell_type == "code":
            out[normalise(cell.source)] = meta.get("grade_id", "?")
    return out


def _last_line(text: str) -> str:
    lines = [normalise(x) for x in text.strip().splitlines() if normalise(x)]
    return lines[-1] if lines else "failed"


def _run(path: Path, timeout: int) -> dict[str, object]:
    import nbformat
    from nbgrader.validator import Validator
    from traitlets.config import Config

    config = Config()
    config.Execute.timeout = timeout
    nb = nbformat.read(path, as_version=4)
    ids = _grade_ids(nb)
    results = Validator(config=config).validate(str(path))
    problems: list[tuple[str, str]] = []
    for item in results.get("type_changed", []):
        problems.append(("a check cell", f"its type was changed to {item['new_type']}; undo it"))
    for item in results.get("changed", []):
        where = ids.get(normalise(item["source"]), "a check cell")
        problems.append((where, "this check cell was edited; restore the original"))
    for item in results.get("failed", []):
        where = ids.get(normalise(item["source"]), "an answer cell")
        problems.append((where, _last_line(item.get("raw_error", ""))))
    if not ids and not problems:
        problems.append(("notebook", "has no check cells: is this a lab notebook?"))
    return {"passed": not problems, "checks": len(ids), "problems": problems}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="labkit.course.validate")
    parser.add_argument("notebook")
    parser.add_argument("--timeout", type=int, default=120)
    args = parser.parse_args(argv)
    sys.stdout.write(json.dumps(_run(Path(args.notebook), args.timeout)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
