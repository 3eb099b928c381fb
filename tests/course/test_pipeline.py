"""The whole pipeline on lab0 with real nbgrader runs: collect → autograde → feedback → export.

A scratch course (this repository's nbgrader_config.py, lab0's source and
release) receives the seven fixture submissions of grading/fixtures/, is
autograded by ``labkit course autograde --workers 2`` (started from the
course folder, as an instructor would), and every fixture must come out as
its docstring in tests/course/build_fixtures.py says.  A plain serial
``nbgrader autograde`` of the same submissions must give the same grades.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from labkit.course.feedback import lab_secrets, leaks_in_html
from labkit.course.gradebook import cell_grades
from labkit.course.layout import Course

ROOT = Path(__file__).resolve().parents[2]
LAB = "lab0-orientation"
FIXTURES = ROOT / "grading" / "fixtures" / LAB
CELL_TIMEOUT_S = 20          # a loop costs this; a slow import under load must fit in it
MARK = b"HOSTILE" + b"-" + b"MARKER"
# what a submission would patch to cheat for everyone (other engineers' files may change meanwhile)
PACKAGE = [ROOT / "src" / "labkit" / "checkpoints.py", ROOT / "src" / "labkit" / "course"]

# fixture -> auto score per check cell (q4_task is a manually graded task: no auto score)
EXPECTED = {
    "perfect": {"q1_check": 1.0, "q2_check": 1.0, "q3_check": 2.0},
    "empty": {"q1_check": 0.0, "q2_check": 0.0, "q3_check": 0.0},
    "tampered": {"q1_check": 1.0, "q2_check": 0.0, "q3_check": 0.0},
    "infinite_loop": {"q1_check": 1.0, "q2_check": 1.0, "q3_check": 2.0},
    "swallow_interrupt": {"q1_check": 1.0, "q2_check": 1.0, "q3_check": 2.0},
    "raises_at_import": {"q1_check": 1.0, "q2_check": 0.0, "q3_check": 2.0},
    "hostile": {"q1_check": 1.0, "q2_check": 1.0, "q3_check": 2.0},
}


def labkit(*args, cwd, check=True):
    env = dict(os.environ, PWD=str(cwd))
    proc = subprocess.run([sys.executable, "-m", "labkit.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=1800, check=False)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def tree_state(*roots, skip=()):
    """Path -> (sha256, mode) for every file under roots, except paths under `skip`."""
    state = {}
    for root in roots:
        for path in sorted(root.rglob("*")) if root.is_dir() else [root]:
            if any(path == s or s in path.parents for s in skip) or "__pycache__" in path.parts:
                continue
            st = path.lstat()
            data = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
            state[str(path)] = (data, st.st_mode, st.st_mtime_ns if path.is_file() else 0)
    return state


def make_course(root: Path) -> Course:
    shutil.copy2(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copytree(ROOT / "source" / LAB, root / "source" / LAB)
    shutil.copytree(ROOT / "release" / LAB, root / "release" / LAB,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    (root / "grading").mkdir()
    return Course.at(root)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    course = make_course(root)
    labkit("course", "collect", LAB, *sorted(map(str, FIXTURES.glob("*.ipynb"))), cwd=root)
    # register the lab first, so the "before" state already holds a gradebook to attack
    labkit("course", "release", cwd=root)
    volatile = [course.autograded_dir, course.feedback_dir, course.logs_dir, course.db_path]
    before = tree_state(root, *PACKAGE, skip=volatile)
    db_mode = course.db_path.stat().st_mode
    proc = labkit("course", "autograde", LAB, "--workers", "2", "--cell-timeout",
                  str(CELL_TIMEOUT_S), cwd=root, check=False)
    after = tree_state(root, *PACKAGE, skip=volatile)
    return {"course": course, "proc": proc, "before": before, "after": after, "db_mode": db_mode}


def grades_by_student(db_url):
    out = {}
    for g in cell_grades(db_url, LAB):
        out.setdefault(g.student, {})[g.cell] = (g.auto_score, g.needs_manual_grade)
    return out


def autograded_nb(course, student):
    return nbformat.read(course.autograded_dir / student / LAB / f"{LAB}.ipynb", as_version=4)


def test_every_submission_is_graded_and_none_is_dropped(graded):
    proc = graded["proc"]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert sorted(line.split("\t")[0] for line in lines) == sorted(EXPECTED)
    assert all("NOT GRADED" not in line for line in lines)
    assert "7/7" in proc.stderr                                  # the progress bar
    for student in EXPECTED:
        assert (graded["course"].autograded_dir / student / LAB / f"{LAB}.ipynb").is_file()


def test_each_fixture_gets_the_expected_automatic_grades(graded):
    grades = grades_by_student(graded["course"].db_url)
    for student, expected in EXPECTED.items():
        auto = {cell: score for cell, (score, _) in grades[student].items() if cell != "q4_task"}
        assert auto == expected, student
        assert grades[student]["q4_task"] == (None, True), student      # left for a human


def test_tampered_check_cells_are_restored_and_graded_as_untouched(graded):
    source = nbformat.read(ROOT / "source" / LAB / f"{LAB}.ipynb", as_version=4)
    originals = {c.metadata.nbgrader["grade_id"]: c for c in source.cells
                 if c.metadata.get("nbgrader", {}).get("grade_id", "").endswith(("_check", "_task"))}
    nb = autograded_nb(graded["course"], "tampered")
    restored = {c.metadata.nbgrader["grade_id"]: c for c in nb.cells
                if c.metadata.get("nbgrader", {}).get("grade_id") in originals}
    assert set(restored) == set(originals)
    for gid, cell in restored.items():
        assert originals[gid].source in cell.source, gid                # hidden tests included
        assert cell.metadata.nbgrader.get("points") == originals[gid].metadata.nbgrader["points"]
    q2 = [o for o in restored["q2_check"].outputs if o.output_type == "error"]
    assert q2 and q2[0].ename == "AssertionError"                        # the real check ran


def _errors(nb, cell_id):
    cell = next(c for c in nb.cells if c.get("id") == cell_id)
    return [(o.ename, o.evalue) for o in cell.outputs if o.output_type == "error"]


def test_loops_time_out_in_their_own_cell(graded):
    course = graded["course"]
    loop = _errors(autograded_nb(course, "infinite_loop"), "lab0-q3-try")
    assert ("CellTimeoutError", "") in loop or any(e[0] == "KeyboardInterrupt" for e in loop)
    swallow = _errors(autograded_nb(course, "swallow_interrupt"), "lab0-q3-try")
    assert any(e[0] == "CellTimeoutError" and "ignored the interrupt" in e[1] for e in swallow)


def test_import_error_costs_only_what_depends_on_it(graded):
    errors = _errors(autograded_nb(graded["course"], "raises_at_import"), "lab0-first-run")
    assert errors[0][0] == "ModuleNotFoundError"


def test_the_hostile_submission_changed_nothing_outside_its_folder(graded):
    course = graded["course"]
    assert graded["after"] == graded["before"]                 # source, release, submitted, package
    assert course.db_path.stat().st_mode == graded["db_mode"]
    own = course.autograded_dir / "hostile" / LAB
    for path in course.root.rglob("*"):
        if path.is_file() and own not in path.parents:
            assert MARK not in path.read_bytes(), path
    assert not any(MARK.decode() in p.name for p in Path("/tmp").iterdir())
    with sqlite3.connect(course.db_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert max(s for (s,) in db.execute("SELECT auto_score FROM grade WHERE auto_score IS NOT NULL")) <= 2


def test_the_hostile_submission_really_tried(graded):
    course = graded["course"]
    nb = autograded_nb(course, "hostile")
    cell = next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                == "q1_answer")
    report = "".join(o.text for o in cell.outputs if o.output_type == "stream").splitlines()
    allowed = {line.split()[-1] for line in report if line.startswith("ALLOWED")}
    # its own folder, and /tmp, which points into it (or is read-only when Python lives under /tmp)
    assert "folder" in allowed and allowed <= {"/tmp", "folder"}
    # the course is not in its world: every guess at the gradebook meets a wall
    assert not any(str(course.root) in line for line in report)
    targeted = [line for line in report if "gradebook.db" in line]
    assert len(targeted) >= 3 and all(line.startswith("blocked") for line in targeted)
    assert any(line.startswith("blocked") and "kill the grader" in line for line in report)
    assert any(line.startswith("blocked") and "patch installed labkit" in line for line in report)


def test_feedback_contains_no_hidden_tests_or_mark_schemes(graded):
    course = graded["course"]
    proc = labkit("course", "feedback", LAB, cwd=course.root)
    pages = sorted(course.feedback_dir.glob(f"*/{LAB}/*.html"))
    assert len(pages) == len(EXPECTED) == len(proc.stdout.strip().splitlines())
    secrets = lab_secrets(course, LAB)
    assert len(secrets) >= 8                       # three hidden checks and the mark scheme
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert leaks_in_html(text, secrets) == [], page
        for needle in ("BEGIN HIDDEN TESTS", "MARK SCHEME", "seeds=[101, 102, 103]",
                       "re-read the paragraph about seeds", "1 point: says"):
            assert needle not in text, (page, needle)
    tampered = (course.feedback_dir / "tampered" / LAB / f"{LAB}.html").read_text()
    assert "HiddenCheckFailed" in tampered                      # the failure is still reported


def test_nbgraders_own_feedback_would_leak(graded, tmp_path):
    """Why the scrubbing exists: stock generate_feedback quotes hidden tests and mark schemes."""
    course = graded["course"]
    out = tmp_path / "stock"
    code = "\n".join([
        "from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor",
        "from nbgrader.apps.api import NbGraderAPI",
        "from nbgrader.coursedir import CourseDirectory",
        "from nbgrader.preprocessors import GetGrades",
        "from traitlets.config.loader import PyFileConfigLoader",
        f"c = PyFileConfigLoader('nbgrader_config.py', path={str(course.root)!r}).load_config()",
        "c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor]  # stock",
        f"c.CourseDirectory.feedback_directory = {str(out)!r}",
        "api = NbGraderAPI(coursedir=CourseDirectory(config=c), config=c)",
        f"result = api.generate_feedback({LAB!r}, 'tampered')",
        "assert result['success'], result",
    ])
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    subprocess.run([sys.executable, "-c", code], cwd=course.root, env=env, capture_output=True,
                   text=True, check=True, timeout=600)
    page, = out.glob(f"tampered/{LAB}/*.html")
    assert leaks_in_html(page.read_text(encoding="utf-8"), lab_secrets(course, LAB))


def test_export_writes_one_row_per_student(graded, tmp_path):
    course = graded["course"]
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    labkit("course", "export", "-o", str(first), cwd=course.root)
    labkit("course", "export", "-o", str(second), "--lab", LAB, cwd=course.root)
    assert first.read_bytes() == second.read_bytes()
    header, *rows = first.read_text().splitlines()
    assert header.split(",")[:4] == ["assignment", "duedate", "timestamp", "student_id"]
    scores = {r.split(",")[3]: float(r.split(",")[7]) for r in rows}
    assert scores == {s: sum(e.values()) for s, e in EXPECTED.items()}
    assert header.split(",")[-3:] == ["max_score", "standard", "minutes_late"]
    assert all(r.split(",")[-3] == "6.0" for r in rows)        # 4 automatic + 2 manual points
    assert all(r.split(",")[-2:] == ["", ""] for r in rows)    # lab 0 is not an assessment


@pytest.mark.slow
def test_parallel_grades_equal_a_serial_nbgrader_run(graded, tmp_path):
    """The same submissions graded by plain `nbgrader autograde`, one after another, in place."""
    course = graded["course"]
    serial = make_course(tmp_path)
    shutil.copytree(course.submitted_dir, serial.submitted_dir)
    labkit("course", "release", cwd=serial.root)
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", LAB,
                           f"--Execute.timeout={CELL_TIMEOUT_S}"], cwd=serial.root, env=env,
                          capture_output=True, text=True, timeout=1800, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert grades_by_student(serial.db_url) == grades_by_student(course.db_url)


def test_fixtures_were_built_from_the_current_release():
    release = nbformat.read(ROOT / "release" / LAB / f"{LAB}.ipynb", as_version=4)
    checks = {c.metadata.nbgrader["grade_id"]: c.source for c in release.cells
              if c.metadata.get("nbgrader", {}).get("grade")}
    for name in EXPECTED:
        if name == "tampered":
            continue
        nb = nbformat.read(FIXTURES / f"{name}.ipynb", as_version=4)
        found = {c.metadata.nbgrader["grade_id"]: c.source for c in nb.cells
                 if c.metadata.get("nbgrader", {}).get("grade")}
        assert found == checks, f"{name}: rebuild with python tests/course/build_fixtures.py"
