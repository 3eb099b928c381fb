"""Every graded notebook through nbgrader's real autograde, in one scratch course per notebook.

For each notebook with automatically graded checks (labs 0 to 4, the timed assessment and the
capstone; lab 0 also goes through the whole instructor pipeline in
tests/course/test_pipeline.py), the committed release is handed in to a scratch copy of the
course and graded once, by ``labkit.course.autograde`` with two workers and the repository's
nbgrader configuration (trusted grading on):

* the perfect submission (filed as learner ``ada-lovelace``): every answer stub filled with the
  source's solution code, which works out the learner's own numbers; every check earns its points;
* ``empty``: the release as downloaded; every check earns nothing;
* ``tampered``: two answers wrong, their check cells replaced by code that always passes, one
  check cell given more points, and one check cell deleted.  nbgrader must restore every check
  cell with its original source and points, so the wrong answers score nothing, the deleted
  check comes back and is graded, and every other cell earns exactly what the perfect
  submission earns;
* the forgery fixtures of grading/fixtures/<lab>-forgery/ (blank notebooks, without the
  activity cells no check reads from, that patch labkit, builtins, answers or IPython itself):
  every one earns 0, and the one that searches the files the grading kernel can read finds no
  hidden test and no gradebook.

Then the *literal* answers the perfect submission sent (taken from its graded notebook) are
handed in under another learner, whose numbers differ on every task with numbers: those tasks
may earn at most half their points, every other check all of its points.  A copier need not run
the lab's activities, so that notebook, like the forgeries, leaves out the activity cells no
check reads from.

One course per notebook (not one per kind of submission) keeps the suite's grading to one
execution of each submission.
"""

from __future__ import annotations

import ast
import importlib
import json
import sys
from dataclasses import dataclass, field

import nbformat
import pytest

from .nbrun import ROOT, course_copy, grade_index, lab_paths, nbgrader_meta, submission, trusted_labs

sys.path.insert(0, str(ROOT / "tests" / "course"))
from build_forgeries import trimmed  # noqa: E402  (as test_forgeries imports the builder)

pytestmark = [pytest.mark.slow, pytest.mark.kernel]
AUTHOR = "ada-lovelace"

WRITTEN = ("A written answer for the tutor: the system around the model (API layer, cache, "
           "fallbacks, monitoring) decides what the user gets when the model is slow or wrong.")


def _not_the_key(slot: str, learner: str) -> str:
    from labkit.labs import assessment

    return next(x for x in "ABCD" if x != assessment.choice(slot, learner=learner)[2])


@dataclass(frozen=True, kw_only=True)
class Tampering:
    """What the tampered submission does to one lab, and what it must score after grading."""

    wrong: dict[str, str]                 # answer grade_id -> the whole cell the learner wrote
    forged: dict[str, str]                # check grade_id -> what replaced the check's code
    deleted: str                          # a check grade_id the learner deleted
    inflated: dict[str, int] = field(default_factory=dict)   # check grade_id -> points claimed
    scores: dict[str, float]              # check grade_id -> auto score after restoring


