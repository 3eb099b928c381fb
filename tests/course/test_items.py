"""``labkit course items``: every graded item read from source/, without running anything."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from labkit.cli import main
from labkit.commands.course import lab_module
from labkit.course.items import KINDS, Item, lab_items, notebook_items
from labkit.course.layout import Course, CourseError
from labkit.labs import lab0
from labkit.variants import SELF_STUDY, Variant, draw

ROOT = Path(__file__).resolve().parents[2]
COURSE = Course.at(ROOT)
LAB0 = "lab0-orientation"


def cli(*args, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    capsys.readouterr()
    code = main(["course", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_lab0_items_are_read_from_its_source():
    items = {i.grade_id: i for i in lab_items(COURSE, LAB0, lab0.VARIANTS)}
    assert list(items) == ["q1_check", "q2_check", "q3_check", "q4_task"]
    q1, q2, q3, q4 = items.values()
    assert (q1.kind, q1.points, q1.key, q1.question, q1.answers) == \
        ("multiple choice", 1.0, "B", "Q1", ("q1_answer",))
    assert q1.options == {"A": "Slightly different numbers each time, because the simulation is "
                               "random.", "B": "Exactly the same numbers both times.",
                          "C": "The same mean latency, but a different p95.",
                          "D": "It depends on how busy your computer is."}
    assert (q2.kind, q2.points, q2.answers, q2.key) == ("number", 1.0, ("q2_answer",), None)
    assert q2.varies == {"rate_rps": lab0.Q2_PARAMS["rate_rps"],
                         "service_ms": lab0.Q2_PARAMS["service_ms"]}
    assert (q3.kind, q3.points, q3.answers) == ("simulation", 2.0, ("q3_knobs",))
    assert q3.varies == {"rate_rps": lab0.Q3_PARAMS["rate_rps"]}
    assert (q4.kind, q4.points, q4.answers, q4.varies) == ("manual", 2.0, (), {})
    assert q1.varies == {} and q1.description.startswith("Q1 check: q1_answer must be one of")


def test_every_lab_parses_and_every_multiple_choice_has_a_key_among_its_options():
    for lab in COURSE.labs():
        module = lab_module(lab)
        items = lab_items(COURSE, lab, getattr(module, "VARIANTS", None))
        assert items, lab
        assert {i.kind for i in items} <= set(KINDS)
        assert len({i.grade_id for i in items}) == len(items), lab
        for item in items:
            if item.kind == "multiple choice" and item.varies:    # drawn per learner
                assert item.key is None and set(item.options) == set("ABCD"), (lab, item)
            elif item.kind == "multiple choice":
                assert item.key in item.options and all(item.options.values()), (lab, item)


def test_the_points_add_up_to_the_gradebook_points_of_the_source():
    for lab in COURSE.labs():
        nb = nbformat.read(COURSE.source_dir / lab / f"{lab}.ipynb", as_version=4)
        graded = sum(float(c.metadata["nbgrader"].get("points", 0)) for c in nb.cells
                     if c.metadata.get("nbgrader", {}).get("grade")
                     or c.metadata.get("nbgrader", {}).get("task"))
        assert sum(i.points for i in lab_items(COURSE, lab)) == graded, lab


def cell(source, kind="code", **nbgrader):
    meta = {"nbgrader": {"grade_id": nbgrader.pop("grade_id"), "schema_version": 3,
                         **nbgrader}} if nbgrader.get("grade_id") else {}
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    return make(source, metadata=meta)


CHECK = {"grade": True, "locked": True, "points": 1}


def test_each_kind_is_recognised_from_the_cell():
    nb = nbformat.v4.new_notebook(cells=[
        cell('from labkit.checkpoints import MultipleChoice\n'
             'MultipleChoice("Q7", "Which?", ["one", "two", "three"])'),
        cell('"""Q7 check."""\nfrom labkit.checkpoints import check_choice\n'
             'q = check_choice(q7_answer, "ABC", question="Q7")\n'
             '### BEGIN HIDDEN TESTS\nassert "C" == q, "no"\n### END HIDDEN TESTS',
             grade_id="mc", **CHECK),
        cell('from labkit.checkpoints import check_number\n'
             'x = check_number(n_answer, minimum=0)\nassert abs(x - 3) < 1', grade_id="num", **CHECK),
        cell('from labkit.labs import lab9\np = lab9.judge_thing(knobs, seeds=[1])\nassert not p',
             grade_id="sim", **CHECK),
        cell('from labkit.labs import lab9\n#| learner: from labkit.labs import lab9\n'
             '#| learner: got = lab9.collect_things(fn, seeds=[1])\n'
             'assert not lab9.judge_x(got, seeds=[1])', grade_id="fn", **CHECK),
        cell('from labkit.evidence import Runbook\nassert isinstance(book, Runbook)',
             grade_id="ev", **CHECK),
        cell('assert len(notes) > 3', grade_id="other", **CHECK),
        cell("**Q9** write here", kind="markdown", grade_id="written", task=True, points=2,
             grade=False),
        cell("def f():\n    ### BEGIN SOLUTION\n    pass\n    ### END SOLUTION", grade_id="code_ans",
             grade=True, solution=True, points=3),
    ])
    items = {i.grade_id: i for i in notebook_items(nb, "labX")}
    assert {k: i.kind for k, i in items.items()} == {
        "mc": "multiple choice", "num": "number", "sim": "simulation", "fn": "function",
        "ev": "evidence", "other": "check", "written": "manual", "code_ans": "manual"}
    assert items["mc"].options == {"A": "one", "B": "two", "C": "three"}
    assert items["mc"].key == "C" and items["mc"].answers == ("q7_answer",)
    assert items["fn"].answers == ("got",)          # only the probe's output crosses
    assert items["num"].answers == ("n_answer",) and items["sim"].answers == ("knobs",)
    assert (items["written"].points, items["written"].description) == (2.0, "Q9 write here")


def test_options_of_another_question_are_not_borrowed():
    nb = nbformat.v4.new_notebook(cells=[
        cell('MultipleChoice("Q1", "Which?", {"A": "a", "B": "b"})'),
        cell('from labkit.checkpoints import check_choice\nnote = str(extra)\n'
             'q = check_choice(q2_answer, "ABCD", question="Q2")\nassert q == "D"',
             grade_id="q2", **CHECK)])
    (item,) = notebook_items(nb, "labX")
    assert item.options == {"A": "", "B": "", "C": "", "D": ""} and item.key == "D"
    assert item.answers == ("q2_answer", "extra")         # the letter's name first


def test_variants_that_name_no_graded_cell_or_draw_nothing_are_refused():
    nb = nbformat.v4.new_notebook(cells=[cell("assert x", grade_id="a_check", **CHECK)])
    with pytest.raises(CourseError, match=r"labX: VARIANTS names zz_check, which is not a graded "
                                          r"cell of the source notebook"):
        notebook_items(nb, "labX", {"zz_check": lab0.q2})
    with pytest.raises(CourseError, match=r"labX: VARIANTS\['a_check'\] must return a "
                                          r"labkit.variants.Variant, got int"):
        notebook_items(nb, "labX", {"a_check": lambda learner: 3})

    def broken(*, learner=None):
        raise KeyError("rate")
    with pytest.raises(CourseError, match=r"labX: VARIANTS\['a_check'\] could not draw a variant "
                                          r"\(KeyError: 'rate'\)"):
        notebook_items(nb, "labX", {"a_check": broken})


def test_a_variant_keeps_the_lists_it_was_drawn_from_without_changing_equality():
    v = draw("labX", "q", {"a": [1, 2, 3], "b": ("x",)}, learner=SELF_STUDY)
    assert v.choices == {"a": (1, 2, 3), "b": ("x",)}
    assert v == Variant(lab="labX", item="q", learner=SELF_STUDY, values=dict(v.values))
    assert v.a in (1, 2, 3) and v.b == "x"


def test_items_command_json_has_the_documented_keys(capsys, monkeypatch):
    code, out, err = cli("items", LAB0, "--json", capsys=capsys, monkeypatch=monkeypatch)
    assert code == 0 and err == ""
    items = json.loads(out)["items"]
    assert [i["grade_id"] for i in items] == ["q1_check", "q2_check", "q3_check", "q4_task"]
    assert set(items[0]) == {"lab", "grade_id", "kind", "points", "answers", "question",
                             "options", "key", "varies", "description"}
    assert items[0]["key"] == "B" and items[0]["options"]["B"] == "Exactly the same numbers both times."
    assert items[2]["varies"] == {"rate_rps": [36, 48, 60, 72]}
    assert items == [i.to_dict() for i in lab_items(COURSE, LAB0, lab0.VARIANTS)]


def test_items_command_table_lists_every_lab(capsys, monkeypatch):
    code, out, _ = cli("items", capsys=capsys, monkeypatch=monkeypatch)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["lab", "grade", "id", "kind", "points", "key", "varies"]
    assert {line.split()[0] for line in lines[1:]} == set(COURSE.labs())
    q1 = next(x for x in lines if x.split()[:2] == [LAB0, "q1_check"])
    assert q1.split()[2:] == ["multiple", "choice", "1", "B", "of", "ABCD", "-"]
    q3 = next(x for x in lines if x.split()[:2] == [LAB0, "q3_check"])
    assert q3.endswith("rate_rps in {36, 48, 60, 72}")


def test_items_command_unknown_lab_exits_2_with_one_line(capsys, monkeypatch):
    code, out, err = cli("items", "lab9", capsys=capsys, monkeypatch=monkeypatch)
    assert code == 2 and out == ""
    assert err.startswith("labkit course items: lab 'lab9' not found in")
    assert len(err.strip().splitlines()) == 1


def test_an_item_is_plain_json():
    item = Item(lab="l", grade_id="g", kind="number", points=1.0, varies={"a": (1, 2), "b": None})
    assert json.loads(json.dumps(item.to_dict()))["varies"] == {"a": [1, 2], "b": None}
