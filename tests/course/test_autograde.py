"""labkit.course.autograde: a lane that crashes or hangs costs one submission, never the batch."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from labkit.course import autograde as ag
from labkit.course.collect import collect
from labkit.course.layout import Course

ROOT = Path(__file__).resolve().parents[2]
LAB = "lab0-orientation"
FIXTURES = ROOT / "grading" / "fixtures" / LAB


@pytest.fixture()
def course(tmp_path, monkeypatch):
    shutil.copy2(ROOT / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    shutil.copytree(ROOT / "source" / LAB, tmp_path / "source" / LAB)
    (tmp_path / "grading").mkdir()
    course = Course.at(tmp_path)
    sqlite3.connect(course.db_path).close()                 # an (empty) gradebook to copy
    collect(course, LAB, [FIXTURES / "perfect.ipynb", FIXTURES / "empty.ipynb"])
    monkeypatch.setattr(ag, "ensure_registered", lambda course, lab: None)
    return course


def fake_lane(monkeypatch, code):
    """Replace the worker process of every lane by ``python -c code``."""
    def start(self):
        return subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    monkeypatch.setattr(ag._Lane, "_start", start)


def test_a_crashing_grader_fails_only_its_submissions(course, monkeypatch):
    fake_lane(monkeypatch, "import sys; sys.stdin.readline(); sys.exit(1)")
    seen = []
    outcomes = ag.autograde(course, LAB, workers=2, progress=lambda o, i, n: seen.append((i, n)))
    assert [(o.student, o.graded, o.error) for o in outcomes] == [
        ("empty", False, "the grading process ended unexpectedly"),
        ("perfect", False, "the grading process ended unexpectedly")]
    assert sorted(seen) == [(1, 2), (2, 2)]
    assert not course.autograded_dir.exists()                # nothing half-graded is kept


def test_a_hanging_grader_is_stopped_by_the_watchdog(course, monkeypatch):
    fake_lane(monkeypatch, "import time; time.sleep(600)")
    outcomes = ag.autograde(course, LAB, workers=1, students=["perfect"], submission_timeout_s=1)
    (outcome,) = outcomes
    assert not outcome.graded and outcome.error == "grading did not finish within 6 s"
    assert 6 <= outcome.seconds < 30                  # the 1 s budget and ag.watchdog_margin_s(1)


def test_a_forged_result_line_for_another_student_is_ignored(course, monkeypatch):
    # a lane that first prints a result for someone else, then dies: no grade is merged
    fake_lane(monkeypatch, "import sys, json; sys.stdin.readline(); print('LABKIT-RESULT ' + "
                           "json.dumps({'student': 'someone-else', 'success': True}), flush=True)")
    (outcome,) = ag.autograde(course, LAB, workers=1, students=["perfect"])
    assert not outcome.graded
