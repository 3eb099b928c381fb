"""Item analysis: the statistics against theory and hand computation, and the command on a class.

The pure part (``labkit.course.itemstats``) is checked against its definitions: the
point-biserial formula equals Pearson's r with a 0/1 variable, the corrected discrimination
leaves the item out of the rest score, the upper-lower index does not depend on the order
learners are listed in, and the fixture class of ``grading/fixtures/class-analysis/`` flags
exactly the items its answer patterns should.  The end-to-end tests grade five lab 0
submissions (``gradedclass.py``) through ``labkit.course.autograde`` with trusted grading on,
and read the analysis back through ``labkit course item-analysis``.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from labkit.cli import main
from labkit.course.item_analysis import NotGradedError, choice_shares, item_analysis
from labkit.course.items import Item
from labkit.course.itemstats import (
    MAX_FACILITY,
    MIN_DISCRIMINATION,
    ItemStatsError,
    analyse,
    pearson,
    point_biserial,
    upper_lower,
)
from labkit.course.layout import CourseError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gradedclass import EXPECTED, LAB, class_course  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
PATTERNS = json.loads((ROOT / "grading" / "fixtures" / "class-analysis" / "patterns.json")
                      .read_text(encoding="utf-8"))


# ------------------------------------------------------------------------------ theory
@pytest.mark.parametrize("seed", range(8))
def test_point_biserial_is_pearson_with_a_zero_one_variable(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 40))
    right = rng.integers(0, 2, n)
    right[0], right[1] = 0, 1                        # both groups present
    other = rng.normal(10, 3, n) + 2 * right
    r_formula = point_biserial(list(right.astype(bool)), list(other))
    r_pearson = pearson(list(right.astype(float)), list(other))
    assert r_formula == pytest.approx(r_pearson, abs=1e-12)
    assert r_pearson == pytest.approx(np.corrcoef(right, other)[0, 1], abs=1e-12)


def test_the_graded_class_by_hand():
    """The class of gradedclass.py: Q1 = (1,1,0,0,1), Q2 all right, Q3 = (2,2,0,0,0).

    Q1's rest score is Q2 + Q3 = (3,3,1,1,1): deviations from the means (0.6 and 1.8) are
    (.4,.4,-.6,-.6,.4) and (1.2,1.2,-.8,-.8,-.8); their products sum to 1.6, the sums of
    squares are 1.2 and 4.8, so r = 1.6 / sqrt(1.2 x 4.8) = 1.6 / 2.4 = 2/3.  Q3's rest is
    Q1 + Q2 = (2,2,1,1,2), the same shape, so its r is 2/3 too.  Top and bottom 27% of five
    learners are 1.35 learners each: for Q1 the top (rest 3, 3) all chose right, the bottom
    1.35 are tied at rest 1 with shares (0, 0, 1), averaging 1/3: D = 1 - 1/3 = 2/3.
    """
    rows = {r.item: r for r in analyse(
        {"q1": [1, 1, 0, 0, 1], "q2": [1, 1, 1, 1, 1], "q3": [2, 2, 0, 0, 0]},
        {"q1": 1, "q2": 1, "q3": 2})}
    assert rows["q1"].discrimination == pytest.approx(2 / 3, abs=1e-12)
    assert rows["q3"].discrimination == pytest.approx(2 / 3, abs=1e-12)
    assert rows["q1"].upper_lower == pytest.approx(2 / 3, abs=1e-12)
    assert (rows["q1"].facility, rows["q2"].facility, rows["q3"].facility) == (0.6, 1.0, 0.4)
    assert rows["q2"].discrimination is None and rows["q1"].flags == ()
    assert [f.split()[0] for f in rows["q2"].flags] == ["facility", "discrimination"]


def test_discrimination_is_corrected_the_item_is_left_out_of_the_rest():
    scores = {"a": [1, 0, 1, 0, 1, 1], "b": [0, 1, 1, 0, 1, 0], "c": [2, 1, 2, 0, 1, 1]}
    rows = {r.item: r for r in analyse(scores, {"a": 1, "b": 1, "c": 2})}
    for item in scores:
        rest = [sum(scores[o][j] for o in scores if o != item) for j in range(6)]
        assert rows[item].discrimination == pytest.approx(
            np.corrcoef(scores[item], rest)[0, 1], abs=1e-12)
        total = [sum(scores[o][j] for o in scores) for j in range(6)]
        assert rows[item].discrimination != pytest.approx(np.corrcoef(scores[item], total)[0, 1])


def test_upper_lower_groups_and_ties():
    # ten learners: groups of 2.7; the top is (1, 1) and 0.7 of the tie at rest 7 (shares 1, 0)
    share = [1, 1, 1, 0, 1, 0, 0, 0, 0, 1]
    rest = [9, 8, 7, 7, 5, 4, 3, 2, 1, 0]
    top = (1 + 1 + 0.7 * (1 + 0) / 2) / 2.7
    bottom = (1 + 0 + 0.7 * 0) / 2.7               # rests 0 and 1 fully, 0.7 of rest 2
    assert upper_lower(share, rest) == pytest.approx(top - bottom, abs=1e-12)
    order = [3, 0, 9, 5, 1, 8, 2, 7, 4, 6]
    assert upper_lower([share[i] for i in order], [rest[i] for i in order]) == \
        pytest.approx(top - bottom, abs=1e-12)
    assert upper_lower([1, 1, 0, 0], [4, 3, 2, 1], group=0.5) == 1.0
    assert upper_lower([0, 0, 1, 1], [4, 3, 2, 1], group=0.5) == -1.0
    assert upper_lower([1], [1]) is None


def test_facility_is_the_mean_share_of_points():
    (row,) = analyse({"x": [2, 1, 0, 2]}, {"x": 2})
    assert row.facility == pytest.approx((1 + 0.5 + 0 + 1) / 4)
    assert row.mean_points == pytest.approx(1.25)


# ------------------------------------------------------------------------------ fixture class
def test_the_fixture_class_flags_exactly_the_items_its_patterns_should():
    rows = {r.item: r for r in analyse(PATTERNS["scores"], PATTERNS["max_points"])}
    for item, rules in PATTERNS["expect"].items():
        assert sorted({f.split()[0] for f in rows[item].flags}) == sorted(rules), \
            (item, rows[item])
    assert rows["all_right"].facility == 1.0 > MAX_FACILITY
    assert rows["discriminating"].discrimination > MIN_DISCRIMINATION
    assert rows["discriminating"].upper_lower == 1.0        # top 27% all right, bottom all wrong
    assert rows["negative"].discrimination < 0 and rows["negative"].upper_lower == -1.0
    assert "check the key" in rows["negative"].flags[0]
    assert 0 < rows["flat"].discrimination < MIN_DISCRIMINATION


@pytest.mark.parametrize("scores, top, message", [
    ({}, {}, "analyse needs at least one item"),
    ({"a": [1, 0], "b": [1]}, {"a": 1, "b": 1}, r"every item needs one score per learner, got "
                                                r"lengths \[1, 2\]"),
    ({"a": [1, 2]}, {"a": 1}, "scores of 'a' must lie in 0..1, got 2"),
    ({"a": [1, 0]}, {"a": 0}, r"max_points\['a'\] must be > 0, got 0"),
    ({"a": []}, {"a": 1}, "analyse needs at least one learner"),
])
def test_bad_scores_are_refused_naming_the_item(scores, top, message):
    with pytest.raises(ItemStatsError, match=message):
        analyse(scores, top)


def test_choice_shares_count_every_learner():
    item = Item(lab=LAB, grade_id="q1_check", kind="multiple choice", points=1,
                options={"A": "a", "B": "b", "C": "c"})
    shares = choice_shares(item, ["A", "b ", "Z", None, 3, "B"])
    assert shares == {"A": 1 / 6, "B": 2 / 6, "C": 0.0, "other": 3 / 6}
    assert math.fsum(shares.values()) == pytest.approx(1.0)


# ------------------------------------------------------------------------------ errors
@pytest.fixture()
def fresh(tmp_path):
    return class_course(tmp_path, students=["ana"])


def cli(*args, cwd, capsys, monkeypatch):
    monkeypatch.chdir(cwd)
    capsys.readouterr()
    code = main(["course", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.kernel
def test_a_lab_not_graded_yet_is_a_clear_error(fresh, capsys, monkeypatch):
    with pytest.raises(NotGradedError, match=r"lab0-orientation has no graded submissions in .*; "
                                             r"run labkit course autograde lab0-orientation first"):
        item_analysis(fresh, LAB)
    fresh.db_path.unlink()
    code, out, err = cli("item-analysis", LAB, cwd=fresh.root, capsys=capsys,
                         monkeypatch=monkeypatch)
    assert code == 2 and out == ""
    assert err.startswith("labkit course item-analysis: lab0-orientation has not been autograded "
                          "yet: no gradebook at ") and len(err.strip().splitlines()) == 1
    assert not fresh.db_path.exists()                # asking did not create a gradebook


@pytest.mark.kernel
def test_an_unknown_lab_is_a_clear_error(fresh, capsys, monkeypatch):
    with pytest.raises(CourseError, match=r"lab 'lab9' not found in "):
        item_analysis(fresh, "lab9")
    code, _, err = cli("item-analysis", "lab9", cwd=fresh.root, capsys=capsys,
                       monkeypatch=monkeypatch)
    assert code == 2 and err.startswith("labkit course item-analysis: lab 'lab9' not found in")


# ------------------------------------------------------------------------------ a real class
@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from labkit.course.autograde import autograde

    course = class_course(tmp_path_factory.mktemp("class"))
    outcomes = autograde(course, LAB, workers=2)
    assert all(o.graded for o in outcomes), [o.error for o in outcomes if not o.graded]
    return course


@pytest.mark.slow
@pytest.mark.kernel
def test_the_graded_class_earns_its_known_points(graded):
    from gradedclass import auto_scores

    assert auto_scores(graded) == EXPECTED


@pytest.mark.slow
@pytest.mark.kernel
def test_item_analysis_of_a_graded_class(graded, capsys, monkeypatch):
    code, out, err = cli("item-analysis", LAB, "--json", cwd=graded.root, capsys=capsys,
                         monkeypatch=monkeypatch)
    assert code == 0 and err == ""
    report = json.loads(out)
    assert report["lab"] == LAB and report["learners"] == 5
    assert report["rules"] == {"min_discrimination": 0.2, "max_facility": 0.95}
    items = {i["grade_id"]: i for i in report["items"]}
    assert list(items) == ["q1_check", "q2_check", "q3_check", "q4_task"]
    q1, q2, q3, q4 = (items[k] for k in items)
    # the item everyone gets right is flagged; the discriminating ones are not
    assert q2["facility"] == 1.0 and q2["discrimination"] is None
    assert [f.split()[0] for f in q2["flags"]] == ["facility", "discrimination"]
    for item in (q1, q3):
        assert item["discrimination"] == pytest.approx(2 / 3, abs=1e-9) and item["flags"] == []
    assert (q1["facility"], q3["facility"]) == (pytest.approx(0.6), pytest.approx(0.4))
    # option shares from the answers the trusted judge used
    assert q1["choices"] == {"A": 0.2, "B": 0.6, "C": 0.2, "D": 0.0, "other": 0.0}
    assert q2["choices"] is None and q3["choices"] is None
    assert q1["bank"] is None                       # lab 0 draws no items from a bank
    # the written answer is not marked yet: listed, not analysed
    assert q4["status"] == "not marked" and q4["scored"] == 0 and q4["facility"] is None
    assert set(q1) == {"grade_id", "kind", "points", "status", "scored", "facility",
                       "discrimination", "upper_lower", "choices", "bank", "flags"}


@pytest.mark.slow
@pytest.mark.kernel
def test_the_table_names_the_rule_each_flag_broke(graded, capsys, monkeypatch):
    code, out, _ = cli("item-analysis", LAB, cwd=graded.root, capsys=capsys,
                       monkeypatch=monkeypatch)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == (f"{LAB}: 5 learners; flagged when discrimination < 0.2 or facility "
                        "> 0.95")
    q1 = next(x for x in lines if x.startswith("q1_check"))
    assert "A 20% B 60% C 20% D 0%" in q1 and " 0.67 " in q1
    at = lines.index(next(x for x in lines if x.startswith("q2_check")))
    assert lines[at + 1] == "    FLAG facility 1.00 > 0.95: almost everyone earns it"
    assert lines[at + 2] == "    FLAG discrimination undefined: every learner scored the same"
    assert "not marked" in next(x for x in lines if x.startswith("q4_task"))


@pytest.mark.slow
@pytest.mark.kernel
def test_manual_marks_count_once_given(graded, tmp_path):
    """A tutor's marks replace nothing automatic; once every learner has one, the item is analysed."""
    import shutil

    from nbgrader.api import Gradebook

    from labkit.course.layout import Course

    copy = tmp_path / "course"
    shutil.copytree(graded.root, copy, symlinks=True)
    course = Course.at(copy)
    marks = {"ana": 2, "ben": 2, "cai": 0, "dee": 1, "fay": 0}
    with Gradebook(course.db_url) as gb:
        for student, mark in marks.items():
            gb.find_grade("q4_task", LAB, LAB, student).manual_score = mark
        gb.db.commit()
    row = item_analysis(course, LAB).row("q4_task")
    assert row.status == "analysed" and row.scored == 5
    assert row.stats is not None and row.stats.facility == pytest.approx(5 / 10)
    rest = [4, 4, 1, 1, 2]                            # each learner's automatic points
    assert row.stats.discrimination == pytest.approx(
        np.corrcoef(list(marks.values()), rest)[0, 1], abs=1e-12)


