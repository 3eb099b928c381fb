"""Lab 4 notebook: the source runs, the release runs up to its first task, every graded check
can fail, hidden checks judge seeds the learner never saw, and the boundary sheet reaches the
evidence pack complete.

* The source notebook (solutions in) is executed once, top to bottom, in a real kernel: every
  code cell must run without an error or a byte on stderr (nbgrader zeroes a check cell that
  writes to stderr); its running time against the issue's 90 s is bench/bench_notebooks.py's job.
* The committed release must run without errors up to the first unanswered task, and stop
  there with the NotImplementedError of an answer stub.
* For every check whose visible part only validates the form (multiple choice, the break-even
  volume, the boundary sheet's second treatment), a plausible wrong answer passes the visible
  part and fails the hidden part.  For both simulation tasks, an answer that only just passes on
  the visible seed 1 fails on the hidden seeds.

The kernel's learner is ``self-study`` (no ``LABKIT_LEARNER`` in the test environment): its T1
workload is "internal tool", its T2 draw "mid model / drafting / 2 x A100" and its T3 world
"refund helper" (``labkit.labs.lab4.variants``); the edge answers below are edges for it.
"""

from __future__ import annotations

import json
import re

import nbformat
import pytest

from .nbrun import (
    assert_multiple_choice_fair,
    cell_errors,
    grade_index,
    lab_paths,
    nbgrader_meta,
    release_run_stops_at_first_task,
    run_snippet,
    source_run_fixture,
)

LAB = "lab4-llm-serving-agents"
SOURCE, RELEASE = lab_paths(LAB)
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.S)


#: The source notebook executed top to bottom; the kernel stays up for the wrong answers.
source_run = source_run_fixture(LAB, timeout_s=180)


def test_the_kernel_is_the_self_study_learner(source_run):
    _, client = source_run
    assert run_snippet(client, "from labkit.variants import learner\n"
                               "assert learner() == 'self-study', learner()\n"
                               "assert lab4.fleet_world()['workload'] == 'internal tool'\n"
                               "assert lab4.agent_world()['agent'] == 'refund helper'") == []


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
    assert tags.count("activity") == 6
    assert tags.count("checkpoint") == 1 and tags.count("reflection") == 1
    for name in ("agent-boundary-sheet", "reflection"):
        assert tags.count(f"evidence:{name}") == 1, name
    assert tags.count("reading") >= 7
    design = {nbgrader_meta(c)["grade_id"] for c in nb.cells if "design" in c.metadata.get("tags", [])}
    assert design == {"t1_answer", "t3_answer"}
    assert "written" not in tags
    ids = [nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c)]
    assert len(ids) == len(set(ids)), "duplicate grade_id"
    points = {nbgrader_meta(c)["grade_id"]: nbgrader_meta(c)["points"] for c in nb.cells
              if nbgrader_meta(c).get("grade") and c.cell_type == "code"}
    assert points == {"t1_check": 3, "t2_check": 2, "t3_check": 3, "sheet_check": 2,
                      **{f"q{n}_check": 1 for n in range(1, 11)}}
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade") and cell.cell_type == "code":
            assert cell.source.lstrip().startswith('"""'), f"{meta['grade_id']} has no docstring"
            assert "### BEGIN HIDDEN TESTS" in cell.source, f"{meta['grade_id']}: no hidden part"
        if meta.get("task"):
            assert "=== BEGIN MARK SCHEME ===" in cell.source, f"{meta['grade_id']}: no scheme"
        assert not cell.get("outputs"), "source must be committed with outputs cleared"
    for gid, i in grade_index(nb).items():     # one answer cell directly before each check
        if gid.endswith("_check"):
            assert nbgrader_meta(nb.cells[i - 1]).get("solution"), f"{gid}: no answer cell before it"


def test_every_activity_opens_with_a_prediction_shown_beside_its_result():
    """Issue 15: each activity's first code cell records a prediction (``prediction_<n> = ""``
    under the question as comment lines), and a later cell shows it with ``lab4.beside``."""
    nb = nbformat.read(SOURCE, as_version=4)
    starts = [i for i, c in enumerate(nb.cells) if "activity" in c.metadata.get("tags", [])]
    names = []
    for i in starts:
        first = next(c for c in nb.cells[i + 1:] if c.cell_type == "code")
        match = re.fullmatch(r"(# .*\n)+(prediction_\d+) = \"\"", first.source)
        assert match and first.source.startswith("# Predict before you run"), first.source
        names.append(match.group(2))
    assert names == [f"prediction_{n}" for n in range(1, 7)]
    shown = " ".join(c.source for c in nb.cells if c.cell_type == "code")
    for name in names:
        assert f"lab4.beside({name}," in shown, name


def test_multiple_choice_is_not_guessable_by_length_or_letter():
    """Issue 15: options close in length (longest <= 2x shortest), the key never the unique
    longest option, no letter the key of more than 35% of the lab's items."""
    assert_multiple_choice_fair(SOURCE, items=10)


def test_release_runs_until_the_first_unanswered_task():
    before = release_run_stops_at_first_task(RELEASE)
    shown = "".join(o.get("text", "") for c in before for o in c.get("outputs", []))
    assert "requests; p95 TTFT" in shown          # the opening run printed its numbers


