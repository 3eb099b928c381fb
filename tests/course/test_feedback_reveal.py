"""``labkit course feedback LAB --reveal``: the right answer under each check, only when asked.

Without ``--reveal`` a feedback page shows no answer (as before); with it, each graded check
cell shows the multiple-choice key or, for a task with per-learner numbers, the lab's
explanation for *that* learner's numbers (``lab0.REVEAL``).  Either way no hidden test line
reaches a page, and the graded notebooks are left as they were.
"""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

import nbformat
import pytest

from labkit.cli import main
from labkit.course.feedback import (
    REVEAL_CLASS,
    add_reveals,
    generate_feedback,
    lab_secrets,
    leaks_in_html,
    reveal_text,
)
from labkit.course.items import Item
from labkit.course.layout import CourseError
from labkit.labs import lab0

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gradedclass import LAB, class_course  # noqa: E402

MC = Item(lab=LAB, grade_id="q1_check", kind="multiple choice", points=1, key="B",
          options={"A": "no", "B": "Exactly the same numbers both times."})
NUMBER = Item(lab=LAB, grade_id="q2_check", kind="number", points=1)
MANUAL = Item(lab=LAB, grade_id="q4_task", kind="manual", points=2)


def test_what_is_revealed_for_each_kind_of_item():
    assert reveal_text(MC, "ada", {}) == "the right option is B: Exactly the same numbers both times."
    assert reveal_text(NUMBER, "ada", {}) is None               # nothing to say without REVEAL
    assert reveal_text(NUMBER, "ada", lab0.REVEAL) == lab0.REVEAL["q2_check"]("ada")
    assert reveal_text(MANUAL, "ada", {"q4_task": lambda who: "x"}) is None
    assert reveal_text(MC, "ada", {"q1_check": lambda who: f"ask {who}"}) == "ask ada"


def test_the_explanation_is_the_learners_own():
    def learner_with(rate):
        return next(f"l{i}" for i in range(1000) if lab0.q3(learner=f"l{i}").rate_rps == rate)
    texts = {rate: lab0.REVEAL["q3_check"](learner_with(rate)) for rate in lab0.Q3_PARAMS["rate_rps"]}
    for rate, text in texts.items():
        assert f"{rate} requests/s" in text and f"is {lab0.Q3_SMALLEST[rate]} replicas" in text
    v = lab0.q2(learner="ada")
    assert f"= {v.rate_rps * v.service_ms / 1000:g} replicas" in lab0.REVEAL["q2_check"]("ada")


@pytest.mark.slow
@pytest.mark.parametrize("rate", lab0.Q3_PARAMS["rate_rps"])
def test_the_revealed_smallest_fleet_is_what_the_judge_accepts(rate):
    who = next(f"l{i}" for i in range(1000) if lab0.q3(learner=f"l{i}").rate_rps == rate)
    n = lab0.Q3_SMALLEST[rate]
    assert lab0.judge_q3({"model.replicas": n}, seeds=[101, 102, 103], learner=who) == []
    assert lab0.judge_q3({"model.replicas": n - 1}, seeds=[101, 102, 103], learner=who) != []


def test_a_broken_reveal_function_is_named():
    with pytest.raises(CourseError, match=r"lab0-orientation: REVEAL\['q2_check'\]\('ada'\) "
                                          r"failed: ZeroDivisionError"):
        reveal_text(NUMBER, "ada", {"q2_check": lambda who: 1 / 0})
    with pytest.raises(CourseError, match=r"REVEAL\['q2_check'\] must return a non-empty "
                                          r"sentence, got 3"):
        reveal_text(NUMBER, "ada", {"q2_check": lambda who: 3})


