"""Pass standards and time limits: the standard's arithmetic, pending marks, and minutes late."""

from __future__ import annotations

import datetime as dt

import pytest
from traitlets.config import Config

from labkit.course.gradebook import CellGrade
from labkit.course.layout import CourseError
from labkit.course.standard import PassStandard, minutes_late, standard_of, standing, timing_of

BLOCKS = {"a1": "architecture", "a2": "architecture", "s1": "scaling", "s2": "scaling",
          "g1": "governance", "w1": "governance"}
STANDARD = PassStandard(overall=0.7, per_block=0.5, blocks=BLOCKS)
MAX = {"a1": 2, "a2": 2, "s1": 4, "s2": 2, "g1": 2, "w1": 4}        # 16 points


def grades(scores: dict[str, float | None], *, manual: dict[str, float] | None = None):
    out = []
    for cell, top in MAX.items():
        auto = scores.get(cell, 0.0) if cell != "w1" else None
        out.append(CellGrade(student="s", notebook="n", cell=cell, auto_score=auto,
                             manual_score=(manual or {}).get(cell), max_score=float(top),
                             needs_manual_grade=cell == "w1"))
    return out


def test_a_strong_paper_passes_before_the_written_answer_is_marked():
    full = {c: float(m) for c, m in MAX.items() if c != "w1"}         # 12 of 16 without w1
    s = standing(STANDARD, grades(full))
    # worst case: 12/16 = 75% >= 70%, governance 2/6 = 33% < 50% -> cannot pass yet
    assert s.status == "pending" and s.unmarked == 4
    s = standing(STANDARD, grades(full, manual={"w1": 1.0}))
    # 13/16 = 81%; governance 3/6 = 50%: holds exactly at the threshold
    assert s.status == "pass" and s.score == 13 and s.by_block["governance"] == (3.0, 6.0)
    assert s.text().startswith("PASS: 13/16 points")


def test_one_missing_block_fails_a_high_total():
    scores = {"a1": 0.0, "a2": 0.0, "s1": 4.0, "s2": 2.0, "g1": 2.0}
    s = standing(STANDARD, grades(scores, manual={"w1": 4.0}))
    # 12/16 = 75% overall, but architecture 0/4
    assert s.status == "fail"
    assert s.reasons == ("architecture: 0 of 4 is under 50%",)


def test_the_overall_share_is_checked_too():
    scores = {"a1": 1.0, "a2": 1.0, "s1": 2.0, "s2": 1.0, "g1": 1.0}
    s = standing(STANDARD, grades(scores, manual={"w1": 2.0}))
    # every block at exactly half, 8/16 = 50% < 70%
    assert s.status == "fail" and s.reasons == ("8 of 16 points is under 70%",)


def test_pending_only_while_the_unmarked_answer_could_decide():
    # 10/12 automatic; with w1 = 0 it is 10/16 = 62.5% (fail), with w1 = 4 it is 14/16 (pass)
    s = standing(STANDARD, grades({"a1": 2.0, "a2": 2.0, "s1": 4.0, "g1": 2.0}))
    assert s.status == "pending"
    # already below the standard even with full marks on w1: 2 + 4 = 6/16
    s = standing(STANDARD, grades({"a1": 2.0}))
    assert s.status == "fail"


def test_the_standard_comes_from_the_notebook():
    nb = {"metadata": {"labkit": {"assessment": {"pass_standard": {"overall": 0.7,
                                                                   "per_block": 0.5}}}},
          "cells": [{"metadata": {"nbgrader": {"grade_id": "m1_check"},
                                  "labkit": {"block": "scaling"}}},
                    {"metadata": {"nbgrader": {"grade_id": "x"}}}]}
    standard = standard_of(nb)
    assert standard == PassStandard(overall=0.7, per_block=0.5, blocks={"m1_check": "scaling"})
    assert standard_of({"metadata": {}, "cells": []}) is None
    nb["metadata"]["labkit"]["assessment"]["pass_standard"]["overall"] = 70
    with pytest.raises(CourseError, match=r"pass_standard.overall must be a share in \(0, 1\], got 70"):
        standard_of(nb)


def _config(**section) -> Config:
    c = Config()
    for key, value in section.items():
        setattr(c.TimedAssessment, key, value)
    return c


def test_minutes_late_from_the_sitting_or_the_students_own_start():
    opens = "2026-12-10T09:00:00+00:00"
    t = timing_of(_config(time_limit_min={"exam": 45}, opens={"exam": opens},
                          starts={"exam": {"bo": "2026-12-10T13:00:00+01:00"}},
                          extra_time_min={"cy": 15}), "exam")
    at = dt.datetime(2026, 12, 10, 9, 45, tzinfo=dt.timezone.utc)
    assert minutes_late(t, "ada", at) == 0                          # exactly on time
    assert minutes_late(t, "ada", at + dt.timedelta(seconds=1)) == 1
    assert minutes_late(t, "ada", dt.datetime(2026, 12, 10, 10, 2)) == 17   # naive = UTC
    assert minutes_late(t, "cy", dt.datetime(2026, 12, 10, 10, 0)) == 0     # 15 extra minutes
    assert minutes_late(t, "bo", dt.datetime(2026, 12, 10, 12, 50)) == 5    # own start 12:00 UTC
    assert minutes_late(t, "ada", None) is None
    untimed = timing_of(_config(time_limit_min={"exam": 45}), "exam")
    assert minutes_late(untimed, "ada", at) is None                 # no start time set
    assert timing_of(Config(), "exam").limit_min is None


@pytest.mark.parametrize("section, message", [
    ({"time_limit_min": {"exam": 0}},
     r"time_limit_min\['exam'\] must be a whole number of minutes >= 1, got 0"),
    ({"opens": {"exam": "tomorrow"}}, r"opens\['exam'\] must be a date and time in ISO 8601"),
    ({"opens": {"exam": "2026-12-10T09:00:00"}}, r"opens\['exam'\] must name its time zone"),
    ({"extra_time_min": {"cy": -5}}, r"extra_time_min\['cy'\] must be a whole number of minutes >= 0"),
])
def test_bad_time_rules_name_the_option_and_value(section, message):
    with pytest.raises(CourseError, match=message):
        timing_of(_config(**section), "exam")


def test_a_resit_is_graded_against_its_own_sitting():
    from labkit.course.kernel import grading_environment

    resources = {"nbgrader": {"student": "s042", "assignment": "exam"}}
    assert grading_environment(resources) == {"LABKIT_GRADING": "1", "LABKIT_LEARNER": "s042"}
    env = grading_environment(resources, {"exam": {"s042": 2}, "other": {"s043": 1}})
    assert env["LABKIT_ATTEMPT"] == "2"
    assert "LABKIT_ATTEMPT" not in grading_environment(resources, {"other": {"s042": 1}})
    with pytest.raises(ValueError, match=r"resits\['exam'\]\['s042'\] must be a whole number"):
        grading_environment(resources, {"exam": {"s042": "two"}})
    assert grading_environment({"nbgrader": {}}) == {}