# The visible check only validates the form: the wrong answer passes it, the hidden part fails.
FORM_ONLY = [
    pytest.param('q1_answer = "A"', "q1_check", "not the right option", id="q1-first-token"),
    pytest.param('q2_answer = "A"', "q2_check", "not the right option", id="q2-prefill"),
    pytest.param('q3_answer = "A"', "q3_check", "not the right option", id="q3-lower-tpot"),
    pytest.param('q4_answer = "C"', "q4_check", "not the right option", id="q4-quota"),
    pytest.param('q5_answer = "D"', "q5_check", "not the right option", id="q5-stored-reply"),
    pytest.param('q6_answer = "B"', "q6_check", "not the right option", id="q6-same-share"),
    pytest.param('q7_answer = "A"', "q7_check", "not the right option", id="q7-gpu-hourly"),
    pytest.param('q8_answer = "A"', "q8_check", "not the right option", id="q8-retry-at-once"),
    pytest.param('q9_answer = "A"', "q9_check", "not the right option", id="q9-step-cap"),
    pytest.param('q10_answer = "B"', "q10_check", "not the right option", id="q10-completes"),
    # T2: the fleet priced per hour instead of per day, and the prices read per 1k tokens
    pytest.param("t2_break_even = t2_break_even / 24", "t2_check", "too low", id="t2-per-hour"),
    pytest.param("t2_break_even = t2_break_even / 1000", "t2_check", "too low",
                 id="t2-prices-per-1k"),
    # the sheet: complete for the visible check, one ISO/IEC 23894 treatment short of the hidden
    pytest.param("from dataclasses import replace\n"
                 "boundary_sheet = replace(boundary_sheet, iso=boundary_sheet.iso[:1])",
                 "sheet_check", "fewer than two ISO/IEC 23894 treatments", id="sheet-one-iso"),
    # Simulation tasks, for "self-study": inside the budgets on seed 1, outside on a hidden seed.
    # T1 (internal tool): one L40S with 34 sequences a batch queues past the TTFT budget on
    # seed 4105; T3 (refund helper): a cap of 7 steps completes too few tasks on 4303 and 4305.
    pytest.param('t1_fleet = {"gpu": "L40S", "replicas": 1, "max_batch_seqs": 34}', "t1_check",
                 "T1 on unseen seeds", id="t1-edge"),
    pytest.param('t3_agent = {"agent.max_steps": 7, "agent.write_policy": "approve", '
                 '"agent.permission_policy": True}', "t3_check", "T3 on unseen seeds",
                 id="t3-edge"),
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


# A clearly wrong answer is already refused by the visible check.
VISIBLE = [
    pytest.param("t1_fleet = None", "t1_check", "T1: not answered yet", id="t1-unanswered"),
    pytest.param('t1_fleet = {"gpu": "H100", "replicas": 2, "max_batch_seqs": 128}', "t1_check",
                 "a fleet with a lower price per hour", id="t1-over-provisioned"),
    pytest.param('t1_fleet = {"gpu": "L40S", "replicas": 1, "max_batch_seqs": 16}', "t1_check",
                 "p95 TTFT", id="t1-batch-too-small"),
    pytest.param("t2_break_even = 'many'", "t2_check", "T2: the answer must be a number",
                 id="t2-text"),
    pytest.param("t3_agent = {}", "t3_check", "no human in the loop", id="t3-prototype"),
    pytest.param('t3_agent = {"agent.max_steps": 12, "agent.write_policy": "approve", '
                 '"agent.permission_policy": False}', "t3_check", "ended unsafe",
                 id="t3-no-permission-policy"),
    pytest.param('t3_agent = {"agent.max_steps": 30, "agent.write_policy": "approve", '
                 '"agent.permission_policy": True}', "t3_check", "ceiling per task",
                 id="t3-no-cap"),
    pytest.param("from dataclasses import replace\n"
                 "boundary_sheet = replace(boundary_sheet, permission_policy=False)",
                 "sheet_check", "permission_policy is off", id="sheet-no-policy"),
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


def test_the_boundary_sheet_cell_outputs_a_complete_artifact(source_run):
    """The evidence pack reads the answer cell's output: it must carry a complete sheet."""
    from labkit.evidence.pack import EVIDENCE_MIME

    nb, _ = source_run
    cell = nb.cells[grade_index(nb)["sheet_answer"]]
    payloads = [o["data"][EVIDENCE_MIME] for o in cell.outputs
                if EVIDENCE_MIME in o.get("data", {})]
    assert len(payloads) == 1
    payload = payloads[0] if isinstance(payloads[0], dict) else json.loads(payloads[0])
    assert payload["kind"] == "agent-boundary-sheet" and payload["problems"] == []


def test_the_executed_notebook_fills_its_evidence_pack(source_run, tmp_path):
    from labkit.evidence.pack import collect

    nb, _ = source_run
    filled = nbformat.from_dict(json.loads(json.dumps(nb)))
    for cell in filled.cells:
        if "evidence:reflection" in cell.metadata.get("tags", []):
            cell.source = ("We serve an internal helpdesk assistant; users notice the first "
                           "token, so TTFT p95 stays under one second. At our volume the API "
                           "is cheaper for a year. It may only draft replies; a team lead "
                           "approves refunds, and a permission policy blocks the rest.")
    path = tmp_path / f"{LAB}.ipynb"
    nbformat.write(filled, path)
    pack = collect([path])
    status = {a.name: a.status for a in pack.artifacts if a.notebook}
    assert status == {"agent-boundary-sheet": "complete", "reflection": "complete"}
    assert [p.name for p in pack.predictions] == [f"prediction_{n}" for n in range(1, 7)]