CASES = [
    pytest.param("lab0-orientation", 4, Tampering(
        wrong={"q1_answer": 'q1_answer = "A"', "q3_answer": 'q3_knobs = {"model.replicas": 1}'},
        forged={"q1_check": "pass", "q3_check": 'print("fleet fine")'},
        inflated={"q2_check": 20},
        deleted="q2_check",
        scores={"q1_check": 0.0,             # restored hidden test catches "A"
                "q2_check": 1.0,             # deleted after inflating: restored with 1 point
                "q3_check": 0.0}),           # one replica fails the restored check
        id="lab0"),
    pytest.param("lab1-system-shapes", 25, Tampering(
        wrong={"a3_boundary_answer": 'boundary_knobs = {"boundary.policy": "none"}',
               "q2_answer": 'q2_answer = "C"'},
        forged={"a3_boundary_check": 'print("all good")', "q2_check": "pass"},
        inflated={"a3_boundary_check": 10},
        deleted="q5_check",
        scores={"a3_boundary_check": 0.0,    # restored check, wrong answer
                "q2_check": 0.0,             # restored hidden test catches "C"
                "q5_check": 1.0}),           # deleted, restored and graded
        id="lab1"),
    pytest.param("lab2-scaling-cost-reliability", 37, Tampering(
        wrong={"a2_cache_batch_answer": 'cache_batch_knobs = {"cache.enabled": True}',
               "cp_q8_answer": 'q8_answer = "C"'},
        forged={"a5_retry_check": '"""mine"""\nprint("recovers")', "cp_q8_check": "pass"},
        inflated={"a5_retry_check": 50},
        deleted="cp_q1_check",
        scores={"a2_cache_batch_check": 0.0,  # wrong knobs, restored check
                "a5_retry_check": 5.0,        # restored with its own 5 points, not 50
                "cp_q8_check": 0.0,           # restored hidden test
                "cp_q1_check": 1.0}),         # deleted, restored, graded
        id="lab2"),
    pytest.param("lab3-evaluation-governance", 28, Tampering(
        wrong={"t2_answer": 't2_rule = {"threshold": 0.05, "window_h": 1}',
               "q3_answer": 'q3_answer = "A"'},
        forged={"t2_check": 'print("all good")', "q3_check": "pass"},
        deleted="q5_check",
        scores={"t2_check": 0.0,             # restored check, wrong answer
                "q3_check": 0.0,             # restored hidden test catches "A"
                "q5_check": 1.0}),           # deleted check restored and graded
        id="lab3"),
    pytest.param("lab4-llm-serving-agents", 20, Tampering(
        wrong={"t3_answer": 't3_agent = {"agent.max_steps": 30}',
               "q4_answer": 'q4_answer = "B"'},
        forged={"t3_check": 'print("agent fine")', "q4_check": "pass"},
        inflated={"t1_check": 30},
        deleted="q7_check",
        scores={"t3_check": 0.0,             # the prototype's writes need no human: refused
                "q4_check": 0.0,             # restored hidden test catches "B"
                "t1_check": 3.0,             # its own 3 points, not 30
                "q7_check": 1.0}),           # deleted, restored and graded
        id="lab4"),
    pytest.param("assessment-advanced", 22, Tampering(
        wrong={"m1_answer": f'm1_answer = "{_not_the_key("m1", "tampered")}"',
               "n2_answer": "n2_answer = 1"},
        forged={"m2_check": "pass", "n2_check": 'print("n2 fine")'},
        inflated={"s1_check": 40},
        deleted="n1_check",
        scores={"m1_check": 0.0,             # another learner's letter is not this one's key
                "n2_check": 0.0,             # restored check, wrong number
                "s1_check": 4.0,             # its own 4 points, not 40
                "n1_check": 2.0}),           # deleted, restored and graded
        id="assessment"),
    pytest.param("capstone-support-assistant", 9, Tampering(
        wrong={"d_design_answer": 'design = {"model.replicas": 1, "boundary.policy": "none"}',
               "g1_diagnosis_answer": 'diagnosis = {"component": "approval-queue", '
                                      '"mechanism": "review-backlog"}'},
        forged={"d_refunds_check": 'print("refunds fine")', "g1_diagnosis_check": "pass"},
        inflated={"g2_containment_check": 20},
        deleted="g3_ttm_check",
        scores={"d_refunds_check": 0.0,      # no approval step: restored check catches it
                "d_ttft_check": 0.0,         # one replica, no prefix cache: TTFT breaks
                "d_cost_check": 0.0,         # no response cache: cost breaks
                "d_success_check": 0.0,      # no fallback: the quota throttles answers away
                "g1_diagnosis_check": 0.0,   # no incident is a review backlog
                "g2_containment_check": 2.0,  # its own 2 points, not 20
                "g3_ttm_check": 1.0}),       # deleted, restored and graded
        id="capstone"),
]


