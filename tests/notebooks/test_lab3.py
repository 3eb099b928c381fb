"""Lab 3 notebook: the source runs, the release runs up to its first task, every graded check
can fail, hidden checks judge seeds the learner never saw, and the evidence cells carry
complete artifacts.

* The source notebook (solutions in) is executed once, top to bottom, in a real kernel: every
  code cell must run without an error or a byte on stderr (nbgrader zeroes a check cell that
  writes to stderr); its running time against the issue's 60 s is bench/bench_notebooks.py's job.
* The committed release must run without errors up to the first unanswered task, and stop
  there with the NotImplementedError of an answer stub.
* For every check whose visible part only validates the form (multiple choice, the audit
  trail), a plausible wrong answer passes the visible part and fails the hidden part.  For every
  simulation task, an answer that only just passes on the visible seed 1 fails on the hidden
  seeds: the hidden seeds are what makes the task robust.
"""

from __future__ import annotations

import json
import re

import nbformat
import pytest

from .nbrun import (
    assert_multiple_choice_fair,
    cell_errors,
    executed,
    grade_index,
    lab_paths,
    nbgrader_meta,
    release_run_stops_at_first_task,
    run_snippet,
)

LAB = "lab3-evaluation-governance"
SOURCE, RELEASE = lab_paths(LAB)
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.S)
# Every "check your understanding" question of the block, by number: its graded cell.
QUESTIONS = {1: "q1_check", 2: "q2_check", 3: "q3_check", 4: "q4_check", 5: "q5_check",
             6: "q6_task", 7: "q7_check", 8: "q8_check", 9: "q9_check", 10: "q10_task",
             11: "q11_task"}


@pytest.fixture(scope="module")
def source_run():
    """The source notebook executed top to bottom; the kernel stays up for the wrong answers."""
    with executed(SOURCE) as (nb, client):
        yield nb, client


def test_source_runs_top_to_bottom_without_errors_or_stderr(source_run):
    nb, _ = source_run
    problems = [f"cell {i} ({nbgrader_meta(c).get('grade_id', 'no id')}): {e}"
                for i, c in enumerate(nb.cells) if c.cell_type == "code" for e in cell_errors(c)]
    assert not problems, "\n".join(problems)
    assert all(c.get("execution_count") for c in nb.cells if c.cell_type == "code")


def test_every_check_cell_confirms(source_run):
    nb, _ = source_run
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade") and cell.cell_type == "code":
            text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            assert "graded" in text, f"{meta['grade_id']} printed no confirmation: {text!r}"


def test_structure_tags_and_grade_ids():
    nb = nbformat.read(SOURCE, as_version=4)
    tags = [t for c in nb.cells for t in c.metadata.get("tags", [])]
    assert tags.count("activity") == 5
    assert tags.count("checkpoint") == 1 and tags.count("reflection") == 1
    for name in ("risk-register", "incident-runbook", "reflection"):
        assert tags.count(f"evidence:{name}") == 1, name
    assert tags.count("reading") >= 11
    # CPD timing: the tutor-marked written answers and the design tasks graded on unseen seeds
    written = {nbgrader_meta(c)["grade_id"] for c in nb.cells if "written" in c.metadata.get("tags", [])}
    design = {nbgrader_meta(c)["grade_id"] for c in nb.cells if "design" in c.metadata.get("tags", [])}
    assert written == {"q6_task", "q10_task", "q11_task"}
    assert design == {"t2_answer", "t3_answer", "t5_answer", "t6_answer"}
    ids = [nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c)]
    assert len(ids) == len(set(ids)), "duplicate grade_id"
    assert set(QUESTIONS.values()) <= set(ids), "a question of the block has no graded cell"
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade") and cell.cell_type == "code":
            assert cell.source.lstrip().startswith('"""'), f"{meta['grade_id']} has no docstring"
            assert "### BEGIN HIDDEN TESTS" in cell.source, f"{meta['grade_id']}: no hidden part"
        if meta.get("task"):
            assert "=== BEGIN MARK SCHEME ===" in cell.source, f"{meta['grade_id']}: no scheme"
        assert not cell.get("outputs"), "source must be committed with outputs cleared"
    # one answer cell directly before each check cell
    for gid, i in grade_index(nb).items():
        if gid.endswith("_check"):
            assert nbgrader_meta(nb.cells[i - 1]).get("solution"), f"{gid}: no answer cell before it"


