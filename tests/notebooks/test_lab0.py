"""Lab 0 notebook: the source runs cleanly (its run time is bench/bench_notebooks.py's job),
the release runs up to its first task, the panel works, and every graded check can fail.

Executed in a real kernel with nbclient; the kernel is kept for running wrong answers.
"""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from labkit.labs import lab0

from .nbrun import cell_errors as problems
from .nbrun import lab_paths, source_run_fixture
from .nbrun import run_snippet as run_in

LAB = "lab0-orientation"
SOURCE, RELEASE = lab_paths(LAB)
WHO = "self-study"                       # the learner a notebook run in the tests stands for
V2 = lab0.q2(learner=WHO)
FLEET = next(n for n in range(1, 40)      # the smallest fleet for this learner's Q3 on seed 1
             if lab0.q3_task(learner=WHO).judge({"model.replicas": n}, seeds=[1]).passed)


def execute(path, tmp_path_factory):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(tmp_path_factory.mktemp("run"))}})
    return nb, client


source_run = source_run_fixture(LAB)


def by_id(nb, cell_id):
    return next(c for c in nb.cells if c.get("id") == cell_id)


def test_source_runs_top_to_bottom_without_errors_or_stderr(source_run):
    nb, _ = source_run
    for cell in nb.cells:
        assert problems(cell) == [], cell.get("id")


def test_first_run_prints_the_headline_numbers(source_run):
    nb, _ = source_run
    text = by_id(nb, "lab0-first-run").outputs[0].text
    assert "requests" in text and "answered" in text and "p95 latency" in text


def test_panel_shows_a_widget_and_keeps_its_result(source_run):
    nb, client = source_run
    panel_out = by_id(nb, "lab0-panel").outputs
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in panel_out)
    p95 = by_id(nb, "lab0-panel-result").outputs[0]["data"]["text/plain"]
    assert float(p95) > 0
    assert run_in(client, "assert panel.scenario.to_knobs()['model.replicas'] >= 1") == []


def test_checks_pass_on_the_solutions_and_print_their_verdicts(source_run):
    nb, _ = source_run
    assert "Q1: answer B recorded" in by_id(nb, "lab0-q1-check").outputs[0].text
    expected = lab0.expected_q2(learner=WHO)
    assert f"Q2: answer {expected:g} replicas recorded" in by_id(nb, "lab0-q2-check").outputs[0].text
    assert by_id(nb, "lab0-q3-check").outputs[0].text == "Q3: every budget holds on seed 1.\n"


@pytest.mark.parametrize("answer, check, message", [
    ('q1_answer = "A"', "lab0-q1-check", "Q1: not the right option"),
    ('q1_answer = "E"', "lab0-q1-check", "Q1: 'E' is not one of the options"),
    (f"q2_answer = {V2.rate_rps} * {V2.service_ms}", "lab0-q2-check",
     "Q2: not the expected number"),                                             # ms not s
    (f"q2_answer = {V2.rate_rps} * {V2.service_ms} / 1000 / 4", "lab0-q2-check",
     "Q2: not the expected number"),                                             # per replica
    (f'q3_knobs = {{"model.replicas": {FLEET - 1}}}', "lab0-q3-check",
     "Q3: p95_ms does not hold on seed 1"),
    ('q3_knobs = {"model.replicas": 30}', "lab0-q3-check", "Q3: cost_per_1k does not hold"),
    (f'q3_knobs = {{"model.replicas": {FLEET + 1}}}', "lab0-q3-check", "not the smallest fleet"),
    ('q3_knobs = {"cache.enabled": True}', "lab0-q3-check", "Q3: this task lets you change only"),
])
def test_every_check_can_fail_with_a_useful_message(source_run, answer, check, message):
    nb, client = source_run
    errors = run_in(client, answer + "\n" + by_id(nb, check).source)
    assert errors and message in errors[0], errors


def test_q3_the_smallest_fleet_passes_and_the_visible_check_hints_nothing_more(source_run):
    nb, client = source_run
    answer = f'q3_knobs = {{"model.replicas": {FLEET}}}'
    assert run_in(client, answer + "\n" + by_id(nb, "lab0-q3-check").source) == []
    visible = by_id(nb, "lab0-q3-check").source.split("### BEGIN HIDDEN TESTS")[0]
    bigger = f'q3_knobs = {{"model.replicas": {FLEET + 1}}}'
    assert run_in(client, bigger + "\n" + visible) == []      # seed 1 says nothing of "smallest"


def test_release_runs_until_the_first_unanswered_question(tmp_path_factory):
    nb, client = execute(RELEASE, tmp_path_factory)
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
            if problems(cell):
                break
    assert cell.get("id") == "lab0-q1-answer"
    assert problems(cell) == ["NotImplementedError: "]
