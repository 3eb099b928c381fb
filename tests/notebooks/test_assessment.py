"""The timed assessment notebook: runs clean, shows the learner's own paper, marks wrong answers,
and a graded class exports who passed and who handed in late, and its item analysis reads each
paper's letters as the options they stood for on that paper.

Executed in a real kernel with nbclient (run time is bench/bench_notebooks.py's job).
"""

from __future__ import annotations

import csv
import datetime as dt
import json

import nbformat
import pytest

from labkit.labs import assessment

from .nbrun import cell_errors as problems
from .nbrun import (
    cell_of,
    course_copy,
    lab_paths,
    outputs_text,
    release_run_stops_at_first_task,
    source_run_fixture,
    submission,
)
from .nbrun import run_snippet as run_in

LAB = "assessment-advanced"
SOURCE, RELEASE = lab_paths(LAB)
WHO = "self-study"


source_run = source_run_fixture(LAB)


def test_source_runs_top_to_bottom_without_errors_or_stderr(source_run):
    nb, _ = source_run
    for index, cell in enumerate(nb.cells):
        assert problems(cell) == [], index


def test_the_paper_is_the_learners_own(source_run):
    nb, _ = source_run
    text = "\n".join(outputs_text(c) for c in nb.cells if c.cell_type == "code")
    assert f"Paper of learner {WHO!r}, first sitting. Time allowed: 55 minutes." in text
    for slot in assessment.CHOICE_POOLS:
        item, _question, key = assessment.choice(slot, learner=WHO)
        assert f"{key}**: {item.key}" in text                  # its options, in its order
        assert f"{slot.upper()}: answer {key} recorded" in text
    item, v = assessment.numeric("n2", learner=WHO)
    assert item.text(v.values) in text
    assert "S1: recorded; every budget holds on seed 1." in text


def test_the_release_stops_at_the_first_answer(tmp_path):
    before = release_run_stops_at_first_task(RELEASE)
    assert before and "Paper of learner" in outputs_text(before[0])


@pytest.mark.parametrize("answer, check, message", [
    ("m3_answer = {wrong_m3!r}", "m3_check", "M3: not the best option on this paper."),
    ("m3_answer = 'Z'", "m3_check", "M3: 'Z' is not one of the options"),
    ("n3_answer = {n3} * 1.5", "n3_check", "N3: not the expected number for your figures."),
    ("n4_answer = 1.4", "n4_check", "N4: 1.4 is outside the possible range 0 .. 1"),
    ('s1_knobs = {{"model.replicas": 12, "cache.enabled": True}}', "s1_check",
     "S1: every budget holds, but not at the lowest cost"),
    ('s1_knobs = {{"model.replicas": 12, "cache.enabled": False}}', "s1_check",
     "S1: cost_per_1k does not hold on seed 1"),
])
def test_wrong_answers_fail_their_check(source_run, answer, check, message):
    nb, client = source_run
    key = assessment.choice("m3", learner=WHO)[2]
    code = answer.format(wrong_m3=next(x for x in "ABCD" if x != key),
                         n3=assessment.expected("n3", learner=WHO))
    errors = run_in(client, code) + run_in(client, cell_of(nb, check).source)
    assert any(message in e for e in errors), errors