def test_every_activity_opens_with_a_prediction_shown_beside_its_result():
    """Issue 15: each activity's first code cell records a prediction (``prediction_<n> = ""``
    under the question as comment lines, the form the evidence pack reads), and a later cell
    shows it beside what the run showed with ``lab3.beside``."""
    nb = nbformat.read(SOURCE, as_version=4)
    starts = [i for i, c in enumerate(nb.cells) if "activity" in c.metadata.get("tags", [])]
    names = []
    for i in starts:
        first = next(c for c in nb.cells[i + 1:] if c.cell_type == "code")
        match = re.fullmatch(r"(# .*\n)+(prediction_\d+) = \"\"", first.source)
        assert match and first.source.startswith("# Predict before you run"), first.source
        names.append(match.group(2))
    assert len(set(names)) == len(names) == len(starts) == 5
    shown = " ".join(c.source for c in nb.cells if c.cell_type == "code")
    for name in names:
        assert f"lab3.beside({name}," in shown, name
    release = nbformat.read(RELEASE, as_version=4)
    assert sum(bool(re.search(r"^prediction_\d+ = \"\"$", c.source, re.M))
               for c in release.cells if c.cell_type == "code") >= 5


def test_multiple_choice_is_not_guessable_by_length_or_letter():
    """Issue 15: options close in length (longest <= 2x shortest), the key never the unique
    longest option, no letter the key of more than 35% of the lab's items."""
    assert_multiple_choice_fair(SOURCE, items=8)


def test_release_runs_until_the_first_unanswered_task():
    release_run_stops_at_first_task(RELEASE)


# The visible check only validates the form: the wrong answer passes it, the hidden part fails.
FORM_ONLY = [
    pytest.param('q1_answer = "C"', "q1_check", "not the right option", id="q1-metrics"),
    pytest.param('q2_answer = "A"', "q2_check", "not the right option", id="q2-offline-only"),
    pytest.param('q3_answer = "A"', "q3_check", "not the right option", id="q3-approved"),
    pytest.param('q4_answer = "C"', "q4_check", "not the right option", id="q4-overturned"),
    pytest.param('q5_answer = "C"', "q5_check", "not the right option", id="q5-servers"),
    pytest.param('q7_answer = "A"', "q7_check", "not the right option", id="q7-retrain-first"),
    pytest.param('q8_answer = "B"', "q8_check", "not the right option", id="q8-weights"),
    pytest.param('q9_answer = "A"', "q9_check", "not the right option", id="q9-missing-input"),
    pytest.param('t4_trace = {**t4_trace, "threshold": 0.2}', "t4_check",
                 "not the one that decided", id="t4-threshold-before-the-change"),
    pytest.param('t4_trace = {**t4_trace, "tx_id": t4_trace["tx_id"] + 1}', "t4_check",
                 "is not the payment described", id="t4-another-payment"),
    pytest.param('t4_trace = {"tx_id": 0, "model_version": "v1", "data_snapshot": "offline-clean-v1", '
                 '"features": ["amount", "velocity", "device_risk", "merchant_category"], '
                 '"threshold": 0.2, "missing": ["device_risk"]}', "t4_check",
                 "is not the payment described", id="t4-the-first-payment"),
    # Simulation tasks: only just inside the budget on seed 1, outside it on hidden seeds
    # (for the kernel's learner, "self-study": a missed fraud at $40, the world "deep incident,
    # deep blips", the drift world "slow creep, quick labels"; see labkit.labs.lab3.variants).
    pytest.param("t1_threshold = 0.38", "t1_check", "T1 on unseen seeds", id="t1-edge"),
    pytest.param('t2_rule = {"threshold": 0.85, "window_h": 4}', "t2_check",
                 "T2 on unseen seeds", id="t2-edge"),
    # T3: a trigger whose cooldown leaves the creeping pattern unattended too long cuts 8% of
    # the "never" cost on seed 1 but under 7% on the hidden seeds
    pytest.param('t3_policy = {"retrain.policy": "trigger", "retrain.trigger_on": ("recall",), '
                 '"alerts.recall_floor": 0.25, "retrain.cooldown_days": 12, '
                 '"retrain.train_days": 3}', "t3_check", "T3 on unseen seeds", id="t3-edge"),
    pytest.param('t5_containment = {"threshold": 0.5, "window_h": 3, "fallback": '
                 '"rules_review", "duration_h": 24}', "t5_check", "T5 on unseen seeds",
                 id="t5-edge"),
    # T6 for "self-study" (the checkout API): a window and burn rate that page in time for the
    # outage on seed 1 but flap on the slow burn's noise on another seed
    pytest.param('t6_rules = [{"long_window_min": 30, "short_window_min": 2, "burn_rate": 7.0}]',
                 "t6_check", "T6 on unseen seeds", id="t6-edge"),
]


