"""The timed assessment's release in a real JupyterLab, as a learner sits it.

Run All shows the sitting (whose paper, the time allowed, when it started and when it is due)
and the first question, then stops at the first answer stub.  The learner types an answer into
every answer cell and runs the rest.  What they see must work: no error or stderr anywhere,
the start record is the time the paper was opened with the limit added, every question shows
this learner's own options and numbers, every check cell says its answer was recorded, and the
simulation decision's try-out table shows the numbers ``SimTask.judge`` gives in this process.
The paper has no charts.  Marking is the notebook tests' job (tests/notebooks/test_assessment.py).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from labkit.labs import assessment

from .answers import answer_cells, problems, run_from, run_to_first_task, text, type_answer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LAB = "assessment-advanced"
RELEASE = Path(__file__).resolve().parents[2] / "release" / LAB / f"{LAB}.ipynb"
WHO = "self-study"          # the learner of a kernel nobody named (labkit.variants)
#: the fewest replicas that hold the simulation decision's budgets, by traffic level
#: (tests/labs/test_assessment.py searches them on the hidden seeds)
S1_REPLICAS = {45: 3, 75: 4, 110: 5}
SITTING = re.compile(r"Paper of learner '(?P<who>[^']+)', first sitting\. Time allowed: "
                     r"(?P<limit>\d+) minutes\. Started (?P<start>\d\d:\d\d) UTC: submit by "
                     r"(?P<due>\d\d:\d\d) UTC\.")


def _answer(grade_id: str) -> str:
    """The line a learner who knows the material types into an answer cell."""
    slot = grade_id.split("_")[0]
    kind = assessment.SLOTS[slot]
    if kind == "choice":
        return f'{slot}_answer = "{assessment.choice(slot, learner=WHO)[2]}"'
    if kind == "numeric":
        return f"{slot}_answer = {assessment.expected(slot, learner=WHO)!r}"
    rate = assessment.sim_variant(learner=WHO).rate_rps
    return f's1_knobs = {{"model.replicas": {S1_REPLICAS[rate]}, "cache.enabled": True}}'


def _minutes(hhmm: str) -> int:
    hours, minutes = map(int, hhmm.split(":"))
    return hours * 60 + minutes


def test_a_learner_sits_the_paper_in_the_browser(open_notebook):
    tasks = answer_cells(RELEASE)
    assert {g.split("_")[0] for g in tasks} == {s for s, k in assessment.SLOTS.items()
                                                if k != "written"}
    first = min(tasks.values())
    page = open_notebook(RELEASE, run_all=False, viewport=(1440, 1000))

    # 1. Run All: the sitting and the first question, then the first stub stops it.
    opened = dt.datetime.now(dt.timezone.utc)
    before = run_to_first_task(page, first)
    done = dt.datetime.now(dt.timezone.utc)
    sitting = SITTING.search(text(before[1]))
    assert sitting, text(before[1])
    assert sitting["who"] == WHO and int(sitting["limit"]) == assessment.TIME_LIMIT_MIN
    minutes = int((done - opened).total_seconds() // 60) + 1
    while_running = {f"{opened + dt.timedelta(minutes=m):%H:%M}" for m in range(minutes + 1)}
    assert sitting["start"] in while_running, (sitting["start"], while_running)
    due = _minutes(sitting["due"]) - _minutes(sitting["start"])
    assert due % (24 * 60) == assessment.TIME_LIMIT_MIN
    record = page.page.locator(".jp-RenderedMarkdown strong",
                               has_text=f"submit by {sitting['due']} UTC")
    assert record.count() == 1 and record.first.is_visible()      # shown, in bold

    # 2. The learner answers every item and runs the rest of the paper.
    for grade_id, index in tasks.items():
        type_answer(page, index, _answer(grade_id))
    after = run_from(page, first)
    assert [p for c in after for p in problems(c)] == []
    assert all(c["count"] for c in after if c["type"] == "code")
    shown = "\n".join(text(c) for c in after)
    for slot, kind in assessment.SLOTS.items():
        if kind == "choice":
            item, _question, key = assessment.choice(slot, learner=WHO)
            assert f"**{key}**: {item.key}" in shown, slot     # this learner's option order
            assert f"{slot.upper()}: answer {key} recorded" in shown
        elif kind == "numeric":
            item, v = assessment.numeric(slot, learner=WHO)
            assert item.text(v.values) in shown, slot          # this learner's numbers
            assert f"{slot.upper()}: answer {assessment.expected(slot, learner=WHO):g} recorded" \
                in shown
    assert "S1: recorded; every budget holds on seed 1." in shown

    # 3. The try-out table of the simulation decision shows this process's numbers.
    trial = next(c for c in after if c["source"].startswith("S1.judge("))
    verdict = assessment.sim_task(learner=WHO).judge(
        {"model.replicas": 2, "cache.enabled": False}, seeds=[1])
    table = text(trial)
    assert f"**{verdict.message}**" in table
    assert len(verdict.checks) >= 3 and all(
        f"| 1 | {c.budget} |" in table for c in verdict.checks)
    assert page.error_outputs() == []
    assert page.console_errors == []
    page.screenshot("assessment-release")