TAMPERING = {case.values[0]: case.values[1:] for case in CASES}
TRUSTED = trusted_labs()


def other_learner(module, author: str) -> str:
    """A learner whose numbers differ from ``author``'s on every task with numbers."""
    mine = {check: draw(learner=author).values for check, draw in module.VARIANTS.items()}
    for i in range(1000):
        who = f"learner-{i:03d}"
        if all(draw(learner=who).values != mine[check] for check, draw in module.VARIANTS.items()):
            return who
    raise AssertionError("no learner with different numbers on every task")


def literal(release, answers_by_name: dict) -> nbformat.NotebookNode:
    """``release`` with every answer cell holding the literal values in ``answers_by_name``."""
    nb = nbformat.v4.new_notebook(cells=[], metadata=release.metadata)
    for cell in release.cells:
        cell = nbformat.from_dict(json.loads(json.dumps(cell)))
        if nbgrader_meta(cell).get("solution") and cell.cell_type == "code":
            names = [n.id for n in ast.walk(ast.parse(cell.source))
                     if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)]
            values = [f"{n} = {answers_by_name[n]!r}" for n in dict.fromkeys(names)
                      if n in answers_by_name]
            if values:
                cell.source = "\n".join(values)
        nb.cells.append(cell)
    return nb


def tampered_copy(release, source, tampering: Tampering) -> nbformat.NotebookNode:
    tampered = submission(release, source, wrong=tampering.wrong, written=WRITTEN)
    ids = grade_index(tampered)
    for gid, code in tampering.forged.items():
        tampered.cells[ids[gid]].source = code
    for gid, points in tampering.inflated.items():
        tampered.cells[ids[gid]].metadata.nbgrader["points"] = points
    del tampered.cells[ids[tampering.deleted]]
    return tampered


def test_every_trusted_notebook_has_a_tampering_case():
    assert sorted(TAMPERING) == sorted(TRUSTED)


@pytest.fixture(scope="module", params=sorted(TRUSTED))
def graded(request, tmp_path_factory):
    from labkit.course.autograde import autograde
    from labkit.course.collect import collect
    from labkit.course.gradebook import cell_grades

    lab = request.param
    module = importlib.import_module(TRUSTED[lab])
    tmp = tmp_path_factory.mktemp(lab)
    course = course_copy(tmp, lab)
    source_path, release_path = lab_paths(lab)
    release = nbformat.read(release_path, as_version=4)
    source = nbformat.read(source_path, as_version=4)
    perfect = submission(release, source, written=WRITTEN)
    assert "NotImplementedError" not in "".join(c.source for c in perfect.cells
                                                if c.cell_type == "code")
    handed = tmp / "handed-in"
    handed.mkdir()
    mine = {AUTHOR: perfect, "empty": release,
            "tampered": tampered_copy(release, source, TAMPERING[lab][1])}
    for name, nb in mine.items():
        nbformat.write(nb, handed / f"{name}.ipynb")
    forgeries = sorted((ROOT / "grading" / "fixtures" / f"{lab}-forgery").glob("*.ipynb"))
    assert forgeries, f"build the forgeries: python tests/course/build_forgeries.py {lab}"
    collected = collect(course, lab, [*sorted(handed.glob("*.ipynb")), *forgeries])
    assert all(c.ok for c in collected), [c.message for c in collected if not c.ok]
    first = autograde(course, lab, workers=2)
    assert [o.student for o in first if not o.graded] == [], [o.error for o in first]

    graded_path = course.autograded_dir / AUTHOR / lab / f"{lab}.ipynb"
    done = nbformat.read(graded_path, as_version=4)
    sent: dict = {}
    for cell in done.cells:
        sent.update(cell.get("metadata", {}).get("labkit", {}).get("answers", {}))
    copier = other_learner(module, AUTHOR)
    nbformat.write(literal(trimmed(release), sent), handed / f"{copier}.ipynb")
    collect(course, lab, [handed / f"{copier}.ipynb"])
    (copy_outcome,) = autograde(course, lab, workers=1, students=[copier])
    assert copy_outcome.graded, copy_outcome.error

    secrets = nbformat.read(course.autograded_dir / "fg_secrets" / lab / f"{lab}.ipynb",
                            as_version=4)
    report = "".join(out.get("text", "") for cell in secrets.cells if cell.cell_type == "code"
                     for out in cell.get("outputs", []) if "FORGERY" in out.get("text", ""))

    points = {nbgrader_meta(c)["grade_id"]: float(nbgrader_meta(c)["points"])
              for c in source.cells if nbgrader_meta(c).get("grade") and c.cell_type == "code"}
    scores: dict[str, dict[str, tuple[float, float]]] = {}
    for g in cell_grades(course.db_url, lab):
        if g.auto_score is not None and g.cell in points:
            scores.setdefault(g.student, {})[g.cell] = (g.auto_score, g.max_score)
    return {"lab": lab, "module": module, "points": points, "scores": scores, "copier": copier,
            "forgeries": [p.stem for p in forgeries], "sent": sent, "secrets": report,
            "graded_bytes": graded_path.stat().st_size, "graded_metadata": set(done.metadata)}


