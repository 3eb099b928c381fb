"""A small lab 0 class with known answer patterns, for the instructor tools' end-to-end tests.

Five learners hand in lab 0 (the source's solutions, which work out each learner's own numbers,
with some answers replaced).  With trusted grading on, the class scores:

========  ======  ======  =======  ===============================================
learner   Q1 (1)  Q2 (1)  Q3 (2)   what they answered
========  ======  ======  =======  ===============================================
ana       1       1       2        everything right
ben       1       1       2        everything right
cai       0       1       0        Q1 "A", Q3 one replica
dee       0       1       0        Q1 "C", Q3 one replica
fay       1       1       0        Q3 one replica
========  ======  ======  =======  ===============================================

So Q2 is an item everyone gets right (facility 1: flagged), while Q1 and Q3 separate the two
strong learners from the rest: each one's corrected item-rest correlation is 2/3 (hand
computation in tests/course/test_item_analysis.py), so neither is flagged.  Q1's options were
chosen A 20%, B 60%, C 20%, D 0%.  Q4 (written) is not marked.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

from labkit.course.collect import collect
from labkit.course.release import release_labs

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "notebooks"))
from nbrun import course_copy, lab_paths, submission  # noqa: E402

LAB = "lab0-orientation"
WRONG_Q3 = 'q3_knobs = {"model.replicas": 1}'
WRONG = {
    "ana": {},
    "ben": {},
    "cai": {"q1_answer": 'q1_answer = "A"', "q3_answer": WRONG_Q3},
    "dee": {"q1_answer": 'q1_answer = "C"', "q3_answer": WRONG_Q3},
    "fay": {"q3_answer": WRONG_Q3},
}
#: the points each learner earns per check (what the table above says)
EXPECTED = {"ana": {"q1_check": 1, "q2_check": 1, "q3_check": 2},
            "ben": {"q1_check": 1, "q2_check": 1, "q3_check": 2},
            "cai": {"q1_check": 0, "q2_check": 1, "q3_check": 0},
            "dee": {"q1_check": 0, "q2_check": 1, "q3_check": 0},
            "fay": {"q1_check": 1, "q2_check": 1, "q3_check": 0}}


def class_course(tmp: Path, students: list[str] | None = None):
    """A scratch course (trusted grading on) with the class's notebooks collected, not graded."""
    course = course_copy(tmp, LAB)
    with open(course.config_file, "a", encoding="utf-8") as fh:     # (until every lab is converted)
        fh.write("\nc.SandboxedExecute.trusted = True\n")
    (course.root / "grading").mkdir(exist_ok=True)
    release_labs(course, [LAB])
    source, release = (nbformat.read(p, as_version=4) for p in lab_paths(LAB))
    handed = tmp / "handed"
    handed.mkdir()
    for student in students or sorted(WRONG):
        nbformat.write(submission(release, source, wrong=WRONG[student]),
                       handed / f"{student}.ipynb")
    collected = collect(course, LAB, sorted(handed.glob("*.ipynb")))
    assert all(c.ok for c in collected), [c.message for c in collected if not c.ok]
    return course


def auto_scores(course) -> dict[str, dict[str, float]]:
    """student -> check -> automatic points, from the course's gradebook."""
    from labkit.course.gradebook import cell_grades

    scores: dict[str, dict[str, float]] = {}
    for g in cell_grades(course.db_url, LAB):
        if g.auto_score is not None:
            scores.setdefault(g.student, {})[g.cell] = g.auto_score
    return scores