@pytest.mark.slow
@pytest.mark.kernel
def test_a_graded_class_exports_who_passed_and_who_was_late(tmp_path, capsys):
    from labkit.course.autograde import autograde
    from labkit.course.collect import collect
    from labkit.course.export import export_grades
    from labkit.course.feedback import generate_feedback

    course = course_copy(tmp_path, LAB)
    with open(course.config_file, "a", encoding="utf-8") as fh:
        fh.write(f"\nc.TimedAssessment.time_limit_min = {{{LAB!r}: 55}}\n"
                 f"c.TimedAssessment.opens = {{{LAB!r}: '2026-12-10T09:00:00+00:00'}}\n"
                 "c.TimedAssessment.extra_time_min = {'slow-but-allowed': 30}\n"
                 f"c.TimedAssessment.resits = {{{LAB!r}: {{'resitter': 1}}}}\n")
    (course.root / "grading").mkdir(exist_ok=True)
    source, release = (nbformat.read(p, as_version=4) for p in lab_paths(LAB))
    handed = tmp_path / "handed"
    handed.mkdir()
    for name in ("on-time", "late", "slow-but-allowed"):
        nbformat.write(submission(release, source), handed / f"{name}.ipynb")
    nbformat.write(release, handed / "blank.ipynb")
    nbformat.write(first_sitting_answers(release, "resitter"), handed / "resitter.ipynb")
    opens = dt.datetime(2026, 12, 10, 9, 0, tzinfo=dt.timezone.utc)
    for names, minutes in ((("on-time", "blank", "resitter"), 50), (("late",), 62),
                           (("slow-but-allowed",), 80)):
        collected = collect(course, LAB, [handed / f"{n}.ipynb" for n in names],
                            timestamp=opens + dt.timedelta(minutes=minutes))
        assert all(c.ok for c in collected)
    outcomes = autograde(course, LAB, workers=2)
    assert all(o.graded for o in outcomes), [o.error for o in outcomes]
    out = tmp_path / "grades.csv"
    export_grades(course, out)
    rows = {r["student_id"]: r for r in csv.DictReader(out.open())}
    # 22 automatic points of 26; the written answer is not marked yet: 22/26 = 85% and every
    # block at least half even with W1 at 0 (governance 4 of 8), so the standard already holds
    resitter = rows.pop("resitter")
    assert {s: (float(r["score"]), r["standard"], r["minutes_late"]) for s, r in rows.items()} == {
        "on-time": (22.0, "pass", "0"), "late": (22.0, "pass", "7"),
        "slow-but-allowed": (22.0, "pass", "0"), "blank": (0.0, "fail", "0")}
    # the first sitting's answers, handed in for the re-sit, are marked against sitting 1's draw
    assert float(resitter["score"]) <= 22 / 2 and resitter["standard"] == "fail"
    pages = {f.student: f.path.read_text(encoding="utf-8")
             for f in generate_feedback(course, LAB, ["late", "blank"])}
    assert "PASS: 22/26 points" in pages["late"]
    assert "handed in 7 min after the limit; this is flagged for your tutor" in pages["late"]
    assert "NOT PASSED: 0/26 points" in pages["blank"]
    assert "handed in within the limit" in pages["blank"]
    _item_analysis_reads_each_papers_letters(course, capsys)


def _item_analysis_reads_each_papers_letters(course, capsys):
    """Shares by role (key, distractor n) and facility per bank item, worked out here from each
    paper's draw: three papers answered right, a blank one, and the re-sitter's first-sitting
    letters read on their re-sit paper."""
    from labkit.cli import main

    assert main(["course", "--root", str(course.root), "item-analysis", LAB, "--json"]) == 0
    rows = {r["grade_id"]: r for r in json.loads(capsys.readouterr().out)["items"]}
    right = ("late", "on-time", "slow-but-allowed")
    for slot in assessment.CHOICE_POOLS:
        gid = f"{slot}_check"
        item_of, roles = {}, {}
        for who in (*right, "blank", "resitter"):
            item_of[who], papers = assessment.option_roles(gid, learner=who,
                                                           attempt=int(who == "resitter"))
            roles[who] = papers
        resit = roles["resitter"][assessment.choice(slot, learner="resitter", attempt=0)[2]]
        chose = ["key"] * 3 + ["other", resit]
        shares = {role: chose.count(role) / 5 for role in set(chose)}
        got = rows[gid]["choices"]
        assert {k: v for k, v in got.items() if v} == shares, slot
        assert set(got) <= {"key", "distractor 1", "distractor 2", "distractor 3", "other"}
        earned = {who: 1.0 for who in right} | {"blank": 0.0, "resitter": float(resit == "key")}
        bank: dict[str, list[float]] = {}
        for who, score in earned.items():
            bank.setdefault(item_of[who], []).append(score)
        assert rows[gid]["bank"] == {k: {"learners": len(v), "facility": pytest.approx(
            sum(v) / len(v))} for k, v in bank.items()}, slot


def first_sitting_answers(release, who: str):
    """``release`` answered with the literal right answers of ``who``'s first sitting."""
    answers = {f"{slot}_answer": repr(assessment.choice(slot, learner=who, attempt=0)[2])
               for slot in assessment.CHOICE_POOLS}
    answers |= {f"{slot}_answer": repr(assessment.NUMERIC_ITEMS[slot].answer(
        assessment.numeric(slot, learner=who, attempt=0)[1].values))
        for slot in assessment.NUMERIC_ITEMS}
    rate = assessment.variants.draw("assessment", "s1", assessment.SIM_PARAMS, learner=who,
                                    attempt=0).rate_rps
    answers["s1_answer"] = repr({"model.replicas": {45: 3, 75: 4, 110: 5}[rate],
                                 "cache.enabled": True})
    nb = nbformat.from_dict(json.loads(json.dumps(release)))
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in answers:
            name = "s1_knobs" if gid == "s1_answer" else gid
            cell.source = f"{name} = {answers[gid]}"
    return nb