def test_the_perfect_submission_earns_every_point(graded):
    points = graded["points"]
    assert sum(points.values()) == TAMPERING[graded["lab"]][0]
    assert graded["scores"][AUTHOR] == {k: (p, p) for k, p in points.items()}, "perfect lost points"


def test_the_empty_release_earns_nothing(graded):
    assert graded["scores"]["empty"] == {k: (0.0, p) for k, p in graded["points"].items()}


def test_tampered_checks_are_restored_with_their_source_and_points(graded):
    tampering = TAMPERING[graded["lab"]][1]
    points = graded["points"]
    assert set(tampering.scores) <= set(points), "a tampered cell is not an auto-graded check"
    expected = {k: (tampering.scores.get(k, p), p) for k, p in points.items()}
    assert graded["scores"]["tampered"] == expected, "a check was not restored"


def test_every_forgery_earns_nothing(graded):
    for name in graded["forgeries"]:
        earned = {cell: s for cell, (s, _) in graded["scores"][name].items() if s}
        assert earned == {}, (name, earned)


def test_the_kernel_finds_no_hidden_test_or_gradebook_to_copy(graded):
    # fg_secrets searched what the grading kernel can read and printed what it found
    report = graded["secrets"]
    assert "course secrets found: 0" in report and "FORGERY secret:" not in report, report
    searched = int(report.split("searched ")[1].split()[0])
    assert searched > 0, report                           # it did look


def test_copied_answers_earn_at_most_half_of_the_tasks_with_numbers(graded):
    variant = set(graded["module"].VARIANTS)
    theirs = graded["scores"][graded["copier"]]
    got = sum(theirs[c][0] for c in variant)
    top = sum(theirs[c][1] for c in variant)
    assert top > 0 and got <= top / 2, (graded["copier"], {c: theirs[c] for c in variant})
    others = {c: s for c, s in theirs.items() if c not in variant}
    assert all(score == top for score, top in others.values()), others   # the rest is earned


def test_the_answers_the_checks_used_are_kept_as_plain_data(graded):
    assert graded["sent"] and json.loads(json.dumps(graded["sent"])) == graded["sent"]


def test_the_graded_notebook_keeps_no_widget_state(graded):
    # a lab's first chart carries plotly.js (about 6 MB) in its widget state; kept, it would
    # swell every graded notebook and feedback page to 8 MB
    assert "widgets" not in graded["graded_metadata"]
    assert graded["graded_bytes"] < 1_500_000, graded["graded_bytes"]
