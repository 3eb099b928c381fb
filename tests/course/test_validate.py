"""labkit course validate: PASSED or FAILED, exit 0 or 1, with what failed and why."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.utils import compute_checksum

from labkit.course.layout import CourseError
from labkit.course.validate import validate_notebook

ROOT = Path(__file__).resolve().parents[2]
LAB = "lab0-orientation"
FIXTURES = ROOT / "grading" / "fixtures" / LAB


def validate_cli(path, learner="perfect"):
    """``labkit course validate`` as learner ``learner`` (the fixtures answer their own numbers)."""
    env = dict(os.environ, LABKIT_LEARNER=learner)
    env.pop("JUPYTERHUB_USER", None)
    return subprocess.run([sys.executable, "-m", "labkit.cli", "course", "validate", str(path)],
                          capture_output=True, text=True, timeout=900, check=False, env=env)


def test_a_complete_notebook_passes_with_exit_status_0(tmp_path):
    nb = tmp_path / f"{LAB}.ipynb"
    shutil.copy(FIXTURES / "perfect.ipynb", nb)
    proc = validate_cli(nb)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == f"{LAB}.ipynb: PASSED: all 3 check cells pass\n"


def test_an_unanswered_notebook_fails_with_exit_status_1_and_says_why(tmp_path):
    nb = tmp_path / f"{LAB}.ipynb"
    shutil.copy(FIXTURES / "empty.ipynb", nb)
    proc = validate_cli(nb)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert lines[0] == f"{LAB}.ipynb: FAILED: 3 problem(s)"
    assert "  q1_check: CheckpointError: Q1: not answered yet; set your answer to one of" in lines[1]
    assert lines[2].startswith("  q2_check: CheckpointError: Q2: not answered yet")
    assert lines[3].startswith("  q3_check: CheckpointError: Q3: not answered yet")


def _tiny_lab(path, check_source):
    """A two-cell lab (answer + check) that validates in a bare kernel, without lab0's panel."""
    answer = nbformat.v4.new_code_cell("x = 2")
    answer.metadata["nbgrader"] = {"grade": False, "grade_id": "x_answer", "locked": False,
                                   "schema_version": 3, "solution": True, "cell_type": "code"}
    check = nbformat.v4.new_code_cell('"""x check."""\nassert x == 2, "x: should be two"')
    check.metadata["nbgrader"] = {"grade": True, "grade_id": "x_check", "locked": True,
                                  "points": 1, "schema_version": 3, "solution": False,
                                  "cell_type": "code"}
    for cell in (answer, check):
        cell.metadata["nbgrader"]["checksum"] = compute_checksum(cell)
    check.source = check_source
    nbformat.write(nbformat.v4.new_notebook(cells=[answer, check]), path)


def test_an_edited_check_cell_fails_validation(tmp_path):
    path = tmp_path / "tiny.ipynb"
    _tiny_lab(path, "pass  # edited to pass")
    report = validate_notebook(path)
    assert not report.passed
    assert report.problems == (("x_check", "this check cell was edited; restore the original"),)
    _tiny_lab(path, '"""x check."""\nassert x == 2, "x: should be two"')
    assert validate_notebook(path).summary == "tiny.ipynb: PASSED: all 1 check cells pass"


def test_a_notebook_without_checks_is_not_a_pass(tmp_path):
    path = tmp_path / "notes.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), path)
    report = validate_notebook(path)
    assert not report.passed
    assert report.summary == ("notes.ipynb: FAILED: 1 problem(s)\n"
                              "  notebook: has no check cells: is this a lab notebook?")


def test_a_missing_file_is_bad_input(tmp_path):
    with pytest.raises(CourseError, match=r"nothere\.ipynb: not a notebook file \(\.ipynb\)"):
        validate_notebook(tmp_path / "nothere.ipynb")
    proc = validate_cli(tmp_path / "nothere.ipynb")
    assert proc.returncode == 2
    assert proc.stderr.startswith("labkit course validate: ") and "Traceback" not in proc.stderr
