"""labkit.course.release: the committed release is current and never shows what it must hide."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from labkit.course import release as release_mod
from labkit.course.cells import DELIMITERS
from labkit.course.layout import Course, CourseError
from labkit.course.release import find_leaks, release_labs, stale_release
from labkit.course.worker import StepResult

ROOT = Path(__file__).resolve().parents[2]
COURSE = Course.at(ROOT)
RELEASED = sorted(COURSE.release_dir.glob("*/*.ipynb"))
LAB0 = "lab0-orientation"


def test_every_lab_in_source_is_released():
    assert COURSE.labs(), "no labs in source/"
    assert sorted({p.parent.name for p in RELEASED}) == COURSE.labs()


def test_committed_release_matches_a_fresh_release():
    assert stale_release(COURSE) == []


@pytest.mark.parametrize("notebook", RELEASED, ids=lambda p: p.parent.name)
def test_released_notebook_has_no_solutions_hidden_tests_or_mark_schemes(notebook):
    source = COURSE.source_dir / notebook.parent.name / notebook.name
    assert find_leaks(source, notebook) == []
    nb = nbformat.read(notebook, as_version=4)
    text = "\n".join(c.source for c in nb.cells)
    for marker in DELIMITERS:
        assert marker not in text
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            assert "raise NotImplementedError()" in cell.source, meta["grade_id"]
        assert cell.get("outputs", []) == [] and cell.get("execution_count") is None


def _lab0_copy(tmp_path: Path) -> Course:
    shutil.copy2(COURSE.config_file, tmp_path / COURSE.config_file.name)
    shutil.copytree(COURSE.source_dir / LAB0, tmp_path / "source" / LAB0)
    return Course.at(tmp_path)


def test_find_leaks_reports_each_kind_of_leak(tmp_path):
    source = COURSE.source_dir / LAB0 / f"{LAB0}.ipynb"
    nb = nbformat.read(COURSE.release_dir / LAB0 / f"{LAB0}.ipynb", as_version=4)
    nb.cells[0].source += ('\nassert q1 == "B", '
                           '"Q1: not the right option; re-read the paragraph about seeds in section 1."')
    nb.cells[1].source += "\n=== BEGIN MARK SCHEME ==="
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="hi")]
    nb.cells[3].source += "\nq2_answer = v.rate_rps * v.service_ms / 1000"
    leaky = tmp_path / "leaky.ipynb"
    nbformat.write(nb, leaky)
    problems = find_leaks(source, leaky)
    assert any("cell 0: contains hidden text 'assert q1 == \"B\"" in p for p in problems)
    assert any("cell 1: contains the delimiter 'BEGIN MARK SCHEME'" in p for p in problems)
    assert any("cell 2: has outputs" in p for p in problems)
    assert any("cell 3: contains hidden text 'q2_answer = v.rate_rps * v.service_ms / 1000'" in p
               for p in problems)


def test_a_leaking_release_is_deleted_and_reported(tmp_path, monkeypatch):
    course = _lab0_copy(tmp_path)

    def copy_source_as_release(step, **kwargs):         # nbgrader misconfigured: nothing stripped
        out = course.release_dir / LAB0
        out.mkdir(parents=True)
        shutil.copy2(course.source_dir / LAB0 / f"{LAB0}.ipynb", out)
        return StepResult(step=step, success=True, error="", log_path=tmp_path / "log")

    monkeypatch.setattr(release_mod, "run_step", copy_source_as_release)
    with pytest.raises(CourseError, match="release of lab0-orientation removed because it leaked: "
                                          "lab0-orientation.ipynb cell \\d+: contains"):
        release_labs(course)
    assert not (course.release_dir / LAB0).exists()


def test_a_failed_nbgrader_run_is_reported_with_its_log(tmp_path, monkeypatch):
    course = _lab0_copy(tmp_path)
    log = tmp_path / "release.log"

    def nbgrader_refuses(step, **kwargs):
        return StepResult(step=step, success=False, log_path=log, error="Traceback ...\n"
                          "RuntimeError: Hidden test region detected in a non-grade cell\n")

    monkeypatch.setattr(release_mod, "run_step", nbgrader_refuses)
    with pytest.raises(CourseError) as info:
        release_labs(course)
    assert str(info.value) == ("nbgrader could not release lab0-orientation: RuntimeError: Hidden "
                               f"test region detected in a non-grade cell (log: {course.logs_dir}"
                               "/release.log)")


def test_unknown_lab_is_refused_with_the_known_ones(tmp_path):
    course = _lab0_copy(tmp_path)
    with pytest.raises(CourseError, match=r"lab 'lab9' not found in .*source \(labs: "
                                          r"lab0-orientation\)"):
        release_labs(course, ["lab9"])
    with pytest.raises(CourseError, match=r"lab must be a plain name .*got '\.\./x'"):
        release_labs(course, ["../x"])