@pytest.mark.parametrize("wrong, check_id, message", FORM_ONLY)
def test_hidden_part_fails_a_plausible_wrong_answer(source_run, wrong, check_id, message):
    nb, client = source_run
    ids = grade_index(nb)
    check = nb.cells[ids[check_id]].source
    answer_cell = nb.cells[ids[check_id] - 1].source
    try:
        assert run_snippet(client, wrong) == []
        visible = run_snippet(client, HIDDEN.sub("", check))
        assert visible == [], f"the visible check already rejects it: {visible}"
        errors = run_snippet(client, check)
        assert errors and errors[0].startswith("AssertionError"), errors
        assert message in errors[0], errors[0]
    finally:
        assert run_snippet(client, answer_cell) == [], "could not restore the model answer"


# Simulation tasks: a clearly wrong answer is already refused on the visible seed.
VISIBLE = [
    pytest.param("t1_threshold = 0.5", "t1_check", "compare the cost curve", id="t1-habit"),
    pytest.param('t2_rule = {"threshold": 0.05, "window_h": 1}', "t2_check",
                 "false alerts a week", id="t2-default-rule"),
    pytest.param("t3_policy = {}", "t3_check", "a cut of 0.0%", id="t3-never"),
    pytest.param('t5_containment = {"threshold": 0.6, "window_h": 6, "fallback": "review_all", '
                 '"duration_h": 24}', "t5_check", "reviews waited", id="t5-review-all"),
    pytest.param("t1_threshold = None", "t1_check", "not answered yet", id="t1-unanswered"),
    pytest.param('t6_rules = [{"long_window_min": 60, "short_window_min": 5, "burn_rate": 14.4}]',
                 "t6_check", "must page within", id="t6-workbook-rule"),
    pytest.param('t6_rules = [{"long_window_min": 60, "short_window_min": 5, "burn_rate": 3.0}]',
                 "t6_check", "with no outage", id="t6-pages-for-the-slow-burn"),
]


@pytest.mark.parametrize("wrong, check_id, message", VISIBLE)
def test_visible_check_refuses_a_clearly_wrong_answer(source_run, wrong, check_id, message):
    nb, client = source_run
    ids = grade_index(nb)
    answer_cell = nb.cells[ids[check_id] - 1].source
    try:
        assert run_snippet(client, wrong) == []
        errors = run_snippet(client, HIDDEN.sub("", nb.cells[ids[check_id]].source))
        assert errors and message in errors[0], errors
    finally:
        assert run_snippet(client, answer_cell) == [], "could not restore the model answer"


def test_evidence_checks_fail_incomplete_artifacts(source_run):
    nb, client = source_run
    ids = grade_index(nb)
    try:
        assert run_snippet(client, "from dataclasses import replace\n"
                            "risk_entry = replace(risk_entry, owner='the team', nist=())\n"
                            "runbook = replace(runbook, containment=('Fix it quickly.',))") == []
        errors = run_snippet(client, nb.cells[ids["risk_check"]].source)
        assert errors and "names nobody in particular" in errors[0], errors
        errors = run_snippet(client, nb.cells[ids["runbook_check"]].source)
        assert errors and "containment does not name the fallback" in errors[0], errors
    finally:
        for gid in ("risk_answer", "runbook_answer"):
            assert run_snippet(client, nb.cells[ids[gid]].source) == []


def test_evidence_cells_output_complete_artifacts(source_run):
    """The evidence pack reads the answer cells' outputs: each must carry a complete artifact."""
    from labkit.evidence.pack import EVIDENCE_MIME

    nb, _ = source_run
    ids = grade_index(nb)
    for gid, kind in (("risk_answer", "risk-register"), ("runbook_answer", "incident-runbook")):
        cell = nb.cells[ids[gid]]
        payloads = [o["data"][EVIDENCE_MIME] for o in cell.outputs
                    if EVIDENCE_MIME in o.get("data", {})]
        assert len(payloads) == 1, gid
        payload = payloads[0] if isinstance(payloads[0], dict) else json.loads(payloads[0])
        assert payload["kind"] == kind and payload["problems"] == []