def test_boxes_go_under_graded_check_cells_only():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("q1_answer = 'B'", metadata={"nbgrader": {
            "grade_id": "q1_answer", "solution": True, "grade": False}}),
        nbformat.v4.new_code_cell("check", metadata={"nbgrader": {
            "grade_id": "q1_check", "grade": True, "points": 1}}),
        nbformat.v4.new_code_cell("check", metadata={"nbgrader": {
            "grade_id": "q2_check", "grade": True, "points": 1}}),
    ])
    assert add_reveals(nb, [MC, NUMBER], "ada", {}) == 1
    assert nb.cells[0].get("outputs") == [] and nb.cells[2].outputs == []
    (box,) = nb.cells[1].outputs
    assert box.data["text/plain"] == "Answer: The right option is B: Exactly the same numbers both times."
    assert box.data["text/html"].startswith(f'<div class="{REVEAL_CLASS}"><strong>Answer:</strong>')
    nbformat.validate(nb)


# ------------------------------------------------------------------------------ a real class
STUDENTS = ["ana", "cai"]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from labkit.course.autograde import autograde

    course = class_course(tmp_path_factory.mktemp("class"), students=STUDENTS)
    outcomes = autograde(course, LAB, workers=2)
    assert all(o.graded for o in outcomes), [o.error for o in outcomes if not o.graded]
    return course


def page_text(course, student) -> str:
    raw = (course.feedback_dir / student / LAB / f"{LAB}.html").read_text(encoding="utf-8")
    return html.unescape(raw)


def boxes(course, student) -> list[str]:
    raw = (course.feedback_dir / student / LAB / f"{LAB}.html").read_text(encoding="utf-8")
    found = re.findall(rf'<div class="{REVEAL_CLASS}"><strong>Answer:</strong> (.*?)</div>', raw)
    return [html.unescape(x) for x in found]


def no_hidden_material(course, student):
    raw = (course.feedback_dir / student / LAB / f"{LAB}.html").read_text(encoding="utf-8")
    assert leaks_in_html(raw, lab_secrets(course, LAB)) == []
    text = page_text(course, student)
    assert "lab0.judge_q3(q3_knobs, seeds=[101, 102, 103])" not in text
    assert 'assert q1 == "B"' not in text and "BEGIN HIDDEN TESTS" not in text


@pytest.mark.slow
@pytest.mark.kernel
def test_default_feedback_reveals_nothing(graded):
    pages = generate_feedback(graded, LAB)
    assert sorted(p.student for p in pages) == STUDENTS
    for student in STUDENTS:
        assert boxes(graded, student) == []
        text = page_text(graded, student)
        assert REVEAL_CLASS not in text and "the right option is" not in text.lower()
        assert lab0.REVEAL["q2_check"](student) not in text
        no_hidden_material(graded, student)


@pytest.mark.slow
@pytest.mark.kernel
def test_revealed_feedback_shows_each_learners_own_answer(graded, capsys, monkeypatch):
    monkeypatch.chdir(graded.root)
    capsys.readouterr()
    assert main(["course", "feedback", LAB, "--reveal"]) == 0
    out = capsys.readouterr().out
    assert sorted(line.split("\t")[0] for line in out.splitlines()) == STUDENTS
    key = "The right option is B: Exactly the same numbers both times."
    for student in STUDENTS:
        mine = [key] + [t[0].upper() + t[1:] for t in (lab0.REVEAL["q2_check"](student),
                                                        lab0.REVEAL["q3_check"](student))]
        assert boxes(graded, student) == mine            # in notebook order, one per check
        no_hidden_material(graded, student)
    ana, cai = (lab0.REVEAL["q2_check"](s) for s in STUDENTS)
    if ana != cai:                                       # their numbers differ: so do the pages
        assert ana not in page_text(graded, "cai") and cai not in page_text(graded, "ana")
    graded_nb = (graded.autograded_dir / "ana" / LAB / f"{LAB}.ipynb").read_text(encoding="utf-8")
    assert REVEAL_CLASS not in graded_nb                 # the graded notebooks are untouched


@pytest.mark.slow
@pytest.mark.kernel
def test_revealing_for_one_student_touches_only_their_page(graded):
    generate_feedback(graded, LAB)                       # everyone: nothing revealed
    pages = generate_feedback(graded, LAB, ["cai"], reveal=lab0.REVEAL)
    assert [p.student for p in pages] == ["cai"]
    assert len(boxes(graded, "cai")) == 3 and boxes(graded, "ana") == []
