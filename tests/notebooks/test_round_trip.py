"""Every lab through nbgrader's real autograde: a perfect, an empty and a tampered submission.

For each lab (1 to 3 and the timed assessment; lab 0 goes through the whole instructor pipeline in
tests/course/test_pipeline.py), the committed release is handed in three times to a scratch
copy of the course and graded by ``labkit.course.autograde`` with two workers:

* ``perfect``: every answer stub filled with the source's solution.  Every automatically
  graded cell must earn its full points.
* ``empty``: the release as downloaded.  Every automatically graded cell must earn nothing.
* ``tampered``: two answers wrong, their check cells replaced by code that always passes, one
  check cell given more points, and one check cell deleted.  nbgrader must restore every check
  cell with its original source and points, so the wrong answers score nothing, the deleted
  check comes back and is graded, and every other cell earns exactly what the perfect
  submission earns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import nbformat
import pytest

from .nbrun import course_copy, grade_index, lab_paths, nbgrader_meta, submission

pytestmark = pytest.mark.slow

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
    pytest.param("lab2-scaling-cost-reliability", 35, Tampering(
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
    pytest.param("lab3-evaluation-governance", 25, Tampering(
        wrong={"t2_answer": 't2_rule = {"threshold": 0.05, "window_h": 1}',
               "q3_answer": 'q3_answer = "A"'},
        forged={"t2_check": 'print("all good")', "q3_check": "pass"},
        deleted="q5_check",
        scores={"t2_check": 0.0,             # restored check, wrong answer
                "q3_check": 0.0,             # restored hidden test catches "A"
                "q5_check": 1.0}),           # deleted check restored and graded
        id="lab3"),
    pytest.param("assessment-advanced", 18, Tampering(
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
]


@pytest.mark.parametrize("lab, total_points, tampering", CASES)
def test_round_trip_perfect_empty_and_tampered(tmp_path, lab, total_points, tampering):
    from labkit.course.autograde import autograde
    from labkit.course.collect import collect
    from labkit.course.gradebook import cell_grades

    source_path, release_path = lab_paths(lab)
    course = course_copy(tmp_path, lab)
    release = nbformat.read(release_path, as_version=4)
    source = nbformat.read(source_path, as_version=4)

    perfect = submission(release, source, written=WRITTEN)
    assert "NotImplementedError" not in "".join(c.source for c in perfect.cells)
    tampered = submission(release, source, wrong=tampering.wrong, written=WRITTEN)
    ids = grade_index(tampered)
    for gid, code in tampering.forged.items():
        tampered.cells[ids[gid]].source = code
    for gid, points in tampering.inflated.items():
        tampered.cells[ids[gid]].metadata.nbgrader["points"] = points
    del tampered.cells[ids[tampering.deleted]]
    handed_in = tmp_path / "handed-in"
    handed_in.mkdir()
    for name, nb in (("perfect", perfect), ("empty", release), ("tampered", tampered)):
        nbformat.write(nb, handed_in / f"{name}.ipynb")
    assert all(c.ok for c in collect(course, lab, sorted(handed_in.glob("*.ipynb"))))

    outcomes = autograde(course, lab, workers=2)
    assert [o.student for o in outcomes if not o.graded] == [], outcomes
    grades = cell_grades(course.db_url, lab)
    points = {nbgrader_meta(c)["grade_id"]: float(nbgrader_meta(c)["points"])
              for c in source.cells if nbgrader_meta(c).get("grade") and c.cell_type == "code"}
    assert sum(points.values()) == total_points
    assert set(tampering.scores) <= set(points), "a tampered cell is not an auto-graded check"

    def got(student: str) -> dict[str, tuple[float, float]]:
        return {g.cell: (g.auto_score, g.max_score) for g in grades
                if g.student == student and g.cell in points}

    assert got("perfect") == {k: (p, p) for k, p in points.items()}, "perfect lost points"
    assert got("empty") == {k: (0.0, p) for k, p in points.items()}, "empty earned points"
    expected = {k: (tampering.scores.get(k, p), p) for k, p in points.items()}
    assert got("tampered") == expected, "a check was not restored with its source and points"