def test_bank_items_of_one_slot_are_flagged_when_they_are_not_parallel():
    from labkit.course.item_analysis import BANK_MAX_GAP, BANK_MIN_LEARNERS, _bank

    item = Item(lab="l", grade_id="m1_check", kind="multiple choice", points=1,
                options={"A": "", "B": ""})
    n = BANK_MIN_LEARNERS

    def run(right_a: int, right_b: int, learners: int = n):
        drawn = {f"a{i}": "m1a" for i in range(learners)} | {f"b{i}": "m1b" for i in range(learners)}
        points = ({f"a{i}": float(i < right_a) for i in range(learners)}
                  | {f"b{i}": float(i < right_b) for i in range(learners)})
        return _bank(item, drawn, points)

    bank, notes = run(n, 1)                               # 1.0 against 0.2
    assert bank == {"m1a": {"learners": n, "facility": 1.0},
                    "m1b": {"learners": n, "facility": pytest.approx(1 / n)}}
    assert len(notes) == 1 and "m1a facility 1.00, m1b 0.20" in notes[0]
    assert 1 - 1 / n > BANK_MAX_GAP
    assert run(n, n - 1)[1] == ()                         # 1.0 against 0.8: parallel enough
    assert run(n - 1, 0, learners=n - 1)[1] == ()         # too few learners to judge
