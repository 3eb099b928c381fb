"""labkit course: layout discovery, collecting, and one-line errors (exit 2) for bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from labkit.cli import main
from labkit.course.autograde import autograde
from labkit.course.collect import collect
from labkit.course.layout import Course, CourseError, check_name

ROOT = Path(__file__).resolve().parents[2]
LAB = "lab0-orientation"
FIXTURES = ROOT / "grading" / "fixtures" / LAB


@pytest.fixture()
def course(tmp_path):
    shutil.copy2(ROOT / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    shutil.copytree(ROOT / "source" / LAB, tmp_path / "source" / LAB)
    (tmp_path / "grading").mkdir()
    return Course.at(tmp_path)


class Ran:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def cli(*args, cwd, capsys, monkeypatch):
    """Run ``labkit course ARGS`` in this process (fast) from folder ``cwd``."""
    monkeypatch.chdir(cwd)
    capsys.readouterr()
    code = main(["course", *args])
    out = capsys.readouterr()
    return Ran(code, out.out, out.err)


def test_the_layout_comes_from_nbgrader_config(course):
    assert course.source_dir == course.root / "source"
    assert course.release_dir == course.root / "release"
    assert course.submitted_dir == course.root / "grading" / "submitted"
    assert course.autograded_dir == course.root / "grading" / "autograded"
    assert course.feedback_dir == course.root / "grading" / "feedback"
    assert course.db_path == course.root / "grading" / "gradebook.db"
    assert course.labs() == [LAB]
    assert Course.find(course.source_dir / LAB).root == course.root


def test_the_repository_is_a_course():
    assert Course.find(ROOT).root == ROOT
    assert LAB in Course.find(ROOT).labs()


def test_finding_a_course_outside_one_fails_clearly(tmp_path):
    with pytest.raises(CourseError, match="no nbgrader_config.py next to a source/ folder in"):
        Course.find(tmp_path)
    with pytest.raises(CourseError, match=r"nbgrader_config.py not found: the course root must "
                                          r"hold nbgrader_config.py"):
        Course.at(tmp_path)


@pytest.mark.parametrize("value", ["", "..", "a/b", "*", "-x", "a b"])
def test_names_must_be_plain(value):
    with pytest.raises(CourseError, match=f"student must be a plain name of letters, digits, "
                                          f"'.', '_' or '-', got {value!r}".replace("*", r"\*")):
        check_name("student", value)


def test_collect_files_notebooks_by_student(course, tmp_path):
    folder = tmp_path / "handed-in" / "ada"
    folder.mkdir(parents=True)
    shutil.copy(FIXTURES / "perfect.ipynb", folder / f"{LAB}.ipynb")
    broken = tmp_path / "handed-in" / "bob.ipynb"
    broken.write_text("{ not json")
    results = collect(course, LAB, [FIXTURES / "empty.ipynb", folder, broken,
                                    tmp_path / "missing.ipynb", FIXTURES / "perfect.ipynb"])
    assert [(r.student, r.ok) for r in results] == [("empty", True), ("ada", True), ("", False),
                                                    ("", False), ("perfect", True)]
    assert "bob.ipynb: not a readable notebook" in results[2].message
    assert "missing.ipynb: no such file or folder" in results[3].message
    assert course.submissions(LAB) == ["ada", "empty", "perfect"]
    stamp = (course.submitted_dir / "ada" / LAB / "timestamp.txt").read_text()
    assert stamp.endswith(" UTC\n") and stamp[:2] == "20"


def test_autograde_refuses_bad_requests_before_doing_anything(course):
    with pytest.raises(CourseError, match=r"no submissions of lab0-orientation in .*collect them "
                                          r"first \(labkit course collect lab0-orientation"):
        autograde(course, LAB)
    collect(course, LAB, [FIXTURES / "perfect.ipynb"])
    with pytest.raises(CourseError, match="workers must be a whole number >= 1, got 0"):
        autograde(course, LAB, workers=0)
    with pytest.raises(CourseError, match="cell_timeout_s must be > 0 seconds, got -1"):
        autograde(course, LAB, cell_timeout_s=-1)
    with pytest.raises(CourseError, match="no submission of lab0-orientation for zed in"):
        autograde(course, LAB, students=["zed"])
    assert not course.db_path.exists()                      # nothing was started


@pytest.mark.parametrize("args, message", [
    (["autograde", "lab9"], "labkit course autograde: lab 'lab9' not found in"),
    (["feedback", LAB], "labkit course feedback: no autograded lab0-orientation for anyone in"),
    (["export", "-o", "/nonexistent/dir/g.csv"], "labkit course export: no gradebook at"),
    (["collect", LAB, "nothing.txt"], None),
])
def test_cli_errors_are_one_line_with_exit_status_2(course, args, message, capsys, monkeypatch):
    proc = cli(*args, cwd=course.root, capsys=capsys, monkeypatch=monkeypatch)
    if message is None:          # collect reports per file and exits 1 when one was skipped
        assert proc.returncode == 1 and "skipped nothing.txt: no such file or folder" in proc.stdout
        return
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith(message) and len(proc.stderr.strip().splitlines()) == 1


def test_cli_outside_a_course_says_where_it_looked(tmp_path, capsys, monkeypatch):
    proc = cli("release", cwd=tmp_path, capsys=capsys, monkeypatch=monkeypatch)
    assert proc.returncode == 2
    assert proc.stderr.startswith("labkit course release: no nbgrader_config.py next to a source/")


def test_autograde_refuses_to_run_student_code_without_landlock(course, monkeypatch):
    from labkit.course import landlock, sandbox

    collect(course, LAB, [FIXTURES / "perfect.ipynb"])
    monkeypatch.setattr(landlock, "landlock_abi", lambda: 0)
    with pytest.raises(sandbox.SandboxError, match=r"landlock: Linux Landlock is not available "
                                                    r"\(kernel >= 5.13"):
        autograde(course, LAB)
    assert not (course.autograded_dir / "perfect").exists()


def test_collect_names_what_it_expected(course, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    empty_dir = tmp_path / "ada"
    empty_dir.mkdir()
    results = collect(course, LAB, [text, empty_dir])
    assert results[0].message == f"{text}: expected <student>.ipynb or a <student>/ folder"
    assert results[1].message == f"{empty_dir}: no lab0-orientation.ipynb inside this folder"
    with pytest.raises(CourseError, match="collect needs at least one <student>.ipynb file"):
        collect(course, LAB, [])


def test_export_needs_a_folder_to_write_into(course, tmp_path):
    from labkit.course.export import export_grades

    course.db_path.write_bytes(b"")
    with pytest.raises(CourseError, match=r"cannot write .*g\.csv: folder .*nowhere does not exist"):
        export_grades(course, tmp_path / "nowhere" / "g.csv")


def test_feedback_that_still_leaks_is_deleted(course, monkeypatch):
    from labkit.course import feedback as fb
    from labkit.course.worker import StepResult

    page = course.feedback_dir / "ada" / LAB / f"{LAB}.html"
    (course.autograded_dir / "ada" / LAB).mkdir(parents=True)

    def leaky_nbgrader(step, **kwargs):
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text("<pre><span>assert</span> q1 == &quot;B&quot;, <b>why</b></pre>")
        return StepResult(step=step, success=True, error="", log_path=course.logs_dir / "f.log")

    monkeypatch.setattr(fb, "run_step", leaky_nbgrader)
    monkeypatch.setattr(fb, "lab_secrets", lambda course, lab: {'assert q1 == "B", why'})
    with pytest.raises(CourseError, match=r"lab0-orientation.html quoted hidden material "
                                          r"\('assert q1 == \"B\", why'\); it was deleted"):
        fb.generate_feedback(course, LAB)
    assert not page.exists()


def test_feedback_needs_the_lab_in_the_gradebook(course):
    from nbgrader.api import Gradebook

    from labkit.course.feedback import lab_secrets

    with Gradebook(course.db_url):
        pass                                                  # an empty nbgrader gradebook
    with pytest.raises(CourseError, match=r"lab0-orientation is not in the gradebook .*; "
                                          r"autograde it first"):
        lab_secrets(course, LAB)
